"""The settings classes: the one home of every model's settings, their defaults and ranges."""

from __future__ import annotations

import math
from dataclasses import fields

import pytest

from movierec.hyperparameters import (
    MODEL_CONFIGS,
    AutoRecConfig,
    BlendConfig,
    TrainConfig,
    config_class,
    config_from_dict,
)


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
        ({"epochs": 5000}, "epochs must be at most 1000"),
        ({"n_factors": 2.5}, "n_factors must be a whole number"),
        ({"movie_l2": "3"}, "movie_l2 must be a number"),
    ],
)
def test_settings_that_cannot_train_are_refused_by_name(settings, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**settings)


@pytest.mark.parametrize("cls", MODEL_CONFIGS.values(), ids=MODEL_CONFIGS)
def test_each_setting_refuses_values_just_outside_its_range(cls):
    for f in fields(cls):
        allowed = f.metadata["range"]
        step = 1 if isinstance(f.default, int) else 1e-9
        for outside in (allowed.low - step, allowed.high + step):
            with pytest.raises(ValueError, match=f"^{f.name} must"):
                cls(**{f.name: type(f.default)(outside)})
        cls(**{f.name: f.default})  # the default itself is allowed


@pytest.mark.parametrize("cls", MODEL_CONFIGS.values(), ids=MODEL_CONFIGS)
def test_field_defaults_are_the_dataclass_defaults_in_order(cls):
    defaults = cls.field_defaults()
    assert cls(**defaults) == cls()
    assert cls().to_dict() == defaults
    assert list(TrainConfig.field_defaults())[:2] == ["n_factors", "epochs"]


@pytest.mark.parametrize("cls", MODEL_CONFIGS.values(), ids=MODEL_CONFIGS)
def test_the_json_schema_is_generated_from_the_fields(cls):
    """What a training service checks requests with: every setting, its default and range."""
    schema = cls.json_schema()
    assert list(schema["properties"]) == list(cls.field_defaults())
    assert schema["additionalProperties"] is False
    for f in fields(cls):
        entry, allowed = schema["properties"][f.name], f.metadata["range"]
        assert entry["default"] == f.default and entry["description"] == f.metadata["help"]
        assert entry["exclusiveMinimum" if allowed.low_open else "minimum"] == allowed.low
        assert entry["type"] == ("integer" if isinstance(f.default, int) else "number")


def test_a_request_becomes_a_config_or_a_clear_error():
    assert config_from_dict({}) == TrainConfig()
    assert config_from_dict({"model": "autorec", "hidden": 300}) == AutoRecConfig(hidden=300)
    assert config_from_dict({"model": "best"}) == BlendConfig()
    with pytest.raises(ValueError, match="hidden is not a setting of model 'mf'"):
        config_from_dict({"hidden": 300})
    with pytest.raises(ValueError, match="unknown model 'gpt'"):
        config_from_dict({"model": "gpt"})
    with pytest.raises(ValueError, match="epochs must be at least 1"):
        config_from_dict({"model": "blend", "epochs": 0})


def test_best_names_the_blend_and_the_default_is_the_taught_model():
    assert config_class("best") is BlendConfig
    assert config_class("mf") is TrainConfig and TrainConfig.model == "mf"


def test_blend_members_share_its_seed_and_validation_share_and_are_capped_by_its_epochs():
    members = BlendConfig(seed=7, valid_fraction=0.1, epochs=50).members()
    assert [m.model for m in members] == list(BlendConfig.MEMBERS)
    assert {(m.seed, m.valid_fraction) for m in members} == {(7, 0.1)}
    assert [m.epochs for m in members] == [40, 50, 50]  # mf's own default is 40
