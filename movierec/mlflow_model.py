"""The recommender as an MLflow model: a `pyfunc.PythonModel` around the native model directory.

Why not `mlflow.pytorch.log_model`? Since MLflow 3 the PyTorch flavour saves a `torch.export`
graph by default. It reloads as a bare `GraphModule` that scores (user index, item index) pairs and
has lost everything that makes it a recommender: the raw-id maps, which movies each user already
rated, the titles, `recommend()`. The native model directory (`movierec.persist`) holds all of
that, so the MLflow model carries the directory as an *artifact* and loads it with the same
`movierec.persist.load_model` the native Flask app uses. One format, two ways to ship it.

How MLflow stores the Python code ("models from code"). There are two ways to log a `PythonModel`:
- `python_model=RecommenderModel()` pickles the object; loading unpickles it, and unpickling runs
  whatever code the pickle's author chose. MLflow warns about it when you log.
- `python_model="path/to/this_file.py"` stores a copy of the file; loading *runs* that copy, whose
  last line, `mlflow.models.set_model(...)`, tells MLflow which object is the model.
We use the second, the way MLflow 3 recommends. Nothing in our model is a pickle (the weights load
with `torch.load(weights_only=True)`), so it loads even with `MLFLOW_ALLOW_PICKLE_DESERIALIZATION`
set to false. Loading still runs Python code that came from the registry: trust a registry exactly
as much as you trust the code repository you deploy from.

Where `movierec` itself comes from at load time: the installed package, not `code_paths`.
`code_paths=["movierec"]` would copy the package into every model and put that copy *first* on
`sys.path` when the model loads. In a process that has already imported `movierec` (the Flask app,
a notebook) the two copies would mix: `except ModelLoadError` stops catching the copy's
`ModelLoadError`. Every environment of the course installs the package (`pip install -e .`), so
the model relies on it and records `movierec_version` in its metadata to make a mismatch visible.

This module imports MLflow (slow: about two seconds), so only the MLflow side of the course imports
it; `movierec.serving` imports it lazily, when a model location is an MLflow URI.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from importlib.metadata import version
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.models.model import ModelInfo
from mlflow.types import ColSpec, Schema

import movierec
from movierec.persist import ModelLoadError, load_model, read_metadata
from movierec.recommender import Recommender, UnknownUserError

ARTIFACT_KEY = "model_dir"  # the name of the native model directory inside the MLflow model
DEFAULT_K, MAX_K = 10, 100  # MAX_K bounds the answer's size whatever a client asks for
OUTPUT_COLUMNS = ["user_id", "rank", "item_id", "title", "score"]

# What a request and an answer look like. MLflow checks every request against the input schema
# (a wrong column or type is a 400 before our code runs) and shows both in the UI and the registry.
SIGNATURE = ModelSignature(
    inputs=Schema([
        ColSpec("long", "user_id"),
        ColSpec("long", "k", required=False),  # optional: DEFAULT_K recommendations without it
    ]),
    outputs=Schema([
        ColSpec("long", "user_id"),
        ColSpec("long", "rank"),  # 1 = best
        ColSpec("long", "item_id"),
        ColSpec("string", "title"),
        ColSpec("double", "score"),  # the predicted rating, before clipping to the scale
    ]),
)  # fmt: skip

# The packages the model needs at load time, pinned to the versions that logged it (the course's
# requirements.txt pins the same). We list them ourselves instead of letting MLflow infer them:
# inference records `torch==2.13.0` but not *which* 2.13.0. On PyPI the Linux wheel of torch is the
# CUDA build (gigabytes of GPU libraries); the CPU build lives on PyTorch's own index, as
# `2.13.0+cpu`. The `--extra-index-url` line makes `pip install -r requirements.txt` (what
# `--env-manager virtualenv` runs) see that index, where `torch==2.13.0` also matches `2.13.0+cpu`,
# the higher version, so pip picks the CPU wheel. `movierec` itself is not listed: it is not on
# PyPI, and every course environment installs it from the repository (see the module docstring).
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
RUNTIME_PACKAGES = ("mlflow", "torch", "numpy", "pandas")


def pip_requirements() -> list[str]:
    """`requirements.txt` of the MLflow model: the CPU torch index, then exact pins."""
    # `version("torch")` is "2.13.0+cpu" here; the `+cpu` tag exists only on PyTorch's index.
    pins = [f"{name}=={version(name).split('+')[0]}" for name in RUNTIME_PACKAGES]
    return [f"--extra-index-url {TORCH_CPU_INDEX}", *pins]


class RecommenderModel(mlflow.pyfunc.PythonModel):
    """A `Recommender` behind MLflow's pyfunc interface: a DataFrame of users in, a ranked list out.

    Input rows: `user_id` and, optionally, `k`. Output: one row per recommendation, best first
    for each user, with the columns of `OUTPUT_COLUMNS`.
    """

    recommender: Recommender

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        """Load the native model directory once, when MLflow loads the model (not per request).

        `context.artifacts` maps the names given to `log_model(artifacts=...)` to local paths:
        MLflow has already downloaded the directory from the artifact store.
        """
        self.recommender = load_model(context.artifacts[ARTIFACT_KEY])

    def predict(
        self,
        context: mlflow.pyfunc.PythonModelContext,
        model_input: pd.DataFrame,
        params: dict | None = None,
    ) -> pd.DataFrame:
        """Top-k recommendations for each `user_id` row (k from the row's `k`, else DEFAULT_K).

        An unknown user or a k below 1 raises `MlflowException(INVALID_PARAMETER_VALUE)`, which
        `mlflow models serve` turns into a 400 answer that names the problem.
        """
        ks = model_input["k"] if "k" in model_input else [DEFAULT_K] * len(model_input)
        rows = []
        for user_id, k in zip(model_input["user_id"], ks, strict=True):
            if k < 1:
                raise MlflowException.invalid_parameter_value(f"k must be at least 1, not {k}")
            try:
                recommendations = self.recommender.recommend(int(user_id), min(int(k), MAX_K))
            except UnknownUserError as error:
                raise MlflowException.invalid_parameter_value(str(error)) from None
            rows += [
                {"user_id": int(user_id), "rank": rank, **recommendation._asdict()}
                for rank, recommendation in enumerate(recommendations, start=1)
            ]
        return pd.DataFrame(rows, columns=OUTPUT_COLUMNS)


def log_model(model_dir: str | Path, name: str = "model") -> ModelInfo:
    """Log the native model directory as an MLflow model in the active run and return its info.

    `model_info.model_uri` (`models:/m-<id>`) is what `mlflow.register_model` takes next.
    """
    model_dir = Path(model_dir)
    native = read_metadata(model_dir)  # raises ModelLoadError early for a missing directory
    # Two real users of this model: MLflow stores the example, shows it in the UI, checks that
    # the model answers it, and writes `serving_input_example.json` (a ready-made request).
    users = native["user_ids"][:2]
    example = pd.DataFrame({"user_id": users, "k": [5] * len(users)})
    return mlflow.pyfunc.log_model(
        name=name,
        python_model=Path(__file__),  # models from code: MLflow stores and later runs this file
        artifacts={ARTIFACT_KEY: str(model_dir)},
        signature=SIGNATURE,
        input_example=example,
        pip_requirements=pip_requirements(),
        metadata={
            "movierec_version": movierec.__version__,
            "dataset": native.get("dataset", {}).get("name"),
        },
    )


# --- loading a registered model back as a Recommender --------------------------------------------

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


# Models from code: when MLflow loads a model it runs its stored copy of this file, and this line
# tells it which object is the model. On an ordinary `import` it only sets a global in MLflow.
mlflow.models.set_model(RecommenderModel())
