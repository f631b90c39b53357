"""The training settings, in one dataclass per model: the command line, MLflow's MLproject and
every notebook build their options from its fields, so a default lives here and nowhere else.
`TrainConfig` trains our PyTorch model; `AlsConfig` Spark's ALS (`movierec.spark_als`).

This module imports nothing heavy, so `python -m movierec --help` can list the settings fast.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields


@dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters. The defaults were measured on ML-100K (see bench/train_quality.py)."""

    n_factors: int = 32  # length of each user's taste vector and each movie's trait vector
    epochs: int = 40  # an upper bound: early stopping usually ends sooner
    learning_rate: float = 0.003  # 0.01 stops early at a worse minimum (u1: 0.928 vs 0.925)
    l2: float = 0.1  # heavy on purpose: with 0.02 the model overfits MovieLens badly
    batch_size: int = 1024
    valid_fraction: float = 0.05  # of the training ratings, to decide when to stop
    patience: int = 3  # epochs without a better validation RMSE before stopping
    seed: int = 42  # the same seed and data give the same model

    def __post_init__(self):
        """Refuse values that cannot train, with a message that names the setting."""
        for name in ("n_factors", "epochs", "batch_size", "patience"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, not {getattr(self, name)}")
        for name in ("learning_rate", "l2", "valid_fraction"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"{name} must be a finite number, not {getattr(self, name)}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, not {self.learning_rate}")
        if not self.l2 >= 0:
            raise ValueError(f"l2 must not be negative, not {self.l2}")
        if not 0 < self.valid_fraction < 1:
            raise ValueError(f"valid_fraction must be between 0 and 1, not {self.valid_fraction}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def field_defaults(cls) -> dict[str, int | float]:
        """{setting: default}, in the order the fields are declared."""
        return {f.name: f.default for f in fields(cls)}


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
