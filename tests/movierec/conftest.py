"""Fixtures of the package's tests: one hold-out split of the synthetic data, and a model
trained on its training part (both shared: training takes a second, every test only reads)."""

from __future__ import annotations

import pytest

from movierec.data import holdout_split
from movierec.train import TrainConfig, train

FAST = TrainConfig(epochs=15, n_factors=16, seed=3)


@pytest.fixture(scope="session")
def split(synthetic_dataset):
    """(train, test): 20 % of each user's synthetic ratings held out."""
    return holdout_split(synthetic_dataset.ratings, 0.2, seed=0)


@pytest.fixture(scope="session")
def trained(split, synthetic_dataset):
    """`train` on the training part with FAST settings: a `TrainResult`."""
    return train(split[0], synthetic_dataset.movies, FAST, progress=False)
