"""Raw ids in, predicted ratings and ranked movies out: the object every part of the course uses.

The trained network's weights are copied into numpy arrays once, so a prediction or a top-k costs
microseconds and needs no autograd; the network itself stays available as `.model`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch

from movierec.ids import IdMap
from movierec.model import MatrixFactorization


class UnknownUserError(KeyError):
    """Recommendations were asked for a user the model has never seen."""

    def __str__(self) -> str:
        return f"unknown user {self.args[0]}: the model was not trained on any rating of theirs"


class Recommendation(NamedTuple):
    item_id: int
    title: str
    score: float  # the predicted rating, before clipping to the rating scale


class Recommender:
    """A trained `MatrixFactorization` plus everything needed to use it with raw MovieLens ids."""

    def __init__(
        self,
        model: MatrixFactorization,
        users: IdMap,
        items: IdMap,
        rated: pd.DataFrame,
        movies: pd.DataFrame,
        rating_range: tuple[float, float] = (1.0, 5.0),
        metadata: dict | None = None,
    ):
        """`rated`: the training ratings (user_id, item_id, ...), so top-k can skip seen movies.

        `metadata`: what a saved model says about itself (dataset, metrics, ...), when loaded.
        """
        self.model = model.eval()
        self.metadata = metadata or {}
        self.users, self.items = users, items
        self.rating_range = rating_range
        self.movies = movies.set_index("item_id", drop=False)
        self._titles = dict(zip(movies.item_id, movies.title, strict=True))

        with torch.no_grad():
            self._mu = float(model.global_bias)
            self._user_bias = model.user_bias.weight[:, 0].numpy().copy()
            self._item_bias = model.item_bias.weight[:, 0].numpy().copy()
            self._user_factors = model.user_factors.weight.numpy().copy()
            self._item_factors = model.item_factors.weight.numpy().copy()

        # Each user's rated movies, as item indices: computed once, used by every top-k.
        self.rated = rated[["user_id", "item_id"]].reset_index(drop=True)
        user_index = users.indices(rated.user_id)
        item_index = items.indices(rated.item_id)
        keep = (user_index >= 0) & (item_index >= 0)
        by_user = pd.Series(item_index[keep]).groupby(user_index[keep])
        self._rated = {int(u): group.to_numpy() for u, group in by_user}

    # --- predictions ------------------------------------------------------------------------

    def predict(self, user_ids: Sequence[int], item_ids: Sequence[int]) -> np.ndarray:
        """Predicted ratings for pairs of raw ids, clipped to the rating scale.

        A user or movie the model never saw still gets a prediction: the global mean plus
        whatever biases are known (the taste term needs both).
        """
        u = self.users.indices(user_ids)
        i = self.items.indices(item_ids)
        known_u, known_i = u >= 0, i >= 0
        both = known_u & known_i
        prediction = np.full(len(u), self._mu)
        prediction[known_u] += self._user_bias[u[known_u]]
        prediction[known_i] += self._item_bias[i[known_i]]
        prediction[both] += np.einsum(
            "ij,ij->i", self._user_factors[u[both]], self._item_factors[i[both]]
        )
        return np.clip(prediction, *self.rating_range)

    def scores(self, user_id: int) -> np.ndarray:
        """Unclipped predicted ratings of every known movie for a known user, by item index."""
        u = self.users.index(user_id)
        if u < 0:
            raise UnknownUserError(user_id)
        taste = self._item_factors @ self._user_factors[u]
        return self._mu + self._user_bias[u] + self._item_bias + taste

    def rated_by(self, user_id: int) -> np.ndarray:
        """Raw ids of the movies a user rated in the training data."""
        return self.items.raw(self._rated.get(self.users.index(user_id), np.empty(0, np.int64)))

    # --- recommendations --------------------------------------------------------------------

    def recommend(self, user_id: int, k: int = 10) -> list[Recommendation]:
        """The `k` best-scored movies the user has not rated yet, best first.

        Movies already rated are left out: the user has seen them, so recommending them is wasted
        space (and on held-out data it would be cheating). Raises `UnknownUserError`.
        """
        scores = self.scores(user_id)
        scores[self._rated.get(self.users.index(user_id), [])] = -np.inf
        k = min(k, int(np.isfinite(scores).sum()))
        top = np.argpartition(-scores, k - 1)[:k] if k > 0 else np.empty(0, np.int64)
        top = top[np.argsort(-scores[top], kind="stable")]  # argpartition leaves them unsorted
        return [
            Recommendation(int(raw), self._titles.get(int(raw), ""), float(scores[index]))
            for index, raw in zip(top, self.items.raw(top), strict=True)
        ]

    def movie(self, item_id: int) -> dict | None:
        """Title and genres of a movie by raw id, or None when the dataset has no such movie."""
        if item_id not in self._titles:
            return None
        row = self.movies.loc[item_id]
        genres = [g for g in str(row.genres).split("|") if g and g != "(no genres listed)"]
        return {"item_id": int(item_id), "title": row.title, "genres": genres}
