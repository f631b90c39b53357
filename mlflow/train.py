"""Train the recommender, record the run in MLflow, register the model and promote it by the rule.

The `train` entry point of `mlflow/MLproject`; it also runs on its own:

    python mlflow/train.py --tracking-uri http://127.0.0.1:5001 --dataset synthetic --epochs 5
    python mlflow/train.py --tracking-uri http://127.0.0.1:5001 --model best   # notebook 06
    MLFLOW_TRACKING_URI=http://127.0.0.1:5001 mlflow run mlflow -e train --env-manager local \\
        --experiment-name movie-recommender -P dataset=synthetic -P epochs=5

One run: measure a model on 20 % of each user's ratings held out, train the model to register on
all of them (`movierec.pipeline.train_and_evaluate`, as `python -m movierec train` does), log
everything (`movierec.tracking.log_training_run`), register the model and move the `champion` alias
only if the rule says so (`movierec.registry.register_and_promote`, `movierec.promotion`).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from movierec import registry, tracking
from movierec.cli import add_hyperparameter_options, hyperparameters
from movierec.data import DATASETS, load_dataset
from movierec.persist import save_model
from movierec.pipeline import Holdout, train_and_evaluate


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tracking-uri", default=os.environ.get("MLFLOW_TRACKING_URI"),
                        help="http://127.0.0.1:5001 or sqlite:////abs/path/mlflow.db "
                        "(default: $MLFLOW_TRACKING_URI)")  # fmt: skip
    parser.add_argument("--experiment", default=tracking.EXPERIMENT)
    parser.add_argument("--registered-model", default=registry.REGISTERED_MODEL)
    parser.add_argument("--no-register", action="store_true", help="log the run only")
    parser.add_argument("--dataset", choices=DATASETS, help="default: ml-100k if available, "
                        "else synthetic")  # fmt: skip
    parser.add_argument("--run-name")
    add_hyperparameter_options(parser)  # --model, --epochs, ...: the CLI's, same defaults
    args = parser.parse_args(argv)
    if not args.tracking_uri:
        parser.error("give --tracking-uri or set MLFLOW_TRACKING_URI (MLflow's default, "
                     "./mlflow.db, depends on the current directory)")  # fmt: skip
    try:
        args.config = hyperparameters(args)
    except ValueError as error:
        parser.error(str(error))
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
    print(f"training on {dataset.describe()}", file=sys.stderr)
    trained = train_and_evaluate(dataset, args.config, Holdout(), progress=False)

    # The native directory is the model's single source of truth: MLflow stores a copy of it.
    with tempfile.TemporaryDirectory() as scratch:
        model_dir = save_model(trained.recommender, Path(scratch) / "model")
        logged = tracking.log_training_run(trained, model_dir, run_name=args.run_name)
    print(f"run {logged.run_id}: hold-out RMSE {trained.metrics['rmse']:.4f}, "
          f"model {logged.model_uri} ({trained.summary()})")  # fmt: skip

    if not args.no_register:
        promotion = registry.register_and_promote(logged.model_uri, args.registered_model)
        print(f"{args.registered_model}: {promotion.reason}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
