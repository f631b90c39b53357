"""Baselines the matrix factorization must beat, with the same `fit` / `predict` interface.

- `GlobalMean`: predict the average rating for everything. Any model worse than this is broken.
- `RidgeBaseline`: scikit-learn's Ridge on one-hot user and movie ids, which learns exactly a
  generosity per user and a quality per movie (what the Surprise library calls BaselineOnly).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.linear_model import Ridge
from sklearn.preprocessing import OneHotEncoder


class GlobalMean:
    """Predicts the mean training rating for every pair."""

    def fit(self, ratings: pd.DataFrame) -> GlobalMean:
        self.mean_ = float(ratings.rating.mean())
        return self

    def score(self, user_ids: Sequence[int], item_ids: Sequence[int]) -> np.ndarray:
        return np.full(len(user_ids), self.mean_)

    predict = score  # the mean is always inside the rating scale


class RidgeBaseline:
    """rating ≈ mean + user bias + movie bias, fitted by `sklearn.linear_model.Ridge`."""

    def __init__(self, alpha: float = 5.0):
        self.alpha = alpha  # how strongly biases of users/movies with few ratings shrink to 0

    def _features(self, user_ids: Sequence[int], item_ids: Sequence[int]):
        pairs = np.column_stack([np.asarray(user_ids), np.asarray(item_ids)])
        return self.encoder_.transform(pairs)

    def fit(self, ratings: pd.DataFrame) -> RidgeBaseline:
        # handle_unknown="ignore": an unseen user or movie gets an all-zero row, i.e. no bias.
        self.encoder_ = OneHotEncoder(handle_unknown="ignore")
        self.encoder_.fit(ratings[["user_id", "item_id"]].to_numpy())
        self.ridge_ = Ridge(alpha=self.alpha, solver="sparse_cg")
        self.ridge_.fit(self._features(ratings.user_id, ratings.item_id), ratings.rating)
        self.range_ = (float(ratings.rating.min()), float(ratings.rating.max()))
        return self

    def score(self, user_ids: Sequence[int], item_ids: Sequence[int]) -> np.ndarray:
        """Unclipped predictions, for ranking."""
        return self.ridge_.predict(self._features(user_ids, item_ids))

    def predict(self, user_ids: Sequence[int], item_ids: Sequence[int]) -> np.ndarray:
        return np.clip(self.score(user_ids, item_ids), *self.range_)
