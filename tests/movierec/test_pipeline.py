"""train_and_evaluate: measure on a hold-out, serve a model trained on everything, say which."""

from __future__ import annotations

import pytest

from movierec.data import Dataset, holdout_split
from movierec.hyperparameters import MODEL_CONFIGS, TrainConfig
from movierec.pipeline import Holdout, train_and_evaluate

FAST = TrainConfig(epochs=4, n_factors=8, seed=1)


@pytest.fixture(scope="module")
def refitted(synthetic_dataset):
    return train_and_evaluate(synthetic_dataset, FAST, Holdout(0.2, seed=5), progress=False)


def test_the_served_model_learns_from_every_rating(refitted, synthetic_dataset):
    """Measured on 80 %, then trained again on 100 %: the saved model is the second one."""
    recommender = refitted.recommender
    assert len(recommender.rated) == len(synthetic_dataset.ratings)
    assert recommender.metadata["training"]["n_ratings"] == len(synthetic_dataset.ratings)
    assert refitted.measured.recommender is not recommender
    assert len(refitted.train) + len(refitted.test) == len(synthetic_dataset.ratings)


def test_the_metrics_come_from_the_fit_that_never_saw_the_hold_out(refitted, synthetic_dataset):
    train, test = holdout_split(synthetic_dataset.ratings, 0.2, seed=5)
    assert refitted.train.equals(train) and refitted.test.equals(test)
    metadata = refitted.recommender.metadata
    assert metadata["metrics"] == refitted.metrics and 0.5 < metadata["metrics"]["rmse"] < 1.5
    assert metadata["holdout"] == {"test_fraction": 0.2, "seed": 5} and metadata["refit"] is True
    assert metadata["dataset"] == {
        "name": "synthetic",
        "checksum": synthetic_dataset.checksum,
        "n_ratings": len(synthetic_dataset.ratings),
    }
    assert "all 18,431 ratings" in refitted.summary()


def test_without_refit_the_saved_model_is_the_measured_one(synthetic_dataset):
    kept = train_and_evaluate(synthetic_dataset, FAST, Holdout(), refit=False, progress=False)
    assert (
        kept.recommender is kept.measured.recommender
        and kept.recommender.metadata["refit"] is False
    )
    assert len(kept.recommender.rated) == len(kept.train)
    assert "held-out ratings left out" in kept.summary()


def test_a_canonical_split_is_measured_on_its_test_file_and_never_refitted(synthetic_dataset):
    train, test = holdout_split(synthetic_dataset.ratings, 0.25, seed=9)
    split = Dataset("fake/u1", train, synthetic_dataset.movies, "0" * 64, test=test, split="u1")
    trained = train_and_evaluate(split, FAST, Holdout(), progress=False)
    assert trained.test is test and len(trained.recommender.rated) == len(train)
    assert trained.recommender.metadata["holdout"] is None
    assert trained.recommender.metadata["refit"] is False


def test_a_zero_hold_out_trains_on_everything_and_measures_nothing(synthetic_dataset):
    trained = train_and_evaluate(synthetic_dataset, FAST, Holdout(0.0), progress=False)
    assert trained.metrics == {} and trained.test is None
    assert trained.recommender.metadata["holdout"] is None


def test_a_hold_out_of_everything_is_refused():
    with pytest.raises(ValueError, match="below 1"):
        Holdout(1.0)


@pytest.mark.parametrize("name", MODEL_CONFIGS)
def test_every_model_trains_through_the_one_pipeline(synthetic_dataset, name):
    """One function for every model: measured, then refitted, and named in the metadata."""
    config = MODEL_CONFIGS[name](epochs=3, seed=1)
    trained = train_and_evaluate(synthetic_dataset, config, Holdout(0.2, seed=5), progress=False)
    metadata = trained.recommender.metadata
    assert metadata["model"]["name"] == name and metadata["hyperparameters"] == config.to_dict()
    assert metadata["refit"] is True and 0.5 < metadata["metrics"]["rmse"] < 1.5
