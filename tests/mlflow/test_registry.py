"""movierec.registry on a real tracking server: the champion rule, and loading by alias."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from movierec import tracking
from movierec.errors import ModelLoadError
from movierec.persist import load_model
from movierec.registry import CHAMPION, REGISTERED_MODEL, load_recommender
from tests.mlflow.fixtures import CHAMPION_URI

pytestmark = pytest.mark.slow


def test_the_configurations_are_ordered_by_hold_out_rmse(registry):
    rmse = {name: run.metrics["rmse"] for name, run in registry.runs.items()}
    assert rmse["better"] < rmse["first"] < rmse["worse"]
    assert rmse["elsewhere"] < rmse["first"]  # better than the champion it may not replace


def test_the_first_version_becomes_champion(registry):
    promotion = registry.promotions["first"]
    assert promotion.promoted and promotion.champion_version == promotion.version


def test_a_better_version_takes_the_alias(registry):
    promotion = registry.promotions["better"]
    assert promotion.promoted
    assert promotion.champion_version == promotion.version
    assert "beats" in promotion.reason


def test_a_worse_version_does_not_take_the_alias(registry):
    promotion = registry.promotions["worse"]
    assert not promotion.promoted
    assert promotion.champion_version == registry.promotions["better"].version
    assert "does not beat" in promotion.reason


def test_a_model_measured_on_another_hold_out_is_not_compared(registry):
    """Its RMSE is lower, but on other test ratings: the champion stays, and the reason says so."""
    promotion = registry.promotions["elsewhere"]
    assert not promotion.promoted and "not comparable" in promotion.reason
    assert promotion.champion_version == registry.promotions["better"].version


def test_the_alias_points_at_the_best_version(registry):
    champion = mlflow.MlflowClient().get_model_version_by_alias(REGISTERED_MODEL, CHAMPION)
    assert champion.version == registry.promotions["better"].version
    assert champion.run_id == registry.runs["better"].run_id


def test_the_champion_loaded_by_alias_recommends_like_the_native_model(registry):
    from_registry = load_recommender(CHAMPION_URI)
    native = load_model(registry.model_dirs["better"])

    for user in native.users.raw_ids[:20]:
        assert from_registry.recommend(int(user), 10) == native.recommend(int(user), 10)
    users, items = native.rated.user_id.to_numpy(), native.rated.item_id.to_numpy()
    np.testing.assert_array_equal(from_registry.predict(users, items), native.predict(users, items))

    metadata = from_registry.metadata
    assert metadata["registered_model"] == REGISTERED_MODEL
    assert metadata["model_alias"] == CHAMPION
    assert metadata["model_version"] == registry.promotions["better"].version
    assert metadata["mlflow_run_id"] == registry.runs["better"].run_id
    assert metadata["dataset"] == native.metadata["dataset"]  # the native metadata is all there


def test_pyfunc_predict_returns_ranked_recommendations(registry):
    model = mlflow.pyfunc.load_model(CHAMPION_URI)
    native = load_model(registry.model_dirs["better"])
    user = int(native.users.raw_ids[0])
    answer = model.predict(pd.DataFrame({"user_id": [user, user], "k": [3, 5]}))
    assert list(answer.columns) == ["user_id", "rank", "item_id", "title", "score"]
    assert answer["rank"].tolist() == [1, 2, 3, 1, 2, 3, 4, 5]
    expected = native.recommend(user, 5)
    assert answer["item_id"].tolist()[3:] == [r.item_id for r in expected]
    # without k: the default 10
    assert len(model.predict(pd.DataFrame({"user_id": [user]}))) == 10


# MLflow 3.17 compares DataFrame columns with a range(), which pandas 3 deprecates: not ours.
@pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning")
def test_the_strongest_model_goes_through_mlflow_like_the_taught_one(
    registry, tiny_blend, blend_model_dir
):
    """A blend is logged as the native directory it is and loads back with the same answers;
    its run has no training curve of its own (its members' epochs are in the metadata)."""
    logged = tracking.log_training_run(tiny_blend, blend_model_dir, run_name="blend")
    run = mlflow.MlflowClient().get_run(logged.run_id)
    assert run.data.params["model"] == "blend" and "best_valid_rmse" in run.data.metrics
    assert "training_curve.png" not in {a.path for a in mlflow.MlflowClient().list_artifacts(
        logged.run_id)}  # fmt: skip

    served, native = mlflow.pyfunc.load_model(logged.model_uri), load_model(blend_model_dir)
    user = int(native.users.raw_ids[0])
    answer = served.predict(pd.DataFrame({"user_id": [user], "k": [5]}))
    assert answer["item_id"].tolist() == [r.item_id for r in native.recommend(user, 5)]


def test_the_model_loads_with_pickle_deserialization_disabled(registry, monkeypatch):
    # Models from code: the MLflow model holds no pickle, so the safe setting costs nothing.
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "false")
    assert load_recommender(CHAMPION_URI).recommend(1, 3)


def test_the_model_pins_cpu_torch(registry):
    # What `--env-manager virtualenv` would `pip install -r` to rebuild the model's environment.
    requirements = Path(mlflow.pyfunc.get_model_dependencies(CHAMPION_URI)).read_text().split("\n")
    assert requirements[0] == "--extra-index-url https://download.pytorch.org/whl/cpu"
    assert "torch==2.13.0" in requirements
    assert not any("+cpu" in line for line in requirements)


def test_an_unknown_alias_is_one_clear_line(registry):
    with pytest.raises(ModelLoadError) as error:
        load_recommender(f"models:/{REGISTERED_MODEL}@nobody")
    message = str(error.value)
    assert "\n" not in message and "nobody" in message


def test_the_server_refuses_foreign_host_headers(tracking_server):
    # --allowed-hosts: only the names a tunnel or a local script use (DNS-rebinding protection).
    url = f"{tracking_server}/api/2.0/mlflow/experiments/search?max_results=1"
    with urllib.request.urlopen(urllib.request.Request(url)) as response:
        assert response.status == 200
    request = urllib.request.Request(url, headers={"Host": "evil.example"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request)
    assert refused.value.code == 403
