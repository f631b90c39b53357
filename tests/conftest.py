"""Fixtures shared by the whole suite.

A grader runs `make test`; CI runs the same command with CI=true. Tests that need a system tool
(sshd, ufw, chromium, ...) skip with a clear reason on a laptop that lacks it, but *fail* under CI,
where `.ci/run` installs every tool: a green CI run never hides a skipped check.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
from pathlib import Path

import pytest

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


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- a small trained model, shared by every test that needs one --------------------------------

TINY_TRAINING = {"epochs": 12, "n_factors": 16, "seed": 7}


@pytest.fixture(scope="session")
def synthetic_dataset():
    """The deterministic synthetic dataset (no network, no files)."""
    from movierec.data import load_dataset

    return load_dataset("synthetic")


@pytest.fixture(scope="session")
def trained_model_dir(tmp_path_factory, synthetic_dataset) -> Path:
    """A model trained for a second on synthetic data and saved like `movierec train` saves it.

    Session-scoped and read-only: tests that modify a model directory copy it first.
    """
    from movierec.data import train_test_split
    from movierec.metrics import evaluate
    from movierec.persist import save_model
    from movierec.train import TrainConfig, train

    train_part, test_part = train_test_split(synthetic_dataset.ratings, 0.2, seed=42)
    config = TrainConfig(**TINY_TRAINING)
    result = train(train_part, synthetic_dataset.movies, config, progress=False)
    return save_model(
        result.recommender,
        tmp_path_factory.mktemp("models") / "tiny",
        dataset={"name": "synthetic", "checksum": synthetic_dataset.checksum},
        holdout={"test_fraction": 0.2, "seed": 42},
        hyperparameters=config.to_dict(),
        metrics=evaluate(result.recommender, train_part, test_part),
    )
