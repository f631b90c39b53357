"""The taught model: biased matrix factorization, as a PyTorch module.

A rating is explained as: the average rating, plus how generous this user is, plus how well liked
this movie is, plus how well the user's tastes match the movie's traits (a dot product of two
learned vectors of `n_factors` numbers each).
"""

from __future__ import annotations

import torch
from torch import nn


class MatrixFactorization(nn.Module):
    """rating(u, i) = global_bias + user_bias[u] + item_bias[i] + user_factors[u] · item_factors[i].

    `u` and `i` are model indices (0..n_users-1, 0..n_items-1), never raw MovieLens ids:
    the `Recommender` translates between the two.
    """

    def __init__(self, n_users: int, n_items: int, n_factors: int = 32, global_bias: float = 0.0):
        super().__init__()
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
