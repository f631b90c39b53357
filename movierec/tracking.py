"""Track training runs with MLflow: where runs go, what a run records, the model it logs.

The MLflow ideas the course uses, one function each (the registry's are in `movierec.registry`):
- `use_tracking_server`: every call goes to an explicit, absolute tracking URI. MLflow's default
  is `sqlite:///mlflow.db` *relative to the current directory*: a notebook started from another
  folder silently gets a fresh, empty database.
- `log_training_run`: a *run* records what went in (hyperparameters, the dataset's checksum) and
  what came out (per-epoch and hold-out metrics, a training-curve figure, the model itself).
- `log_model`: the native model directory, logged as an MLflow model (`movierec.mlflow_model`).

This module imports MLflow (slow), so the rest of the package never imports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import mlflow
import pandas as pd
from matplotlib.figure import Figure
from mlflow.models.model import ModelInfo

import movierec
from movierec import mlflow_model
from movierec.persist import read_metadata
from movierec.pipeline import Trained
from movierec.train import TrainResult

EXPERIMENT = "movie-recommender"
METADATA_ARTIFACT = "metadata.json"  # each run keeps its model's metadata, for the promotion rule

# The packages the model needs at load time, pinned to the versions that logged it (the course's
# requirements.txt pins the same). We list them ourselves instead of letting MLflow infer them:
# inference records `torch==2.13.0` but not *which* 2.13.0. On PyPI the Linux wheel of torch is the
# CUDA build (gigabytes of GPU libraries); the CPU build lives on PyTorch's own index, as
# `2.13.0+cpu`. The `--extra-index-url` line makes `pip install -r requirements.txt` (what
# `--env-manager virtualenv` runs) see that index, where `torch==2.13.0` also matches `2.13.0+cpu`,
# the higher version, so pip picks the CPU wheel. `movierec` itself is not listed: it is not on
# PyPI, and every course environment installs it from the repository (see movierec.mlflow_model).
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
RUNTIME_PACKAGES = ("mlflow", "torch", "numpy", "pandas")


# --- where runs go ------------------------------------------------------------------------------


def local_tracking_uri(folder: str | Path) -> str:
    """An absolute `sqlite:///` tracking URI for a database in `folder` (created if needed)."""
    folder = Path(folder).expanduser().resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / 'mlflow.db'}"  # four slashes in total: an absolute path


def use_tracking_server(tracking_uri: str, experiment: str = EXPERIMENT) -> str:
    """Send every MLflow call of this process to `tracking_uri`, into `experiment`.

    Args:
        tracking_uri: `http://127.0.0.1:5001` (the course's server) or `sqlite:////abs/mlflow.db`.
        experiment: created when missing.

    Returns the experiment id. With a `sqlite:` store (no server), a new experiment keeps its
    artifacts in `mlartifacts/` beside the database file, never in the current directory's
    `./mlruns` (MLflow's default). With a server, the server decides (`--artifacts-destination`).
    """
    if not _is_absolute(tracking_uri):
        raise ValueError(
            f"tracking URI {tracking_uri!r} is not absolute: use http://HOST:PORT or "
            "sqlite:////absolute/path/mlflow.db (four slashes)"
        )
    mlflow.set_tracking_uri(tracking_uri)
    existing = mlflow.get_experiment_by_name(experiment)
    if existing is not None:
        experiment_id = existing.experiment_id
    else:
        location = None
        if tracking_uri.startswith("sqlite:"):
            database = Path(tracking_uri.removeprefix("sqlite:///"))
            location = (database.parent / "mlartifacts" / experiment).as_uri()
        experiment_id = mlflow.create_experiment(experiment, artifact_location=location)
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


def _is_absolute(tracking_uri: str) -> bool:
    if tracking_uri.startswith(("http://", "https://")):
        return True
    for scheme in ("sqlite:///", "file://"):
        if tracking_uri.startswith(scheme):
            return tracking_uri.removeprefix(scheme).startswith("/")
    return False


# --- one training run ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LoggedRun:
    """What `log_training_run` recorded: where to find the run and its model."""

    run_id: str
    model_uri: str  # models:/m-<id>: the logged model, ready for `registry.register_and_promote`
    metrics: dict[str, float]  # the hold-out metrics the model records


def log_training_run(
    trained: Trained, model_dir: str | Path, run_name: str | None = None
) -> LoggedRun:
    """Record one training run and its model in the current experiment.

    Args:
        trained: what `movierec.pipeline.train_and_evaluate` returned.
        model_dir: the same model saved natively (`movierec.persist.save_model`); it becomes the
            MLflow model's artifact.
        run_name: shown in the UI; MLflow invents one ("bold-owl-123") when omitted.
    """
    metadata = read_metadata(model_dir)
    dataset, result = metadata["dataset"], trained.measured
    with mlflow.start_run(run_name=run_name) as run:
        # BEGIN SOLUTION A4.1: log the parameters (hyperparameters, dataset, checksum) and tags
        # Parameters: what went in. The checksum pins the exact ratings, not just their name.
        mlflow.log_params({
            **result.config.to_dict(),
            "dataset": dataset["name"],
            "dataset_checksum": dataset["checksum"],
            "holdout": metadata.get("holdout"),
            "refit": metadata.get("refit"),
        })  # fmt: skip
        mlflow.set_tags({
            "dataset": dataset["name"],
            "model_version": metadata["version"],
            "movierec_version": movierec.__version__,
        })  # fmt: skip
        # END SOLUTION
        mlflow.log_param("model", result.config.model)  # which of the package's models: "mf", ...

        # Per-epoch metrics with step=epoch: the UI draws them as curves over epochs. (A blend
        # has no epochs of its own: its members' are in the metadata.)
        for row in result.history:
            mlflow.log_metrics(
                {"train_rmse": row["train_rmse"], "valid_rmse": row["valid_rmse"]},
                step=row["epoch"],
            )
        if result.history:
            mlflow.log_figure(training_curve(result), "training_curve.png")
        mlflow.log_dict(_without_id_maps(metadata), METADATA_ARTIFACT)

        model_info = log_model(model_dir)
        # Final metrics, under names of their own: a run's "valid_rmse" is the *last* epoch's
        # value, while the model kept is the *best* epoch's. `model_id` links them to the logged
        # model too, so the registry shows them beside every version made from it.
        # BEGIN SOLUTION A4.1: log the final metrics: the kept epoch's, and the hold-out's as test_*
        final = {
            "best_valid_rmse": result.best_valid_rmse,
            "best_epoch": result.best_epoch,
            "train_seconds": result.seconds,
            **{f"test_{_metric_name(name)}": value for name, value in trained.metrics.items()},
        }
        mlflow.log_metrics(final, model_id=model_info.model_id)
        # END SOLUTION
    return LoggedRun(run.info.run_id, model_info.model_uri, dict(trained.metrics))


def _without_id_maps(metadata: dict) -> dict:
    """The metadata without its long lists of raw ids (the model itself has them)."""
    return {k: v for k, v in metadata.items() if k not in ("user_ids", "item_ids")}


def log_model(model_dir: str | Path, name: str = "model") -> ModelInfo:
    """Log the native model directory as an MLflow model in the active run and return its info.

    `model_info.model_uri` (`models:/m-<id>`) is what `mlflow.register_model` takes next.
    """
    model_dir = Path(model_dir).resolve()  # the version folder itself, not the link to it
    native = read_metadata(model_dir)  # raises ModelLoadError early for a missing directory
    # Two real users of this model: MLflow stores the example, shows it in the UI, checks that
    # the model answers it, and writes `serving_input_example.json` (a ready-made request).
    users = native["user_ids"][:2]
    example = pd.DataFrame({"user_id": users, "k": [5] * len(users)})
    return mlflow.pyfunc.log_model(
        name=name,
        # models from code: MLflow stores that file and runs it whenever it loads the model
        python_model=Path(mlflow_model.__file__),
        artifacts={mlflow_model.ARTIFACT_KEY: str(model_dir)},
        signature=mlflow_model.SIGNATURE,
        input_example=example,
        pip_requirements=pip_requirements(),
        metadata={
            "movierec_version": movierec.__version__,
            "model_version": native["version"],
            "dataset": native.get("dataset", {}).get("name"),
        },
    )


def pip_requirements() -> list[str]:
    """`requirements.txt` of the MLflow model: the CPU torch index, then exact pins."""
    # `version("torch")` is "2.13.0+cpu" here; the `+cpu` tag exists only on PyTorch's index.
    pins = [f"{name}=={version(name).split('+')[0]}" for name in RUNTIME_PACKAGES]
    return [f"--extra-index-url {TORCH_CPU_INDEX}", *pins]


def _metric_name(name: str) -> str:
    """`precision@10` -> `precision_at_10`: keep metric names to letters, digits and `_`."""
    return name.replace("@", "_at_")


def training_curve(result: TrainResult) -> Figure:
    """Train and validation RMSE per epoch, with the kept (best) epoch marked.

    Built with `matplotlib.figure.Figure`, not `pyplot`: no global state, no GUI backend, and
    nothing to close afterwards, which is what code running in a server or a loop needs.
    """
    epochs = [row["epoch"] for row in result.history]
    figure = Figure(figsize=(6, 3.5), layout="constrained")
    axes = figure.subplots()
    axes.plot(epochs, [row["train_rmse"] for row in result.history], "o-", label="train")
    axes.plot(epochs, [row["valid_rmse"] for row in result.history], "o-", label="validation")
    axes.axvline(result.best_epoch, color="grey", linestyle=":", label="kept epoch")
    axes.set(xlabel="epoch", ylabel="RMSE", title="Training curve")
    axes.legend()
    return figure
