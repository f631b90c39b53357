"""The metrics: errors in stars, and ranking quality measured on the list that is served."""

from __future__ import annotations

import pandas as pd
import pytest

from movierec.metrics import RELEVANT, evaluate, mae, ndcg_at_k, ranking_metrics, rmse
from movierec.persist import load_model


def test_rmse_and_mae_in_stars():
    assert rmse([4, 2], [3, 2]) == pytest.approx(0.5**0.5)
    assert mae([4, 2], [3, 4]) == pytest.approx(1.5)


def test_ndcg_rewards_putting_liked_movies_first():
    assert ndcg_at_k([True, False, False], n_relevant=1) == 1.0
    later = ndcg_at_k([False, False, True], n_relevant=1)
    assert 0 < later < 1
    assert ndcg_at_k([False, False, False], n_relevant=1) == 0.0


def test_ranking_metrics_measure_exactly_the_served_top_k(tiny_trained, trained_model_dir):
    """Each test user's measured top 10 is the `recommend` list a client gets, in order."""
    recommender = load_model(trained_model_dir)
    train_part, test = tiny_trained.train, tiny_trained.test
    liked = test[test.rating >= RELEVANT]
    # Each liked movie of the served list is a hit: recompute precision@10 from the served lists.
    hits = [
        len({r.item_id for r in recommender.recommend(user, 10)} & set(group.item_id)) / 10
        for user, group in liked.groupby("user_id")
    ]
    measured = ranking_metrics(recommender, train_part, test, k=10)
    assert measured["precision@10"] == pytest.approx(sum(hits) / len(hits))


class FixedScores:
    """A stand-in model whose score for a movie is fixed, whoever asks."""

    def __init__(self, scores: dict[int, float]):
        self.scores = scores

    def score(self, user_ids, item_ids):
        return pd.Series(item_ids).map(self.scores).to_numpy(dtype=float)

    def predict(self, user_ids, item_ids):
        return self.score(user_ids, item_ids).clip(1, 5)


def test_lists_are_ranked_by_unclipped_scores():
    """Movies predicted at 5.2 and 5.4 stars keep that order; clipped, both would tie at 5."""
    train_part = pd.DataFrame({"user_id": [1, 1, 2, 2], "item_id": [1, 2, 3, 4], "rating": 3.0})
    test = pd.DataFrame({"user_id": [1], "item_id": [4], "rating": [5.0]})  # user 1 liked 4
    model = FixedScores({1: 3.0, 2: 3.0, 3: 5.2, 4: 5.4})
    assert ranking_metrics(model, train_part, test, k=1)["precision@1"] == 1.0


def test_evaluate_reports_every_metric(tiny_trained):
    metrics = evaluate(tiny_trained.recommender, tiny_trained.train, tiny_trained.test)
    assert set(metrics) == {"rmse", "mae", "precision@10", "recall@10", "ndcg@10"}
    assert metrics == pytest.approx(tiny_trained.metrics)
