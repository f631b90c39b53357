"""The same batch job on Spark (movierec/spark_als.py): ALS measured on our hold-out with every
cold rating counted, and a store the store-mode app serves, holding unseen movies only.

One local Spark session serves every test here (the `spark` fixture of conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from movierec.baselines import GlobalMean
from movierec.data import holdout_split
from movierec.hyperparameters import AlsConfig
from movierec.metrics import evaluate
from movierec.store import RecommendationStore
from tests.conftest import REPO_ROOT

FAST = AlsConfig(rank=8, max_iter=5)  # seconds, not tens of seconds; enough to learn something
K = 10


@pytest.fixture(scope="module")
def als_store(spark, synthetic_dataset, tmp_path_factory):
    """(the store's `about`, the store file) of one run on the synthetic data, default hold-out."""
    from movierec import spark_als

    path = tmp_path_factory.mktemp("als") / "als.sqlite"
    about = spark_als.run(spark, synthetic_dataset, path, K, FAST)
    return about, RecommendationStore(path).current()


@pytest.mark.slow
def test_als_is_measured_on_our_hold_out_with_every_cold_rating_counted(
    als_store, synthetic_dataset
):
    about, _ = als_store
    train, test = holdout_split(synthetic_dataset.ratings, 0.2, 42)  # train_and_evaluate's
    cold = ~test.user_id.isin(train.user_id) | ~test.item_id.isin(train.item_id)
    assert about["cold_start"]["test_ratings"] == int(cold.sum()) > 0
    assert about["holdout"] == {"test_fraction": 0.2, "seed": 42}
    baseline = evaluate(GlobalMean().fit(train), train, test)["rmse"]
    assert 0.5 < about["metrics"]["rmse"] < baseline  # it learned something, on every rating


@pytest.mark.slow
def test_the_store_holds_what_als_has_in_our_format(als_store, synthetic_dataset):
    about, file = als_store
    ratings = synthetic_dataset.ratings  # the stored model was trained again on all of them
    assert about["model"]["class"] == "ALS" and file.k == K
    assert file.about["n_users"] == ratings.user_id.nunique()
    for user, rated in ratings.groupby("user_id").item_id:
        found = file.recommendations(int(user), K)
        assert len(found) == K and not {r["item_id"] for r in found} & set(rated)
        assert [r["score"] for r in found] == sorted((r["score"] for r in found), reverse=True)
        assert all(r["title"] for r in found)
        features = file.user_features(int(user))
        assert features["n_ratings"] == len(rated)
        assert features["bias"] is None and len(features["vector"]) == FAST.rank  # no biases


@pytest.mark.slow
def test_the_store_mode_app_serves_the_als_store(als_store):
    from flask_app import create_app

    _, file = als_store
    client = create_app({"TESTING": True, "MOVIEREC_STORE": str(file.path)}).test_client()
    answer = client.get("/recommendations/1?k=3").json
    assert answer["model_version"] == file.model_version and len(answer["recommendations"]) == 3


@pytest.mark.slow
def test_the_stored_lists_are_alss_own_ranking_without_rated_movies(spark, synthetic_dataset):
    """For every user: ALS's full ranking of every movie, rated ones removed, first K."""
    from movierec import spark_als

    ratings = synthetic_dataset.ratings
    train = spark_als.to_spark(spark, ratings).cache()
    model = spark_als.train_als(train, FAST)
    stored: dict[int, list[int]] = {}
    for user, rank, item, _ in spark_als.top_k_unrated(model, train, K).collect():
        stored.setdefault(user, []).append((rank, item))
    n_items = ratings.item_id.nunique()
    rated = ratings.groupby("user_id").item_id.apply(set)
    for row in model.recommendForAllUsers(n_items).collect():
        everything = [r.item_id for r in row.recommendations]  # best first
        expected = [item for item in everything if item not in rated[row.user_id]][:K]
        assert [item for _, item in sorted(stored[row.user_id])] == expected, row.user_id


def test_the_spark_job_never_imports_torch():
    code = "import sys, movierec.spark_als; print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=REPO_ROOT)  # fmt: skip
    assert done.stdout.strip() == "False", done.stderr


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("import sys; sys.modules['pyspark'] = None", "pyspark is not installed: pip install"),
        ("import os; os.environ['PATH'] = '/nonexistent'; os.environ.pop('JAVA_HOME', None)",
         "Spark runs on Java 17"),
    ],
    ids=["no pyspark", "no java"],
)  # fmt: skip
def test_a_missing_pyspark_or_java_is_one_line_that_says_what_to_install(setup, message):
    code = f"{setup}; from movierec.cli import main; raise SystemExit(main(['spark-als']))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, cwd=REPO_ROOT, env=os.environ)  # fmt: skip
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith(f"error: {message}"), done.stderr
