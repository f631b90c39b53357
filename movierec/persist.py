"""Save a `Recommender` to a model directory and load it back, safely.

A model directory holds:
    model.pt        the network's state dict (tensors only), written with `torch.save`
    metadata.json   the model's class and constructor arguments, raw-id maps, and everything the
                    `Recommender` carries in `.metadata` (dataset, hold-out, metrics, versions ...)
    rated.npz       which movies each user rated in training (so top-k can skip them)
    movies.csv      titles and genres from the same dataset as the ratings

Loading never unpickles code: `torch.load(..., weights_only=True)` reads tensors only, and the
network is rebuilt from the package's own class, `Class(**init_args)`.

Saving is one atomic step. `save_model(r, "models/default")` writes a new folder inside
`models/default.versions/`, then points `models/default` at it: `models/default` is a relative
symlink, replaced with `os.replace`, which is atomic. A reader sees the old model or the new one,
never a mix and never nothing; a crash mid-save leaves the previous model in place. The newest
few versions are kept for a quick rollback (`ln -sfn default.versions/<older> models/default`).
A container mounts the folder that holds both, e.g. `models/`, so the relative link resolves.

Saving never destroys what it did not make: it replaces only a previous model (recognised by
its metadata) and refuses any other file or folder with a `ModelSaveError` that names the path.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import torch

import movierec
from movierec.errors import ModelLoadError, ModelSaveError
from movierec.ids import IdMap
from movierec.locations import fsync_dir
from movierec.model import build_model
from movierec.recommender import Recommender

MODEL_FILE, METADATA_FILE, RATED_FILE, MOVIES_FILE = (
    "model.pt", "metadata.json", "rated.npz", "movies.csv"
)  # fmt: skip
MODEL_FILES = frozenset({MODEL_FILE, METADATA_FILE, RATED_FILE, MOVIES_FILE})
# 1: the first format (matrix factorization only, `n_factors` at the top level of the metadata).
# 2: the model's class and `init_args` recorded, and a model version. Both load.
FORMAT_VERSION = 2
READABLE_FORMATS = (1, 2)
KEEP_VERSIONS = 3  # model versions kept beside the served one's link (the link's target included)


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


# --- saving ---------------------------------------------------------------------------------


def versions_dir(path: Path) -> Path:
    """Where the versions behind the link `path` live: models/default -> models/default.versions."""
    return path.with_name(f"{path.name}.versions")


def is_model_dir(path: Path) -> bool:
    """True for a folder that holds a model: a metadata.json with a format version."""
    try:
        return isinstance(json.loads((path / METADATA_FILE).read_text()).get("format_version"), int)
    except (OSError, ValueError, AttributeError):
        return False


def check_can_save(path: str | Path) -> None:
    """Raise `ModelSaveError` unless saving to `path` would replace nothing but a previous model.

    Allowed: a new path, an empty folder, a previous model (a link to one, or a model folder
    saved by an older movierec). Refused: a file, a folder holding anything else, `.` ...
    """
    path = Path(path)
    if path.is_symlink():
        target = Path(os.readlink(path))
        inside_versions = target.parent.name == versions_dir(path).name
        if is_model_dir(path) or (inside_versions and not path.exists()):
            return
        raise ModelSaveError(f"{path} is a link to something that is not a model: not replaced")
    if not path.exists():
        if path.parent.exists() and not path.parent.is_dir():
            raise ModelSaveError(f"cannot save to {path}: {path.parent} is a file")
        return
    if path.is_file():
        raise ModelSaveError(
            f"{path} is a file, not a model directory: give a folder path such as "
            "models/mine (nothing was changed)"
        )
    if path.is_dir() and (is_model_dir(path) or not any(path.iterdir())):
        return
    raise ModelSaveError(
        f"{path} exists and is not a model saved by movierec: choose another path "
        "(nothing was changed)"
    )


def save_model(recommender: Recommender, path: str | Path) -> Path:
    """Write `recommender` (weights, metadata, rated movies, titles) to `path`; return `path`.

    Raises `ModelSaveError` when `path` holds something that is not a previous model.
    """
    path = Path(path)
    check_can_save(path)
    versions = versions_dir(path)
    versions.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=versions, prefix=".saving-"))
    try:
        staging.chmod(0o755)  # mkdtemp makes it private: a server running as another user reads it
        _write_model(recommender, staging)
        version = versions / _free_name(versions, _version_name(recommender.metadata))
        staging.rename(version)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    fsync_dir(versions)
    _point_link(path, version)
    _prune(versions, keep=version)
    return path


def _write_model(recommender: Recommender, folder: Path) -> None:
    """The four files of a model, flushed to disk."""
    model = recommender.model
    # BEGIN SOLUTION A2.4: save the weights alone (a state dict), and what rebuilds the network
    torch.save(model.state_dict(), folder / MODEL_FILE)
    network = {"class": type(model).__name__, "init_args": model.init_args}
    # END SOLUTION
    rated = recommender.rated
    np.savez_compressed(
        folder / RATED_FILE,
        user_index=recommender.users.indices(rated.user_id),
        item_index=recommender.items.indices(rated.item_id),
    )
    recommender.movies.to_csv(folder / MOVIES_FILE, index=False)
    info = {
        **recommender.metadata,
        "format_version": FORMAT_VERSION,
        # The name given at training ("mf", "blend" ...) stays; class and arguments are the model's.
        "model": {**recommender.metadata.get("model", {}), **network},
        "rating_range": list(recommender.rating_range),
        "user_ids": recommender.users.raw_ids.tolist(),
        "item_ids": recommender.items.raw_ids.tolist(),
        "versions": library_versions(),
    }
    for volatile in ("source", "location"):  # where it was loaded from: not part of the model
        info.pop(volatile, None)
    (folder / METADATA_FILE).write_text(json.dumps(info, indent=2, default=_jsonable) + "\n")
    for file in folder.iterdir():
        with open(file, "rb") as f:
            os.fsync(f.fileno())
    fsync_dir(folder)


def _version_name(metadata: dict) -> str:
    """`20261123T190512Z-1a2b3c4d5e6f`: when it was trained, then its version; names sort by age."""
    created = re.sub(r"[^0-9T]", "", str(metadata.get("created_at", "")))[:15] or "undated"
    return f"{created}Z-{metadata.get('version', 'unversioned')}"


def _free_name(folder: Path, name: str) -> str:
    """`name`, or `name-2`, `name-3` ... if a folder of that name exists already."""
    candidate, n = name, 1
    while (folder / candidate).exists():
        n += 1
        candidate = f"{name}-{n}"
    return candidate


def _point_link(path: Path, version: Path) -> None:
    """Make `path` a relative symlink to `version`, in one atomic `os.replace`."""
    if path.is_dir() and not path.is_symlink():
        if any(path.iterdir()):
            # A model saved by an older movierec, as a plain folder: it becomes a version too.
            # (The one moment with no model at `path`: between this rename and the replace.)
            name = _version_name(json.loads((path / METADATA_FILE).read_text()))
            path.rename(versions_dir(path) / _free_name(versions_dir(path), name))
        else:
            path.rmdir()  # an empty folder: nothing is lost (rmdir refuses a non-empty one)
    link = path.with_name(f".{path.name}.link-{os.getpid()}")
    link.unlink(missing_ok=True)
    link.symlink_to(os.path.relpath(version, path.parent))
    os.replace(link, path)
    fsync_dir(path.parent)


def _prune(versions: Path, keep: Path) -> None:
    """Delete the oldest versions beyond `KEEP_VERSIONS`, never `keep`, and only folders that
    hold nothing but a model's own files (a folder with anything else is not ours to delete)."""
    folders = sorted(p for p in versions.iterdir() if p.is_dir() and not p.name.startswith("."))
    old = [p for p in folders if p != keep][: max(0, len(folders) - KEEP_VERSIONS)]
    for folder in old:
        if {p.name for p in folder.iterdir()} <= MODEL_FILES:
            shutil.rmtree(folder)


