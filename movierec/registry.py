"""The MLflow model registry: register a logged model, promote a `champion` by the written rule,
and load a registered model back as a `Recommender`.

The *model registry* gives logged models a name and numbered versions; an *alias* (`champion`) is
a movable pointer to one version. Deployments load `models:/movie-recommender@champion`, so
promoting a model is moving the alias: nothing to redeploy, and rolling back is moving it back.
(Registry *stages* are deprecated: aliases only.)

This module imports MLflow (slow); `movierec.serving` imports it only for an MLflow model URI.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from dataclasses import dataclass

import mlflow

from movierec import promotion
from movierec.errors import ModelLoadError
from movierec.recommender import Recommender
from movierec.tracking import METADATA_ARTIFACT

REGISTERED_MODEL = "movie-recommender"
CHAMPION = "champion"


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
    """Register `model_uri` as a new version of `name`; move `alias` to it if the rule says so.

    The rule is `movierec.promotion.decide`: strictly better hold-out RMSE, measured on the same
    dataset and hold-out as the champion's; the first version becomes champion.

    Not atomic: two promotions racing each other could both read the old champion. One training
    pipeline per registered model (this course's setup) never races.
    """
    client = mlflow.MlflowClient()
    candidate = mlflow.register_model(model_uri, name)
    # `aliases` maps each alias of the model to a version number; a missing key: no champion yet.
    champion_number = client.get_registered_model(name).aliases.get(alias)
    champion = client.get_model_version(name, champion_number) if champion_number else None
    decision = promotion.decide(
        _metadata(candidate.run_id), _metadata(champion.run_id) if champion else None
    )
    # BEGIN SOLUTION A4.2: move the alias to the candidate when the rule says so
    if decision.promote:
        client.set_registered_model_alias(name, alias, candidate.version)
    # END SOLUTION
    current = candidate.version if decision.promote else champion.version
    reason = f"version {candidate.version}: {decision.reason}"
    return Promotion(str(candidate.version), decision.promote, str(current), reason)


def _metadata(run_id: str) -> dict:
    """The model metadata a run logged (`movierec.tracking.log_training_run`)."""
    try:
        return mlflow.artifacts.load_dict(f"runs:/{run_id}/{METADATA_ARTIFACT}")
    except Exception:  # a run logged by hand, or by an older movierec: nothing to compare
        return {}


# --- loading a registered model back as a Recommender ------------------------------------------

# models:/NAME@ALIAS, models:/NAME/VERSION (a registered model), or models:/m-<id> (a logged model)
_REGISTERED_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/]+)|/(?P<version>\d+))$")


def load_recommender(model_uri: str) -> Recommender:
    """Load an MLflow model logged by `log_model` and return the `Recommender` inside it.

    Args:
        model_uri: `models:/movie-recommender@champion`, `models:/movie-recommender/3`,
            `runs:/<run_id>/model`, ... resolved against `MLFLOW_TRACKING_URI`.

    The recommender's `.metadata` is the native metadata plus where it came from in MLflow
    (`mlflow_model_uri`, `mlflow_run_id`, and for a registered model `registered_model`,
    `model_version`, `model_alias`). Raises `ModelLoadError` with one clear line.
    """
    _check_server_answers(mlflow.get_registry_uri())
    try:
        pyfunc_model = mlflow.pyfunc.load_model(model_uri)
        # `unwrap_python_model` hands back our RecommenderModel: serving it directly skips the
        # pyfunc layer (schema checks, DataFrames) that costs more than the top-k itself.
        recommender = pyfunc_model.unwrap_python_model().recommender
        facts = {"mlflow_model_uri": model_uri, "mlflow_run_id": pyfunc_model.metadata.run_id}
        facts |= _registry_facts(model_uri)
    except ModelLoadError:
        raise
    except Exception as error:  # no server, no such model or alias, not our kind of model, ...
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelLoadError(f"cannot load the MLflow model {model_uri}: {reason}") from None
    recommender.metadata.update(facts)
    return recommender


def _check_server_answers(uri: str, timeout: float = 5.0) -> None:
    """Fail in seconds, not minutes, when the tracking server is down.

    MLflow's client retries a refused connection 7 times with growing pauses
    (MLFLOW_HTTP_REQUEST_MAX_RETRIES): measured here, 4 minutes 20 s before the error. A server
    that starts with a model location should say at once that the registry is not reachable.
    """
    if not uri.startswith(("http://", "https://")):
        return  # a sqlite: or file: store, opened directly
    try:
        with urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=timeout):
            pass
    except urllib.error.HTTPError:
        pass  # it answered (with an error code): it is up, and MLflow will report the rest
    except OSError as error:
        reason = getattr(error, "reason", error)
        raise ModelLoadError(
            f"the MLflow server {uri} does not answer ({reason}): start it with "
            "mlflow/start_tracking_server.sh, or point MLFLOW_TRACKING_URI at the right one"
        ) from None


def _registry_facts(model_uri: str) -> dict[str, str]:
    """Registered model name, version and alias of a `models:/NAME@ALIAS|/VERSION` URI, else {}."""
    match = _REGISTERED_URI.match(model_uri)
    if not match:
        return {}
    name, alias = match["name"], match["alias"]
    client = mlflow.MlflowClient()
    if alias:  # an alias moves: record which version it pointed at when we loaded it
        model_version = client.get_model_version_by_alias(name, alias)
    else:
        model_version = client.get_model_version(name, match["version"])
    facts = {"registered_model": name, "model_version": str(model_version.version)}
    if alias:
        facts["model_alias"] = alias
    return facts
