"""Where things live: the data cache, the served model, the MovieLens mirror.

Each location has a default inside the repository and an environment variable that moves it.
"""

from __future__ import annotations

import os
from pathlib import Path

# The repository root: the package sits one level below it (installed with `pip install -e .`).
PROJECT_ROOT = Path(__file__).resolve().parents[1]

# Where `make demo` and `python -m movierec train` save the model when no --out is given.
DEFAULT_MODEL_DIR = PROJECT_ROOT / "models" / "default"

# Where `python -m movierec batch` writes the recommendation store when no --out is given.
DEFAULT_STORE = PROJECT_ROOT / "stores" / "default.sqlite"


def data_dir() -> Path:
    """The dataset cache: `$MOVIEREC_DATA_DIR`, else the (git-ignored) `data/` folder."""
    return Path(os.environ.get("MOVIEREC_DATA_DIR", PROJECT_ROOT / "data")).expanduser()


def model_location() -> str:
    """The model to serve or query: `$MOVIEREC_MODEL` as given, else `models/default`.

    A string, not a Path: it may be an MLflow URI such as `models:/movie-recommender@champion`,
    which a Path would mangle.
    """
    return os.environ.get("MOVIEREC_MODEL") or str(DEFAULT_MODEL_DIR)


def jobs_dir() -> Path:
    """The training service's folder (lecture 6): its jobs table, queue and each job's files.

    `$MOVIEREC_JOBS_DIR`, else the (git-ignored) `jobs/` folder.
    """
    return Path(os.environ.get("MOVIEREC_JOBS_DIR", PROJECT_ROOT / "jobs")).expanduser()


def store_location() -> Path:
    """The recommendation store (lecture 7): `$MOVIEREC_STORE`, else `stores/default.sqlite`."""
    return Path(os.environ.get("MOVIEREC_STORE") or DEFAULT_STORE)


def movielens_base_url() -> str:
    """GroupLens' download folder; `$MOVIEREC_MOVIELENS_URL` points elsewhere (a mirror, a test)."""
    return os.environ.get(
        "MOVIEREC_MOVIELENS_URL", "https://files.grouplens.org/datasets/movielens"
    ).rstrip("/")


def fsync_dir(folder: Path) -> None:
    """Flush a folder's entries (new names, renames) to disk, so a swap survives a power cut."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
