"""Load ratings and movie titles: real MovieLens (two formats) or the synthetic set.

Every loader returns the same shapes, so nothing downstream cares where the data came from:
ratings with columns `user_id, item_id, rating, timestamp` and movies with `item_id, title, genres`
(genres joined with "|"). Ids are the raw MovieLens ids; turning them into model indices is the
`Recommender`'s job, never the data's.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from movierec import config
from movierec.download import ML_100K, ML_LATEST_SMALL, SOURCES, DataError, download, is_cached
from movierec.synthetic import make_synthetic

DATASETS = ("ml-100k", "ml-latest-small", "synthetic")
ML_100K_SPLITS = ("u1", "u2", "u3", "u4", "u5", "ua", "ub")
RATING_COLUMNS = ["user_id", "item_id", "rating", "timestamp"]

__all__ = ["DATASETS", "DataError", "Dataset", "load_dataset", "read_ratings", "train_test_split"]


@dataclass(frozen=True)
class Dataset:
    """Ratings and the movie titles that belong to them, with where they came from."""

    name: str
    ratings: pd.DataFrame  # user_id, item_id, rating, timestamp
    movies: pd.DataFrame  # item_id, title, genres ("Action|Sci-Fi")
    checksum: str  # sha256 of the ratings, so a model records exactly what it learned from
    test: pd.DataFrame | None = None  # held-out ratings, when the dataset ships a split

    def describe(self) -> str:
        r = self.ratings
        return (
            f"{self.name}: {len(r):,} ratings by {r.user_id.nunique():,} users "
            f"of {r.item_id.nunique():,} movies"
        )


# --- the two MovieLens file formats ---------------------------------------------------------


def read_ratings(path: str | Path) -> pd.DataFrame:
    """Read ratings in either MovieLens format, recognised by the first line.

    - `u.data` style (ML-100K): tab-separated `user item rating timestamp`, no header.
    - `ratings.csv` style (ml-latest*): header `userId,movieId,rating,timestamp`, half stars.
    The rating column may be missing (a file of pairs to score); it then comes back as NaN.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} does not exist")
    with open(path, encoding="utf-8", errors="replace") as f:
        first_line = f.readline()
    if first_line.lower().startswith("userid"):
        frame = pd.read_csv(path).rename(columns={"userId": "user_id", "movieId": "item_id"})
    else:
        sep = "\t" if "\t" in first_line else ","
        frame = pd.read_csv(path, sep=sep, header=None)
        frame.columns = RATING_COLUMNS[: frame.shape[1]]
    if not {"user_id", "item_id"} <= set(frame.columns):
        raise DataError(f"{path}: expected columns userId,movieId[,rating,timestamp]")
    for column in RATING_COLUMNS[2:]:
        if column not in frame.columns:
            frame[column] = np.nan
    try:
        frame = frame[RATING_COLUMNS].astype(
            {"user_id": "int64", "item_id": "int64", "rating": "float64"}
        )
    except (ValueError, TypeError) as error:
        raise DataError(f"{path}: ids must be whole numbers, ratings numbers ({error})") from None
    return frame


def read_ml100k_movies(folder: Path) -> pd.DataFrame:
    """Titles and genres from `u.item` (latin-1, "|"-separated, one 0/1 column per genre)."""
    genres = pd.read_csv(folder / "u.genre", sep="|", header=None, names=["genre", "index"])
    genre_names = genres.dropna()["genre"].tolist()
    columns = ["item_id", "title", "release_date", "video_release_date", "imdb_url", *genre_names]
    items = pd.read_csv(folder / "u.item", sep="|", header=None, names=columns, encoding="latin-1")
    flags = items[genre_names].to_numpy(dtype=bool)
    items["genres"] = ["|".join(g for g, on in zip(genre_names, row, strict=True) if on)
                       for row in flags]  # fmt: skip
    return items[["item_id", "title", "genres"]]


