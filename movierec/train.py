"""Train a model: plain PyTorch loops a student can read top to bottom.

`train` does what every model needs: raw ids become indices, a share of the training ratings is
kept aside for validation, the model is fitted, and the result is wrapped in a `Recommender` that
records how it was made. Fitting is one function per model, `FITTERS[config.model]`:

- `fit_matrix_factorization` (the taught model): mini-batches of ratings, Adam, squared error plus
  L2 penalties, and early stopping on the validation RMSE (`early_stopping`).
- `fit_autorec`: mini-batches of whole movies' columns of ratings (or users' rows), the same early
  stopping, and a step size that shrinks whenever the validation RMSE stalls.
- `fit_blend`: fits each member on the same ratings, then weighs them by least squares on the
  validation ratings, which none of them learned from.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm import tqdm

from movierec.errors import DataError, TrainingError
from movierec.hyperparameters import (
    AutoRecConfig,
    BlendConfig,
    ModelConfig,
    TrainConfig,
)
from movierec.ids import IdMap
from movierec.model import AutoRec, Blend, MatrixFactorization
from movierec.recommender import Recommender

__all__ = ["TrainConfig", "TrainResult", "train"]


@dataclass
class TrainResult:
    recommender: Recommender
    config: ModelConfig
    history: list[dict] = field(default_factory=list)  # one row per epoch, for plots ([]: blend)
    best_epoch: int = 0
    seconds: float = 0.0
    best_valid_rmse: float = float("nan")


# --- what every model needs ---------------------------------------------------------------------


@dataclass(frozen=True)
class Ratings:
    """Ratings as three aligned tensors: user indices, item indices, rating values."""

    users: torch.Tensor
    items: torch.Tensor
    values: torch.Tensor

    @classmethod
    def of(cls, ratings: pd.DataFrame, users: IdMap, items: IdMap) -> Ratings:
        return cls(
            torch.from_numpy(users.indices(ratings.user_id)),
            torch.from_numpy(items.indices(ratings.item_id)),
            torch.tensor(ratings.rating.to_numpy(), dtype=torch.float32),
        )

    def __len__(self) -> int:
        return len(self.values)

    def subset(self, index: torch.Tensor) -> Ratings:
        return Ratings(self.users[index], self.items[index], self.values[index])


@dataclass(frozen=True)
class Split:
    """The ratings a model learns from, and those kept aside to decide when it stops."""

    train: Ratings
    valid: Ratings
    n_users: int
    n_items: int
    rating_range: tuple[float, float]


@dataclass
class Fit:
    """What fitting one model produced."""

    model: nn.Module
    history: list[dict]  # one row per epoch: epoch, train_rmse, valid_rmse ([] for a blend)
    best_epoch: int
    best_valid_rmse: float
    members: list[dict] = field(default_factory=list)  # a blend's members, one summary each


def rmse(model: nn.Module, ratings: Ratings, rating_range: tuple[float, float]) -> float:
    """The RMSE of `model.score`, clipped to the rating scale as served, on `ratings`."""
    predicted = model.score(ratings.users, ratings.items).clamp(*rating_range)
    return float(torch.sqrt(torch.mean((predicted - ratings.values) ** 2)))


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
    config: ModelConfig | None = None,
    progress: bool = True,
) -> TrainResult:
    """Fit the model `config` names on `ratings` and wrap it in a `Recommender`.

    Args:
        ratings: training ratings (user_id, item_id, rating, timestamp); never the test set.
        movies: titles and genres, for the recommender's answers.
        config: the model and its hyperparameters; `TrainConfig()` (the taught model) if omitted.
        progress: show a tqdm progress bar per model, one step per epoch.
    """
    config = config or TrainConfig()
    started, started_cpu = time.perf_counter(), time.process_time()

    # Ids become indices once, here; the model never sees a raw MovieLens id.
    users, items = IdMap(ratings.user_id), IdMap(ratings.item_id)
    is_valid = np.random.default_rng(config.seed).random(len(ratings)) < config.valid_fraction
    _check_trainable(ratings, is_valid)
    low, high = float(ratings.rating.min()), float(ratings.rating.max())
    split = Split(
        Ratings.of(ratings[~is_valid], users, items),
        Ratings.of(ratings[is_valid], users, items),
        len(users),
        len(items),
        (low, high),
    )

    fit = FITTERS[config.model](split, config, progress)
    model, seconds = fit.model, time.perf_counter() - started
    # What training knows about the model; the caller adds the dataset and the metrics.
    training = {
        "n_ratings": len(ratings),
        "epochs_run": len(fit.history),
        "best_epoch": fit.best_epoch,
        "best_valid_rmse": fit.best_valid_rmse,
        "seconds": round(seconds, 2),
        # CPU time of every thread: above `seconds` when torch computes on several cores at
        # once, and the fairer figure on a busy machine, where `seconds` includes the waiting.
        "cpu_seconds": round(time.process_time() - started_cpu, 2),
    }
    if fit.members:
        training["members"] = fit.members
    metadata = {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "model": {
            "name": config.model,
            "class": type(model).__name__,
            "init_args": model.init_args,
        },
        "hyperparameters": config.to_dict(),
        "training": training,
    }
    recommender = Recommender(model, users, items, ratings, movies, (low, high), metadata)
    return TrainResult(
        recommender, config, fit.history, fit.best_epoch, seconds, fit.best_valid_rmse
    )


TRAIN_RMSE_SAMPLE = 10_000  # training ratings the per-epoch training RMSE is measured on


def early_stopping(
    model: nn.Module,
    run_epoch: Callable[[], None],
    split: Split,
    config: ModelConfig,
    progress: bool,
    on_validation: Callable[[float], None] | None = None,
) -> Fit:
    """Run epochs until the validation RMSE has not improved for `config.patience` epochs.

    `run_epoch` makes one pass over the training ratings; `on_validation` (if any) is told each
    epoch's validation RMSE. The weights of the best epoch are kept, not the last.
    """
    history: list[dict] = []
    best_rmse, best_epoch, best_state = float("inf"), 0, None
    # The training error on a fixed sample: on every training rating it would cost as much as
    # an AutoRec epoch, and a sample of 10,000 draws the same curve.
    # (numpy draws it, so that the training's own random numbers are not disturbed).
    n = len(split.train)
    sample = np.random.default_rng(config.seed).choice(n, min(n, TRAIN_RMSE_SAMPLE), replace=False)
    train_sample = split.train.subset(torch.from_numpy(sample))
    epochs = _progress_bar(range(1, config.epochs + 1), config.model, enabled=progress)
    for epoch in epochs:
        model.train()
        run_epoch()
        model.eval()
        row = {
            "epoch": epoch,
            "train_rmse": rmse(model, train_sample, split.rating_range),
            "valid_rmse": rmse(model, split.valid, split.rating_range),
        }
        history.append(row)
        epochs.set_postfix(train=f"{row['train_rmse']:.4f}", valid=f"{row['valid_rmse']:.4f}")
        if on_validation:
            on_validation(row["valid_rmse"])
        if row["valid_rmse"] < best_rmse:
            best_rmse, best_epoch = row["valid_rmse"], epoch
            best_state = {name: t.clone() for name, t in model.state_dict().items()}
        elif epoch - best_epoch >= config.patience:
            break  # early stopping: validation error has stopped improving

    if best_state is None:  # every validation RMSE was NaN: the weights blew up
        raise TrainingError(
            "training diverged (the validation error became NaN): lower the learning rate"
        )
    model.load_state_dict(best_state)
    return Fit(model, history, best_epoch, best_rmse)


# --- the taught model ---------------------------------------------------------------------------


def fit_matrix_factorization(split: Split, config: TrainConfig, progress: bool) -> Fit:
    """Mini-batches of ratings, Adam, squared error plus two L2 penalties, early stopping."""
    torch.manual_seed(config.seed)
    train = split.train
    global_mean = train.values.mean().item()
    model = MatrixFactorization(split.n_users, split.n_items, config.n_factors, global_mean)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    ratings_per_movie = torch.bincount(train.items, minlength=split.n_items).clamp(min=1)

    def run_epoch() -> None:
        for batch in torch.randperm(len(train)).split(config.batch_size):
            u, i, r = train.users[batch], train.items[batch], train.values[batch]
            user_size, movie_size = model.penalty(u, i)
            # `l2` is charged on every rating. `movie_l2` is charged once per movie, in slices
            # over its ratings: a movie rated twice pays it in halves, one rated 500 times in
            # 500ths. The fewer ratings a movie has, the harder its bias and traits are pulled
            # to zero, i.e. to the average movie (as the Ridge baseline's penalty does).
            movie_weight = config.l2 + config.movie_l2 / ratings_per_movie[i]
            penalty = config.l2 * user_size + movie_weight * movie_size
            loss = torch.mean((model(u, i) - r) ** 2 + penalty)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    with one_thread():
        return early_stopping(model, run_epoch, split, config, progress)


@contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one core inside the block, then restore its setting.

    A batch of 1,024 ratings is too little work to share: with two threads, the cores spend more
    time waiting for each other than computing (on ML-100K, 2 to 6 times slower, more so on a
    busy machine). AutoRec's big matrix products, by contrast, do gain from every core.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


# --- the stronger models (notebook 06) ----------------------------------------------------------


def rating_matrix(ratings: Ratings, shape: tuple[int, int], by: str) -> torch.Tensor:
    """Ratings as a dense matrix, 0 where there is none: one row per movie (by="items") or user."""
    rows, columns = (
        (ratings.items, ratings.users) if by == "items" else (ratings.users, ratings.items)
    )
    matrix = torch.zeros(shape)
    matrix[rows, columns] = ratings.values
    return matrix


def fit_autorec(split: Split, config: AutoRecConfig, progress: bool) -> Fit:
    """Mini-batches of rows of ratings, some hidden from the input, Adam, squared error on the
    known ratings plus L2, and a step size that shrinks when progress stalls."""
    torch.manual_seed(config.seed)
    model = AutoRec(split.n_users, split.n_items, config.hidden, config.by)
    shape = (
        (split.n_items, split.n_users) if config.by == "items" else (split.n_users, split.n_items)
    )
    matrix = rating_matrix(split.train, shape, config.by)
    ones = replace(split.train, values=torch.ones(len(split.train)))
    is_known = rating_matrix(ones, shape, config.by)  # 1 where a rating exists
    optimizer = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    # Big steps find the region of good weights fast, small ones settle in it: divide the
    # step size by 3 whenever the validation RMSE has not improved for `decay_patience` epochs.
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, factor=1 / 3, patience=config.decay_patience
    )

    def run_epoch() -> None:
        for batch in torch.randperm(len(matrix)).split(config.batch_size):
            rows, known = matrix[batch], is_known[batch]
            # Hide some ratings from the input but still ask for them back: the model learns to
            # predict ratings it cannot see, which is its whole job in service.
            keep = torch.rand(rows.shape) >= config.input_dropout
            # Only the ratings that exist count as errors: a 0 is "not rated", not a rating.
            errors = ((model(rows * keep) - rows) * known).pow(2).sum()
            # The penalty is charged once per epoch, shared among the batches by their size.
            penalty = config.l2 * model.penalty() * len(batch) / len(matrix)
            loss = (errors + penalty) / known.sum().clamp(min=1)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.remember(matrix)  # the codes `score` reads, from this epoch's weights

    return early_stopping(model, run_epoch, split, config, progress, on_validation=scheduler.step)


def fit_blend(split: Split, config: BlendConfig, progress: bool) -> Fit:
    """Fit each member on `split`, then weigh them by least squares on the validation ratings.

    No member learned from the validation ratings (they only decided when each one stopped), so
    the weights reward what generalises, not what was memorised.
    """
    fits, summaries = [], []
    for member in config.members():
        started = time.perf_counter()
        fit = FITTERS[member.model](split, member, progress)
        fits.append(fit)
        summaries.append({
            "model": member.model,
            "epochs_run": len(fit.history),
            "best_epoch": fit.best_epoch,
            "best_valid_rmse": fit.best_valid_rmse,
            "seconds": round(time.perf_counter() - started, 2),
        })  # fmt: skip

    valid = split.valid
    scores = torch.stack([fit.model.score(valid.users, valid.items) for fit in fits], dim=1)
    design = torch.cat([torch.ones(len(valid), 1), scores], dim=1).double()
    weights = torch.linalg.lstsq(design, valid.values.double()[:, None]).solution[:, 0]

    blend = Blend([{"class": type(f.model).__name__, "init_args": f.model.init_args} for f in fits])
    for member, fit in zip(blend.members, fits, strict=True):
        member.load_state_dict(fit.model.state_dict())
    blend.weights.copy_(weights)
    blend.eval()
    for summary, weight in zip(summaries, weights[1:].tolist(), strict=True):
        summary["weight"] = weight
    valid_rmse = rmse(blend, valid, split.rating_range)  # on the ratings the weights were fitted to
    return Fit(blend, [], 0, valid_rmse, summaries)


# How each model is fitted, by the name its config gives (`movierec.hyperparameters`).
FITTERS: dict[str, Callable[[Split, ModelConfig, bool], Fit]] = {
    "mf": fit_matrix_factorization,
    "autorec": fit_autorec,
    "user-autorec": fit_autorec,
    "blend": fit_blend,
}


def _progress_bar(epochs: range, model: str, enabled: bool) -> tqdm:
    """One bar step per epoch: on stderr in a terminal, on stdout in Jupyter.

    A plain text bar, not a widget: it updates in place in JupyterLab too, and a notebook run
    headless (papermill, nbconvert) keeps its last state, where a widget's saved text says 0%.
    """
    in_jupyter = "ipykernel" in sys.modules
    return tqdm(
        epochs,
        desc=f"training {model}",
        unit="epoch",
        disable=not enabled,
        file=sys.stdout if in_jupyter else sys.stderr,
    )
