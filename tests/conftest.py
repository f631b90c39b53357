"""Fixtures shared by the whole suite.

A grader runs `make test`; CI runs the same command with CI=true. Tests that need a system tool
(sshd, ufw, chromium, ...) skip with a clear reason on a laptop that lacks it, but *fail* under CI,
where `.ci/run` installs every tool: a green CI run never hides a skipped check.
"""

from __future__ import annotations

import os
import shutil
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

# The MLflow fixtures (one tracking server, a registry) are shared with other folders' tests.
pytest_plugins = ["tests.mlflow.fixtures"]

REPO_ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
IN_CI = bool(os.environ.get("CI"))


def require(condition: bool, reason: str) -> None:
    """Skip the calling test when `condition` is false, or fail it when running in CI."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI must provide this: {reason}")
    pytest.skip(reason)


def require_tool(name: str) -> str:
    """Return the absolute path of a command-line tool, or skip/fail (see `require`)."""
    path = shutil.which(name) or next(
        (str(p) for p in (Path("/usr/sbin") / name, Path("/sbin") / name) if p.exists()), None
    )
    require(path is not None, f"`{name}` is not installed (see .ci/run for the Debian packages)")
    return str(path)


def require_root() -> None:
    require(os.geteuid() == 0, "needs root (network namespaces, sshd, ufw)")


# --- the numbered notebooks, executed once per session ------------------------------------------


@pytest.fixture(scope="session")
def notebook_run_dir(tmp_path_factory) -> Path:
    """Where tests/notebooks runs the numbered notebooks in order: their files go under it, and
    the executed copies, with every output, into its `executed/` folder, which the website reuses.
    `make site` sets MOVIEREC_NOTEBOOK_RUN_DIR to keep them in its build folder."""
    chosen = os.environ.get("MOVIEREC_NOTEBOOK_RUN_DIR")
    if chosen:
        Path(chosen).mkdir(parents=True, exist_ok=True)
        return Path(chosen).resolve()
    return tmp_path_factory.mktemp("notebook-sequence")


# --- a small trained model, shared by every test that needs one --------------------------------

TINY_TRAINING = {"epochs": 12, "n_factors": 16, "seed": 7}


@pytest.fixture(scope="session")
def synthetic_dataset():
    """The deterministic synthetic dataset (no network, no files)."""
    from movierec.data import load_dataset

    return load_dataset("synthetic")


@pytest.fixture(scope="session")
def tiny_trained(synthetic_dataset):
    """A model trained for a second on synthetic data, measured on the default hold-out and kept
    as measured (no refit), so its hold-out stays unseen: `movierec.pipeline.Trained`."""
    from movierec.hyperparameters import TrainConfig
    from movierec.pipeline import Holdout, train_and_evaluate

    config = TrainConfig(**TINY_TRAINING)
    return train_and_evaluate(synthetic_dataset, config, Holdout(), refit=False, progress=False)


@pytest.fixture(scope="session")
def trained_model_dir(tmp_path_factory, tiny_trained) -> Path:
    """`tiny_trained` saved like `python -m movierec train --no-refit` saves it.

    Session-scoped and read-only: tests that modify a model directory copy it first.
    """
    from movierec.persist import save_model

    return save_model(tiny_trained.recommender, tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture(scope="session")
def tiny_blend(synthetic_dataset):
    """The strongest model (`--model best`: a blend of mf and two AutoRecs), trained for a few
    seconds and kept as measured, as `tiny_trained` is."""
    from movierec.hyperparameters import BlendConfig
    from movierec.pipeline import Holdout, train_and_evaluate

    config = BlendConfig(epochs=TINY_TRAINING["epochs"], seed=TINY_TRAINING["seed"])
    return train_and_evaluate(synthetic_dataset, config, Holdout(), refit=False, progress=False)


@pytest.fixture(scope="session")
def blend_model_dir(tmp_path_factory, tiny_blend) -> Path:
    """`tiny_blend` saved as `python -m movierec train --model best` saves it. Read-only."""
    from movierec.persist import save_model

    return save_model(tiny_blend.recommender, tmp_path_factory.mktemp("models") / "blend")


# --- the Flask app serving that model -----------------------------------------------------------


@pytest.fixture(scope="session")
def app(trained_model_dir):
    """The Flask app serving the tiny model. One per session: requests never change its state,
    and loading the model once keeps the suite fast."""
    from flask_app import create_app

    return create_app({"TESTING": True, "MOVIEREC_MODEL": str(trained_model_dir)})


@pytest.fixture(scope="session")
def live_server(app) -> Iterator[str]:
    """The same app on a real loopback socket (Werkzeug, in a thread): for requests and Chromium.

    Port 0 lets the OS pick a free port, so nothing can take it between choosing and binding.
    """
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)


# --- a real headless Chromium -------------------------------------------------------------------

# Chromium calls Google's servers unless told not to: with these flags nothing leaves loopback.
CHROMIUM_OFFLINE_FLAGS = [
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE localhost",
    "--component-updater=url-source=http://127.0.0.1:9/",
]


@pytest.fixture(scope="module")
def browser(tmp_path_factory) -> Iterator:
    """Debian's Chromium, driven by Playwright from PyPI (`playwright install` would download a
    browser, which this course never does). One per test module: Playwright's event loop must
    not outlive the module that uses it (the notebook tests run their own)."""
    executable = require_tool("chromium")
    from playwright.sync_api import sync_playwright

    # The browser's profile, caches and crash dumps go to a temporary folder, not ~/.config.
    home = tmp_path_factory.mktemp("chromium")
    env = {**os.environ, "TMPDIR": str(home), "XDG_CONFIG_HOME": str(home), "HOME": str(home)}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_OFFLINE_FLAGS, env=env, headless=True
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session", autouse=True)
def quiet_mlflow() -> Iterator[None]:
    """No usage statistics sent out and no download progress bars, in every test."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
        patch.setenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        yield
