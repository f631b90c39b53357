"""Benchmark: our PyTorch matrix factorization vs Spark MLlib's ALS, on ML-100K's folds u1..u5.

    MOVIEREC_DATA_DIR=../shared/data python bench/spark_vs_torch.py

For each fold both models train on uN.base and are measured on every rating of uN.test (ALS's
cold ratings, whose user or movie is absent from uN.base, predicted as the training mean: see
movierec/spark_als.py); the table also shows the RMSE ALS would report with
coldStartStrategy="drop", which leaves those ratings out. Then the whole batch job once on all
of ML-100K, each way: measure on the hold-out, train on everything, store every user's top 100.
One run, default settings (`TrainConfig()`, `AlsConfig()`), Spark in `local[2]`. Needs pyspark
and Java 17 (requirements-dev.txt).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pandas as pd
from pyspark.ml.evaluation import RegressionEvaluator
from pyspark.sql import functions as F

from movierec import spark_als
from movierec.batch import store_contents
from movierec.data import load_dataset
from movierec.hyperparameters import AlsConfig, TrainConfig
from movierec.pipeline import train_and_evaluate
from movierec.store import write_store


def rmse_dropping_cold(model, test) -> float:
    """What ALS reports with coldStartStrategy="drop": the cold test ratings simply vanish."""
    predicted = model.transform(test).filter(~F.isnan("prediction"))
    clipped = predicted.withColumn(
        "prediction", F.least(F.greatest("prediction", F.lit(1.0)), F.lit(5.0))
    )
    return RegressionEvaluator(metricName="rmse", labelCol="rating").evaluate(clipped)


def fold_row(spark, split: str) -> dict:
    data = load_dataset("ml-100k", split)
    trained = train_and_evaluate(data, TrainConfig(), progress=False)
    train = spark_als.to_spark(spark, data.ratings).cache()
    test = spark_als.to_spark(spark, data.test).cache()
    train.count(), test.count()  # materialised before the clock starts: we time the fitting
    started = time.perf_counter()
    model = spark_als.train_als(train, AlsConfig())
    seconds = time.perf_counter() - started
    als_rmse, n_cold = spark_als.rmse(model, train, test)
    return {
        "fold": split,
        "MF rmse": trained.metrics["rmse"],
        "MF s": trained.measured.seconds,
        "ALS rmse": als_rmse,
        "ALS s": seconds,
        "cold ratings": n_cold,
        "ALS rmse, cold dropped": rmse_dropping_cold(model, test),
    }


def whole_jobs(spark, scratch: Path) -> dict:
    """Seconds of the batch job on all of ML-100K: measure, train on all, store the top 100."""
    data = load_dataset("ml-100k")
    started = time.perf_counter()
    trained = train_and_evaluate(data, TrainConfig(), progress=False)
    write_store(store_contents(trained.recommender), scratch / "torch.sqlite")
    torch_seconds = time.perf_counter() - started
    started = time.perf_counter()
    about = spark_als.run(spark, data, scratch / "als.sqlite")
    return {
        "PyTorch MF + batch": torch_seconds,
        "Spark ALS job": time.perf_counter() - started,
        "hold-out RMSE, MF": trained.metrics["rmse"],
        "hold-out RMSE, ALS": about["metrics"]["rmse"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folds", default="u1,u2,u3,u4,u5", help="comma-separated splits")
    args = parser.parse_args()

    started = time.perf_counter()
    with spark_als.spark_session(cores=2) as spark, tempfile.TemporaryDirectory() as scratch:
        spark.range(1).count()  # the first job warms the JVM up: part of starting Spark
        print(f"Spark session started in {time.perf_counter() - started:.1f} s", flush=True)
        rows = []
        for split in args.folds.split(","):
            rows.append(fold_row(spark, split))
            print(pd.DataFrame(rows[-1:]).round(4).to_string(index=False), flush=True)
        table = pd.DataFrame(rows)
        print("\nMean over folds:")
        print(table.drop(columns="fold").mean().round(4).to_string())
        print("\nThe whole batch job on all of ML-100K (seconds, after the session started):")
        for name, value in whole_jobs(spark, Path(scratch)).items():
            print(f"  {name:<22}{value:.4f}" if "RMSE" in name else f"  {name:<22}{value:.1f} s")


if __name__ == "__main__":
    main()
