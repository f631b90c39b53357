"""Raw ids in, predicted ratings and ranked movies out: the object every part of the course uses.

A `Recommender` holds a trained network (any model class of `movierec.model`), the maps between
raw MovieLens ids and the network's indices, the movies each user rated in training, the titles,
and `metadata`: everything the model says about itself (what it was trained on, how, its scores),
which `movierec.persist.save_model` writes and `load_model` reads back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
import pandas as pd
import torch
from torch import nn

from movierec.errors import FoldInError, UnknownUserError
from movierec.hyperparameters import TrainConfig
from movierec.ids import IdMap
from movierec.limits import DEFAULT_K, MAX_K  # noqa: F401 (callers import both from here too)
from movierec.model import model_version


class Recommendation(NamedTuple):
    item_id: int
    title: str
    score: float  # the predicted rating, before clipping to the rating scale


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the `k` highest finite scores, best first; ties keep their order.

    One ranking rule for the list that is served and the list that is measured
    (`movierec.metrics`), so the metrics describe what users get.
    """
    # BEGIN SOLUTION A2.1: the positions of the k highest finite scores, best first
    order = np.argsort(-scores, kind="stable")
    return order[: min(k, int(np.isfinite(scores).sum()))]
    # END SOLUTION


class Recommender:
    """A trained network plus everything needed to use it with raw MovieLens ids."""

    def __init__(
        self,
        model: nn.Module,
        users: IdMap,
        items: IdMap,
        rated: pd.DataFrame,
        movies: pd.DataFrame,
        rating_range: tuple[float, float] = (1.0, 5.0),
        metadata: dict | None = None,
    ):
        """`rated`: the training ratings (user_id, item_id, ...), so top-k can skip seen movies.

        `metadata`: what the model says about itself; `train()` starts it, the caller adds the
        dataset and the metrics, `save_model` writes it. Its "version" is set here if missing.
        """
        self.model = model.eval()
        self.users, self.items = users, items
        self.rating_range = (float(rating_range[0]), float(rating_range[1]))
        self.movies = movies.set_index("item_id", drop=False)
        self._titles = dict(zip(movies.item_id, movies.title, strict=True))
        self.metadata = dict(metadata or {})
        self.metadata.setdefault("version", model_version(model))

        # Each user's rated movies, as item indices: computed once, used by every top-k.
        self.rated = rated[["user_id", "item_id"]].reset_index(drop=True)
        user_index = users.indices(rated.user_id)
        item_index = items.indices(rated.item_id)
        keep = (user_index >= 0) & (item_index >= 0)
        by_user = pd.Series(item_index[keep]).groupby(user_index[keep])
        self._rated = {int(u): group.to_numpy() for u, group in by_user}

    @property
    def version(self) -> str:
        """The model's short id (see `movierec.model.model_version`)."""
        return self.metadata["version"]

    # --- predictions ------------------------------------------------------------------------

    def score(self, user_ids: Sequence[int], item_ids: Sequence[int]) -> np.ndarray:
        """Unclipped predicted ratings for pairs of raw ids: what rankings are sorted by.

        A user or movie the model never saw still gets a score from the model's fallback (for
        matrix factorization: the global mean plus whatever biases are known).
        """
        users = torch.from_numpy(self.users.indices(user_ids))
        items = torch.from_numpy(self.items.indices(item_ids))
        return self.model.score(users, items).numpy().astype(np.float64)

    def predict(self, user_ids: Sequence[int], item_ids: Sequence[int]) -> np.ndarray:
        """Predicted ratings for pairs of raw ids, clipped to the rating scale."""
        return np.clip(self.score(user_ids, item_ids), *self.rating_range)

    def scores(self, user_id: int) -> np.ndarray:
        """Unclipped scores of every known movie for a known user, by item index."""
        if user_id not in self.users:
            raise UnknownUserError(user_id)
        return self.score(np.full(len(self.items), user_id), self.items.raw_ids)

    def rated_by(self, user_id: int) -> np.ndarray:
        """Raw ids of the movies a user rated in the training data."""
        return self.items.raw(self._rated.get(self.users.index(user_id), np.empty(0, np.int64)))

    def in_catalogue(self, item_ids: Sequence[int]) -> np.ndarray:
        """Which ids are movies of the model's catalogue (a mask): others are most likely typos.

        A catalogue movie that had no training rating is still predicted, from the biases alone.
        """
        return np.isin(np.asarray(item_ids, dtype=np.int64), self.movies.index.to_numpy())

    # --- recommendations --------------------------------------------------------------------

    def recommend(self, user_id: int, k: int = DEFAULT_K) -> list[Recommendation]:
        """The `k` best-scored movies the user has not rated yet, best first.

        Movies already rated are left out: the user has seen them, so recommending them is wasted
        space (and on held-out data it would be cheating). Raises `UnknownUserError`.
        """
        scores = self.scores(user_id)
        # BEGIN SOLUTION A2.1: leave out the movies the user rated in training
        scores[self._rated.get(self.users.index(user_id), [])] = -np.inf
        # END SOLUTION
        return self._best(scores, k)

    def _best(self, scores: np.ndarray, k: int) -> list[Recommendation]:
        """The `k` best-scored movies (scores by item index; -inf for those left out)."""
        top = top_k(scores, k)
        return [
            Recommendation(int(raw), self._titles.get(int(raw), ""), float(scores[index]))
            for index, raw in zip(top, self.items.raw(top), strict=True)
        ]

    # --- someone the model was not trained on -----------------------------------------------

    def recommend_for_ratings(
        self, ratings: Mapping[int, float], k: int = DEFAULT_K
    ) -> list[Recommendation]:
        """The `k` best movies for a newcomer, from their ratings ({movie id: rating}).

        Their taste is folded into the trained model (its `fold_in`): the movies stay as they
        were learned, only the newcomer's bias and taste vector are solved for, in milliseconds,
        and nothing is retrained or saved. Movies the model never saw teach it nothing about
        taste and are skipped; movies they rated are never recommended. Raises `FoldInError`
        when no rated movie is known to the model, or its class cannot fold a user in.
        """
        fold_in = getattr(self.model, "fold_in", None)
        if not callable(fold_in):
            raise FoldInError(
                f"this model ({type(self.model).__name__}) cannot take in the ratings of a user "
                "it was not trained on"
            )
        known = {item: rating for item, rating in ratings.items() if item in self.items}
        if not known:
            raise FoldInError("none of the rated movies is known to the model")
        items = torch.from_numpy(self.items.indices(list(known)))
        values = torch.tensor(list(known.values()), dtype=torch.float32)
        scores = fold_in(items, values, self._fold_in_l2()).numpy().astype(np.float64)
        scores[items.numpy()] = -np.inf  # they have seen these
        return self._best(scores, k)

    def _fold_in_l2(self) -> float:
        """The L2 strength the model was trained with: a newcomer is held to the same."""
        l2 = (self.metadata.get("hyperparameters") or {}).get("l2")
        # A model trained without L2 (or that does not say) gets the default: the solve needs some.
        return float(l2) if isinstance(l2, int | float) and l2 > 0 else TrainConfig().l2

    def movie(self, item_id: int) -> dict | None:
        """Title and genres of a movie by raw id, or None when the dataset has no such movie."""
        if item_id not in self._titles:
            return None
        row = self.movies.loc[item_id]
        genres = [g for g in str(row.genres).split("|") if g and g != "(no genres listed)"]
        return {"item_id": int(item_id), "title": row.title, "genres": genres}
