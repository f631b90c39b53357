"""Save a `Recommender` to a model directory and load it back, safely.

A model directory holds:
    model.pt        the network's state dict (tensors only), written with `torch.save`
    metadata.json   hyperparameters, raw-id maps, dataset name and checksum, metrics, versions
    rated.npz       which movies each user rated in training (so top-k can skip them)
    movies.csv      titles and genres from the same dataset as the ratings

Loading never unpickles code: `torch.load(..., weights_only=True)` reads tensors only, and the
network is rebuilt from the package's own `MatrixFactorization` class.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import torch

import movierec
from movierec.ids import IdMap
from movierec.model import MatrixFactorization
from movierec.recommender import Recommender

MODEL_FILE, METADATA_FILE, RATED_FILE, MOVIES_FILE = (
    "model.pt", "metadata.json", "rated.npz", "movies.csv"
)  # fmt: skip
FORMAT_VERSION = 1


class ModelLoadError(Exception):
    """A model directory is missing, incomplete or corrupt."""


def library_versions() -> dict[str, str]:
    import sklearn

    return {
        "python": platform.python_version(),
        "movierec": movierec.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scikit-learn": sklearn.__version__,
    }


def save_model(recommender: Recommender, model_dir: str | Path, **metadata) -> Path:
    """Write `recommender` to `model_dir` atomically and return the directory.

    Everything is written into a temporary sibling folder first, which then replaces
    `model_dir` by renames: a crash mid-save leaves the previous good model where it was.
    Extra keyword arguments (dataset, metrics, hyperparameters, ...) go into metadata.json.
    """
    model_dir = Path(model_dir)
    model_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=model_dir.parent, prefix=f".{model_dir.name}.saving-"))
    try:
        torch.save(recommender.model.state_dict(), staging / MODEL_FILE)
        rated = recommender.rated
        np.savez_compressed(
            staging / RATED_FILE,
            user_index=recommender.users.indices(rated.user_id),
            item_index=recommender.items.indices(rated.item_id),
        )
        recommender.movies.to_csv(staging / MOVIES_FILE, index=False)
        model = recommender.model
        info = {
            "format_version": FORMAT_VERSION,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "n_factors": model.n_factors,
            "rating_range": list(recommender.rating_range),
            "user_ids": recommender.users.raw_ids.tolist(),
            "item_ids": recommender.items.raw_ids.tolist(),
            "versions": library_versions(),
            **metadata,
        }
        (staging / METADATA_FILE).write_text(json.dumps(info, indent=2, default=_jsonable))
        _fsync_tree(staging)
        _replace_dir(staging, model_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return model_dir


def _jsonable(value):
    """numpy numbers and paths in metadata become plain JSON values; anything else is an error."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"metadata value {value!r} cannot be saved as JSON")


def _fsync_tree(folder: Path) -> None:
    """Flush the staged files to disk before the rename makes them the model."""
    for path in folder.iterdir():
        with open(path, "rb") as f:
            os.fsync(f.fileno())


def _replace_dir(new: Path, target: Path) -> None:
    """Put `new` at `target`; a previous `target` is moved aside first, removed last."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        target.rename(old)
    new.rename(target)
    if old is not None:
        shutil.rmtree(old)


def read_metadata(model_dir: str | Path) -> dict:
    """The parsed metadata.json of a model directory (raises `ModelLoadError`)."""
    path = Path(model_dir) / METADATA_FILE
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelLoadError(_missing(model_dir)) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelLoadError(f"{path} is corrupt ({error}); train the model again") from None


def _missing(model_dir) -> str:
    return (
        f"no model at {model_dir}: train one with "
        f"`python -m movierec train --out {model_dir}` (or `make demo`)"
    )


def load_model(model_dir: str | Path) -> Recommender:
    """Rebuild a `Recommender` from a model directory written by `save_model`.

    Raises `ModelLoadError` with one clear line when a file is missing or corrupt.
    """
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        raise ModelLoadError(_missing(model_dir))
    info = read_metadata(model_dir)
    try:
        state = torch.load(model_dir / MODEL_FILE, weights_only=True, map_location="cpu")
        users, items = IdMap(info["user_ids"]), IdMap(info["item_ids"])
        model = MatrixFactorization(len(users), len(items), info["n_factors"])
        model.load_state_dict(state)
        with np.load(model_dir / RATED_FILE, allow_pickle=False) as rated:
            pairs = pd.DataFrame({
                "user_id": users.raw(rated["user_index"]),
                "item_id": items.raw(rated["item_index"]),
            })  # fmt: skip
        movies = pd.read_csv(model_dir / MOVIES_FILE)
    except FileNotFoundError as error:
        raise ModelLoadError(f"{model_dir} is incomplete: {error.filename} is missing") from None
    except Exception as error:  # unpickling, shape, zip and CSV errors all mean "corrupt"
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ModelLoadError(f"{model_dir} is corrupt ({reason}); train it again") from None
    return Recommender(model, users, items, pairs, movies, tuple(info["rating_range"]), info)
