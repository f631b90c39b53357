"""Pack a model directory into a TorchServe archive (`.mar`): `make mar`, or

    python -m deploy.torchserve.archive models/default model-store

The archive holds the model's four files (movierec.persist) and the handler; its version is the
model's own version, so `GET /models/movierec` on TorchServe tells which model is served.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from movierec.errors import ModelLoadError
from movierec.persist import METADATA_FILE, MODEL_FILE, MOVIES_FILE, RATED_FILE, read_metadata

HANDLER = Path(__file__).with_name("movierec_handler.py")
MODEL_NAME = "movierec"
# torch-model-archiver sits beside the Python running this, in the same environment.
ARCHIVER = Path(sys.executable).with_name("torch-model-archiver")


def build_mar(model_dir: str | Path, export_dir: str | Path, name: str = MODEL_NAME) -> Path:
    """Write `export_dir/<name>.mar` from a model directory; return its path.

    Raises `ModelLoadError` when `model_dir` is not a model (the archiver would pack anything).
    """
    # Resolve the link models/default -> default.versions/<version> once: every file then comes
    # from the same version, even if a new model is saved meanwhile.
    folder = Path(model_dir).resolve()
    version = read_metadata(folder).get("version", "1.0")  # models saved before versions: 1.0
    export_dir = Path(export_dir)
    export_dir.mkdir(parents=True, exist_ok=True)
    extra_files = ",".join(str(folder / f) for f in (METADATA_FILE, RATED_FILE, MOVIES_FILE))
    command = [
        str(ARCHIVER),
        "--model-name", name,
        "--version", version,
        "--handler", str(HANDLER),
        # TorchServe wants one "serialized file"; the other three travel as extra files. All
        # four land side by side in the folder the handler's `initialize` loads.
        "--serialized-file", str(folder / MODEL_FILE),
        "--extra-files", extra_files,
        "--export-path", str(export_dir),
        "--force",  # replace an older archive of the same name
    ]  # fmt: skip
    subprocess.run(command, check=True, timeout=120)
    return export_dir / f"{name}.mar"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model_dir", help="a model directory, e.g. models/default")
    parser.add_argument("export_dir", help="where the .mar goes, e.g. model-store")
    args = parser.parse_args(argv)
    try:
        archive = build_mar(args.model_dir, args.export_dir)
    except ModelLoadError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"wrote {archive} (serve it: make torchserve)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
