"""The batch job on Spark: MLlib's ALS learns from MovieLens, is measured on our hold-out, and
every user's top-k goes into the same store as `python -m movierec batch` writes.

    python -m movierec spark-als --dataset ml-100k --out stores/als.sqlite      # Spark in-process
    spark-submit --master yarn movierec/spark_als.py --dataset ml-100k ...      # on a cluster

pyspark is not in the course's requirements.txt: `pip install -r requirements-dev.txt`, or just
`pip install pyspark==4.3.0`, and Java 17 (Debian: `apt-get install openjdk-17-jre-headless`).

What differs from our PyTorch model, and how this job deals with it:
- ALS learns a vector per user and per movie, no biases: the store's bias columns stay NULL.
- ALS cannot score a user or movie that had no training rating ("cold start"). With
  `coldStartStrategy="drop"` such test ratings vanish from the RMSE, which then counts fewer
  ratings than ours. We keep them (`"nan"`) and predict them with the training mean, so both
  models are measured on exactly the same ratings.
- `recommendForAllUsers` ranks every movie, seen or not. We ask for k more than the most any user
  rated, drop the rated ones, and keep the best k: the store holds unseen movies only, as ours.
- Ratings reach Spark as plain rows, never as pandas frames: PySpark 4.3 does not fully support
  pandas 3 yet (it says so in a warning, silenced below).
"""

from __future__ import annotations

import hashlib
import os
import struct
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from pyspark.ml.evaluation import RegressionEvaluator
from pyspark.ml.recommendation import ALS, ALSModel
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from movierec.data import Dataset, holdout_split
from movierec.errors import SetupError
from movierec.hyperparameters import AlsConfig
from movierec.limits import MAX_K
from movierec.store import StoreContents, check_can_replace, write_store

RATINGS_SCHEMA = "user_id INT, item_id INT, rating FLOAT"

# PySpark 4.3 warns that it does not fully support pandas 3 the first time it hands Java a Python
# value, whether pandas is involved or not. This job never gives Spark a pandas frame.
warnings.filterwarnings("ignore", "PySpark does not yet fully support pandas", FutureWarning)


# --- the Spark session ----------------------------------------------------------------------------


@contextmanager
def spark_session(cores: int = 2) -> Iterator[SparkSession]:
    """The session for the job, stopped when the block ends.

    Under `spark-submit`, the one it configured (master, executors, memory): nothing is set
    here. Otherwise Spark inside this process, `local[cores]`, reachable from this machine only:
    without these settings Spark binds to the host name's address and opens its web UI on every
    interface. Its scratch files go to a temporary folder, removed at the end.
    """
    if launched_by_spark_submit():
        spark = SparkSession.builder.appName("movierec-als").getOrCreate()
        if spark.sparkContext.getCheckpointDir() is None:
            spark.stop()
            raise SetupError(
                "ALS needs a checkpoint folder every executor reaches: add --conf "
                "spark.checkpoint.dir=hdfs:///... (or s3a://...) to spark-submit"
            )
        try:
            yield spark
        finally:
            spark.stop()
        return
    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"  # read by the JVM when it starts
    with tempfile.TemporaryDirectory(prefix="movierec-spark-") as scratch:
        spark = (
            SparkSession.builder.master(f"local[{cores}]")
            .appName("movierec-als")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.shuffle.partitions", str(2 * cores))  # 200 by default: for clusters
            .config("spark.local.dir", str(Path(scratch) / "local"))
            # ALS's lineage grows with every iteration; checkpoints cut it (every 10 iterations).
            # Without a folder for them, 20 iterations can die of a StackOverflowError.
            .config("spark.checkpoint.dir", str(Path(scratch) / "checkpoints"))
            .getOrCreate()
        )
        spark.sparkContext.setLogLevel("ERROR")
        try:
            yield spark
        finally:
            spark.stop()


def launched_by_spark_submit() -> bool:
    """True under `spark-submit`, which starts the JVM first and tells Python its port."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


# --- training and measuring -----------------------------------------------------------------------


def to_spark(spark: SparkSession, ratings: pd.DataFrame) -> DataFrame:
    """Ratings as a Spark DataFrame (user_id, item_id, rating), from plain rows."""
    rows = ratings[["user_id", "item_id", "rating"]].itertuples(index=False, name=None)
    return spark.createDataFrame([(int(u), int(i), float(r)) for u, i, r in rows], RATINGS_SCHEMA)


def train_als(ratings: DataFrame, config: AlsConfig | None = None) -> ALSModel:
    """Fit ALS on explicit ratings (`implicitPrefs=False`: stars, not clicks)."""
    config = config or AlsConfig()
    als = ALS(
        rank=config.rank,
        maxIter=config.max_iter,
        regParam=config.reg_param,
        seed=config.seed,
        numUserBlocks=config.blocks,
        numItemBlocks=config.blocks,
        implicitPrefs=False,
        userCol="user_id",
        itemCol="item_id",
        ratingCol="rating",
        coldStartStrategy="nan",  # see `rmse`: the cold ratings stay, and are counted
    )
    return als.fit(ratings)


def rmse(model: ALSModel, train: DataFrame, test: DataFrame) -> tuple[float, int]:
    """(RMSE on every test rating, how many of them were cold), as our model is measured.

    A cold rating (its user or movie had no training rating) gets the training mean, the
    fallback our model uses when nothing else is known; every prediction is clipped to the
    rating scale, as `Recommender.predict` does.
    """
    low, high, mean = train.agg(F.min("rating"), F.max("rating"), F.mean("rating")).first()
    scored = model.transform(test)
    cold = F.isnan("prediction")
    predicted = scored.withColumn(
        "prediction",
        F.when(cold, F.lit(mean)).otherwise(
            F.least(F.greatest("prediction", F.lit(low)), F.lit(high))
        ),
    )
    evaluator = RegressionEvaluator(
        metricName="rmse", labelCol="rating", predictionCol="prediction"
    )
    return evaluator.evaluate(predicted), scored.filter(cold).count()


def top_k_unrated(model: ALSModel, train: DataFrame, k: int) -> DataFrame:
    """Each user's best `k` movies they did not rate: (user_id, rank, item_id, score)."""
    most_rated = train.groupBy("user_id").count().agg(F.max("count")).first()[0]
    candidates = model.recommendForAllUsers(k + most_rated).select(
        "user_id", F.posexplode("recommendations").alias("position", "movie")
    )
    unseen = candidates.select(
        "user_id",
        "position",
        F.col("movie.item_id").alias("item_id"),
        F.col("movie.rating").alias("score"),
    ).join(train.select("user_id", "item_id"), ["user_id", "item_id"], "left_anti")
    by_score = Window.partitionBy("user_id").orderBy("position")  # already best first
    return (
        unseen.withColumn("rank", F.row_number().over(by_score))
        .filter(F.col("rank") <= k)
        .select("user_id", "rank", "item_id", "score")
    )


