"""The training loop: seeded, early stopping keeps the best epoch, it records what it knows."""

from __future__ import annotations

import pytest

from movierec.errors import DataError, TrainingError
from movierec.train import TrainConfig, train
from tests.movierec.conftest import FAST


def test_training_is_seeded(split, synthetic_dataset, trained):
    again = train(split[0], synthetic_dataset.movies, FAST, progress=False)
    assert again.history == trained.history
    assert again.recommender.version == trained.recommender.version


def test_history_and_early_stopping_keep_the_best_epoch(trained):
    history = trained.history
    assert [row["epoch"] for row in history] == list(range(1, len(history) + 1))
    best = min(history, key=lambda row: row["valid_rmse"])
    assert trained.best_epoch == best["epoch"]
    assert trained.best_valid_rmse == best["valid_rmse"]
    assert history[-1]["train_rmse"] < history[0]["train_rmse"]  # it learned something


def test_train_records_what_it_knows_in_the_metadata(split, trained):
    metadata = trained.recommender.metadata
    assert metadata["model"] == {
        "class": "MatrixFactorization",
        "init_args": {
            "n_users": split[0].user_id.nunique(),
            "n_items": split[0].item_id.nunique(),
            "n_factors": 16,
        },
    }
    assert metadata["hyperparameters"] == FAST.to_dict()
    assert metadata["training"]["n_ratings"] == len(split[0])
    assert metadata["training"]["best_epoch"] == trained.best_epoch
    assert metadata["training"]["epochs_run"] == len(trained.history)
    assert metadata["created_at"] and metadata["version"] == trained.recommender.version
    assert trained.recommender.rating_range == (1.0, 5.0)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        (0, "too few to train on"),
        (3, "too few to train on"),
    ],
)
def test_too_few_ratings_are_a_clear_error(synthetic_dataset, rows, message):
    with pytest.raises(DataError, match=message):
        train(synthetic_dataset.ratings.head(rows), synthetic_dataset.movies, FAST, False)


def test_ratings_without_values_are_a_clear_error(synthetic_dataset):
    pairs = synthetic_dataset.ratings.assign(rating=float("nan"))
    with pytest.raises(DataError, match="needs a value"):
        train(pairs, synthetic_dataset.movies, FAST, progress=False)


def test_a_diverging_run_is_a_training_error_not_a_broken_model(split, synthetic_dataset):
    wild = TrainConfig(epochs=3, learning_rate=1e30, seed=3)
    with pytest.raises(TrainingError, match="lower the learning rate"):
        train(split[0], synthetic_dataset.movies, wild, progress=False)
