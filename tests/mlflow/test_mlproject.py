"""mlflow/train.py, through `mlflow run` (the MLproject's `train` entry point) and on its own."""

from __future__ import annotations

import runpy
import subprocess

import mlflow
import pytest
import yaml

from movierec.hyperparameters import DEFAULT_MODEL, MODEL_CONFIGS
from tests.conftest import VENV_BIN
from tests.mlflow.fixtures import MLFLOW_DIR, subprocess_env


def test_each_entry_point_trains_its_model_with_its_settings_defaults():
    """`mlflow run -e train-NAME` and `python -m movierec train --model NAME` train the same
    model by default: one entry point per model, its parameters those of its settings class."""
    entry_points = yaml.safe_load((MLFLOW_DIR / "MLproject").read_text())["entry_points"]
    assert set(entry_points) == {
        "train",
        *(f"train-{name}" for name in MODEL_CONFIGS if name != "mf"),
    }
    for entry_name, entry in entry_points.items():
        model = entry_name.removeprefix("train-") if entry_name != "train" else DEFAULT_MODEL
        parameters = {k: v for k, v in entry["parameters"].items() if k != "dataset"}
        defaults = MODEL_CONFIGS[model].field_defaults()
        assert set(parameters) == set(defaults), entry_name
        for name, default in defaults.items():
            assert type(default)(parameters[name]["default"]) == default, (entry_name, name)
            assert f"--{name.replace('_', '-')} {{{name}}}" in entry["command"], (entry_name, name)
        assert (f"--model {model}" in entry["command"]) == (model != DEFAULT_MODEL), entry_name


@pytest.mark.slow
def test_mlflow_run_trains_logs_and_registers(tracking_server, registry, tmp_path):
    # A registered model of its own, so this run cannot move the registry fixture's champion.
    command = [
        str(VENV_BIN / "mlflow"), "run", str(MLFLOW_DIR), "-e", "train", "--env-manager", "local",
        "--experiment-name", "movie-recommender",
        "-P", "dataset=synthetic", "-P", "epochs=2", "-P", "n_factors=8",
        "-P", "registered-model=mlproject-smoke",  # not a declared parameter: passed as --flag
    ]  # fmt: skip
    done = subprocess.run(
        command, cwd=tmp_path, env=subprocess_env(MLFLOW_TRACKING_URI=tracking_server),
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no champion yet" in done.stdout

    client = mlflow.MlflowClient()
    champion = client.get_model_version_by_alias("mlproject-smoke", "champion")
    run = client.get_run(champion.run_id)
    assert run.data.params["epochs"] == "2"
    assert run.data.params["dataset"] == "synthetic"
    assert run.data.tags["mlflow.project.entryPoint"] == "train"
    assert "best_valid_rmse" in run.data.metrics
    assert list(tmp_path.iterdir()) == []  # nothing written where it was started


# MLflow 3.17 compares DataFrame columns with a range(), which pandas 3 deprecates: not ours.
@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")
def test_the_train_script_runs_on_its_own(tracking_server, registry, capsys):
    # `python mlflow/train.py ...`, in this process (runpy: the folder is not a package).
    train_script = runpy.run_path(str(MLFLOW_DIR / "train.py"), run_name="train_script")
    argv = ["--tracking-uri", tracking_server, "--dataset", "synthetic", "--epochs", "2",
            "--n-factors", "8", "--registered-model", "script-smoke"]  # fmt: skip
    assert train_script["main"](argv) == 0
    assert train_script["main"]([*argv, "--epochs", "1", "--n-factors", "4"]) == 0
    # MLflow prints its own lines too ("View run ... at: http://..."): keep the script's verdicts.
    verdicts = [line for line in capsys.readouterr().out.splitlines() if line.startswith("script")]
    assert verdicts[0].startswith("script-smoke: version 1: no champion yet")
    assert verdicts[1].startswith("script-smoke: version 2: the candidate")
    assert "does not beat the champion" in verdicts[1]
