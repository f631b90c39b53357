"""Train the matrix factorization: a plain PyTorch loop a student can read top to bottom.

Mini-batches of ratings, Adam, squared error plus an L2 penalty on the factors each rating uses,
a validation set carved out of the training data, and early stopping on validation RMSE.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from movierec.errors import DataError, TrainingError
from movierec.hyperparameters import TrainConfig
from movierec.ids import IdMap
from movierec.model import MatrixFactorization
from movierec.recommender import Recommender

__all__ = ["TrainConfig", "TrainResult", "train"]


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


def _check_trainable(ratings: pd.DataFrame, is_valid: np.ndarray) -> None:
    """Refuse, in one line, ratings that cannot train a model."""
    if ratings.rating.isna().any():
        raise DataError("every training rating needs a value: this file has pairs without one")
    if is_valid.all() or not is_valid.any():
        raise DataError(
            f"{len(ratings)} ratings are too few to train on: a share of them is set aside to "
            "decide when to stop, and that leaves none on one side"
        )


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
    _check_trainable(ratings, is_valid)
    train_u, train_i, train_r = _tensors(ratings[~is_valid], users, items)
    valid_u, valid_i, valid_r = _tensors(ratings[is_valid], users, items)
    low, high = float(ratings.rating.min()), float(ratings.rating.max())

    model = MatrixFactorization(len(users), len(items), config.n_factors, train_r.mean().item())
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)

    history: list[dict] = []
    best_rmse, best_epoch, best_state = float("inf"), 0, None
    epochs = _progress_bar(range(1, config.epochs + 1), enabled=progress)
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

    if best_state is None:  # every validation RMSE was NaN: the weights blew up
        raise TrainingError(
            "training diverged (the validation error became NaN): lower the learning rate"
        )
    model.load_state_dict(best_state)  # keep the epoch that generalised best, not the last
    seconds = time.perf_counter() - started
    # What training knows about the model; the caller adds the dataset and the metrics.
    metadata = {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": {"class": type(model).__name__, "init_args": model.init_args},
        "hyperparameters": config.to_dict(),
        "training": {
            "n_ratings": len(ratings),
            "epochs_run": len(history),
            "best_epoch": best_epoch,
            "best_valid_rmse": best_rmse,
            "seconds": round(seconds, 2),
        },
    }
    recommender = Recommender(model, users, items, ratings, movies, (low, high), metadata)
    return TrainResult(recommender, config, history, best_epoch, seconds)


def _progress_bar(epochs: range, enabled: bool) -> tqdm:
    """One bar step per epoch: on stderr in a terminal, on stdout in Jupyter.

    A plain text bar, not a widget: it updates in place in JupyterLab too, and a notebook run
    headless (papermill, nbconvert) keeps its last state, where a widget's saved text says 0%.
    """
    in_jupyter = "ipykernel" in sys.modules
    return tqdm(
        epochs,
        desc="training",
        unit="epoch",
        disable=not enabled,
        file=sys.stdout if in_jupyter else sys.stderr,
    )
