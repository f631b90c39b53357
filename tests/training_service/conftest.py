"""Fixtures for the training service: a served model of one's own, and a clock to move."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

# A job's training settings small enough to take a second or two on the synthetic data.
QUICK = {"epochs": 2, "n_factors": 4, "seed": 1}


class Clock:
    """A clock the test moves forward, for time-to-live rules (no sleeping)."""

    def __init__(self, now: float = 1_800_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def serve_copy(recommender, folder: Path, **metadata) -> Path:
    """Save a copy of `recommender` as a served model (a link, as `make train` leaves it), with
    some metadata replaced, e.g. a worse recorded RMSE: `metrics={"rmse": 5.0}`."""
    from movierec.persist import save_model

    served = copy.deepcopy(recommender)
    served.metadata.update(metadata)
    return save_model(served, folder / "models" / "default")


@pytest.fixture
def served(tmp_path, tiny_trained) -> Path:
    """A served model of this test's own: the suite's tiny model, which jobs may replace."""
    return serve_copy(tiny_trained.recommender, tmp_path)
