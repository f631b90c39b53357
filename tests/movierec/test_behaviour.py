"""Behavioural tests of the trained model, as Made-With-ML groups them.

- minimum functionality: what any working recommender must do;
- directional: a change in the input moves the output the way it should;
- invariance: a change that must not matter does not.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from movierec.baselines import GlobalMean, RidgeBaseline
from movierec.metrics import evaluate, rmse
from movierec.persist import load_model
from movierec.train import TrainConfig, train
from tests.movierec.conftest import FAST

# --- minimum functionality ----------------------------------------------------------------------


def test_mf_beats_both_baselines_on_held_out_ratings(split, trained):
    """Its rating errors are smaller than the global mean's and than the biases' alone."""
    train_part, test = split

    def error(model) -> float:
        return rmse(test.rating, model.predict(test.user_id, test.item_id))

    scores = {
        "global mean": error(GlobalMean().fit(train_part)),
        "ridge": error(RidgeBaseline().fit(train_part)),
        "mf": error(trained.recommender),
    }
    assert scores["mf"] < scores["ridge"] < scores["global mean"], scores


def test_mf_ranks_held_out_liked_movies_higher_than_the_global_mean(split, trained):
    """Its top 10s hold more of the movies each user liked than an arbitrary order does."""
    train_part, test = split
    mf = evaluate(trained.recommender, train_part, test)
    mean = evaluate(GlobalMean().fit(train_part), train_part, test)
    assert mf["ndcg@10"] > 1.5 * mean["ndcg@10"]
    assert mf["precision@10"] > mean["precision@10"]


def test_recommendations_never_include_rated_movies(trained):
    """Nobody is recommended a movie they rated in training."""
    recommender = trained.recommender
    for user in recommender.users.raw_ids:
        top = {r.item_id for r in recommender.recommend(int(user), 20)}
        assert not top & set(recommender.rated_by(int(user)).tolist())


# --- directional --------------------------------------------------------------------------------


def test_people_who_rate_only_science_fiction_get_mostly_science_fiction(synthetic_dataset):
    """Three new users who gave 20 sci-fi movies five stars get mostly sci-fi back."""
    ratings, movies = synthetic_dataset.ratings, synthetic_dataset.movies
    is_scifi = movies.genres.str.contains("Sci-Fi")
    scifi = movies.item_id[is_scifi].to_numpy()
    rng = np.random.default_rng(0)
    fans = ratings.user_id.max() + np.arange(1, 4)
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


# --- invariance ---------------------------------------------------------------------------------


def test_the_per_movie_penalty_fills_top_10_lists_with_established_movies(
    split, synthetic_dataset, trained
):
    """Charged once per movie (`movie_l2`), the penalty holds back movies that one or two people
    loved; charged per rating only, as before, it lets many of them into the lists."""
    ratings_per_movie = split[0].item_id.value_counts()

    def mean_ratings_of_recommended(recommender) -> float:
        users = recommender.users.raw_ids[:100]
        top = [r.item_id for user in users for r in recommender.recommend(int(user), 10)]
        return float(ratings_per_movie[top].mean())

    per_rating_only = train(split[0], synthetic_dataset.movies, replace(FAST, movie_l2=0.0),
                            progress=False).recommender  # fmt: skip
    with_movie_l2 = mean_ratings_of_recommended(trained.recommender)
    assert with_movie_l2 > 1.3 * mean_ratings_of_recommended(per_rating_only)


def test_the_flask_app_serves_the_stronger_model_unchanged(blend_model_dir):
    """Any model class works through the `Recommender`: the app's answers are the blend's."""
    from flask_app import create_app

    client = create_app({"TESTING": True, "MOVIEREC_MODEL": str(blend_model_dir)}).test_client()
    recommender = load_model(blend_model_dir)
    user = int(recommender.users.raw_ids[0])
    answer = client.get(f"/recommend?user_id={user}&k=5").get_json()
    assert [r["item_id"] for r in answer["recommendations"]] == [
        r.item_id for r in recommender.recommend(user, 5)
    ]
    assert client.get("/health").get_json()["version"] == recommender.version


def test_raw_ids_are_never_used_as_indices(synthetic_dataset):
    """Relabel every id (x1000 + 7): the same data must give the same predictions."""
    ratings, movies = synthetic_dataset.ratings, synthetic_dataset.movies

    def relabel(ids):
        return ids * 1000 + 7

    shifted = ratings.assign(user_id=relabel(ratings.user_id), item_id=relabel(ratings.item_id))
    config = TrainConfig(epochs=3, n_factors=8)
    plain = train(ratings, movies, config, progress=False).recommender
    moved = train(shifted, movies.assign(item_id=relabel(movies.item_id)), config,
                  progress=False).recommender  # fmt: skip
    pairs = ratings.sample(50, random_state=0)
    assert np.allclose(
        plain.predict(pairs.user_id, pairs.item_id),
        moved.predict(relabel(pairs.user_id), relabel(pairs.item_id)),
        atol=1e-5,
    )
    assert [relabel(r.item_id) for r in plain.recommend(1, 5)] == [
        r.item_id for r in moved.recommend(relabel(1), 5)
    ]
