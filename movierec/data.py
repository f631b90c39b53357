"""Load ratings and movie titles: real MovieLens (two formats), your own files, or synthetic data.

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

from movierec import locations
from movierec.download import (
    DATASETS,
    ML_100K,
    ML_100K_SPLITS,
    ML_LATEST_SMALL,
    SOURCES,
    download,
    is_cached,
    sha256_of,
)
from movierec.errors import DataError
from movierec.synthetic import make_synthetic

RATING_COLUMNS = ["user_id", "item_id", "rating", "timestamp"]

__all__ = [
    "DATASETS",
    "ML_100K_SPLITS",
    "Dataset",
    "dataset_from_files",
    "holdout_split",
    "load_dataset",
    "read_movies",
    "read_ratings",
]


@dataclass(frozen=True)
class Dataset:
    """Ratings and the movie titles that belong to them, with where they came from."""

    name: str  # "ml-100k", "ml-100k/u1" (a canonical split), "synthetic", or a file's name
    ratings: pd.DataFrame  # user_id, item_id, rating, timestamp (for a split: the uN.base part)
    movies: pd.DataFrame  # item_id, title, genres ("Action|Sci-Fi")
    checksum: str  # sha256 of the ratings, so a model records exactly what it learned from
    test: pd.DataFrame | None = None  # held-out ratings, when the dataset ships a split
    split: str | None = None  # "u1" .. "ub" for a canonical ML-100K split

    def describe(self) -> str:
        r = self.ratings
        return (
            f"{self.name}: {len(r):,} ratings by {r.user_id.nunique():,} users "
            f"of {r.item_id.nunique():,} movies"
        )


# --- the two MovieLens file formats ---------------------------------------------------------

# Headers a ratings file may start with: ml-latest's own, and the one `predict --out` writes.
_HEADERS = {"userid": {"userId": "user_id", "movieId": "item_id"}, "user_id": {}}


def read_ratings(path: str | Path) -> pd.DataFrame:
    """Read ratings in either MovieLens format, recognised by the first line.

    - `u.data` style (ML-100K): tab-separated `user item rating timestamp`, no header.
    - `ratings.csv` style (ml-latest*): header `userId,movieId,rating,timestamp`, half stars;
      a header `user_id,item_id,...` (what `predict --out` writes) is read the same way.
    The rating column may be missing (a file of pairs to score); it then comes back as NaN.
    Raises `DataError` naming the file for anything else.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} does not exist" if not path.exists() else f"{path} is not a file")
    with open(path, encoding="utf-8", errors="replace") as f:
        first_line = f.readline()
    if not first_line.strip():
        raise DataError(f"{path} is empty: expected ratings, one per line")
    header = first_line.split(",")[0].strip().lower()
    try:
        if header in _HEADERS:
            frame = pd.read_csv(path).rename(columns=_HEADERS[header])
        else:
            sep = "\t" if "\t" in first_line else ","
            frame = pd.read_csv(path, sep=sep, header=None)
            if frame.shape[1] > len(RATING_COLUMNS):
                raise DataError(
                    f"{path}: {frame.shape[1]} columns, expected user, movie[, rating, timestamp] "
                    "(is it a movies file such as u.item?)"
                )
            frame.columns = RATING_COLUMNS[: frame.shape[1]]
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        reason = str(error).strip().splitlines()[0]
        raise DataError(f"{path} is not a ratings file ({reason})") from None
    if not {"user_id", "item_id"} <= set(frame.columns):
        raise DataError(f"{path}: expected columns userId,movieId[,rating,timestamp]")
    if frame.empty:
        raise DataError(f"{path} has a header but no ratings")
    for column in RATING_COLUMNS[2:]:
        if column not in frame.columns:
            frame[column] = np.nan
    return _typed(frame[RATING_COLUMNS], path)


