"""movierec.tracking: where runs go, what a run records (on the suite's real tracking server),
the logged model's requirements."""

from __future__ import annotations

import mlflow
import pytest

from movierec import tracking
from movierec.tracking import METADATA_ARTIFACT, TORCH_CPU_INDEX, pip_requirements


def test_tracking_uris_must_be_absolute(tmp_path):
    for relative in ("sqlite:///mlflow.db", "mlruns", "file:mlruns"):
        with pytest.raises(ValueError, match="not absolute"):
            tracking.use_tracking_server(relative)
    uri = tracking.local_tracking_uri(tmp_path / "store")
    assert uri == f"sqlite:///{tmp_path}/store/mlflow.db" and uri.startswith("sqlite:////")


def test_requirements_pin_torch_and_point_pip_at_the_cpu_wheels():
    requirements = pip_requirements()
    assert requirements[0] == f"--extra-index-url {TORCH_CPU_INDEX}"
    assert "torch==2.13.0" in requirements
    assert all("+" not in line for line in requirements)  # no `+cpu`: PyPI has no such version


@pytest.mark.slow
def test_a_run_records_parameters_metrics_curve_and_dataset(registry, synthetic_dataset):
    client = mlflow.MlflowClient()
    trained, logged = registry.trained["better"], registry.runs["better"]
    result = trained.measured
    run = client.get_run(logged.run_id)

    assert run.data.params["n_factors"] == "16"
    assert run.data.params["dataset"] == "synthetic"
    assert run.data.params["dataset_checksum"] == synthetic_dataset.checksum
    assert run.data.metrics["best_valid_rmse"] == pytest.approx(result.best_valid_rmse)
    assert run.data.metrics["test_rmse"] == pytest.approx(trained.metrics["rmse"])
    assert {"test_precision_at_10", "best_epoch"} <= set(run.data.metrics)
    logged_metadata = mlflow.artifacts.load_dict(f"runs:/{logged.run_id}/{METADATA_ARTIFACT}")
    assert logged_metadata["version"] == trained.recommender.version

    history = client.get_metric_history(logged.run_id, "valid_rmse")
    assert [m.step for m in history] == [row["epoch"] for row in result.history]
    assert [m.value for m in history] == pytest.approx([r["valid_rmse"] for r in result.history])
    assert "training_curve.png" in {a.path for a in client.list_artifacts(logged.run_id)}
