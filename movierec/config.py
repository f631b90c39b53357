"""Where things live on disk. Every location can be changed with an environment variable."""

from __future__ import annotations

import os
from pathlib import Path

# The repository root: the package sits one level below it (installed with `pip install -e .`).
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    """The dataset cache: `$MOVIEREC_DATA_DIR`, else the (git-ignored) `data/` folder."""
    return Path(os.environ.get("MOVIEREC_DATA_DIR", PROJECT_ROOT / "data")).expanduser()


def default_model_dir() -> Path:
    """Where `make demo` saves its model and the Flask app looks for one: `$MOVIEREC_MODEL`."""
    return Path(os.environ.get("MOVIEREC_MODEL", PROJECT_ROOT / "models" / "default")).expanduser()


def model_location() -> str:
    """What the Flask app serves: `$MOVIEREC_MODEL` as given (a model directory, or an MLflow URI
    such as `models:/movie-recommender@champion`, which a Path would mangle), else models/default.
    """
    return os.environ.get("MOVIEREC_MODEL") or str(default_model_dir())


def movielens_base_url() -> str:
    """GroupLens' download folder; `$MOVIEREC_MOVIELENS_URL` points elsewhere (a mirror, a test)."""
    return os.environ.get(
        "MOVIEREC_MOVIELENS_URL", "https://files.grouplens.org/datasets/movielens"
    ).rstrip("/")
