"""The rankings computed at start-up answer exactly what the model would answer live."""

from __future__ import annotations

import pytest

from flask_app.api import MAX_K


def test_every_known_user_is_ranked(app):
    recommender, rankings = app.extensions["model"].served[:2]
    assert set(rankings) == {int(user) for user in recommender.users.raw_ids}


@pytest.mark.parametrize("k", [1, 3, 10, MAX_K])
def test_first_k_of_a_ranking_is_the_models_top_k(app, k):
    """Why /recommend may slice: a top-k is the start of the top MAX_K, in the same order."""
    recommender, rankings = app.extensions["model"].served[:2]
    for user in recommender.users.raw_ids[:25]:
        live = [r._asdict() for r in recommender.recommend(int(user), k)]
        assert rankings[int(user)][:k] == live
