"""The Recommender: raw ids vs model indices, predictions, and top-k lists."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from movierec.ids import IdMap
from movierec.persist import load_model
from movierec.recommender import UnknownUserError


@pytest.fixture(scope="module")
def recommender(trained_model_dir):
    return load_model(trained_model_dir)


def test_id_map_round_trip_with_gaps():
    ids = IdMap([193609, 1, 50, 50, 7])
    assert len(ids) == 4 and list(ids.raw_ids) == [1, 7, 50, 193609]
    assert ids.indices([1, 193609, 50]).tolist() == [0, 3, 2]
    assert ids.raw(ids.indices([7, 193609])).tolist() == [7, 193609]
    assert ids.index(2) == -1 and 2 not in ids and 50 in ids


def test_top_k_is_sorted_by_score_and_skips_rated_movies(recommender):
    user = int(recommender.users.raw_ids[0])
    top = recommender.recommend(user, 10)
    scores = [r.score for r in top]
    assert len(top) == 10
    assert scores == sorted(scores, reverse=True)
    assert not set(r.item_id for r in top) & set(recommender.rated_by(user))
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
    state = recommender.model.state_dict()  # plain tensors, no gradients
    mu = state["global_bias"].item()
    u, i = recommender.users.index(user), recommender.items.index(item)
    user_bias, item_bias = state["user_bias.weight"][u].item(), state["item_bias.weight"][i].item()
    low, high = recommender.rating_range
    predictions = recommender.predict([999_999, user, 999_999], [999_999, 999_999, item])
    expected = np.clip([mu, mu + user_bias, mu + item_bias], low, high)
    assert np.allclose(predictions, expected, atol=1e-5)
    assert ((predictions >= low) & (predictions <= high)).all()


def test_predict_matches_the_network_on_known_pairs(recommender):
    import torch

    users, items = recommender.users.raw_ids[:20], recommender.items.raw_ids[:20]
    with torch.no_grad():
        network = recommender.model(
            torch.from_numpy(recommender.users.indices(users)),
            torch.from_numpy(recommender.items.indices(items)),
        ).numpy()
    assert np.allclose(recommender.predict(users, items), np.clip(network, 1, 5), atol=1e-5)


def test_raw_ids_are_never_used_as_indices(synthetic_dataset):
    """Relabel every id (x1000 + 7): the same data must give the same predictions."""
    from movierec.train import TrainConfig, train

    ratings, movies = synthetic_dataset.ratings, synthetic_dataset.movies
    relabel = lambda ids: ids * 1000 + 7  # noqa: E731
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
    assert [r.item_id * 1000 + 7 for r in plain.recommend(1, 5)] == [
        r.item_id for r in moved.recommend(1007, 5)
    ]
