"""The Recommender: predictions and top-k lists by raw ids, through the model's own methods."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from movierec.errors import UnknownUserError
from movierec.persist import load_model
from movierec.recommender import top_k


@pytest.fixture(scope="module")
def recommender(trained_model_dir):
    return load_model(trained_model_dir)


def test_top_k_positions_best_first_ties_in_order_and_never_infinite():
    scores = np.array([1.0, 3.0, -np.inf, 3.0, 2.0])
    assert top_k(scores, 3).tolist() == [1, 3, 4]
    assert top_k(scores, 10).tolist() == [1, 3, 4, 0]  # the -inf (a rated movie) never


def test_top_k_is_sorted_by_score_and_skips_rated_movies(recommender):
    user = int(recommender.users.raw_ids[0])
    top = recommender.recommend(user, 10)
    scores = [r.score for r in top]
    assert len(top) == 10
    assert scores == sorted(scores, reverse=True)
    assert not {r.item_id for r in top} & set(recommender.rated_by(user))
    # Nothing left out scores higher than the last recommended movie (it is really the top 10).
    all_scores = pd.Series(recommender.scores(user), index=recommender.items.raw_ids)
    unrated = all_scores.drop(recommender.rated_by(user))
    assert unrated.nlargest(10).index.tolist() == [r.item_id for r in top]


def test_top_k_titles_belong_to_the_recommended_ids(recommender):
    for rec in recommender.recommend(int(recommender.users.raw_ids[5]), 5):
        assert recommender.movie(rec.item_id)["title"] == rec.title


def test_k_larger_than_the_catalogue_returns_every_unrated_movie(recommender):
    user = int(recommender.users.raw_ids[0])
    n_unrated = len(recommender.items) - len(recommender.rated_by(user))
    assert len(recommender.recommend(user, 10_000)) == n_unrated


def test_an_unknown_user_gets_a_clear_error(recommender):
    with pytest.raises(UnknownUserError, match="unknown user 999999"):
        recommender.recommend(999_999)


def test_predictions_fall_back_for_unknown_users_and_movies(recommender):
    user, item = int(recommender.users.raw_ids[0]), int(recommender.items.raw_ids[0])
    state = recommender.model.state_dict()
    mu = state["global_bias"].item()
    u, i = recommender.users.index(user), recommender.items.index(item)
    user_bias, item_bias = state["user_bias.weight"][u].item(), state["item_bias.weight"][i].item()
    low, high = recommender.rating_range
    predictions = recommender.predict([999_999, user, 999_999], [999_999, 999_999, item])
    expected = np.clip([mu, mu + user_bias, mu + item_bias], low, high)
    assert np.allclose(predictions, expected, atol=1e-5)


def test_predict_is_the_network_clipped_to_the_scale(recommender):
    users, items = recommender.users.raw_ids[:20], recommender.items.raw_ids[:20]
    with torch.no_grad():
        network = recommender.model(
            torch.from_numpy(recommender.users.indices(users)),
            torch.from_numpy(recommender.items.indices(items)),
        ).numpy()
    assert np.allclose(recommender.score(users, items), network, atol=1e-5)
    assert np.allclose(recommender.predict(users, items), np.clip(network, 1, 5), atol=1e-5)


def test_in_catalogue_knows_the_movies_of_the_dataset(recommender):
    known = int(recommender.movies.item_id.iloc[0])
    assert recommender.in_catalogue([known, 999_999]).tolist() == [True, False]


def test_the_version_is_in_the_metadata(recommender):
    assert recommender.version == recommender.metadata["version"] and len(recommender.version) == 12
