"""The training loops: seeded, early stopping keeps the best epoch, each model learns what it
should, and `train` records what it knows."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from movierec.errors import DataError, TrainingError
from movierec.hyperparameters import AutoRecConfig, BlendConfig
from movierec.model import model_version
from movierec.train import Ratings, Split, TrainConfig, early_stopping, train
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
        "name": "mf",
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
    assert metadata["training"]["cpu_seconds"] > 0
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


def test_a_diverging_run_is_a_training_error_not_a_broken_model():
    """Weights that blow up give a NaN validation error every epoch: no epoch is worth keeping."""

    class BlownUp(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(torch.tensor(float("nan")))

        def score(self, users, items):
            return self.weight.detach().expand(len(users))

    ratings = Ratings(torch.tensor([0, 1]), torch.tensor([1, 0]), torch.tensor([4.0, 2.0]))
    split = Split(ratings, ratings, n_users=2, n_items=2, rating_range=(1.0, 5.0))
    with pytest.raises(TrainingError, match="lower the learning rate"):
        early_stopping(BlownUp(), lambda: None, split, TrainConfig(epochs=3), progress=False)


def test_autorec_learns_stops_early_and_keeps_the_codes_of_its_best_epoch(split, synthetic_dataset):
    config = AutoRecConfig(hidden=16, epochs=30, patience=2, decay_patience=1, seed=3)
    result = train(split[0], synthetic_dataset.movies, config, progress=False)
    history = result.history
    assert len(history) < config.epochs and result.best_epoch == len(history) - config.patience
    assert history[result.best_epoch - 1]["train_rmse"] < history[0]["train_rmse"]
    recommender = result.recommender
    assert recommender.model.codes.abs().sum() > 0  # remembered, so it scores without ratings
    scores = recommender.scores(int(split[0].user_id.iloc[0]))
    assert len(scores) == len(recommender.items) and torch.isfinite(torch.from_numpy(scores)).all()


def test_a_blend_fits_its_members_on_one_split_and_weighs_them_on_the_rest(
    split, synthetic_dataset
):
    config = BlendConfig(epochs=8, seed=3)
    blend = train(split[0], synthetic_dataset.movies, config, progress=False)
    members = blend.recommender.metadata["training"]["members"]
    assert [m["model"] for m in members] == list(BlendConfig.MEMBERS)
    assert blend.history == [] and all(m["epochs_run"] >= 1 for m in members)
    # Least squares on the validation ratings: the blend is at least as good there as any member.
    assert blend.best_valid_rmse <= min(m["best_valid_rmse"] for m in members) + 1e-3
    weights = blend.recommender.model.weights[1:].tolist()
    assert weights == pytest.approx([m["weight"] for m in members])
    # Each member is exactly the model its own settings train: same split, same seed.
    alone = train(split[0], synthetic_dataset.movies, config.members()[0], progress=False)
    assert model_version(blend.recommender.model.members[0]) == alone.recommender.version
