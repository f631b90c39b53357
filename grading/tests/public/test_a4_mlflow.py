"""A4, MLflow: the submission's mlflow/train.py tracks a run, registers its model and moves the
`champion` alias by the rule. The store is the grader's (SQLite), read back here with MLflow."""

from __future__ import annotations

import mlflow
import pytest

pytestmark = [pytest.mark.assignment("A4"), pytest.mark.timeout(300)]

MODEL, CHAMPION = "movie-recommender", "champion"


def runs_by_name(tracked_runs) -> dict:
    tracked_runs.check()
    client = mlflow.MlflowClient(tracking_uri=tracked_runs.tracking_uri)
    experiment = client.get_experiment_by_name("movie-recommender")
    assert experiment, "no experiment `movie-recommender` was created"
    runs = client.search_runs([experiment.experiment_id])
    return {run.data.tags.get("mlflow.runName"): run for run in runs}


@pytest.mark.points(1)
def test_the_training_script_explains_its_options(tracked_runs):
    """`python mlflow/train.py --help` lists its options (the tracking URI among them)."""
    assert "--tracking-uri" in tracked_runs.help, "--help must list --tracking-uri"


@pytest.mark.points(2, exercises=["A4.1"])
def test_a_run_records_its_parameters_and_hold_out_metrics(tracked_runs):
    """The run logs the hyperparameters, the dataset and its checksum, and the test metrics."""
    run = runs_by_name(tracked_runs).get("good")
    assert run, "no run named `good` was recorded"
    params, metrics = run.data.params, run.data.metrics
    assert params.get("n_factors") == "16", "the hyperparameters are not logged as parameters"
    assert params.get("dataset") == "synthetic", "the dataset's name is not logged"
    assert len(params.get("dataset_checksum", "")) == 64, "the dataset's sha256 is not logged"
    assert 0.3 < metrics.get("test_rmse", 0) < 1.5, "the hold-out RMSE is not logged as test_rmse"


@pytest.mark.points(1, exercises=["A4.1"])
def test_the_model_is_registered_as_a_version(tracked_runs):
    """The run's model is registered as version 1 of `movie-recommender`."""
    client = mlflow.MlflowClient(tracking_uri=tracked_runs.tracking_uri)
    good = runs_by_name(tracked_runs)["good"]
    first = [v for v in client.search_model_versions(f"name='{MODEL}'") if str(v.version) == "1"]
    assert first, "no version 1 of movie-recommender"
    assert first[0].run_id == good.info.run_id, "version 1 is not the model of the first run"


@pytest.mark.points(2, exercises=["A4.2", "A4.1"])
def test_the_first_version_becomes_champion(tracked_runs):
    """With no champion yet, the first registered version takes the `champion` alias."""
    tracked_runs.check()
    client = mlflow.MlflowClient(tracking_uri=tracked_runs.tracking_uri)
    aliases = client.get_registered_model(MODEL).aliases
    assert aliases.get(CHAMPION) is not None, "nothing took the champion alias"
    assert str(aliases[CHAMPION]) == "1", f"champion is version {aliases[CHAMPION]}, not 1"
