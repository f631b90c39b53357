"""TrainConfig: the one home of the training settings and their defaults."""

from __future__ import annotations

import math

import pytest

from movierec.hyperparameters import TrainConfig


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"epochs": 0}, "epochs must be at least 1"),
        ({"n_factors": -3}, "n_factors must be at least 1"),
        ({"valid_fraction": 0.0}, "valid_fraction must be between 0 and 1"),
        ({"valid_fraction": 1.0}, "valid_fraction must be between 0 and 1"),
        ({"l2": -1}, "l2 must not be negative"),
        ({"learning_rate": 0}, "learning_rate must be positive"),
        ({"learning_rate": math.inf}, "learning_rate must be a finite number"),
        ({"l2": math.nan}, "l2 must be a finite number"),
    ],
)
def test_settings_that_cannot_train_are_refused_by_name(settings, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**settings)


def test_field_defaults_are_the_dataclass_defaults_in_order():
    defaults = TrainConfig.field_defaults()
    assert list(defaults)[:2] == ["n_factors", "epochs"]
    assert TrainConfig(**defaults) == TrainConfig()
    assert TrainConfig().to_dict() == defaults
