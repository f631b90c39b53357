"""The MLflow side's shared fixtures: one real tracking server for the whole suite, a registry
with versions ordered by quality, and the Flask app serving the registry's champion.

Loaded by tests/conftest.py (`pytest_plugins`), so tests in other folders (tests/flask_app's API
contract) can use them too. Everything runs on loopback, with every store in a temporary folder:
no MLflow call ever goes to a relative `./mlflow.db` or `./mlruns`. Servers are started with the
course's own scripts (mlflow/*.sh), so the tests also check what students run.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from movierec.processes import free_port, running
from tests.conftest import REPO_ROOT, VENV_BIN

MLFLOW_DIR = REPO_ROOT / "mlflow"
CHAMPION_URI = "models:/movie-recommender@champion"
SERVER_START_TIMEOUT = 150  # seconds: 20-30 s on an idle 2-core VPS, far more under load

# Training configurations whose hold-out RMSEs are ordered (checked by the tests), registered in
# this order so the champion rule meets each of its cases. All share the default hold-out, but
# "elsewhere", measured on another hold-out, must never be compared with them.
CONFIGS = {
    "first": ({"epochs": 3, "n_factors": 8, "seed": 7}, 42),  # no champion yet: becomes champion
    "better": ({"epochs": 12, "n_factors": 16, "seed": 7}, 42),  # beats it: takes the alias
    "worse": ({"epochs": 1, "n_factors": 4, "seed": 7}, 42),  # does not beat it: alias stays
    "elsewhere": ({"epochs": 12, "n_factors": 16, "seed": 7}, 7),  # another hold-out: no compare
}


def subprocess_env(**extra: str) -> dict[str, str]:
    """This environment, the venv's bin first on PATH, telemetry off, plus `extra`."""
    env = dict(os.environ, MLFLOW_DISABLE_TELEMETRY="true", **extra)
    # `mlflow.set_experiment` in this process exports MLFLOW_EXPERIMENT_ID: a child would inherit
    # it (and `mlflow run --experiment-name` refuses to start with both).
    env.pop("MLFLOW_EXPERIMENT_ID", None)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


@pytest.fixture(scope="session")
def tracking_server(tmp_path_factory) -> Iterator[str]:
    """A real `mlflow server` (mlflow/start_tracking_server.sh) on a free loopback port.

    Its SQLite store and artifacts live in a temporary folder. One server for the whole suite
    (it takes 20-40 s to start). `mlflow.set_tracking_uri` and `set_experiment` also write
    MLFLOW_TRACKING_URI and MLFLOW_EXPERIMENT_ID into os.environ: both are undone afterwards.
    """
    import mlflow

    folder = tmp_path_factory.mktemp("tracking-server")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [str(MLFLOW_DIR / "start_tracking_server.sh"), "--port", str(port), "--dir",
               str(folder)]  # fmt: skip
    with (
        pytest.MonkeyPatch.context() as patch,
        running(
            command,
            folder / "server.log",
            f"{url}/health",
            SERVER_START_TIMEOUT,
            env=subprocess_env(),
        ),  # fmt: skip
    ):
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)  # remembered as "unset"
        patch.delenv("MLFLOW_EXPERIMENT_ID", raising=False)
        mlflow.set_tracking_uri(url)
        try:
            yield url
        finally:
            mlflow.set_tracking_uri(None)


@dataclass
class Registry:
    """Runs of the same data, registered in order, and what the rule decided."""

    runs: dict = field(default_factory=dict)  # name -> movierec.tracking.LoggedRun
    trained: dict = field(default_factory=dict)  # name -> movierec.pipeline.Trained
    promotions: dict = field(default_factory=dict)  # name -> movierec.registry.Promotion
    model_dirs: dict = field(default_factory=dict)  # name -> native model directory


@pytest.fixture(scope="session")
def registry(tracking_server, synthetic_dataset, tmp_path_factory) -> Registry:
    """Train `CONFIGS` on synthetic data as mlflow/train.py does, log, register and promote each."""
    from pandas.errors import Pandas4Warning

    from movierec import registry as mlflow_registry
    from movierec import tracking
    from movierec.hyperparameters import TrainConfig
    from movierec.persist import save_model
    from movierec.pipeline import Holdout, train_and_evaluate

    tracking.use_tracking_server(tracking_server)
    folder = tmp_path_factory.mktemp("registry-models")
    result = Registry()
    for name, (settings, holdout_seed) in CONFIGS.items():
        trained = train_and_evaluate(
            synthetic_dataset, TrainConfig(**settings), Holdout(seed=holdout_seed), progress=False
        )
        model_dir = save_model(trained.recommender, folder / name)
        with warnings.catch_warnings():
            # MLflow 3.17 compares columns with a range, which pandas 3 deprecates: not ours.
            warnings.filterwarnings("ignore", category=Pandas4Warning, module="mlflow")
            logged = tracking.log_training_run(trained, model_dir, run_name=name)
        result.runs[name], result.trained[name] = logged, trained
        result.model_dirs[name] = model_dir
        result.promotions[name] = mlflow_registry.register_and_promote(logged.model_uri)
    return result


@pytest.fixture(scope="session")
def mlflow_app(registry):
    """The Flask app serving the registry's champion (MLFLOW_TRACKING_URI is the test server)."""
    from flask_app import create_app

    return create_app({"MOVIEREC_MODEL": CHAMPION_URI, "TESTING": True})