def _typed(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Ids as whole numbers, ratings as finite numbers (or NaN for pairs): else a `DataError`."""
    try:
        ids = frame[["user_id", "item_id"]].apply(pd.to_numeric, errors="raise")
        rating = pd.to_numeric(frame.rating, errors="raise").astype("float64")
    except (ValueError, TypeError) as error:
        raise DataError(f"{path}: ids and ratings must be numbers ({error})") from None
    whole = ids.notna().all(axis=None) and (ids % 1 == 0).all(axis=None)
    if not whole or (ids.abs() > 2**62).any(axis=None):
        raise DataError(f"{path}: user and movie ids must be whole numbers")
    if np.isinf(rating).any():
        raise DataError(f"{path}: ratings must be finite numbers")
    return frame.assign(
        user_id=ids.user_id.astype("int64"), item_id=ids.item_id.astype("int64"), rating=rating
    )


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


def read_movies(path: str | Path) -> pd.DataFrame:
    """Titles and genres from either format: `u.item` (with `u.genre` beside it) or `movies.csv`."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path} does not exist" if not path.exists() else f"{path} is not a file")
    try:
        movies = read_ml100k_movies(path.parent) if path.name == "u.item" else read_movies_csv(path)
    except (KeyError, ValueError, OSError, pd.errors.ParserError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise DataError(f"{path} is not a movies file (u.item or movies.csv): {reason}") from None
    if movies.item_id.duplicated().any():
        raise DataError(f"{path}: a movie id appears twice")
    return movies


def placeholder_movies(ratings: pd.DataFrame) -> pd.DataFrame:
    """ "Movie 42"-style titles for ratings that came without a movies file."""
    ids = sorted(ratings.item_id.unique())
    return pd.DataFrame({"item_id": ids, "title": [f"Movie {i}" for i in ids], "genres": ""})


# --- datasets by name or by file ----------------------------------------------------------------


def _frame_checksum(ratings: pd.DataFrame) -> str:
    return hashlib.sha256(ratings[RATING_COLUMNS].to_csv(index=False).encode()).hexdigest()


def dataset_from_files(ratings_file: str | Path, movies_file: str | Path | None = None) -> Dataset:
    """Your own ratings (and, optionally, titles) as a `Dataset` named after the ratings file."""
    ratings = read_ratings(ratings_file)
    movies = read_movies(movies_file) if movies_file else placeholder_movies(ratings)
    return Dataset(Path(ratings_file).name, ratings, movies, sha256_of(Path(ratings_file)))


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
    data_dir = data_dir or locations.data_dir()
    if split is not None and split not in ML_100K_SPLITS:
        raise DataError(f"unknown split {split!r}: choose one of {', '.join(ML_100K_SPLITS)}")
    if split is not None and name not in (None, "ml-100k"):
        raise DataError(f"--split is for ml-100k only ({', '.join(ML_100K_SPLITS)}), not {name}")
    name = "ml-100k" if split is not None else name or default_dataset_name(data_dir)

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
    return Dataset(f"{name}/{split}" if split else name, ratings, movies, checksum, test, split)


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


def holdout_split(
    ratings: pd.DataFrame, test_fraction: float = 0.2, seed: int = 42
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hold out `test_fraction` of each user's ratings, so every test user also has training data.

    Returns `(train, test)`. Training on the test ratings would make every score look better than
    it is: keep them apart.
    """
    if not 0 <= test_fraction < 1:
        raise ValueError(f"test_fraction must be at least 0 and below 1, not {test_fraction}")
    # BEGIN SOLUTION A2.2: mark test_fraction of each user's ratings, chosen at random, as test
    rng = np.random.default_rng(seed)
    is_test = np.zeros(len(ratings), dtype=bool)
    positions = np.arange(len(ratings))
    for rows in ratings.groupby("user_id").indices.values():
        n_test = int(len(rows) * test_fraction)
        is_test[rng.choice(positions[rows], size=n_test, replace=False)] = True
    # END SOLUTION
    return ratings[~is_test].reset_index(drop=True), ratings[is_test].reset_index(drop=True)
