"""The data layer: both MovieLens formats, verified downloads, the synthetic set, splits."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import shutil
import threading
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from movierec.data import (
    DataError,
    default_dataset_name,
    load_dataset,
    read_ml100k,
    read_movies_csv,
    read_ratings,
    train_test_split,
)
from movierec.download import Source, download, is_cached, sha256_of
from movierec.synthetic import make_synthetic
from tests.conftest import free_port

FIXTURES = Path(__file__).parents[1] / "fixtures"
ML_100K_TINY = FIXTURES / "ml-100k-tiny"
ML_LATEST_TINY = FIXTURES / "ml-latest-tiny"


# --- the two file formats -----------------------------------------------------------------------


def test_reads_u_data_format():
    ratings = read_ratings(ML_100K_TINY / "u.data")
    assert list(ratings.columns) == ["user_id", "item_id", "rating", "timestamp"]
    assert len(ratings) == 10
    assert ratings.iloc[0].tolist() == [1, 1, 5.0, 881250949]


def test_reads_ratings_csv_format_with_half_stars_and_crlf():
    ratings = read_ratings(ML_LATEST_TINY / "ratings.csv")
    assert ratings.rating.tolist() == [4.0, 3.5, 0.5, 5.0]
    assert ratings.item_id.tolist() == [1, 193609, 1, 50]  # raw ids keep their gaps


def test_a_pairs_file_without_ratings_is_read_with_missing_ratings(tmp_path):
    pairs = tmp_path / "pairs.csv"
    pairs.write_text("userId,movieId\n1,2\n3,4\n")
    frame = read_ratings(pairs)
    assert frame[["user_id", "item_id"]].values.tolist() == [[1, 2], [3, 4]]
    assert frame.rating.isna().all()


@pytest.mark.parametrize("content", ["userId,movieId\none,two\n", "a,b,c\n"])
def test_unreadable_ratings_are_a_clear_error(tmp_path, content):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(DataError, match="bad.csv"):
        read_ratings(path)


def test_ml100k_titles_are_latin1_and_genres_come_from_flags():
    ratings, test, movies = read_ml100k(ML_100K_TINY)
    assert test is None and len(ratings) == 10
    movie = movies.set_index("item_id").loc[2]
    assert movie.title == "Amélie's Garden (1997)"
    assert movie.genres == "Comedy|Romance"


def test_ml100k_split_by_name_reads_base_and_test():
    train, test, _ = read_ml100k(ML_100K_TINY, "u1")
    assert (len(train), len(test)) == (7, 3)


def test_movies_csv_is_utf8():
    movies = read_movies_csv(ML_LATEST_TINY / "movies.csv").set_index("item_id")
    assert movies.loc[2000].title == "Misérables, Les (1995)"
    assert movies.loc[50].title == "Usual Suspects, The (1995)"


def test_a_split_is_only_for_ml100k():
    with pytest.raises(DataError, match="ml-100k only"):
        load_dataset("synthetic", split="u1")
    with pytest.raises(DataError, match="unknown split"):
        load_dataset("ml-100k", split="u9")


# --- downloads: a real HTTP server on loopback serving a zip --------------------------------------


def _checksums(folder: Path) -> dict[str, str]:
    return {p.name: sha256_of(p) for p in sorted(folder.iterdir())}


def _zip_of(folder: Path, name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in folder.iterdir():
            archive.write(path, f"{name}/{path.name}")
    return buffer.getvalue()


@pytest.fixture
def zip_server(tmp_path):
    """Serve files from a folder over HTTP on 127.0.0.1; yields (folder, base_url)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_download_extracts_verifies_and_reuses_the_cache(zip_server, tmp_path):
    www, url = zip_server
    source = Source("tiny", "tiny.zip", _checksums(ML_100K_TINY))
    (www / "tiny.zip").write_bytes(_zip_of(ML_100K_TINY, "tiny"))
    cache = tmp_path / "cache"

    folder = download(source, cache, base_url=url)
    assert folder == cache / "tiny" and is_cached(source, cache)
    assert _checksums(folder) == source.checksums

    (www / "tiny.zip").unlink()  # a second call must not need the network
    assert download(source, cache, base_url=url) == folder
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]  # no leftovers


def test_a_checksum_mismatch_in_the_download_names_the_file(zip_server, tmp_path):
    www, url = zip_server
    pins = _checksums(ML_100K_TINY) | {"u.item": hashlib.sha256(b"other").hexdigest()}
    (www / "tiny.zip").write_bytes(_zip_of(ML_100K_TINY, "tiny"))
    with pytest.raises(DataError, match=r"u\.item does not match its pinned sha256"):
        download(Source("tiny", "tiny.zip", pins), tmp_path / "cache", base_url=url)
    assert not (tmp_path / "cache" / "tiny").exists()  # nothing unverified reaches the cache


def test_a_modified_cached_file_is_refused(tmp_path):
    cached = tmp_path / "tiny"
    shutil.copytree(ML_100K_TINY, cached)
    source = Source("tiny", "tiny.zip", _checksums(cached))
    (cached / "u.data").write_text("1\t1\t5\t0\n")  # a silently edited copy
    with pytest.raises(DataError, match=r"u\.data does not match"):
        download(source, tmp_path, base_url="http://127.0.0.1:9")


def test_offline_download_is_a_clear_error(tmp_path):
    source = Source("tiny", "tiny.zip", {})
    closed = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(DataError, match="could not download .*tiny.zip"):
        download(source, tmp_path, base_url=closed, timeout=5)


def test_default_dataset_falls_back_to_synthetic_and_says_why(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MOVIEREC_MOVIELENS_URL", f"http://127.0.0.1:{free_port()}")
    assert default_dataset_name(tmp_path) == "synthetic"
    message = capsys.readouterr().err
    assert "Using the synthetic dataset" in message and "python -m movierec download" in message


# --- the synthetic set and splits -----------------------------------------------------------------


def test_synthetic_data_is_deterministic_and_shaped_like_movielens():
    ratings, movies = make_synthetic(seed=3)
    again, _ = make_synthetic(seed=3)
    other, _ = make_synthetic(seed=4)
    pd.testing.assert_frame_equal(ratings, again)
    assert not ratings.equals(other)
    assert list(ratings.columns) == ["user_id", "item_id", "rating", "timestamp"]
    assert list(movies.columns) == ["item_id", "title", "genres"]
    assert set(ratings.rating.unique()) <= {1, 2, 3, 4, 5}
    assert ratings.groupby("user_id").size().min() >= 20  # like ML-100K
    assert not ratings.duplicated(["user_id", "item_id"]).any()
    assert set(ratings.item_id) <= set(movies.item_id)


def test_the_synthetic_dataset_has_a_checksum_that_identifies_it(synthetic_dataset):
    assert synthetic_dataset.name == "synthetic"
    assert load_dataset("synthetic").checksum == synthetic_dataset.checksum
    assert "ratings by" in synthetic_dataset.describe()


def test_train_test_split_holds_out_part_of_every_users_ratings(synthetic_dataset):
    ratings = synthetic_dataset.ratings
    train, test = train_test_split(ratings, 0.2, seed=1)
    assert len(train) + len(test) == len(ratings)
    pairs = lambda frame: set(zip(frame.user_id, frame.item_id, strict=True))  # noqa: E731
    assert not pairs(train) & pairs(test)  # the model never trains on what it is tested on
    assert set(test.user_id) <= set(train.user_id)
    assert 0.18 < len(test) / len(ratings) < 0.21
    again, _ = train_test_split(ratings, 0.2, seed=1)
    pd.testing.assert_frame_equal(train, again)
