"""Behaviour of the trained model: it learns, beats the baselines, and recommends sensibly."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from movierec.baselines import GlobalMean, RidgeBaseline
from movierec.data import train_test_split
from movierec.metrics import evaluate, ndcg_at_k, rmse
from movierec.model import MatrixFactorization
from movierec.train import TrainConfig, train

FAST = TrainConfig(epochs=15, n_factors=16, seed=3)


@pytest.fixture(scope="module")
def split(synthetic_dataset):
    return train_test_split(synthetic_dataset.ratings, 0.2, seed=0)


@pytest.fixture(scope="module")
def trained(split, synthetic_dataset):
    return train(split[0], synthetic_dataset.movies, FAST, progress=False)


def test_forward_computes_biases_plus_dot_product():
    model = MatrixFactorization(n_users=2, n_items=3, n_factors=2, global_bias=3.0)
    with torch.no_grad():
        model.user_factors.weight[:] = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
        model.item_factors.weight[:] = torch.tensor([[0.5, 0.5], [1.0, 1.0], [0.0, 0.0]])
        model.user_bias.weight[:] = torch.tensor([[0.1], [-0.2]])
        model.item_bias.weight[:] = torch.tensor([[0.0], [0.3], [-1.0]])
    out = model(torch.tensor([0, 1, 1]), torch.tensor([0, 1, 2]))
    assert torch.allclose(out, torch.tensor([3.6, 5.1, 1.8]))


def test_training_is_seeded(split, synthetic_dataset, trained):
    again = train(split[0], synthetic_dataset.movies, FAST, progress=False)
    assert again.history == trained.history


def test_history_and_early_stopping_keep_the_best_epoch(trained):
    history = trained.history
    assert [row["epoch"] for row in history] == list(range(1, len(history) + 1))
    best = min(history, key=lambda row: row["valid_rmse"])
    assert trained.best_epoch == best["epoch"]
    assert history[-1]["train_rmse"] < history[0]["train_rmse"]  # it learned something


def test_matrix_factorization_beats_both_baselines(split, trained):
    train_part, test = split
    scores = {
        "global mean": rmse(test.rating, GlobalMean().fit(train_part).predict(test.user_id,
                                                                               test.item_id)),
        "ridge": rmse(test.rating, RidgeBaseline().fit(train_part).predict(test.user_id,
                                                                          test.item_id)),
        "mf": rmse(test.rating, trained.recommender.predict(test.user_id, test.item_id)),
    }  # fmt: skip
    assert scores["mf"] < scores["ridge"] < scores["global mean"], scores


def test_mf_ranks_held_out_liked_movies_higher_than_the_global_mean(split, trained):
    train_part, test = split
    mf = evaluate(trained.recommender, train_part, test)
    mean = evaluate(GlobalMean().fit(train_part), train_part, test)
    assert mf["ndcg@10"] > 1.5 * mean["ndcg@10"]
    assert mf["precision@10"] > mean["precision@10"]


def test_people_who_rate_only_science_fiction_get_mostly_science_fiction(synthetic_dataset):
    ratings, movies = synthetic_dataset.ratings, synthetic_dataset.movies
    is_scifi = movies.genres.str.contains("Sci-Fi")
    scifi = movies.item_id[is_scifi].to_numpy()
    rng = np.random.default_rng(0)
    fans = ratings.user_id.max() + np.arange(1, 4)  # three new users, 20 five-star sci-fi ratings
    fan_ratings = pd.concat(
        pd.DataFrame({"user_id": fan, "item_id": rng.choice(scifi, 20, replace=False),
                      "rating": 5, "timestamp": 0})
        for fan in fans
    )  # fmt: skip
    result = train(pd.concat([ratings, fan_ratings]), movies, FAST, progress=False)
    shares = [
        np.isin([r.item_id for r in result.recommender.recommend(fan, 10)], scifi).mean()
        for fan in fans
    ]
    assert is_scifi.mean() < 0.15  # science fiction is rare in the catalogue...
    assert np.mean(shares) >= 0.6, shares  # ...but it fills most of their top 10s
    assert min(shares) >= 0.4, shares


def test_ndcg_rewards_putting_liked_movies_first():
    assert ndcg_at_k([True, False, False], n_relevant=1) == 1.0
    later = ndcg_at_k([False, False, True], n_relevant=1)
    assert 0 < later < 1
    assert ndcg_at_k([False, False, False], n_relevant=1) == 0.0


@pytest.mark.parametrize(
    "settings", [{"epochs": 0}, {"valid_fraction": 0.0}, {"valid_fraction": 1.0}, {"l2": -1}]
)
def test_train_config_refuses_settings_that_cannot_train(settings):
    with pytest.raises(ValueError, match=next(iter(settings)).split("_")[0]):
        TrainConfig(**settings)
