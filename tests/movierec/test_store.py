"""The recommendation store: what goes in comes out, a swap is atomic, readers notice new files,
and nothing but an earlier store is ever replaced."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
import sys

import pytest

from movierec.errors import StoreError
from movierec.store import RecommendationStore, StoreContents, is_store, write_store


def contents(version: str = "v1", k: int = 2, score: float = 4.5) -> StoreContents:
    """Two users, three movies; user 2 has rated every movie but one."""
    return StoreContents(
        about={"model_version": version, "model": {"engine": "test"}, "k": k},
        recommendations=[(1, 1, 10, score), (1, 2, 30, score - 1), (2, 1, 20, 3.0)],
        movies=[(10, "Ten", "Drama"), (20, "Twenty", ""), (30, "Thirty", "Comedy|Drama")],
        users=[(1, 5, 0.25, [0.5, -1.0]), (2, 2, None, None)],
        items=[(10, 3, -0.5, [1.0, 2.0]), (20, 4, None, None), (30, 0, 0.0, [0.0, 0.0])],
    )


@pytest.fixture
def store_path(tmp_path):
    path = tmp_path / "stores" / "test.sqlite"
    write_store(contents(), path)
    return path


def test_what_is_written_is_read_back(store_path):
    file = RecommendationStore(store_path).current()
    assert file.model_version == "v1" and file.k == 2
    assert file.about["n_users"] == 2 and file.about["n_items"] == 3
    assert file.about["stored_at"] and file.about["model"] == {"engine": "test"}
    assert file.recommendations(1, 2) == [
        {"item_id": 10, "title": "Ten", "score": 4.5},
        {"item_id": 30, "title": "Thirty", "score": 3.5},
    ]
    assert file.recommendations(1, 1) == [{"item_id": 10, "title": "Ten", "score": 4.5}]
    assert file.user_features(1) == {"user_id": 1, "n_ratings": 5, "bias": 0.25,
                                     "vector": [0.5, -1.0]}  # fmt: skip
    assert file.item_features(20) == {"item_id": 20, "n_ratings": 4, "bias": None, "vector": None}


def test_an_unknown_user_is_none_and_a_user_without_recommendations_an_empty_list(tmp_path):
    path = tmp_path / "s.sqlite"
    write_store(StoreContents({"model_version": "v", "k": 3}, [], [], [(7, 1, None, None)], []),
                path)  # fmt: skip
    file = RecommendationStore(path).current()
    assert file.recommendations(7, 3) == []
    assert file.recommendations(8, 3) is None and file.user_features(8) is None


def test_the_file_is_a_rollback_journal_database_readable_by_everyone(store_path):
    """WAL would leave -wal and -shm files beside it, which a rename does not move."""
    with sqlite3.connect(store_path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert sorted(p.name for p in store_path.parent.iterdir()) == ["test.sqlite"]
    assert stat.S_IMODE(store_path.stat().st_mode) == 0o644


def test_an_open_connection_reads_the_old_file_until_the_reader_notices_the_new_one(store_path):
    store = RecommendationStore(store_path)
    old = store.current()
    assert store.current() is old  # the same file: the same connection
    write_store(contents("v2", score=2.0), store_path)
    # SQLite goes on reading the file it opened, whole, although another file took its name...
    assert old.model_version == "v1" and old.recommendations(1, 1)[0]["score"] == 4.5
    # ...so `current()` looks at the path on every call, and opens the new file.
    new = store.current()
    assert new is not old and new.model_version == "v2"
    assert new.recommendations(1, 1)[0]["score"] == 2.0


def test_each_thread_reads_through_its_own_connection(store_path):
    import threading

    store, files = RecommendationStore(store_path), []
    thread = threading.Thread(target=lambda: files.append(store.current()))
    thread.start()
    thread.join(timeout=10)
    assert files and files[0] is not store.current()  # sqlite3 connections stay in their thread


def test_a_failed_write_leaves_the_old_store_and_no_partial_file(store_path):
    def broken_rows():
        yield (1, 1, 10, 1.0)
        raise RuntimeError("the batch job died")

    failing = StoreContents({"model_version": "v3", "k": 2}, broken_rows(), [], [], [])
    with pytest.raises(RuntimeError):
        write_store(failing, store_path)
    assert RecommendationStore(store_path).current().model_version == "v1"
    assert [p.name for p in store_path.parent.iterdir()] == ["test.sqlite"]


@pytest.mark.parametrize("kind", ["text file", "other database", "folder"])
def test_never_replaces_what_is_not_a_store(tmp_path, kind):
    path = tmp_path / "precious"
    if kind == "text file":
        path.write_text("my notes\n")
    elif kind == "other database":
        with sqlite3.connect(path) as db:
            db.execute("CREATE TABLE mine (x)")
    else:
        path.mkdir()
    before = path.read_bytes() if path.is_file() else None
    with pytest.raises(StoreError, match="precious"):
        write_store(contents(), path)
    assert (path.read_bytes() if path.is_file() else None) == before
    assert not is_store(path)


def test_a_missing_store_says_how_to_make_one(tmp_path):
    with pytest.raises(StoreError, match="python -m movierec batch --out"):
        RecommendationStore(tmp_path / "nothing.sqlite")


def test_reading_the_store_imports_no_model_code(store_path):
    code = (
        "import sys; from movierec.store import RecommendationStore; "
        f"RecommendationStore({str(store_path)!r}).current().recommendations(1, 2); "
        "print(sorted({'torch', 'pandas', 'numpy'} & set(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stderr