def _jsonable(value):
    """numpy numbers and paths in metadata become plain JSON values; anything else is an error."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"metadata value {value!r} cannot be saved as JSON")


# --- loading --------------------------------------------------------------------------------


def read_metadata(model_dir: str | Path) -> dict:
    """The metadata of a model directory, in the current format (raises `ModelLoadError`)."""
    path = Path(model_dir) / METADATA_FILE
    if not Path(model_dir).is_dir():
        raise ModelLoadError(_missing(Path(model_dir)))
    try:
        info = json.loads(path.read_text())
    except FileNotFoundError:
        raise ModelLoadError(_missing(Path(model_dir))) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelLoadError(f"{path} is corrupt ({error}); train the model again") from None
    if not isinstance(info, dict):
        raise ModelLoadError(f"{path} is corrupt (not a JSON object); train the model again")
    return _upgrade(info, path)


def _upgrade(info: dict, path: Path) -> dict:
    """Check the format version, and bring an older format's metadata to the current one."""
    version = info.get("format_version")
    if version not in READABLE_FORMATS:
        raise ModelLoadError(
            f"{path} has format version {version!r}; this movierec ({movierec.__version__}) "
            f"reads versions {READABLE_FORMATS[0]} to {READABLE_FORMATS[-1]}: update movierec "
            "(git pull, then make install) or train the model again"
        )
    if version == 1:  # matrix factorization, sized by its id maps and n_factors
        init_args = {
            "n_users": len(info["user_ids"]),
            "n_items": len(info["item_ids"]),
            "n_factors": info["n_factors"],
        }
        info = {**info, "model": {"class": "MatrixFactorization", "init_args": init_args}}
    return info


