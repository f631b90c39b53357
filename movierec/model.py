"""The taught model: biased matrix factorization, as a PyTorch module.

A rating is explained as: the average rating, plus how generous this user is, plus how well liked
this movie is, plus how well the user's tastes match the movie's traits (a dot product of two
learned vectors of `n_factors` numbers each).

Every model class of the package has the same small interface, so the `Recommender`, persistence
and serving work with any of them:
- `init_args`: the constructor's arguments; saved beside the weights, `Class(**init_args)`
  rebuilds the empty network (as nanoGPT's checkpoints do);
- `score(users, items)`: predicted ratings for index pairs, where -1 marks an unknown user or movie.
"""

from __future__ import annotations

import hashlib

import torch
from torch import nn


class MatrixFactorization(nn.Module):
    """rating(u, i) = global_bias + user_bias[u] + item_bias[i] + user_factors[u] · item_factors[i].

    `u` and `i` are model indices (0..n_users-1, 0..n_items-1), never raw MovieLens ids:
    the `Recommender` translates between the two.
    """

    def __init__(self, n_users: int, n_items: int, n_factors: int = 32, global_bias: float = 0.0):
        super().__init__()
        self.init_args = {"n_users": n_users, "n_items": n_items, "n_factors": n_factors}
        self.user_factors = nn.Embedding(n_users, n_factors)
        self.item_factors = nn.Embedding(n_items, n_factors)
        self.user_bias = nn.Embedding(n_users, 1)
        self.item_bias = nn.Embedding(n_items, 1)
        self.global_bias = nn.Parameter(torch.tensor(float(global_bias)))
        # Small random factors and zero biases: training starts from "everyone rates the mean".
        nn.init.normal_(self.user_factors.weight, std=0.01)
        nn.init.normal_(self.item_factors.weight, std=0.01)
        nn.init.zeros_(self.user_bias.weight)
        nn.init.zeros_(self.item_bias.weight)

    @property
    def n_factors(self) -> int:
        return self.user_factors.embedding_dim

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Predicted ratings for a batch of (user index, item index) pairs."""
        dot = (self.user_factors(users) * self.item_factors(items)).sum(dim=1)
        biases = self.user_bias(users).squeeze(1) + self.item_bias(items).squeeze(1)
        return self.global_bias + biases + dot

    def penalty(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Mean squared size of the factors and biases a batch uses (the L2 term of the loss)."""
        squares = (
            self.user_factors(users).pow(2).sum(dim=1)
            + self.item_factors(items).pow(2).sum(dim=1)
            + self.user_bias(users).squeeze(1).pow(2)
            + self.item_bias(items).squeeze(1).pow(2)
        )
        return squares.mean()

    @torch.no_grad()
    def score(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Unclipped predictions for index pairs; -1 marks an unknown user or movie.

        An unknown user or movie has no learned vector, so the taste term is left out and only
        the biases that are known count: the global mean, plus the user's or the movie's bias.
        """
        known_u, known_i = users >= 0, items >= 0
        u, i = users.clamp(min=0), items.clamp(min=0)  # any valid row; masked out below
        user_bias = self.user_bias(u).squeeze(1) * known_u
        item_bias = self.item_bias(i).squeeze(1) * known_i
        taste = (self.user_factors(u) * self.item_factors(i)).sum(dim=1) * (known_u & known_i)
        return self.global_bias + user_bias + item_bias + taste

    @torch.no_grad()
    def fold_in(self, items: torch.Tensor, ratings: torch.Tensor, l2: float) -> torch.Tensor:
        """Unclipped scores of every movie for a new user, from their ratings alone (no training).

        The movies' factors and biases stay as trained; only the newcomer's bias b and taste
        vector p are solved for, by ridge regression over the n movies they rated:

            rating - global_bias - item_bias[i]  ≈  b + p · item_factors[i]

        with the penalty training puts on a user, l2 per rating: l2 · n · (b² + |p|²).
        `items` are item indices (all known), `ratings` their ratings; `l2` must be positive.
        """
        if not l2 > 0:
            raise ValueError(f"l2 must be positive to fold a user in, not {l2}")
        # One row [1, q_i] per rated movie: the 1 multiplies the user's bias, q_i their taste.
        # float64: the solve is tiny, and doubles keep it exact enough to test against.
        rows = torch.cat([torch.ones(len(items), 1), self.item_factors(items)], dim=1).double()
        residuals = (ratings - self.global_bias - self.item_bias(items).squeeze(1)).double()
        penalty = l2 * len(items) * torch.eye(rows.shape[1], dtype=torch.float64)
        solution = torch.linalg.solve(rows.T @ rows + penalty, rows.T @ residuals)
        bias, taste = solution[0], solution[1:]
        every_item = self.item_factors.weight.double() @ taste + self.item_bias.weight[:, 0]
        return (self.global_bias + bias + every_item).float()


# Every model class a saved model may name, by class name (metadata.json records it).
MODEL_CLASSES: dict[str, type[nn.Module]] = {"MatrixFactorization": MatrixFactorization}


def build_model(class_name: str, init_args: dict) -> nn.Module:
    """An untrained network of a package model class, rebuilt from its saved arguments."""
    if class_name not in MODEL_CLASSES:
        known = ", ".join(MODEL_CLASSES)
        raise KeyError(f"unknown model class {class_name!r} (this movierec knows {known})")
    return MODEL_CLASSES[class_name](**init_args)


def model_version(model: nn.Module) -> str:
    """A short id of a trained model: the start of a sha256 over its weights.

    The same weights always give the same id (a re-saved model keeps it), different weights a
    different one. `/health`, logs and metrics show it to say which model answered.
    """
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:12]
