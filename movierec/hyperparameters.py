"""The training settings: one frozen dataclass per model, the one home of every default and range.

Everything that takes hyperparameters is built from these classes, never written by hand: the
command line's options (`movierec.cli.add_hyperparameter_options`), MLflow's MLproject (a test
checks it against them) and the JSON Schema a training service checks requests with
(`json_schema`). Each field is declared with `setting(default, help, low, high)`, so its range is
written once, beside its default, and `__post_init__` refuses anything outside it by name.

    "mf"            TrainConfig          the taught biased matrix factorization (the default)
    "autorec"       AutoRecConfig        an autoencoder that reads each movie's ratings
    "user-autorec"  UserAutoRecConfig    the same, reading each user's ratings
    "blend"         BlendConfig          the three above, weighted ("best": the strongest)

`AlsConfig` holds the settings of Spark's ALS (`movierec.spark_als`, lecture 7), which trains
outside this package's loop.

This module imports nothing heavy, so `python -m movierec --help` can list the settings fast.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from numbers import Integral, Real
from typing import Any, ClassVar


@dataclass(frozen=True)
class Range:
    """The values a setting may take, `low` to `high`; an `open` end is itself excluded."""

    low: float
    high: float
    low_open: bool = False
    high_open: bool = False

    def problem(self, name: str, value: float) -> str | None:
        """What is wrong with `value` for the setting `name`, in words; None when it is allowed."""
        if not math.isfinite(value):
            return f"{name} must be a finite number, not {value}"
        too_low = value < self.low or (self.low_open and value == self.low)
        too_high = value > self.high or (self.high_open and value == self.high)
        if self.low_open and self.high_open and (too_low or too_high):
            return f"{name} must be between {self.low:g} and {self.high:g}, not {value}"
        if too_low:
            return f"{name} {self._too_low()}, not {value}"
        if too_high:
            below = "below" if self.high_open else "at most"
            return f"{name} must be {below} {self.high:g}, not {value}"
        return None

    def _too_low(self) -> str:
        if self.low == 0:
            return "must be positive" if self.low_open else "must not be negative"
        return f"must be {'above' if self.low_open else 'at least'} {self.low:g}"


def setting(default: int | float, help: str, low: float, high: float, **open_ends: bool):
    """A dataclass field with its help text and allowed range (`low_open=True`: low excluded)."""
    return field(default=default, metadata={"help": help, "range": Range(low, high, **open_ends)})


@dataclass(frozen=True)
class ModelConfig:
    """What every model's settings share: validation, conversion to a dict, the schema."""

    model: ClassVar[str]  # the name the command line and the metadata use for this model

    def __post_init__(self):
        """Refuse a value outside its range, or of the wrong type, with a message naming it."""
        for f in fields(self):
            value = getattr(self, f.name)
            whole = isinstance(f.default, int)
            if isinstance(value, bool) or not isinstance(value, Integral if whole else Real):
                kind = "a whole number" if whole else "a number"
                raise ValueError(f"{f.name} must be {kind}, not {value!r}")
            problem = f.metadata["range"].problem(f.name, value)
            if problem:
                raise ValueError(problem)

    def to_dict(self) -> dict[str, int | float]:
        """{setting: value}: what the metadata records and MLflow logs as parameters."""
        return asdict(self)

    @classmethod
    def field_defaults(cls) -> dict[str, int | float]:
        """{setting: default}, in the order the fields are declared."""
        return {f.name: f.default for f in fields(cls)}

    @classmethod
    def field_help(cls) -> dict[str, str]:
        return {f.name: f.metadata["help"] for f in fields(cls)}

    @classmethod
    def json_schema(cls) -> dict:
        """The settings as a JSON Schema: what a training service accepts, ranges included."""
        properties = {}
        for f in fields(cls):
            allowed: Range = f.metadata["range"]
            properties[f.name] = {
                "type": "integer" if isinstance(f.default, int) else "number",
                "default": f.default,
                "description": f.metadata["help"],
                "exclusiveMinimum" if allowed.low_open else "minimum": allowed.low,
                "exclusiveMaximum" if allowed.high_open else "maximum": allowed.high,
            }
        return {
            "title": f"{cls.__name__} (model {cls.model!r})",
            "type": "object",
            "properties": properties,
            "additionalProperties": False,
        }


@dataclass(frozen=True)
class TrainConfig(ModelConfig):
    """The taught matrix factorization. Defaults measured on ML-100K (bench/train_quality.py)."""

    model: ClassVar[str] = "mf"

    n_factors: int = setting(
        32, "length of each user's taste vector and each movie's trait vector", 1, 1024
    )
    epochs: int = setting(40, "an upper bound: early stopping usually ends sooner", 1, 1000)
    learning_rate: float = setting(
        0.003, "Adam's step size; 0.01 stops early at a worse minimum", 0, 1, low_open=True
    )
    l2: float = setting(
        0.1, "penalty per rating on the vectors and biases it uses: with 0.02 it overfits", 0, 100
    )
    movie_l2: float = setting(
        3.0,
        "penalty per movie on its trait vector and bias: pulls rarely rated movies to the average",
        0,
        1000,
    )
    batch_size: int = setting(1024, "ratings per optimiser step", 1, 1_000_000)
    valid_fraction: float = setting(
        0.05, "share of the training ratings kept aside to decide when to stop", 0, 1,
        low_open=True, high_open=True,
    )  # fmt: skip
    patience: int = setting(3, "epochs without a better validation RMSE before stopping", 1, 1000)
    seed: int = setting(42, "the same seed and data give the same model", 0, 2**32 - 1)


