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


@pytest.fixture(scope="session")
def spark():
    """One local Spark session (`local[2]`, loopback, no UI) for every Spark test: it takes
    5 to 10 s to start. Needs pyspark (requirements-dev.txt) and Java 17."""
    import importlib.util

    from tests.conftest import require, require_tool

    require_tool("java")
    require(importlib.util.find_spec("pyspark") is not None, "pyspark is not installed")
    from movierec.spark_als import spark_session

    with spark_session(cores=2) as session:
        yield session
