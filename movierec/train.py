"""Train the matrix factorization: a plain PyTorch loop a student can read top to bottom.

Mini-batches of ratings, Adam, squared error plus an L2 penalty on the factors each rating uses,
a validation set carved out of the training data, and early stopping on validation RMSE.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from movierec.ids import IdMap
from movierec.model import MatrixFactorization
from movierec.recommender import Recommender


@dataclass
class TrainConfig:
    """Hyperparameters. The defaults were measured on ML-100K (see bench/train_quality.py)."""

    n_factors: int = 32
    epochs: int = 40  # an upper bound: early stopping usually ends sooner
    learning_rate: float = 0.003  # 0.01 stops early at a worse minimum (u1: 0.928 vs 0.925)
    l2: float = 0.1  # heavy on purpose: with 0.02 the model overfits MovieLens badly
    batch_size: int = 1024
    valid_fraction: float = 0.05  # of the training ratings, to decide when to stop
    patience: int = 3  # epochs without a better validation RMSE before stopping
    seed: int = 42

    def __post_init__(self):
        """Refuse values that cannot train, with a message that names the setting."""
        for name in ("n_factors", "epochs", "batch_size", "patience"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, not {getattr(self, name)}")
        if self.learning_rate <= 0 or self.l2 < 0:
            raise ValueError("learning_rate must be positive and l2 not negative")
        if not 0 < self.valid_fraction < 1:
            raise ValueError(f"valid_fraction must be between 0 and 1, not {self.valid_fraction}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class TrainResult:
    recommender: Recommender
    config: TrainConfig
    history: list[dict] = field(default_factory=list)  # one row per epoch, for plots
    best_epoch: int = 0
    seconds: float = 0.0

    @property
    def best_valid_rmse(self) -> float:
        return self.history[self.best_epoch - 1]["valid_rmse"]


def _tensors(ratings: pd.DataFrame, users: IdMap, items: IdMap) -> tuple[torch.Tensor, ...]:
    return (
        torch.from_numpy(users.indices(ratings.user_id)),
        torch.from_numpy(items.indices(ratings.item_id)),
        torch.tensor(ratings.rating.to_numpy(), dtype=torch.float32),
    )


def _rmse(model: MatrixFactorization, users, items, ratings, low: float, high: float) -> float:
    with torch.no_grad():
        predicted = model(users, items).clamp(low, high)
        return float(torch.sqrt(torch.mean((predicted - ratings) ** 2)))


def train(
    ratings: pd.DataFrame,
    movies: pd.DataFrame,
    config: TrainConfig | None = None,
    progress: bool = True,
) -> TrainResult:
    """Fit a `MatrixFactorization` on `ratings` and wrap it in a `Recommender`.

    Args:
        ratings: training ratings (user_id, item_id, rating, timestamp); never the test set.
        movies: titles and genres, for the recommender's answers.
        config: hyperparameters; `TrainConfig()` when omitted.
        progress: show a tqdm progress bar per epoch.
    """
    config = config or TrainConfig()
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    started = time.perf_counter()

    # Ids become indices once, here; the model never sees a raw MovieLens id.
    users, items = IdMap(ratings.user_id), IdMap(ratings.item_id)
    is_valid = rng.random(len(ratings)) < config.valid_fraction
    train_u, train_i, train_r = _tensors(ratings[~is_valid], users, items)
    valid_u, valid_i, valid_r = _tensors(ratings[is_valid], users, items)
    low, high = float(ratings.rating.min()), float(ratings.rating.max())

    model = MatrixFactorization(len(users), len(items), config.n_factors, train_r.mean().item())
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)

    history: list[dict] = []
    best_rmse, best_epoch, best_state = float("inf"), 0, None
    epochs = tqdm(range(1, config.epochs + 1), desc="training", unit="epoch", disable=not progress)
    for epoch in epochs:
        model.train()
        order = torch.randperm(len(train_r))
        for start in range(0, len(order), config.batch_size):
            batch = order[start : start + config.batch_size]
            u, i, r = train_u[batch], train_i[batch], train_r[batch]
            loss = torch.mean((model(u, i) - r) ** 2) + config.l2 * model.penalty(u, i)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

        model.eval()
        row = {
            "epoch": epoch,
            "train_rmse": _rmse(model, train_u, train_i, train_r, low, high),
            "valid_rmse": _rmse(model, valid_u, valid_i, valid_r, low, high),
        }
        history.append(row)
        epochs.set_postfix(train=f"{row['train_rmse']:.4f}", valid=f"{row['valid_rmse']:.4f}")
        if row["valid_rmse"] < best_rmse:
            best_rmse, best_epoch = row["valid_rmse"], epoch
            best_state = {name: t.clone() for name, t in model.state_dict().items()}
        elif epoch - best_epoch >= config.patience:
            break  # early stopping: validation error has stopped improving

    if best_state is not None:
        model.load_state_dict(best_state)  # keep the epoch that generalised best, not the last
    recommender = Recommender(model, users, items, ratings, movies, rating_range=(low, high))
    return TrainResult(recommender, config, history, best_epoch, time.perf_counter() - started)
