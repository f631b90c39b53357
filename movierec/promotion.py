"""When does a new model replace the one in service? One written rule, used wherever models are
promoted (the MLflow registry's `champion` alias, the training service).

The rule: a candidate replaces the champion only if its hold-out RMSE (recorded in its metadata by
`movierec.pipeline.train_and_evaluate`) is strictly lower, and only when both were measured on
the same test ratings: the same dataset (name and checksum) and the same hold-out. Scores measured
on different ratings do not compare, so then the champion stays and the reason says why.
"""

from __future__ import annotations

from typing import NamedTuple

METRIC = "rmse"  # lower is better


class Decision(NamedTuple):
    promote: bool
    reason: str


def measured_on(metadata: dict) -> tuple:
    """What a model's metrics were measured on: (dataset name, checksum, hold-out)."""
    dataset = metadata.get("dataset") or {}
    holdout = metadata.get("holdout") or {}
    return (
        dataset.get("name"),
        dataset.get("checksum"),
        holdout.get("test_fraction"),
        holdout.get("seed"),
    )


def describe(metadata: dict) -> str:
    name, _, fraction, seed = measured_on(metadata)
    where = f"{name}, hold-out {fraction:g} seed {seed}" if fraction is not None else name
    return f"{METRIC} {metadata.get('metrics', {}).get(METRIC, float('nan')):.4f} on {where}"


def decide(candidate: dict, champion: dict | None) -> Decision:
    """Should `candidate` (a model's metadata) replace `champion` (None: there is none)?"""
    if METRIC not in (candidate.get("metrics") or {}):
        return Decision(False, f"the candidate has no hold-out {METRIC}: it was not measured")
    if champion is None:
        return Decision(True, f"no champion yet: the candidate ({describe(candidate)}) becomes it")
    if measured_on(candidate) != measured_on(champion):
        return Decision(
            False,
            f"not comparable: the candidate was measured on other ratings ({describe(candidate)}) "
            f"than the champion ({describe(champion)}); the champion stays",
        )
    new, old = candidate["metrics"][METRIC], champion["metrics"][METRIC]
    verdict = "beats" if new < old else "does not beat"
    return Decision(
        new < old, f"the candidate ({METRIC} {new:.4f}) {verdict} the champion ({old:.4f})"
    )
