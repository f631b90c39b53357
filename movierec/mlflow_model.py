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

This file holds the pyfunc model and nothing else, because MLflow copies it into every model and
runs it at load time. Logging a model is `movierec.tracking.log_model`; registering, promoting and
loading a model back are in `movierec.registry`.
"""

from __future__ import annotations

import mlflow
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, Schema

from movierec.errors import UnknownUserError
from movierec.persist import load_model
from movierec.recommender import DEFAULT_K, MAX_K, Recommender

ARTIFACT_KEY = "model_dir"  # the name of the native model directory inside the MLflow model
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


# Models from code: when MLflow loads a model it runs its stored copy of this file, and this line
# tells it which object is the model. On an ordinary `import` it only sets a global in MLflow.
mlflow.models.set_model(RecommenderModel())
