"""Train the recommender, record the run in MLflow, register the model and promote it by the rule.

The `train` entry point of `mlflow/MLproject`; it also runs on its own:

    python mlflow/train.py --tracking-uri http://127.0.0.1:5001 --dataset synthetic --epochs 5
    MLFLOW_TRACKING_URI=http://127.0.0.1:5001 mlflow run mlflow -e train --env-manager local \\
        --experiment-name movie-recommender -P dataset=synthetic -P epochs=5

One run: hold out 20 % of each user's ratings, train on the rest, evaluate on the held-out part,
log everything (`movierec.tracking.log_training_run`), register the model and move the `champion`
alias only if it beats the champion's validation RMSE (`movierec.tracking.register_and_promote`).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from movierec import tracking
from movierec.data import DATASETS, load_dataset, train_test_split
from movierec.metrics import evaluate
from movierec.persist import save_model
from movierec.train import TrainConfig, train

HOLDOUT = {"test_fraction": 0.2, "seed": 42}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tracking-uri", default=os.environ.get("MLFLOW_TRACKING_URI"),
                        help="http://127.0.0.1:5001 or sqlite:////abs/path/mlflow.db "
                        "(default: $MLFLOW_TRACKING_URI)")  # fmt: skip
    parser.add_argument("--experiment", default=tracking.EXPERIMENT)
    parser.add_argument("--registered-model", default=tracking.REGISTERED_MODEL)
    parser.add_argument("--no-register", action="store_true", help="log the run only")
    parser.add_argument("--dataset", choices=DATASETS, help="default: ml-100k if available, "
                        "else synthetic")  # fmt: skip
    defaults = TrainConfig()
    parser.add_argument("--epochs", type=int, default=defaults.epochs)
    parser.add_argument("--n-factors", type=int, default=defaults.n_factors)
    parser.add_argument("--learning-rate", type=float, default=defaults.learning_rate)
    parser.add_argument("--l2", type=float, default=defaults.l2)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--run-name")
    args = parser.parse_args(argv)
    if not args.tracking_uri:
        parser.error("give --tracking-uri or set MLFLOW_TRACKING_URI (MLflow's default, "
                     "./mlflow.db, depends on the current directory)")  # fmt: skip
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if "MLFLOW_RUN_ID" in os.environ:
        # Started by `mlflow run`: it has created the run (in --experiment-name) and exported
        # its id; `start_run` resumes it. Choosing another experiment here would be an error.
        import mlflow

        mlflow.set_tracking_uri(args.tracking_uri)
    else:
        tracking.use_tracking_server(args.tracking_uri, args.experiment)

    dataset = load_dataset(args.dataset)
    train_part, test_part = train_test_split(dataset.ratings, **HOLDOUT)
    config = TrainConfig(epochs=args.epochs, n_factors=args.n_factors,
                         learning_rate=args.learning_rate, l2=args.l2, seed=args.seed)  # fmt: skip
    print(f"training on {dataset.describe()}", file=sys.stderr)
    result = train(train_part, dataset.movies, config, progress=False)
    metrics = evaluate(result.recommender, train_part, test_part)

    # The native directory is the model's single source of truth: MLflow stores a copy of it.
    with tempfile.TemporaryDirectory() as scratch:
        model_dir = save_model(
            result.recommender,
            Path(scratch) / "model",
            dataset={"name": dataset.name, "checksum": dataset.checksum},
            holdout=HOLDOUT,
            hyperparameters=config.to_dict(),
            best_epoch=result.best_epoch,
            metrics=metrics,
        )
        logged = tracking.log_training_run(result, model_dir, metrics, run_name=args.run_name)
    print(f"run {logged.run_id}: {tracking.PROMOTION_METRIC} {logged.best_valid_rmse:.4f}, "
          f"test RMSE {metrics['rmse']:.4f}, model {logged.model_uri}")  # fmt: skip

    if not args.no_register:
        promotion = tracking.register_and_promote(logged.model_uri, args.registered_model)
        print(f"{args.registered_model}: {promotion.reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
