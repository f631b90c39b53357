"""Reading ratings and titles: both MovieLens formats, your own files, bad files, splits."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from movierec.data import (
    dataset_from_files,
    default_dataset_name,
    holdout_split,
    load_dataset,
    read_ml100k,
    read_movies,
    read_movies_csv,
    read_ratings,
)
from movierec.errors import DataError
from movierec.processes import free_port

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


def test_the_header_that_predict_writes_is_read(tmp_path):
    path = tmp_path / "predictions.csv"
    path.write_text("user_id,item_id,prediction\n1,2,3.5\n")
    frame = read_ratings(path)
    assert frame[["user_id", "item_id"]].values.tolist() == [[1, 2]] and frame.rating.isna().all()


@pytest.mark.parametrize(
    "content",
    [
        b"userId,movieId\none,two\n",
        b"a,b,c\n",
        b"",
        b"\n\n",
        b"1|Toy Story (1995)|01-Jan-1995||http://x|0|0|0|1|1|1|0|0|0|0|0|0|0|0|0|0|0|0|0\n",
        b"\x00\x01\xff\xfe binary",
        b"1\t2.5\t4\t0\n",
        b"1,2,inf,0\n",
        b"1,2,3,4,5,6\n",
    ],
    ids=["words", "letters", "empty", "blank", "u.item", "binary", "half-id", "inf", "columns"],
)
def test_unreadable_ratings_are_a_clear_error(tmp_path, content):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(DataError, match="bad.csv"):
        read_ratings(path)


def test_a_missing_file_and_a_folder_are_named(tmp_path):
    with pytest.raises(DataError, match="nowhere.csv does not exist"):
        read_ratings(tmp_path / "nowhere.csv")
    with pytest.raises(DataError, match="is not a file"):
        read_ratings(tmp_path)


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


def test_movies_are_read_by_their_format():
    assert read_movies(ML_100K_TINY / "u.item").set_index("item_id").loc[2].genres == (
        "Comedy|Romance"
    )
    assert read_movies(ML_LATEST_TINY / "movies.csv").item_id.tolist()[:2] == [1, 50]


def test_a_ratings_file_given_as_movies_is_a_clear_error():
    with pytest.raises(DataError, match="is not a movies file"):
        read_movies(ML_LATEST_TINY / "ratings.csv")


def test_your_own_files_make_a_dataset_named_after_them():
    dataset = dataset_from_files(ML_LATEST_TINY / "ratings.csv", ML_LATEST_TINY / "movies.csv")
    assert dataset.name == "ratings.csv" and len(dataset.checksum) == 64
    assert dataset.test is None and len(dataset.ratings) == 4
    placeholders = dataset_from_files(ML_LATEST_TINY / "ratings.csv").movies
    assert placeholders.title.tolist()[0] == "Movie 1"


def test_a_split_is_only_for_ml100k():
    with pytest.raises(DataError, match="ml-100k only"):
        load_dataset("synthetic", split="u1")
    with pytest.raises(DataError, match="unknown split"):
        load_dataset("ml-100k", split="u9")


# --- hold-out splits ---------------------------------------------------------------------------


def test_holdout_split_holds_out_part_of_every_users_ratings(synthetic_dataset):
    ratings = synthetic_dataset.ratings
    train, test = holdout_split(ratings, 0.2, seed=1)
    assert len(train) + len(test) == len(ratings)
    pairs = lambda frame: set(zip(frame.user_id, frame.item_id, strict=True))  # noqa: E731
    assert not pairs(train) & pairs(test)  # the model never trains on what it is tested on
    assert set(test.user_id) <= set(train.user_id)
    assert 0.18 < len(test) / len(ratings) < 0.21
    again, _ = holdout_split(ratings, 0.2, seed=1)
    pd.testing.assert_frame_equal(train, again)


def test_a_hold_out_fraction_must_leave_something_to_train_on(synthetic_dataset):
    with pytest.raises(ValueError, match="below 1"):
        holdout_split(synthetic_dataset.ratings, 1.0)
    train, test = holdout_split(synthetic_dataset.ratings, 0.0)
    assert len(test) == 0 and len(train) == len(synthetic_dataset.ratings)


def test_default_dataset_falls_back_to_synthetic_and_says_why(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MOVIEREC_MOVIELENS_URL", f"http://127.0.0.1:{free_port()}")
    assert default_dataset_name(tmp_path) == "synthetic"
    message = capsys.readouterr().err
    assert "Using the synthetic dataset" in message and "python -m movierec download" in message
