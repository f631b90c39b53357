"""The batch job: every user's top-k and the model's features, computed once, into a store.

    python -m movierec batch --model models/default --out stores/default.sqlite

Each list comes from `Recommender.recommend`, the very function the API and the CLI call, so
the store can never disagree with the model it came from. One user at a time is plenty for
ML-100K's 943 users (about a second); for millions you would score blocks of users with one
matrix product, or hand the job to Spark (`movierec.spark_als`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from movierec.limits import MAX_K
from movierec.persist import load_model
from movierec.recommender import Recommender
from movierec.store import FeatureRow, StoreContents, check_can_replace, write_store


def store_contents(recommender: Recommender, k: int = MAX_K) -> StoreContents:
    """What a store holds for this model: each known user's top `k`, and its features."""
    recommendations = [
        (int(user), rank, r.item_id, r.score)
        for user in recommender.users.raw_ids
        for rank, r in enumerate(recommender.recommend(int(user), k), start=1)
    ]
    meta = recommender.metadata
    about = {
        "model_version": recommender.version,
        "model": {"engine": "pytorch", "class": type(recommender.model).__name__},
        "trained_at": meta.get("created_at"),
        "dataset": (meta.get("dataset") or {}).get("name"),
        "metrics": meta.get("metrics") or {},
        "k": k,
    }
    movies = recommender.movies
    return StoreContents(
        about=about,
        recommendations=recommendations,
        movies=list(zip(movies.item_id, movies.title, movies.genres.fillna(""), strict=True)),
        users=_features(recommender, "user"),
        items=_features(recommender, "item"),
    )


def _features(recommender: Recommender, kind: str) -> list[FeatureRow]:
    """Each known user's (or movie's) training-rating count, bias and vector.

    Matrix factorization has `user_factors`/`item_factors` and `user_bias`/`item_bias` tables; a
    model class without them stores None there, as Spark's ALS does for the biases it lacks.
    """
    ids = (recommender.users if kind == "user" else recommender.items).raw_ids
    counts = recommender.rated[f"{kind}_id"].value_counts()
    vectors = _weights(recommender.model, f"{kind}_factors")
    biases = _weights(recommender.model, f"{kind}_bias")
    return [
        (
            int(raw),
            int(counts.get(raw, 0)),
            None if biases is None else float(biases[index, 0]),
            None if vectors is None else vectors[index],
        )
        for index, raw in enumerate(ids)
    ]


def _weights(model: Any, name: str) -> np.ndarray | None:
    """The rows of an embedding table of the model, or None when it has no table of that name."""
    table = getattr(model, name, None)
    return None if table is None else table.weight.detach().cpu().numpy()


def build_store(model_dir: str | Path, out: str | Path, k: int = MAX_K) -> dict[str, Any]:
    """Load a saved model, compute its store and swap it in at `out`; return the store's `about`.

    Checks `out` first (StoreError), so a wrong path fails before any work is done.
    """
    check_can_replace(out)
    recommender = load_model(model_dir)
    return write_store(store_contents(recommender, k), out)
