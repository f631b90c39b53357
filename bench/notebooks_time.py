"""How long the modelling notebooks take on real ML-100K, with their default parameters.

Runs notebooks 01 to 03 (or the notebooks named on the command line) in order with papermill,
in the `python3` kernel, as a student runs them, except that their files go to a fresh
temporary folder instead of notebooks/artifacts/. Prints the seconds per notebook, kernel start
included, and the total against the course's bar: the whole sequence in 120 s on 2 cores.

    MOVIEREC_DATA_DIR=/work/shared/data python bench/notebooks_time.py
    MOVIEREC_DATA_DIR=/work/shared/data python bench/notebooks_time.py --torch-threads 1

ML-100K must already be in $MOVIEREC_DATA_DIR/ml-100k/ (or data/ml-100k/):
`python -m movierec download` puts it there. The executed notebooks, with their outputs on the
real data, are kept in bench/results/notebooks/, the figures in bench/results/notebooks_time.json.
Exit status 0 when the total is within the bar, 1 when it is not or a notebook fails.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import papermill

from movierec import locations
from movierec.download import ML_100K, is_cached

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
RESULTS_DIR = REPO_ROOT / "bench" / "results"
DEFAULT_NOTEBOOKS = [
    "01_explore_movielens.ipynb",
    "02_train_a_recommender.ipynb",
    "03_persist_natively.ipynb",
]
BAR_SECONDS = 120.0
# The sentence movierec.data prints when it falls back to the synthetic data.
SYNTHETIC_NOTICE = "Using the synthetic dataset"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "notebooks",
        nargs="*",
        default=DEFAULT_NOTEBOOKS,
        help="notebook file names in notebooks/, run in the order given (default: 01 to 03)",
    )
    parser.add_argument(
        "--torch-threads",
        type=int,
        metavar="N",
        help="run the kernels with OMP_NUM_THREADS=N (default: torch's own choice)",
    )
    return parser.parse_args()


def output_parameters(declared: dict, tmp: Path) -> dict:
    """Defaults everywhere, except that whatever a notebook writes goes under `tmp`."""
    outputs = {
        "artifacts_dir": str(tmp / "artifacts"),
        "model_dir": str(tmp / "artifacts" / "model"),
        "tracking_uri": f"sqlite:///{tmp / 'mlflow.db'}",
    }
    return {name: value for name, value in outputs.items() if name in declared}


def run(notebook: Path, tmp: Path) -> float:
    """Execute one notebook and return its wall-clock seconds, kernel start included."""
    declared = papermill.inspect_notebook(str(notebook))
    executed = RESULTS_DIR / "notebooks" / notebook.name
    executed.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        result = papermill.execute_notebook(
            str(notebook),
            str(executed),
            parameters=output_parameters(declared, tmp),
            kernel_name="python3",
            cwd=str(NOTEBOOKS_DIR),
            progress_bar=False,
        )
    except papermill.PapermillExecutionError as error:
        raise SystemExit(
            f"{notebook.name} failed in In [{error.exec_count}]: {error.ename}: {error.evalue}\n"
            f"(the executed notebook: {executed})"
        ) from None
    seconds = time.perf_counter() - started
    printed = "".join(
        output.get("text", "") for cell in result.cells for output in cell.get("outputs", [])
    )
    if SYNTHETIC_NOTICE in printed:
        raise SystemExit(f"{notebook.name} fell back to the synthetic data: not a benchmark")
    return seconds


def main() -> int:
    args = parse_args()
    data_dir = locations.data_dir()
    if not is_cached(ML_100K, data_dir):
        raise SystemExit(
            f"ML-100K is not in {data_dir / 'ml-100k'} (or does not match its checksums). "
            "Set MOVIEREC_DATA_DIR to a folder holding ml-100k/, e.g. "
            "MOVIEREC_DATA_DIR=/work/shared/data, or run `python -m movierec download`."
        )
    notebooks = [NOTEBOOKS_DIR / name for name in args.notebooks]
    missing = [path.name for path in notebooks if not path.is_file()]
    if missing:
        raise SystemExit(f"no such notebook in {NOTEBOOKS_DIR}: {', '.join(missing)}")

    # The kernels inherit this environment: this venv first on PATH, no telemetry.
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    if args.torch_threads:
        os.environ["OMP_NUM_THREADS"] = str(args.torch_threads)
    threads = os.environ.get("OMP_NUM_THREADS", "torch default")

    load_before = os.getloadavg()[0]
    timings = {}
    with tempfile.TemporaryDirectory(prefix="notebooks-bench-") as tmp:
        for notebook in notebooks:
            timings[notebook.stem] = run(notebook, Path(tmp))
            print(f"{notebook.stem:<40}{timings[notebook.stem]:8.1f} s", flush=True)
    total = sum(timings.values())
    load_after = os.getloadavg()[0]

    verdict = "within" if total <= BAR_SECONDS else "OVER"
    print(f"{'total':<40}{total:8.1f} s   {verdict} the {BAR_SECONDS:.0f} s bar")
    print(
        f"data: {data_dir / 'ml-100k'}; {os.cpu_count()} CPUs; torch threads: {threads}; "
        f"load average {load_before:.1f} before, {load_after:.1f} after "
        "(anything else running on the machine makes these figures pessimistic)"
    )

    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    record = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": {name: round(value, 1) for name, value in timings.items()},
        "total_seconds": round(total, 1),
        "bar_seconds": BAR_SECONDS,
        "cpus": os.cpu_count(),
        "torch_threads": threads,
        "load_average": [round(load_before, 2), round(load_after, 2)],
        "python": platform.python_version(),
    }
    (RESULTS_DIR / "notebooks_time.json").write_text(json.dumps(record, indent=2) + "\n")
    return 0 if total <= BAR_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
