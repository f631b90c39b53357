"""A deterministic, MovieLens-shaped dataset generated from hidden taste factors.

Offline machines (and the test suite) use it instead of the real data. Each genre has a direction
in a small "taste" space; a movie's factors are the sum of its genres' directions; each user likes
a few genres. Ratings come from those factors plus user and movie biases and noise, so a model can
really learn them — and someone who likes science fiction mostly rates science fiction highly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# Genres with how many ML-100K movies carry each, so the synthetic catalogue has a familiar mix.
GENRE_COUNTS = {
    "Action": 251, "Adventure": 135, "Animation": 42, "Children's": 122, "Comedy": 505,
    "Crime": 109, "Documentary": 50, "Drama": 725, "Fantasy": 22, "Film-Noir": 24, "Horror": 92,
    "Musical": 56, "Mystery": 61, "Romance": 247, "Sci-Fi": 101, "Thriller": 251, "War": 71,
    "Western": 27,
}  # fmt: skip
GENRES = list(GENRE_COUNTS)

_ADJECTIVES = [
    "Silent", "Crimson", "Last", "Hidden", "Electric", "Broken", "Golden", "Midnight", "Lonely",
    "Savage", "Quiet", "Distant", "Burning", "Frozen", "Wild", "Secret", "Endless", "Lost",
]  # fmt: skip
_NOUNS = [
    "Harbor", "Frontier", "Garden", "Signal", "Empire", "River", "Machine", "Summer", "Witness",
    "Orbit", "Kingdom", "Station", "Letter", "Storm", "Mirror", "Road", "Planet", "Detective",
]  # fmt: skip

# 1997-09-20 .. 1998-04-23, the span of ML-100K's timestamps.
_FIRST_TIMESTAMP, _LAST_TIMESTAMP = 874_724_710, 893_286_638


def make_synthetic(
    n_users: int = 300,
    n_items: int = 500,
    n_factors: int = 8,
    mean_ratings_per_user: int = 60,
    noise: float = 0.6,
    seed: int = 42,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return `(ratings, movies)` shaped like MovieLens; the same seed gives the same data.

    ratings: user_id, item_id, rating (integers 1-5), timestamp; movies: item_id, title, genres
    (genres joined with "|", as in MovieLens' movies.csv). Ids start at 1, like MovieLens.
    """
    rng = np.random.default_rng(seed)
    n_genres = len(GENRES)

    # Movies: one to three genres each, drawn as often as in ML-100K (Drama most of all).
    genre_popularity = np.array(list(GENRE_COUNTS.values())) / sum(GENRE_COUNTS.values())
    item_genres = [
        rng.choice(n_genres, size=rng.integers(1, 4), replace=False, p=genre_popularity)
        for _ in range(n_items)
    ]
    genre_vectors = rng.normal(0.0, 1.0, size=(n_genres, n_factors))
    item_factors = np.stack([genre_vectors[g].sum(axis=0) / np.sqrt(len(g)) for g in item_genres])
    item_factors += rng.normal(0.0, 0.3, size=item_factors.shape)
    item_bias = rng.normal(0.0, 0.4, size=n_items)
    item_popularity = rng.zipf(1.6, size=n_items).clip(max=200).astype(float)  # a long tail

    # Users: each likes two favourite genres; their taste is those genres' directions.
    favourites = np.stack([rng.choice(n_genres, size=2, replace=False) for _ in range(n_users)])
    user_factors = genre_vectors[favourites].mean(axis=1) + rng.normal(0, 0.3, (n_users, n_factors))
    user_bias = rng.normal(0.0, 0.3, size=n_users)

    # Scale affinities so the taste term spreads ratings over about +-1.2 stars.
    affinity = user_factors @ item_factors.T
    affinity *= 1.2 / affinity.std()

    # Who rates what: active users rate more, popular movies get more ratings, and people pick
    # movies they expect to like (as in real logs). Every user rates at least 20, like ML-100K.
    counts = (rng.lognormal(0.0, 0.6, n_users) * mean_ratings_per_user * 0.85).astype(int)
    counts = counts.clip(20, n_items // 2)
    users, items, ratings = [], [], []
    for user in range(n_users):
        weights = item_popularity * np.exp(0.8 * affinity[user])
        chosen = rng.choice(n_items, size=counts[user], replace=False, p=weights / weights.sum())
        raw = 3.0 + user_bias[user] + item_bias[chosen] + affinity[user, chosen]
        raw += rng.normal(0.0, noise, size=len(chosen))
        users.append(np.full(len(chosen), user + 1))
        items.append(chosen + 1)
        ratings.append(np.clip(np.rint(raw), 1, 5).astype(int))
    ratings = pd.DataFrame({
        "user_id": np.concatenate(users),
        "item_id": np.concatenate(items),
        "rating": np.concatenate(ratings),
        "timestamp": rng.integers(_FIRST_TIMESTAMP, _LAST_TIMESTAMP, size=sum(map(len, users))),
    })  # fmt: skip

    titles = [
        f"The {rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)} ({rng.integers(1930, 1999)})"
        for _ in range(n_items)
    ]
    movies = pd.DataFrame({
        "item_id": np.arange(1, n_items + 1),
        "title": titles,
        "genres": ["|".join(GENRES[g] for g in sorted(gs)) for gs in item_genres],
    })  # fmt: skip
    return ratings, movies
