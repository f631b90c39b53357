"""The batch job stores exactly what the model answers: every user's list, every vector."""

from __future__ import annotations

import numpy as np
import pytest

from movierec.batch import build_store
from movierec.limits import MAX_K
from movierec.persist import load_model
from movierec.store import RecommendationStore


@pytest.fixture(scope="module")
def stored(tmp_path_factory, trained_model_dir):
    """(the model, the store file) for the session's tiny model, top MAX_K per user."""
    path = tmp_path_factory.mktemp("batch") / "store.sqlite"
    build_store(trained_model_dir, path)
    return load_model(trained_model_dir), RecommendationStore(path).current()


def test_the_stores_top_k_is_the_models_own_for_every_user(stored):
    recommender, file = stored
    assert file.k == MAX_K and file.about["n_users"] == len(recommender.users)
    for user in recommender.users.raw_ids:  # every user, not a sample
        expected = [r._asdict() for r in recommender.recommend(int(user), MAX_K)]
        assert file.recommendations(int(user), MAX_K) == expected, f"user {user}"


def test_a_shorter_lookup_is_the_start_of_the_stored_list(stored):
    recommender, file = stored
    user = int(recommender.users.raw_ids[0])
    assert file.recommendations(user, 3) == file.recommendations(user, MAX_K)[:3]


def test_the_store_says_which_model_it_came_from(stored):
    recommender, file = stored
    meta = recommender.metadata
    assert file.model_version == recommender.version
    assert file.about["trained_at"] == meta["created_at"]
    assert file.about["dataset"] == meta["dataset"]["name"]
    assert file.about["metrics"] == pytest.approx(meta["metrics"])
    assert file.about["model"] == {"engine": "pytorch", "class": "MatrixFactorization"}


def test_the_features_are_the_models_vectors_biases_and_training_counts(stored):
    recommender, file = stored
    rated, weights = recommender.rated, recommender.model.state_dict()  # detached tensors
    for index, user in enumerate(recommender.users.raw_ids):
        features = file.user_features(int(user))
        assert features["n_ratings"] == int((rated.user_id == user).sum())
        assert features["bias"] == float(weights["user_bias.weight"][index, 0])
        assert np.array_equal(features["vector"], weights["user_factors.weight"][index].numpy())
    item = int(recommender.items.raw_ids[-1])
    features = file.item_features(item)
    assert features["n_ratings"] == int((rated.item_id == item).sum())
    assert np.array_equal(features["vector"], weights["item_factors.weight"][-1].numpy())
