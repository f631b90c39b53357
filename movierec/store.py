"""The recommendation store: every user's top-k, computed by a batch job, looked up by user id.

One SQLite file (Python's own `sqlite3`: nothing to install, no server to run). Its tables:

    about            key, value (JSON): format_version, model_version, model, trained_at,
                     stored_at, dataset, metrics, k, n_users, n_items
    recommendations  user_id, rank, item_id, score: each user's top k, rank 1 the best, none of
                     them a movie the user rated in training
    movies           item_id, title, genres: the titles the answers show
    users, items     user_id or item_id, n_ratings, bias, vector (a JSON list of floats): what a
                     feature store would serve online. NULL where the model has no such thing
                     (Spark's ALS learns no biases).

Writing is one atomic step, the idea of `movierec.persist`: `write_store` builds a complete new
file under a temporary name beside the store, then `os.replace` puts it at the store's path.
A reader opens the old file or the new one, never half of one. The file keeps SQLite's default
rollback journal: a WAL-mode database keeps part of its data in `-wal` and `-shm` files beside
it, which a rename does not move, so it cannot be swapped this way.

Reading: an open SQLite connection goes on reading the file it opened, even after another file
took its name. `RecommendationStore.current()` therefore checks, on every call, whether the path
names a new file (a new inode, one `stat` call) and opens it when it does. A lookup in flight
finishes on the file it started with, so a swap drops no request.

Only the standard library is imported: a server in store mode loads no model code at all.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
import threading
from collections.abc import Iterable, Sequence
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from movierec.errors import StoreError
from movierec.locations import fsync_dir

FORMAT_VERSION = 1

SCHEMA = """
CREATE TABLE about (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE recommendations (
    user_id INTEGER NOT NULL, rank INTEGER NOT NULL, item_id INTEGER NOT NULL, score REAL NOT NULL,
    PRIMARY KEY (user_id, rank)
) WITHOUT ROWID;  -- stored in key order: a user's list is one short range of one page
CREATE TABLE movies (item_id INTEGER PRIMARY KEY, title TEXT NOT NULL, genres TEXT NOT NULL);
CREATE TABLE users (
    user_id INTEGER PRIMARY KEY, n_ratings INTEGER NOT NULL, bias REAL, vector TEXT
);
CREATE TABLE items (
    item_id INTEGER PRIMARY KEY, n_ratings INTEGER NOT NULL, bias REAL, vector TEXT
);
"""

# One row per feature-table entry: (id, n_ratings, bias or None, vector or None).
FeatureRow = tuple[int, int, float | None, Sequence[float] | None]


@dataclass(frozen=True)
class StoreContents:
    """Everything a store file holds, as rows; a batch job (PyTorch or Spark) fills it in."""

    about: dict[str, Any]  # at least model_version and k; write_store adds the rest it knows
    recommendations: Iterable[tuple[int, int, int, float]]  # (user_id, rank, item_id, score)
    movies: Iterable[tuple[int, str, str]]  # (item_id, title, genres)
    users: Iterable[FeatureRow]  # (user_id, n_ratings, bias, vector)
    items: Iterable[FeatureRow]  # (item_id, n_ratings, bias, vector)


# --- writing ------------------------------------------------------------------------------------


def is_store(path: Path) -> bool:
    """True for a file written by `write_store`: SQLite with an `about` table and a format."""
    try:
        with closing(_open_read_only(path)) as db:
            found = db.execute("SELECT 1 FROM about WHERE key = 'format_version'").fetchone()
    except sqlite3.Error:
        return False
    return found is not None


def check_can_replace(path: str | Path) -> None:
    """Raise `StoreError` unless a store written at `path` would replace nothing but a store."""
    path = Path(path)
    if path.is_dir():
        raise StoreError(f"{path} is a folder: give a file name such as stores/default.sqlite")
    if path.exists() and not is_store(path):
        raise StoreError(
            f"{path} exists and is not a store written by movierec: choose another path "
            "(nothing was changed)"
        )
    if path.parent.exists() and not path.parent.is_dir():
        raise StoreError(f"cannot write {path}: {path.parent} is a file")


def write_store(contents: StoreContents, path: str | Path) -> dict[str, Any]:
    """Write `contents` to a new file and swap it in at `path` atomically; return its `about`.

    Raises `StoreError` when `path` holds something that is not an earlier store.
    """
    path = Path(path)
    check_can_replace(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    about = {
        **contents.about,
        "format_version": FORMAT_VERSION,
        "stored_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    # The new file is built beside the store: os.replace is atomic only within one file system.
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".partial")
    os.close(fd)
    partial = Path(name)
    try:
        about |= _fill(partial, contents, about)
        partial.chmod(0o644)  # mkstemp makes it private: a server running as another user reads it
        os.replace(partial, path)  # the swap: readers see the old file or the new one
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)
    return about


def _fill(file: Path, contents: StoreContents, about: dict[str, Any]) -> dict[str, Any]:
    """Create the tables in an empty file and insert every row in one transaction; return the
    counts it found (n_users, n_items)."""
    db = sqlite3.connect(file)
    try:
        # The default rollback journal, said out loud: WAL's side files would not follow a rename.
        db.execute("PRAGMA journal_mode = DELETE")
        with db:  # every row commits at once (SQLite then flushes the file to disk), or none
            db.executescript(SCHEMA)
            db.executemany(
                "INSERT INTO recommendations VALUES (?, ?, ?, ?)",
                ((int(u), int(r), int(i), float(s)) for u, r, i, s in contents.recommendations),
            )
            db.executemany(
                "INSERT INTO movies VALUES (?, ?, ?)",
                ((int(i), str(title), str(genres)) for i, title, genres in contents.movies),
            )
            for table, rows in (("users", contents.users), ("items", contents.items)):
                db.executemany(f"INSERT INTO {table} VALUES (?, ?, ?, ?)", map(_feature_row, rows))
            counts = {
                "n_users": db.execute("SELECT count(*) FROM users").fetchone()[0],
                "n_items": db.execute("SELECT count(*) FROM items").fetchone()[0],
            }
            db.executemany(
                "INSERT INTO about VALUES (?, ?)",
                [(key, json.dumps(value)) for key, value in {**about, **counts}.items()],
            )
    finally:
        db.close()
    return counts


def _feature_row(row: FeatureRow) -> tuple[int, int, float | None, str | None]:
    """A feature row as SQLite stores it: the vector as JSON text, readable by any language."""
    key, n_ratings, bias, vector = row
    text = None if vector is None else json.dumps([float(x) for x in vector])
    return int(key), int(n_ratings), None if bias is None else float(bias), text


# --- reading ------------------------------------------------------------------------------------


def _open_read_only(path: Path) -> sqlite3.Connection:
    """A read-only connection (`mode=ro`: a reader can never change or create the file)."""
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)


class StoreFile:
    """One store file, open read-only: every answer it gives comes from that same file."""

    def __init__(self, path: Path, identity: tuple[int, ...]):
        self.path = path
        self.identity = identity  # which file (see RecommendationStore.current)
        try:
            self._db = _open_read_only(path)
            rows = self._db.execute("SELECT key, value FROM about").fetchall()
        except sqlite3.Error as error:
            raise StoreError(f"{path} is not a store written by movierec ({error})") from None
        self.about: dict[str, Any] = {key: json.loads(value) for key, value in rows}
        if self.about.get("format_version") != FORMAT_VERSION:
            self._db.close()
            raise StoreError(
                f"{path} has store format {self.about.get('format_version')!r}; this movierec "
                f"reads format {FORMAT_VERSION}: write it again with `python -m movierec batch`"
            )

    @property
    def model_version(self) -> str:
        return self.about["model_version"]

    @property
    def k(self) -> int:
        """How many recommendations the store holds per user: the most a lookup can answer."""
        return self.about["k"]

    def recommendations(self, user_id: int, k: int) -> list[dict[str, Any]] | None:
        """The user's first `k` recommendations, best first; None for a user the store lacks."""
        rows = self._db.execute(
            "SELECT r.item_id, coalesce(m.title, ''), r.score FROM recommendations AS r "
            "LEFT JOIN movies AS m USING (item_id) WHERE r.user_id = ? ORDER BY r.rank LIMIT ?",
            (user_id, k),
        ).fetchall()
        if not rows and self.user_features(user_id) is None:
            return None  # (a known user with no rows has rated every movie)
        return [{"item_id": item, "title": title, "score": score} for item, title, score in rows]

    def user_features(self, user_id: int) -> dict[str, Any] | None:
        """What the store knows of a user (n_ratings, bias, vector), or None."""
        return self._features("users", "user_id", user_id)

    def item_features(self, item_id: int) -> dict[str, Any] | None:
        """What the store knows of a movie (n_ratings, bias, vector), or None."""
        return self._features("items", "item_id", item_id)

    def _features(self, table: str, key: str, value: int) -> dict[str, Any] | None:
        row = self._db.execute(
            f"SELECT n_ratings, bias, vector FROM {table} WHERE {key} = ?", (value,)
        ).fetchone()
        if row is None:
            return None
        n_ratings, bias, vector = row
        return {
            key: value,
            "n_ratings": n_ratings,
            "bias": bias,
            "vector": None if vector is None else json.loads(vector),
        }

    def close(self) -> None:
        self._db.close()


class RecommendationStore:
    """The store at a path, as a server reads it: each thread gets the file there now.

    Raises `StoreError` at once when the path holds no store, so a server fails at start-up.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._local = threading.local()  # one connection per thread: sqlite3's rule
        StoreFile(self.path, self._identity()).close()  # fail now, not at the first request

    def _identity(self) -> tuple[int, ...]:
        """Which file the path names now, and in which process.

        `os.replace` gives the path a new inode; an open connection keeps the old one. A
        connection is also never carried across `fork` (gunicorn forks its workers after the
        app is built), as SQLite requires: a new process id opens its own.
        """
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            raise StoreError(
                f"no store at {self.path}: write one with "
                f"`python -m movierec batch --out {self.path}`"
            ) from None
        return os.getpid(), stat.st_dev, stat.st_ino

    def current(self) -> StoreFile:
        """The store file at the path now, opened once per thread and reopened after a swap."""
        identity = self._identity()  # before opening: a swap in between only costs a reopen
        file = getattr(self._local, "file", None)
        if file is None or file.identity != identity:
            if file is not None:
                file.close()  # the old file is freed once its last connection closes
            file = self._local.file = StoreFile(self.path, identity)
        return file