# --- the store ------------------------------------------------------------------------------------


def factors_version(model: ALSModel) -> str:
    """A short id of a trained ALS model: the start of a sha256 over its vectors, in id order
    (like `movierec.model.model_version` over a network's weights)."""
    digest = hashlib.sha256()
    for table in (model.userFactors, model.itemFactors):
        for row in table.orderBy("id").toLocalIterator():
            digest.update(struct.pack(f"<i{len(row.features)}f", row.id, *row.features))
    return digest.hexdigest()[:12]


def _features(factors: DataFrame, train: DataFrame, key: str) -> Iterator[tuple]:
    """(id, n_ratings, bias=None, vector) for each id ALS learned a vector for."""
    counts = train.groupBy(key).count()
    joined = factors.join(counts, factors.id == counts[key]).select("id", "count", "features")
    for row in joined.toLocalIterator():  # streamed to the driver, a partition at a time
        yield row.id, row["count"], None, row.features


def store_contents(
    model: ALSModel, train: DataFrame, movies: pd.DataFrame, k: int, about: dict[str, Any]
) -> StoreContents:
    """What the store holds for this ALS model: the same tables as the PyTorch job's."""
    recommendations = top_k_unrated(model, train, k)
    return StoreContents(
        about={**about, "model_version": factors_version(model), "k": k},
        recommendations=(tuple(row) for row in recommendations.toLocalIterator()),
        movies=zip(movies.item_id, movies.title, movies.genres.fillna(""), strict=True),
        users=_features(model.userFactors, train, "user_id"),
        items=_features(model.itemFactors, train, "item_id"),
    )


def run(
    spark: SparkSession,
    dataset: Dataset,
    out: str | Path,
    k: int = MAX_K,
    config: AlsConfig | None = None,
    *,
    test_fraction: float = 0.2,
    holdout_seed: int = 42,
) -> dict[str, Any]:
    """Measure ALS on the hold-out our model is measured on, then store the model to serve.

    As `movierec.pipeline.train_and_evaluate` does: a canonical split is measured on its test
    file and stored as trained on its base; otherwise `test_fraction` of each user's ratings are
    held out (with `holdout_seed`: the defaults of `pipeline.Holdout`, not imported here because
    the pipeline imports torch), and the stored model is trained again on every rating.
    Returns the store's `about` (the RMSE in its metrics).
    """
    check_can_replace(out)  # before minutes of work, not after
    config = config or AlsConfig()
    if dataset.test is not None:  # ML-100K's uN.base / uN.test: the split is the experiment
        train_part, test_part, holdout = dataset.ratings, dataset.test, None
    elif test_fraction > 0:
        train_part, test_part = holdout_split(dataset.ratings, test_fraction, holdout_seed)
        holdout = {"test_fraction": test_fraction, "seed": holdout_seed}
    else:  # nothing held out, nothing measured
        train_part, test_part, holdout = dataset.ratings, None, None

    train = to_spark(spark, train_part).cache()
    model = train_als(train, config)
    about: dict[str, Any] = {"metrics": {}}
    if test_part is not None:
        error, n_cold = rmse(model, train, to_spark(spark, test_part))
        about["metrics"] = {"rmse": error}
        about["cold_start"] = {"test_ratings": n_cold, "predicted_as": "the training mean"}
    if holdout is not None:  # measured on held-out ratings: the model to serve learns from all
        train = to_spark(spark, dataset.ratings).cache()
        model = train_als(train, config)
    about |= {
        "model": {"engine": "spark", "class": "ALS", **config.to_dict()},
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "dataset": dataset.name,
        "holdout": holdout,
    }
    return write_store(store_contents(model, train, dataset.movies, k, about), out)


if __name__ == "__main__":  # `spark-submit movierec/spark_als.py ARGS` runs the command line's job
    import sys

    from movierec.cli import main

    raise SystemExit(main(["spark-als", *sys.argv[1:]]))