@dataclass(frozen=True)
class AutoRecConfig(ModelConfig):
    """Item-based AutoRec. Defaults measured on ML-100K's folds (bench/train_quality.py)."""

    model: ClassVar[str] = "autorec"
    by: ClassVar[str] = "items"  # what one row of the autoencoder's input is: a movie's ratings

    hidden: int = setting(
        500, "length of the code a movie's ratings (a user's, by users) are squeezed into", 1, 4096
    )
    epochs: int = setting(100, "an upper bound: early stopping usually ends sooner", 1, 1000)
    learning_rate: float = setting(
        0.01, "Adam's first step size, divided by 3 whenever progress stalls", 0, 1, low_open=True
    )
    l2: float = setting(
        50.0, "penalty on the squared weights, per epoch: against overfitting", 0, 1e5
    )
    batch_size: int = setting(
        256, "movies (a user's, by users) per step, with all their ratings", 1, 100_000
    )
    input_dropout: float = setting(
        0.2, "share of the known ratings hidden from the input at each step, still to be predicted",
        0, 1, high_open=True,
    )  # fmt: skip
    decay_patience: int = setting(
        2, "epochs without a better validation RMSE before the step size is divided by 3", 1, 1000
    )
    valid_fraction: float = setting(
        0.05, "share of the training ratings kept aside to decide when to stop", 0, 1,
        low_open=True, high_open=True,
    )  # fmt: skip
    patience: int = setting(6, "epochs without a better validation RMSE before stopping", 1, 1000)
    seed: int = setting(42, "the same seed and data give the same model", 0, 2**32 - 1)


@dataclass(frozen=True)
class UserAutoRecConfig(AutoRecConfig):
    """User-based AutoRec: AutoRec's settings; each batch holds users' rows instead of movies'."""

    model: ClassVar[str] = "user-autorec"
    by: ClassVar[str] = "users"


@dataclass(frozen=True)
class BlendConfig(ModelConfig):
    """A weighted blend of MEMBERS, each trained with its own default settings and this seed.

    All members keep the same `valid_fraction` of the ratings aside, and the blend's weights are
    fitted on those ratings: on predictions of ratings no member learned from.
    """

    model: ClassVar[str] = "blend"
    MEMBERS: ClassVar[tuple[str, ...]] = ("mf", "autorec", "user-autorec")

    epochs: int = setting(
        100, "an upper bound on each member's epochs (their own: mf 40, autorec 100)", 1, 1000
    )
    valid_fraction: float = setting(
        0.05, "share of the training ratings kept aside to stop the members and fit the weights",
        0, 1, low_open=True, high_open=True,
    )  # fmt: skip
    seed: int = setting(42, "the same seed and data give the same model", 0, 2**32 - 1)

    def members(self) -> list[ModelConfig]:
        """Each member's settings: its defaults, with this blend's seed and validation share,
        and at most this blend's epochs."""
        members = []
        for name in self.MEMBERS:
            cls = MODEL_CONFIGS[name]
            epochs = min(cls.field_defaults()["epochs"], self.epochs)
            members.append(cls(epochs=epochs, seed=self.seed, valid_fraction=self.valid_fraction))
        return members


# Every model `train` can fit, by the name the command line, the metadata and MLflow use.
MODEL_CONFIGS: dict[str, type[ModelConfig]] = {
    config.model: config for config in (TrainConfig, AutoRecConfig, UserAutoRecConfig, BlendConfig)
}
DEFAULT_MODEL = "mf"  # the taught model
BEST_MODEL = "blend"  # the strongest on ML-100K (bench/train_quality.py): what "best" names


def config_class(name: str) -> type[ModelConfig]:
    """The settings class of a model by name ("best" names the strongest); KeyError if unknown."""
    name = BEST_MODEL if name == "best" else name
    if name not in MODEL_CONFIGS:
        raise KeyError(f"unknown model {name!r}: choose one of {', '.join(model_names())}")
    return MODEL_CONFIGS[name]


def model_names() -> list[str]:
    return [*MODEL_CONFIGS, "best"]


def config_from_dict(values: dict[str, Any]) -> ModelConfig:
    """The settings a dict describes, e.g. a training request: {"model": "autorec", "hidden": 300}.

    Omitted settings take the model's defaults ("model" too: the taught one). Raises ValueError
    naming the first unknown setting or value out of range.
    """
    values = dict(values)
    try:
        cls = config_class(values.pop("model", DEFAULT_MODEL))
    except KeyError as error:
        raise ValueError(error.args[0]) from None
    unknown = set(values) - set(cls.field_defaults())
    if unknown:
        raise ValueError(f"{sorted(unknown)[0]} is not a setting of model {cls.model!r}")
    return cls(**values)


@dataclass(frozen=True)
class AlsConfig:
    """Spark ALS's hyperparameters, chosen on a hold-out of ML-100K's u1.base (not u1.test)."""

    rank: int = 10  # length of each vector: 10, 20 and 32 scored within 0.002 of each other
    max_iter: int = 20  # rounds of "solve every user, then every movie"; 10 scored 0.004 worse
    reg_param: float = 0.15  # L2, scaled by each user's and movie's count of ratings (ALS-WR)
    seed: int = 42
    # Blocks of users and of movies solved in parallel: about the number of cores. Spark's
    # default, 10, is for clusters; on 2 cores it only adds overhead.
    blocks: int = 2

    def __post_init__(self):
        """Refuse values that cannot train, with a message that names the setting."""
        for name in ("rank", "max_iter", "blocks"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, not {getattr(self, name)}")
        if not (math.isfinite(self.reg_param) and self.reg_param >= 0):
            raise ValueError(f"reg_param must be a number of at least 0, not {self.reg_param}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def field_defaults(cls) -> dict[str, int | float]:
        """{setting: default}, in the order the fields are declared."""
        return {f.name: f.default for f in fields(cls)}
