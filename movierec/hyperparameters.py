"""The training settings, in one dataclass: the command line, MLflow's MLproject and every
notebook build their options from its fields, so a default lives here and nowhere else.

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