def read_movies_csv(path: Path) -> pd.DataFrame:
    """Titles and genres from ml-latest's `movies.csv` (UTF-8, `movieId,title,genres`)."""
    movies = pd.read_csv(path, encoding="utf-8").rename(columns={"movieId": "item_id"})
    return movies[["item_id", "title", "genres"]]


# --- datasets by name ---------------------------------------------------------------------------


def _frame_checksum(ratings: pd.DataFrame) -> str:
    return hashlib.sha256(ratings[RATING_COLUMNS].to_csv(index=False).encode()).hexdigest()


def default_dataset_name(data_dir: Path | None = None, try_download: bool = True) -> str:
    """ML-100K when it is cached or can be downloaded; otherwise "synthetic", said in one line."""
    if is_cached(ML_100K, data_dir):
        return "ml-100k"
    if try_download:
        try:
            download(ML_100K, data_dir, timeout=10)
            return "ml-100k"
        except DataError as error:
            reason = error
    else:
        reason = "not cached"
    print(
        f"Using the synthetic dataset: ML-100K is not available ({reason}). Get the real data with "
        "`python -m movierec download`, or set MOVIEREC_DATA_DIR to a folder holding ml-100k/.",
        file=sys.stderr,
    )
    return "synthetic"


def load_dataset(
    name: str | None = None, split: str | None = None, data_dir: Path | None = None
) -> Dataset:
    """Load a dataset by name ("ml-100k", "ml-latest-small", "synthetic"; None: the default).

    `split` picks one of ML-100K's canonical train/test splits (u1..u5, ua, ub): `ratings` is then
    the `.base` file and `test` the `.test` file. Real data is downloaded (and verified) if needed.
    """
    data_dir = data_dir or config.data_dir()
    name = name or default_dataset_name(data_dir)
    if split is not None and name != "ml-100k":
        raise DataError(f"--split is for ml-100k only ({', '.join(ML_100K_SPLITS)}), not {name}")
    if split is not None and split not in ML_100K_SPLITS:
        raise DataError(f"unknown split {split!r}: choose one of {', '.join(ML_100K_SPLITS)}")

    if name == "synthetic":
        ratings, movies = make_synthetic()
        return Dataset(name, ratings, movies, _frame_checksum(ratings))
    if name not in SOURCES:
        raise DataError(f"unknown dataset {name!r}: choose one of {', '.join(DATASETS)}")

    source = SOURCES[name]
    folder = download(source, data_dir)  # verified against the pinned checksums
    if source is ML_LATEST_SMALL:
        ratings = read_ratings(folder / "ratings.csv")
        movies, test = read_movies_csv(folder / "movies.csv"), None
        checksum = source.checksums["ratings.csv"]
    else:
        ratings, test, movies = read_ml100k(folder, split)
        checksum = source.checksums[f"{split}.base" if split else "u.data"]
    return Dataset(f"{name}/{split}" if split else name, ratings, movies, checksum, test)


def read_ml100k(
    folder: Path, split: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame | None, pd.DataFrame]:
    """(ratings, test ratings or None, movies) from an ML-100K folder, whole or one split."""
    if split is None:
        return read_ratings(folder / "u.data"), None, read_ml100k_movies(folder)
    return (
        read_ratings(folder / f"{split}.base"),
        read_ratings(folder / f"{split}.test"),
        read_ml100k_movies(folder),
    )


def train_test_split(
    ratings: pd.DataFrame, test_fraction: float = 0.2, seed: int = 42
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hold out `test_fraction` of each user's ratings, so every test user also has training data.

    Training on the test ratings would make every score look better than it is: keep them apart.
    """
    rng = np.random.default_rng(seed)
    is_test = np.zeros(len(ratings), dtype=bool)
    positions = np.arange(len(ratings))
    for rows in ratings.groupby("user_id").indices.values():
        n_test = int(len(rows) * test_fraction)
        is_test[rng.choice(positions[rows], size=n_test, replace=False)] = True
    return ratings[~is_test].reset_index(drop=True), ratings[is_test].reset_index(drop=True)
