"""Track training runs with MLflow, register the models and promote a champion by a written rule.

The three MLflow ideas the course uses, one function each:
- `log_training_run`: a *run* records what went in (hyperparameters, the dataset's checksum) and
  what came out (per-epoch and final metrics, a training-curve figure, the model itself).
- `register_and_promote`: the *model registry* gives logged models a name and numbered versions;
  an *alias* (`champion`) is a movable pointer to one version. Deployments load
  `models:/movie-recommender@champion`, so promoting a model is moving the alias: nothing to
  redeploy, and rolling back is moving it back. (Registry *stages* are deprecated: aliases only.)
- `use_tracking_server`: every call goes to an explicit, absolute tracking URI. MLflow's default
  is `sqlite:///mlflow.db` *relative to the current directory*: a notebook started from another
  folder silently gets a fresh, empty database.

This module imports MLflow (slow), so the rest of the package never imports it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import mlflow
from matplotlib.figure import Figure
from mlflow.entities.model_registry import ModelVersion

import movierec
from movierec.mlflow_model import log_model
from movierec.persist import read_metadata
from movierec.train import TrainResult

EXPERIMENT = "movie-recommender"
REGISTERED_MODEL = "movie-recommender"
CHAMPION = "champion"
# Lower is better. The validation ratings are carved from the training data with the config's
# seed, so two runs on the same data with the same `seed` and `valid_fraction` are scored on the
# same ratings: their validation RMSEs are comparable. The test set stays out of model selection.
PROMOTION_METRIC = "best_valid_rmse"


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
    model_uri: str  # models:/m-<id>: the logged model, ready for `register_and_promote`
    best_valid_rmse: float


def log_training_run(
    result: TrainResult,
    model_dir: str | Path,
    test_metrics: Mapping[str, float] | None = None,
    run_name: str | None = None,
) -> LoggedRun:
    """Record one training run and its model in the current experiment.

    Args:
        result: what `movierec.train.train` returned (config, per-epoch history, best epoch).
        model_dir: the same model saved natively (`movierec.persist.save_model`); it becomes the
            MLflow model's artifact, and its metadata names the dataset and its checksum.
        test_metrics: `movierec.metrics.evaluate` on held-out ratings, logged as `test_*`.
        run_name: shown in the UI; MLflow invents one ("bold-owl-123") when omitted.
    """
    dataset = read_metadata(model_dir).get("dataset") or {}
    with mlflow.start_run(run_name=run_name) as run:
        # Parameters: what went in. The checksum pins the exact ratings, not just their name.
        mlflow.log_params({
            **result.config.to_dict(),
            "dataset": dataset.get("name"),
            "dataset_checksum": dataset.get("checksum"),
        })  # fmt: skip
        mlflow.set_tags({"dataset": dataset.get("name"), "movierec_version": movierec.__version__})

        # Per-epoch metrics with step=epoch: the UI draws them as curves over epochs.
        for row in result.history:
            mlflow.log_metrics(
                {"train_rmse": row["train_rmse"], "valid_rmse": row["valid_rmse"]},
                step=row["epoch"],
            )
        mlflow.log_figure(training_curve(result), "training_curve.png")

        model_info = log_model(model_dir)
        # Final metrics, under names of their own: a run's "valid_rmse" is the *last* epoch's
        # value, while the model kept is the *best* epoch's. `model_id` links them to the logged
        # model too, so the registry shows them beside every version made from it.
        final = {
            PROMOTION_METRIC: result.best_valid_rmse,
            "best_epoch": result.best_epoch,
            "train_seconds": result.seconds,
            **{f"test_{_metric_name(name)}": value for name, value in (test_metrics or {}).items()},
        }
        mlflow.log_metrics(final, model_id=model_info.model_id)
    return LoggedRun(run.info.run_id, model_info.model_uri, result.best_valid_rmse)


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


# --- the registry and the champion rule -----------------------------------------------------------


@dataclass(frozen=True)
class Promotion:
    """The outcome of `register_and_promote`, with the reason in words."""

    version: str  # the version just registered
    promoted: bool  # did it take the alias?
    champion_version: str  # the version the alias points at now
    reason: str


def register_and_promote(
    model_uri: str, name: str = REGISTERED_MODEL, alias: str = CHAMPION
) -> Promotion:
    """Register `model_uri` as a new version of `name`; move `alias` to it if it is better.

    The rule: the new version becomes champion only if its `best_valid_rmse` is strictly lower
    than the current champion's (a tie keeps the champion: no churn for nothing). The first
    version of a model becomes champion since there is nothing to beat.

    Not atomic: two promotions racing each other could both read the old champion. One training
    pipeline per registered model (this course's setup) never races.
    """
    client = mlflow.MlflowClient()
    candidate = mlflow.register_model(model_uri, name)
    candidate_rmse = _validation_rmse(client, candidate)
    client.set_model_version_tag(name, candidate.version, PROMOTION_METRIC, f"{candidate_rmse:.6f}")

    # `aliases` maps each alias of the model to a version number; a missing key: no champion yet.
    champion_number = client.get_registered_model(name).aliases.get(alias)
    champion = client.get_model_version(name, champion_number) if champion_number else None
    if champion is None:
        promoted, reason = True, f"no {alias} yet: version {candidate.version} becomes {alias}"
    else:
        champion_rmse = _validation_rmse(client, champion)
        promoted = candidate_rmse < champion_rmse
        verdict = "beats" if promoted else "does not beat"
        reason = (
            f"version {candidate.version} ({PROMOTION_METRIC} {candidate_rmse:.4f}) {verdict} "
            f"{alias} version {champion.version} ({champion_rmse:.4f})"
        )
    if promoted:
        client.set_registered_model_alias(name, alias, candidate.version)
    current = candidate.version if promoted else champion.version
    return Promotion(str(candidate.version), promoted, str(current), reason)


def _validation_rmse(client: mlflow.MlflowClient, model_version: ModelVersion) -> float:
    """The promotion metric logged by the run that produced `model_version`."""
    metrics = client.get_run(model_version.run_id).data.metrics
    if PROMOTION_METRIC not in metrics:
        raise ValueError(
            f"run {model_version.run_id} (version {model_version.version}) has no "
            f"{PROMOTION_METRIC} metric: log models with movierec.tracking.log_training_run"
        )
    return metrics[PROMOTION_METRIC]
