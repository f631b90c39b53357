"""How good is a recommender? Rating error (RMSE, MAE) and ranking quality at k on held-out data.

A held-out rating of 4 or more counts as a movie the user liked ("relevant"). Ranking metrics ask:
of the k movies we would recommend (never ones the user rated in training), how many did they like?
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pandas as pd

from movierec.recommender import top_k

RELEVANT = 4.0


class Predictor(Protocol):
    """What can be measured: the Recommender and the baselines all have these two methods."""

    def predict(self, user_ids, item_ids) -> np.ndarray:
        """Predicted ratings, clipped to the rating scale: what RMSE and MAE compare."""

    def score(self, user_ids, item_ids) -> np.ndarray:
        """Unclipped predictions: what a top-k list is sorted by (clipping would create ties)."""


def rmse(actual, predicted) -> float:
    """Root mean squared error: big mistakes count more."""
    return float(np.sqrt(np.mean((np.asarray(actual) - np.asarray(predicted)) ** 2)))


def mae(actual, predicted) -> float:
    """Mean absolute error: the average number of stars we are off by."""
    return float(np.mean(np.abs(np.asarray(actual) - np.asarray(predicted))))


def ndcg_at_k(hits, n_relevant: int) -> float:
    """Normalised discounted cumulative gain of one top-k list.

    `hits[j]` says whether the movie at position j+1 was liked; position 1 counts 1, position 2
    0.63, position 3 0.5, ... The score is divided by the best possible, so 1.0 means perfect.
    """
    # BEGIN SOLUTION A2.3: the discounted gain of the hits, divided by the best possible gain
    hits = np.asarray(hits, dtype=float)
    discounts = 1.0 / np.log2(np.arange(2, len(hits) + 2))
    ideal = discounts[: min(len(hits), n_relevant)].sum()
    return float(hits @ discounts / ideal) if ideal > 0 else 0.0
    # END SOLUTION


def ranking_metrics(
    model: Predictor, train: pd.DataFrame, test: pd.DataFrame, k: int = 10
) -> dict[str, float]:
    """Mean precision@k, recall@k and nDCG@k over test users who liked at least one movie.

    For each such user, every movie of the training data that they did not rate in training is
    scored with `model.score` and ranked by `movierec.recommender.top_k`, exactly as the served
    list is; the top k are compared with the movies they liked in `test`.
    """
    candidates = np.unique(train.item_id.to_numpy())
    rated_in_train = train.groupby("user_id").item_id.agg(set)
    liked = test[test.rating >= RELEVANT].groupby("user_id").item_id.agg(set)

    precisions, recalls, ndcgs = [], [], []
    for user, liked_items in liked.items():
        seen = rated_in_train.get(user, set())
        items = candidates[[item not in seen for item in candidates]]
        top = items[top_k(model.score(np.full(len(items), user), items), k)]
        hits = np.array([item in liked_items for item in top], dtype=float)
        precisions.append(hits.sum() / k)
        recalls.append(hits.sum() / len(liked_items))
        ndcgs.append(ndcg_at_k(hits, len(liked_items)))
    return {
        f"precision@{k}": float(np.mean(precisions)) if precisions else 0.0,
        f"recall@{k}": float(np.mean(recalls)) if recalls else 0.0,
        f"ndcg@{k}": float(np.mean(ndcgs)) if ndcgs else 0.0,
    }


def evaluate(
    model: Predictor, train: pd.DataFrame, test: pd.DataFrame, k: int = 10
) -> dict[str, float]:
    """All metrics of `model` (trained on `train`) on the held-out `test` ratings."""
    predicted = model.predict(test.user_id.to_numpy(), test.item_id.to_numpy())
    return {
        "rmse": rmse(test.rating, predicted),
        "mae": mae(test.rating, predicted),
        **ranking_metrics(model, train, test, k),
    }
