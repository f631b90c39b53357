"""Translate raw MovieLens ids to model indices and back.

MovieLens ids are labels: they start at 1, have gaps (ml-latest-small's movie ids go past 190,000
for 9,742 movies) and mean nothing to an embedding table. A model needs indices 0..n-1.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np


class IdMap:
    """A fixed, sorted set of raw ids, each with its index 0..n-1. Unknown ids map to -1."""

    def __init__(self, raw_ids: Iterable[int]):
        self.raw_ids = np.unique(np.asarray(list(raw_ids), dtype=np.int64))
        self._index = {int(raw): index for index, raw in enumerate(self.raw_ids)}

    def __len__(self) -> int:
        return len(self.raw_ids)

    def __contains__(self, raw_id: object) -> bool:
        return raw_id in self._index

    def index(self, raw_id: int) -> int:
        """The index of one raw id, or -1 when the model never saw it."""
        return self._index.get(int(raw_id), -1)

    def indices(self, raw_ids: Iterable[int]) -> np.ndarray:
        """Indices of many raw ids at once (-1 for unknown ones)."""
        return np.fromiter((self._index.get(int(r), -1) for r in raw_ids), dtype=np.int64)

    def raw(self, indices: np.ndarray) -> np.ndarray:
        """Raw ids back from indices."""
        return self.raw_ids[indices]
