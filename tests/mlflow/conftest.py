"""Fixtures for the MLflow side: a real tracking server, a registry with three versions, servers.

Everything runs on loopback, with every store in a temporary folder: the server's SQLite file
and artifacts, and no MLflow call ever goes to a relative `./mlflow.db` or `./mlruns`. Servers are
started with the course's own scripts (mlflow/*.sh), so the tests also check what students run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pandas.errors import Pandas4Warning

from tests.conftest import REPO_ROOT, VENV_BIN, free_port

MLFLOW_DIR = REPO_ROOT / "mlflow"
CHAMPION_URI = "models:/movie-recommender@champion"
SERVER_START_TIMEOUT = 150  # seconds: 20-30 s on an idle 2-core VPS, far more under load

# Three training configurations whose validation RMSEs are ordered (checked by the tests): they
# are registered in this order, so the champion rule gets each of its three cases.
CONFIGS = {
    "first": {"epochs": 3, "n_factors": 8, "seed": 7},  # no champion yet: becomes champion
    "better": {"epochs": 12, "n_factors": 16, "seed": 7},  # beats it: takes the alias
    "worse": {"epochs": 1, "n_factors": 4, "seed": 7},  # does not beat it: alias stays
}


# --- processes ----------------------------------------------------------------------------------


def subprocess_env(**extra: str) -> dict[str, str]:
    """This environment, the venv's bin first on PATH, telemetry off, plus `extra`."""
    env = dict(os.environ, MLFLOW_DISABLE_TELEMETRY="true", **extra)
    # `mlflow.set_experiment` in this process exports MLFLOW_EXPERIMENT_ID: a child would inherit
    # it (and `mlflow run --experiment-name` refuses to start with both).
    env.pop("MLFLOW_EXPERIMENT_ID", None)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def wait_until_ready(url: str, process: subprocess.Popen, log: Path, timeout: float) -> None:
    """Poll `url` until it answers 200; fail early, with the log, if the process dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{process.args} exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    pytest.fail(f"{url} not ready after {timeout} s:\n{log.read_text()[-3000:]}")


def stop(process: subprocess.Popen) -> None:
    """Stop a server and every process it started (its process group), politely then firmly."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=20)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    with suppress(ProcessLookupError):  # children that outlived their parent are still in it
        os.killpg(process.pid, signal.SIGKILL)


@contextmanager
def running(
    command: list[str], ready_url: str, log: Path, env: dict[str, str], timeout: float
) -> Iterator[subprocess.Popen]:
    """Start `command` in its own process group, wait until `ready_url` answers, stop it after."""
    with open(log, "wb") as log_file:
        process = subprocess.Popen(
            command, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
        )
        try:
            wait_until_ready(ready_url, process, log, timeout)
            yield process
        finally:
            stop(process)


# --- MLflow -------------------------------------------------------------------------------------


@pytest.fixture(scope="package", autouse=True)
def mlflow_settings() -> Iterator[None]:
    """Telemetry off and no progress bars here; MLflow's own exports undone afterwards.

    `mlflow.set_tracking_uri` and `mlflow.set_experiment` also write MLFLOW_TRACKING_URI and
    MLFLOW_EXPERIMENT_ID into os.environ (for child processes). Deleting them first makes the
    MonkeyPatch remember "unset" and restore it when this package's tests are done, so nothing
    leaks into the rest of the suite.
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
        patch.setenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        patch.delenv("MLFLOW_EXPERIMENT_ID", raising=False)
        yield


@pytest.fixture(scope="package")
def tracking_server(tmp_path_factory) -> Iterator[str]:
    """A real `mlflow server` (mlflow/start_tracking_server.sh) on a free loopback port.

    Its SQLite store and artifacts live in a temporary folder. One server for the whole package
    (it takes 20-40 s to start), stopped after the package's last test.
    """
    import mlflow

    folder = tmp_path_factory.mktemp("tracking-server")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [str(MLFLOW_DIR / "start_tracking_server.sh"), "--port", str(port), "--dir",
               str(folder)]  # fmt: skip
    log = folder / "server.log"
    with running(command, f"{url}/health", log, subprocess_env(), SERVER_START_TIMEOUT):
        mlflow.set_tracking_uri(url)  # also exports MLFLOW_TRACKING_URI (see mlflow_settings)
        try:
            yield url
        finally:
            mlflow.set_tracking_uri(None)  # back to "unset" for the rest of the suite


@dataclass
class Registry:
    """Three logged runs of the same data, registered in order, and what the rule decided."""

    runs: dict = field(default_factory=dict)  # name -> movierec.tracking.LoggedRun
    results: dict = field(default_factory=dict)  # name -> movierec.train.TrainResult
    promotions: dict = field(default_factory=dict)  # name -> movierec.tracking.Promotion
    model_dirs: dict = field(default_factory=dict)  # name -> native model directory


@pytest.fixture(scope="package")
def registry(tracking_server, synthetic_dataset, tmp_path_factory) -> Registry:
    """Train `CONFIGS` on synthetic data, log each run, register it and apply the champion rule."""
    from movierec import tracking
    from movierec.data import train_test_split
    from movierec.metrics import evaluate
    from movierec.persist import save_model
    from movierec.train import TrainConfig, train

    tracking.use_tracking_server(tracking_server)
    train_part, test_part = train_test_split(synthetic_dataset.ratings, 0.2, seed=42)
    folder = tmp_path_factory.mktemp("registry-models")
    registry = Registry()
    for name, settings in CONFIGS.items():
        config = TrainConfig(**settings)
        result = train(train_part, synthetic_dataset.movies, config, progress=False)
        metrics = evaluate(result.recommender, train_part, test_part)
        model_dir = save_model(
            result.recommender,
            folder / name,
            dataset={"name": synthetic_dataset.name, "checksum": synthetic_dataset.checksum},
            hyperparameters=result.config.to_dict(),
            metrics=metrics,
        )
        with warnings.catch_warnings():
            # MLflow 3.17 compares columns with a range, which pandas 3 deprecates: not ours.
            warnings.filterwarnings("ignore", category=Pandas4Warning, module="mlflow")
            logged = tracking.log_training_run(result, model_dir, metrics, run_name=name)
        registry.runs[name], registry.results[name] = logged, result
        registry.model_dirs[name] = model_dir
        registry.promotions[name] = tracking.register_and_promote(logged.model_uri)
    return registry