def _missing(model_dir: Path) -> str:
    if model_dir.is_file():
        return f"{model_dir} is a file: give the model's directory instead" + (
            f" ({model_dir.parent})" if model_dir.name in MODEL_FILES else ""
        )
    return (
        f"no model at {model_dir}: train one with "
        f"`python -m movierec train --out {model_dir}` (or `make demo`)"
    )


def load_model(model_dir: str | Path) -> Recommender:
    """Rebuild a `Recommender` from a model directory written by `save_model`.

    Raises `ModelLoadError` with one clear line when a file is missing or corrupt, or the model
    comes from a format this version cannot read.
    """
    model_dir = Path(model_dir)
    # Resolve the link once: every file then comes from the same version, even if a new model
    # is saved (and the link swapped) while we read.
    folder = model_dir.resolve()
    info = read_metadata(folder if folder.is_dir() else model_dir)
    try:
        state = torch.load(folder / MODEL_FILE, weights_only=True, map_location="cpu")
        users, items = IdMap(info["user_ids"]), IdMap(info["item_ids"])
        model = build_model(info["model"]["class"], info["model"]["init_args"])
        model.load_state_dict(state)
        with np.load(folder / RATED_FILE, allow_pickle=False) as rated:
            pairs = pd.DataFrame({
                "user_id": users.raw(rated["user_index"]),
                "item_id": items.raw(rated["item_index"]),
            })  # fmt: skip
        movies = pd.read_csv(folder / MOVIES_FILE)
    except FileNotFoundError as error:
        raise ModelLoadError(f"{model_dir} is incomplete: {error.filename} is missing") from None
    except Exception as error:  # unpickling, shape, zip, CSV and key errors all mean "corrupt"
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ModelLoadError(f"{model_dir} is corrupt ({reason}); train it again") from None
    return Recommender(model, users, items, pairs, movies, tuple(info["rating_range"]), info)
