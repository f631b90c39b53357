"""The networks: the taught biased matrix factorization, and two stronger models beside it.

- `MatrixFactorization` (taught, lecture 2): a rating is the average rating, plus how generous
  this user is, plus how well liked this movie is, plus how well the user's tastes match the
  movie's traits (a dot product of two learned vectors of `n_factors` numbers each).
- `AutoRec` (notebook 06): a movie is described by its ratings themselves. An autoencoder squeezes
  each movie's column of ratings into a short code and reads every user's rating back out of it.
- `Blend` (notebook 06): a weighted sum of other models' predictions.

Every model class has the same small interface, so the `Recommender`, persistence and serving work
with any of them, unchanged:
- `init_args`: the constructor's arguments; saved beside the weights, `Class(**init_args)`
  rebuilds the empty network (as nanoGPT's checkpoints do);
- `score(users, items)`: predicted ratings for index pairs, where -1 marks an unknown user or movie.
How each one learns is in `movierec.train`.
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

    def penalty(
        self, users: torch.Tensor, items: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Squared sizes of what each pair uses: (the user's vector and bias, the movie's).

        The L2 terms of the loss. They come apart so that training can weigh a movie's part by
        how many ratings the movie has (see `movierec.train`).
        """
        user = self.user_factors(users).pow(2).sum(dim=1) + self.user_bias(users).squeeze(1).pow(2)
        movie = self.item_factors(items).pow(2).sum(dim=1) + self.item_bias(items).squeeze(1).pow(2)
        return user, movie

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


class AutoRec(nn.Module):
    """AutoRec (Sedhain et al., 2015): each movie's ratings, squeezed and read back out.

    A movie's column of ratings (one entry per user, 0 where they did not rate it) goes through
    a narrow layer: code_i = sigmoid(encoder(column_i)), `hidden` numbers. The decoder reads
    every user's rating back out of that code: rating(u, i) = decoder row u · code_i + bias u.
    Trained to reproduce the ratings that exist, it fills in the ones that do not.

    `by="users"` swaps the roles (U-AutoRec): each user's row of ratings is encoded instead.
    The codes of the training ratings are kept in `codes` (`remember`), so a saved model scores
    without the ratings it learned from.
    """

    def __init__(self, n_users: int, n_items: int, hidden: int = 500, by: str = "items"):
        super().__init__()
        if by not in ("items", "users"):
            raise ValueError(f"by must be 'items' or 'users', not {by!r}")
        self.init_args = {"n_users": n_users, "n_items": n_items, "hidden": hidden, "by": by}
        self.by = by
        n_rows, n_columns = (n_items, n_users) if by == "items" else (n_users, n_items)
        self.encoder = nn.Linear(n_columns, hidden)
        self.decoder = nn.Linear(hidden, n_columns)
        self.register_buffer("codes", torch.zeros(n_rows, hidden))

    def encode(self, rows: torch.Tensor) -> torch.Tensor:
        """The codes of a batch of rows of ratings (0: not rated)."""
        return torch.sigmoid(self.encoder(rows))

    def forward(self, rows: torch.Tensor) -> torch.Tensor:
        """Each row of ratings, reconstructed: a predicted rating in every column."""
        return self.decoder(self.encode(rows))

    def penalty(self) -> torch.Tensor:
        """Squared size of the weights (the L2 term of the loss; biases are left free)."""
        return self.encoder.weight.pow(2).sum() + self.decoder.weight.pow(2).sum()

    @torch.no_grad()
    def remember(self, matrix: torch.Tensor) -> None:
        """Keep the code of every row of the training ratings: what `score` reads from."""
        self.codes.copy_(self.encode(matrix))

    @torch.no_grad()
    def score(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Unclipped predictions for index pairs; -1 marks an unknown user or movie.

        A movie nobody rated has the code of an empty column; a user the model never saw is read
        with the average decoder row, i.e. as an average user.
        """
        rows, columns = (items, users) if self.by == "items" else (users, items)
        # One extra row at the end of each table holds the fallback; unknown ids (-1) point there.
        codes = torch.cat([self.codes, torch.sigmoid(self.encoder.bias)[None]])
        weights = self.decoder.weight  # one row of `hidden` numbers per column (per user, by items)
        weights = torch.cat([weights, weights.mean(dim=0, keepdim=True)])
        bias = torch.cat([self.decoder.bias, self.decoder.bias.mean()[None]])
        rows = torch.where(rows >= 0, rows, len(codes) - 1)
        columns = torch.where(columns >= 0, columns, len(weights) - 1)
        return (weights[columns] * codes[rows]).sum(dim=1) + bias[columns]


class Blend(nn.Module):
    """score(u, i) = weights[0] + Σ_k weights[k] · member_k.score(u, i): other models, weighted.

    Different models make different mistakes, so a weighted sum of them is usually better than
    the best of them. The weights are fitted on ratings no member learned from (`movierec.train`).
    """

    def __init__(self, members: list[dict]):
        """`members`: [{"class": ..., "init_args": ...}, ...], as `build_model` takes them."""
        super().__init__()
        self.init_args = {"members": members}
        self.members = nn.ModuleList(build_model(m["class"], m["init_args"]) for m in members)
        self.register_buffer("weights", torch.zeros(len(members) + 1))  # intercept first

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """The weighted sum of the members' scores for a batch of index pairs."""
        scores = torch.stack([member.score(users, items) for member in self.members], dim=1)
        return self.weights[0] + scores @ self.weights[1:]

    @torch.no_grad()
    def score(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Unclipped predictions; each member has its own fallback for unknown ids (-1)."""
        return self(users, items)


# Every model class a saved model may name, by class name (metadata.json records it).
MODEL_CLASSES: dict[str, type[nn.Module]] = {
    cls.__name__: cls for cls in (MatrixFactorization, AutoRec, Blend)
}


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
