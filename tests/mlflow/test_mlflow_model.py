"""The pyfunc model (movierec/mlflow_model.py) on its own, and loading from a tracking server
that is down: no server, nothing logged (fast)."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
from mlflow.exceptions import MlflowException

from movierec.mlflow_model import OUTPUT_COLUMNS, RecommenderModel
from movierec.persist import load_model
from movierec.processes import free_port
from movierec.recommender import MAX_K
from tests.mlflow.fixtures import subprocess_env


@pytest.fixture(scope="module")
def model(trained_model_dir) -> RecommenderModel:
    """The pyfunc wrapper around the suite's tiny model, as `load_context` would leave it."""
    wrapper = RecommenderModel()
    wrapper.recommender = load_model(trained_model_dir)
    return wrapper


def test_predict_ranks_each_users_recommendations(model):
    users = model.recommender.users.raw_ids[:2].tolist()
    answer = model.predict(None, pd.DataFrame({"user_id": users, "k": [3, 2]}))
    assert list(answer.columns) == OUTPUT_COLUMNS
    assert answer["user_id"].tolist() == [users[0]] * 3 + [users[1]] * 2
    assert answer["rank"].tolist() == [1, 2, 3, 1, 2]
    expected = model.recommender.recommend(users[0], 3)
    assert answer["item_id"].tolist()[:3] == [r.item_id for r in expected]


def test_k_defaults_to_ten_and_is_capped(model):
    user = int(model.recommender.users.raw_ids[0])
    assert len(model.predict(None, pd.DataFrame({"user_id": [user]}))) == 10
    huge = model.predict(None, pd.DataFrame({"user_id": [user], "k": [10**6]}))
    assert len(huge) == MAX_K


@pytest.mark.parametrize(("user_id", "k", "words"), [(10**9, 5, "unknown user"), (1, 0, "k must")])
def test_bad_rows_are_invalid_parameters(model, user_id, k, words):
    with pytest.raises(MlflowException, match=words) as error:
        model.predict(None, pd.DataFrame({"user_id": [user_id], "k": [k]}))
    assert error.value.error_code == "INVALID_PARAMETER_VALUE"  # `mlflow models serve`: a 400


def test_a_server_that_is_down_fails_in_seconds_with_one_line():
    # MLflow alone would retry for about four minutes before failing.
    load = "from movierec.serving import load_for_serving; load_for_serving('models:/m@champion')"
    env = subprocess_env(MLFLOW_TRACKING_URI=f"http://127.0.0.1:{free_port()}")
    done = subprocess.run([sys.executable, "-c", load], env=env, capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert done.returncode != 0
    assert "ModelLoadError: the MLflow server http://127.0.0.1:" in done.stderr
    assert "does not answer" in done.stderr.strip().splitlines()[-1]


def test_the_file_mlflow_copies_into_every_model_holds_only_the_pyfunc_model():
    """MLflow runs mlflow_model.py at load time: logging and registry code live elsewhere."""
    import ast
    import inspect

    from movierec import mlflow_model

    tree = ast.parse(inspect.getsource(mlflow_model))
    definitions = [n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)]
    assert definitions == ["RecommenderModel"]
