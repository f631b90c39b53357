"""The Surprise library's models behind movierec's `Predictor` interface, for the benchmarks.

`SurprisePeer(surprise.SVDpp()).fit(ratings)` trains on a ratings frame and then answers
`score(user_ids, item_ids)` and `predict(...)` with raw MovieLens ids, like the `Recommender` and
the baselines, so `movierec.metrics.evaluate` measures all of them the same way.

Surprise predicts one pair per Python call: ranking every movie for every test user (the ranking
metrics) would take minutes with SVD++. So scores are computed from the fitted model's own
parameters, all pairs at once, with the formulas of Surprise's `estimate` methods; `fit` checks
them against Surprise's own `predict` on a sample of pairs and refuses to go on if they differ.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import surprise


class SurprisePeer:
    """A Surprise `BaselineOnly`, `SVD` or `SVDpp`, scoring raw-id pairs vectorised."""

    def __init__(self, algorithm: surprise.AlgoBase):
        self.algorithm = algorithm

    def fit(self, ratings: pd.DataFrame) -> SurprisePeer:
        self.range_ = (float(ratings.rating.min()), float(ratings.rating.max()))
        reader = surprise.Reader(rating_scale=self.range_)
        frame = ratings[["user_id", "item_id", "rating"]]
        trainset = surprise.Dataset.load_from_df(frame, reader).build_full_trainset()
        self.algorithm.fit(trainset)
        self._read_parameters(trainset)
        self._check_against_surprise(ratings)
        return self

    def _read_parameters(self, trainset: surprise.Trainset) -> None:
        """Inner-id maps, biases, and each user's full taste vector (explicit + implicit)."""
        algo = self.algorithm
        self.users_ = {trainset.to_raw_uid(u): u for u in trainset.all_users()}
        self.items_ = {trainset.to_raw_iid(i): i for i in trainset.all_items()}
        self.mean_ = trainset.global_mean
        self.bu_, self.bi_ = np.asarray(algo.bu), np.asarray(algo.bi)
        self.pu_ = self.qi_ = None
        if hasattr(algo, "pu"):  # SVD, SVDpp: a dot product of factors
            self.pu_, self.qi_ = np.array(algo.pu), np.asarray(algo.qi)
        if hasattr(algo, "yj"):  # SVDpp: plus |N(u)|^-1/2 times the sum of y_j over u's movies
            for u, rated in trainset.ur.items():
                movies = [j for j, _ in rated]
                self.pu_[u] += np.asarray(algo.yj)[movies].sum(axis=0) / np.sqrt(len(movies))

    def _inner(self, raw_ids: Sequence[int], inner: dict) -> np.ndarray:
        return np.array([inner.get(int(raw), -1) for raw in raw_ids], dtype=np.int64)

    def score(self, user_ids: Sequence[int], item_ids: Sequence[int]) -> np.ndarray:
        """Unclipped predictions; an unknown user or movie adds no bias and no dot product."""
        u, i = self._inner(user_ids, self.users_), self._inner(item_ids, self.items_)
        known_u, known_i = u >= 0, i >= 0
        scores = self.mean_ + np.where(known_u, self.bu_[u], 0) + np.where(known_i, self.bi_[i], 0)
        if self.pu_ is not None:
            both = known_u & known_i
            scores[both] += (self.pu_[u[both]] * self.qi_[i[both]]).sum(axis=1)
        return scores

    def predict(self, user_ids: Sequence[int], item_ids: Sequence[int]) -> np.ndarray:
        return np.clip(self.score(user_ids, item_ids), *self.range_)

    def _check_against_surprise(self, ratings: pd.DataFrame, n: int = 200) -> None:
        rng = np.random.default_rng(0)
        users = rng.choice(ratings.user_id.unique(), n)
        items = rng.choice([*ratings.item_id.unique(), -1], n)  # -1: a movie it never saw
        theirs = [
            self.algorithm.predict(u, i, clip=False).est for u, i in zip(users, items, strict=True)
        ]
        if not np.allclose(self.score(users, items), theirs, atol=1e-6):
            raise AssertionError(f"{type(self.algorithm).__name__}: scores differ from Surprise's")
