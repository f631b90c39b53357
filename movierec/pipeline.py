"""Train, measure and describe a model in one call.

The command line, MLflow's training script, the notebooks, the tests and the benchmarks all train
through `train_and_evaluate`, whatever the model, so every model records the same facts under the
same keys (`train` adds `model`, `hyperparameters` and `training`):

    dataset     {"name", "checksum", "n_ratings"}: what the ratings were ("ml-100k/u1": a split)
    holdout     {"test_fraction", "seed"}: how the test ratings were drawn (None: a canonical
                split's uN.test, or no test at all)
    metrics     RMSE, MAE, precision@k ... on those test ratings, measured on a model that never
                saw them
    refit       True when the saved model was then trained again on *every* rating, held-out
                ones included: it serves better, and its metrics are those of the measured fit

The served model learns from all the data; the numbers describe a fit that could be measured.
Two models' metrics compare only when `dataset` and `holdout` agree (`movierec.promotion`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

from movierec.data import Dataset, holdout_split
from movierec.hyperparameters import ModelConfig
from movierec.metrics import evaluate
from movierec.recommender import Recommender
from movierec.train import TrainResult, train


@dataclass(frozen=True)
class Holdout:
    """Which ratings are kept out of training to measure the model: a share of each user's."""

    test_fraction: float = 0.2
    seed: int = 42

    def __post_init__(self):
        if not 0 <= self.test_fraction < 1:
            raise ValueError(
                f"test_fraction must be at least 0 and below 1, not {self.test_fraction}"
            )


@dataclass
class Trained:
    """What `train_and_evaluate` produced."""

    recommender: Recommender  # the model to save and serve; its metadata is complete
    measured: TrainResult  # the fit that was measured (its history draws the training curve)
    metrics: dict[str, float]  # on `test`; {} when nothing was held out
    train: pd.DataFrame  # the ratings the measured fit learned from
    test: pd.DataFrame | None  # the held-out ratings, never seen by the measured fit

    def summary(self) -> str:
        """One line saying what the saved model learned from, for printing."""
        meta = self.recommender.metadata
        n = meta["training"]["n_ratings"]
        if meta["refit"]:
            return f"trained on all {n:,} ratings of {meta['dataset']['name']} (after measuring)"
        left_out = " (the held-out ratings left out)" if meta["holdout"] else ""
        return f"trained on {n:,} ratings of {meta['dataset']['name']}{left_out}"


def train_and_evaluate(
    dataset: Dataset,
    config: ModelConfig | None = None,
    holdout: Holdout | None = Holdout(),
    refit: bool = True,
    progress: bool = True,
    k: int = 10,
) -> Trained:
    """Measure a model on held-out ratings, then (with `refit`) train the one to serve on all.

    Args:
        dataset: from `movierec.data.load_dataset` or `dataset_from_files`. A canonical split
            (`dataset.test` set) is measured on its own test file and never refitted.
        config: the model and its hyperparameters (`movierec.hyperparameters`); the taught
            model's defaults, `TrainConfig()`, when omitted.
        holdout: which share of each user's ratings to measure on; None or a fraction of 0
            trains on everything and records no metrics.
        refit: after measuring, train again on every rating and save that model instead.
        progress: show the training progress bar.
        k: the cut-off of the ranking metrics.
    """
    if dataset.test is not None:  # ML-100K's uN.base / uN.test: the split is the experiment
        holdout, refit = None, False
        train_part, test_part = dataset.ratings, dataset.test
    elif holdout is None or holdout.test_fraction == 0:
        holdout, refit = None, False
        train_part, test_part = dataset.ratings, None
    else:
        train_part, test_part = holdout_split(dataset.ratings, holdout.test_fraction, holdout.seed)

    measured = train(train_part, dataset.movies, config, progress)
    metrics = {} if test_part is None else evaluate(measured.recommender, train_part, test_part, k)
    final = train(dataset.ratings, dataset.movies, config, progress) if refit else measured

    final.recommender.metadata.update(
        dataset={
            "name": dataset.name,
            "checksum": dataset.checksum,
            "n_ratings": len(dataset.ratings),
        },
        holdout=asdict(holdout) if holdout else None,
        refit=refit,
        metrics=metrics,
    )
    return Trained(final.recommender, measured, metrics, train_part, test_part)
