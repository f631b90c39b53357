"""The promotion rule: strictly better hold-out RMSE, on the same dataset and hold-out only."""

from __future__ import annotations

from movierec.promotion import decide


def model(rmse: float, dataset: str = "ml-100k", seed: int = 42) -> dict:
    """The metadata fields the rule reads."""
    return {
        "dataset": {"name": dataset, "checksum": f"sha-of-{dataset}"},
        "holdout": {"test_fraction": 0.2, "seed": seed},
        "metrics": {"rmse": rmse},
    }


def test_the_first_model_becomes_champion():
    assert decide(model(0.95), None).promote


def test_a_better_model_on_the_same_ratings_is_promoted():
    decision = decide(model(0.91), model(0.93))
    assert decision.promote and "beats" in decision.reason


def test_a_tie_or_a_worse_model_keeps_the_champion():
    assert not decide(model(0.93), model(0.93)).promote
    assert not decide(model(0.99), model(0.93)).promote


def test_models_measured_on_other_data_do_not_compare():
    """A synthetic model with a tiny RMSE must not replace an ML-100K champion."""
    decision = decide(model(0.5, dataset="synthetic"), model(0.93))
    assert not decision.promote and "not comparable" in decision.reason
    assert not decide(model(0.5, seed=7), model(0.93)).promote  # another hold-out


def test_a_model_that_was_never_measured_is_not_promoted():
    candidate = model(0.9)
    candidate["metrics"] = {}
    assert not decide(candidate, None).promote
