"""Benchmark: every model of the package beside its baselines and the Surprise library, on
ML-100K's five canonical folds, in one run on one machine.

    MOVIEREC_DATA_DIR=../shared/data python bench/train_quality.py
    MOVIEREC_DATA_DIR=../shared/data python bench/train_quality.py --folds u1 --models mf,blend
    MOVIEREC_DATA_DIR=../shared/data python bench/train_quality.py --models mf,mf:movie_l2=0

For each fold u1..u5, on uN.base, measured on uN.test:
- ours, trained through `movierec.pipeline.train_and_evaluate` as every caller trains them:
  `mf` (the taught matrix factorization), the same with `movie_l2=0` (its penalty charged per
  rating only, as before issue 15), `autorec`, `user-autorec` and `blend` ("best"); any model
  with changed settings can be added as NAME:SETTING=VALUE[:SETTING=VALUE...];
- the baselines: scikit-learn's Ridge on user and movie ids, and the global mean;
- the Surprise library's `SVD`, `SVDpp` and `BaselineOnly` (`bench/surprise_peers.py`).
It prints RMSE, MAE, precision@10, nDCG@10 and training seconds (wall clock, and CPU seconds of
all threads) per fold, then the means, u1 alone (the fold published results use), the ratios,
and the course's bars (exit status 1 if one fails):
- the taught model: mean RMSE <= 0.915, mean precision@10 and nDCG@10 at least Ridge's;
- the best model: mean RMSE <= 0.885, with at most 30 s of training on the slowest fold.
Every row is saved in bench/results/train_quality.csv; `--record` also writes the means to
bench/train_quality_ml100k.csv, the committed figures notebook 06 plots.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import pandas as pd
import surprise
import torch
from surprise_peers import SurprisePeer

from movierec.baselines import GlobalMean, RidgeBaseline
from movierec.data import load_dataset
from movierec.hyperparameters import BEST_MODEL, ModelConfig, config_class, config_from_dict
from movierec.metrics import evaluate
from movierec.pipeline import train_and_evaluate

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results" / "train_quality.csv"
RECORD = BENCH_DIR / "train_quality_ml100k.csv"
TAUGHT_RMSE_BAR = 0.915
BEST_RMSE_BAR, BEST_SECONDS_BAR = 0.885, 30.0
OUR_MODELS = "mf,mf:movie_l2=0,autorec,user-autorec,blend"
COLUMNS = ["rmse", "mae", "precision@10", "ndcg@10", "train_s", "cpu_s"]
# The peers our models are divided by, with the short names the ratio table uses; SVD++ last:
# it is the slowest, and training times are compared with it.
RATIO_PEERS = {"ridge (sklearn)": "ridge", "surprise SVD": "SVD", "surprise SVDpp": "SVDpp"}


def peers() -> dict[str, object]:
    """Every model that is not ours, by the name the tables show, freshly made."""
    return {
        "ridge (sklearn)": RidgeBaseline(),
        "global mean": GlobalMean(),
        "surprise SVD": SurprisePeer(surprise.SVD(random_state=0)),
        "surprise SVDpp": SurprisePeer(surprise.SVDpp(random_state=0)),
        "surprise BaselineOnly": SurprisePeer(surprise.BaselineOnly(verbose=False)),
    }


def config_of(spec: str) -> ModelConfig:
    """`mf`, or `mf:movie_l2=0:n_factors=16`: a model by name, some of its settings changed."""
    name, *changes = spec.split(":")
    defaults = config_class(name).field_defaults()
    values = dict(change.split("=") for change in changes)
    typed = {k: type(defaults[k])(v) if k in defaults else v for k, v in values.items()}
    return config_from_dict({"model": name, **typed})


def run_fold(split: str, models: list[str], with_peers: bool) -> list[dict]:
    """Train and score every model on one canonical split; one row per model."""
    data = load_dataset("ml-100k", split)
    rows = []
    for name in models:
        trained = train_and_evaluate(data, config_of(name), progress=False)
        training = trained.recommender.metadata["training"]
        rows.append({"fold": split, "model": name, **trained.metrics,
                     "train_s": training["seconds"], "cpu_s": training["cpu_seconds"]})  # fmt: skip
    for name, peer in peers().items() if with_peers else ():
        started, started_cpu = time.perf_counter(), time.process_time()
        peer.fit(data.ratings)
        seconds, cpu = time.perf_counter() - started, time.process_time() - started_cpu
        metrics = evaluate(peer, data.ratings, data.test, k=10)
        rows.append({"fold": split, "model": name, **metrics, "train_s": seconds, "cpu_s": cpu})
    return rows


def ratios(means: pd.DataFrame, ours: list[str]) -> pd.DataFrame:
    """Our models' mean RMSE and training seconds divided by the peers': below 1 is better."""
    peers = {peer: short for peer, short in RATIO_PEERS.items() if peer in means.index}
    table = pd.DataFrame(index=ours)
    for peer, short in peers.items():
        table[f"RMSE/{short}"] = means.rmse[ours] / means.rmse[peer]
    for peer, short in list(peers.items())[-1:]:
        table[f"seconds/{short}"] = means.train_s[ours] / means.train_s[peer]
    return table


def bars(table: pd.DataFrame, means: pd.DataFrame) -> list[tuple[str, bool]]:
    """(what the bar says with the measured figures, passed?) for each bar this run can judge."""
    verdicts = []
    if {"mf", "ridge (sklearn)"} <= set(means.index):
        mf, ridge = means.loc["mf"], means.loc["ridge (sklearn)"]
        verdicts += [
            (f"taught mf: mean RMSE {mf.rmse:.4f} <= {TAUGHT_RMSE_BAR}",
             mf.rmse <= TAUGHT_RMSE_BAR),
            (f"taught mf: mean precision@10 {mf['precision@10']:.4f} >= Ridge's "
             f"{ridge['precision@10']:.4f}", mf["precision@10"] >= ridge["precision@10"]),
            (f"taught mf: mean nDCG@10 {mf['ndcg@10']:.4f} >= Ridge's {ridge['ndcg@10']:.4f}",
             mf["ndcg@10"] >= ridge["ndcg@10"]),
        ]  # fmt: skip
    if BEST_MODEL in means.index:
        best = means.loc[BEST_MODEL]
        slowest = table[table.model == BEST_MODEL].train_s.max()
        verdicts += [
            (f"best ({BEST_MODEL}): mean RMSE {best.rmse:.4f} <= {BEST_RMSE_BAR}",
             best.rmse <= BEST_RMSE_BAR),
            (f"best ({BEST_MODEL}): slowest fold {slowest:.1f} s <= {BEST_SECONDS_BAR:.0f} s "
             "of training", slowest <= BEST_SECONDS_BAR),
        ]  # fmt: skip
    return verdicts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folds", default="u1,u2,u3,u4,u5", help="comma-separated splits")
    parser.add_argument("--models", default=OUR_MODELS, help="ours, comma-separated, each "
                        "NAME or NAME:SETTING=VALUE:... (default: %(default)s)")  # fmt: skip
    parser.add_argument("--no-peers", action="store_true", help="ours only: no baselines, "
                        "no Surprise")  # fmt: skip
    parser.add_argument("--torch-threads", type=int, help="torch's threads for the AutoRecs "
                        "(default: one per core; the taught mf always uses one)")  # fmt: skip
    parser.add_argument("--record", action="store_true", help=f"write the means to {RECORD.name}")
    args = parser.parse_args()
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    models = args.models.split(",")
    # Seconds mean little on a busy machine: the load average says how busy this one was.
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; surprise "
          f"{surprise.__version__}; models: {', '.join(models)}; {os.cpu_count()} cores, load "
          f"average {os.getloadavg()[0]:.1f}", flush=True)  # fmt: skip

    rows = []
    for split in args.folds.split(","):
        fold_rows = run_fold(split, models, with_peers=not args.no_peers)
        rows += fold_rows
        print(pd.DataFrame(fold_rows).round(4).to_string(index=False), flush=True)
    table = pd.DataFrame(rows)
    RESULTS.parent.mkdir(exist_ok=True)
    table.to_csv(RESULTS, index=False)

    means = table.groupby("model", sort=False)[COLUMNS].mean()
    print(f"\nMean over folds {args.folds}:\n{means.round(4).to_string()}")
    if "u1" in set(table.fold):
        u1 = table[table.fold == "u1"].set_index("model")[COLUMNS]
        print(f"\nu1 alone (GLocal-K's published RMSE on it: 0.8889):\n{u1.round(4).to_string()}")
    ours = [m for m in models if m in means.index]
    if len(means) > len(ours):
        table_text = ratios(means, ours).round(3).to_string()
        print(f"\nRatios, ours / peers (means over folds):\n{table_text}")
    if args.record:
        means.round(4).to_csv(RECORD)
        print(f"\nwrote {RECORD.relative_to(BENCH_DIR.parent)}")

    verdicts = bars(table, means)
    print(
        f"\nload average at the end: {os.getloadavg()[0]:.1f} (1 min), {os.getloadavg()[1]:.1f} "
        "(5 min)"
    )
    for text, passed in verdicts:
        print(f"Bar: {text}: {'PASS' if passed else 'FAIL'}")
    return 0 if all(passed for _, passed in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
