"""The synthetic dataset: deterministic, MovieLens-shaped, identified by its checksum."""

from __future__ import annotations

import pandas as pd

from movierec.data import load_dataset
from movierec.synthetic import make_synthetic


def test_synthetic_data_is_deterministic_and_shaped_like_movielens():
    ratings, movies = make_synthetic(seed=3)
    again, _ = make_synthetic(seed=3)
    other, _ = make_synthetic(seed=4)
    pd.testing.assert_frame_equal(ratings, again)
    assert not ratings.equals(other)
    assert list(ratings.columns) == ["user_id", "item_id", "rating", "timestamp"]
    assert list(movies.columns) == ["item_id", "title", "genres"]
    assert set(ratings.rating.unique()) <= {1, 2, 3, 4, 5}
    assert ratings.groupby("user_id").size().min() >= 20  # like ML-100K
    assert not ratings.duplicated(["user_id", "item_id"]).any()
    assert set(ratings.item_id) <= set(movies.item_id)


def test_the_synthetic_dataset_has_a_checksum_that_identifies_it(synthetic_dataset):
    assert synthetic_dataset.name == "synthetic"
    assert load_dataset("synthetic").checksum == synthetic_dataset.checksum
    assert "ratings by" in synthetic_dataset.describe()
