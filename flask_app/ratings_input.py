"""Ratings sent by strangers, in three shapes: JSON pairs, an uploaded CSV file, or a URL to one.

Whatever the shape, the ratings pass the checks training data passes (`movierec.data.
read_ratings`: the format, whole-number ids, finite ratings), and a URL is fetched only under
`movierec.safe_fetch`'s rules. Anything wrong stops the request with a 4xx that says what.
Used by /recommend/for-ratings (one newcomer's ratings) and /train (a whole dataset).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
from flask import abort, current_app, request

from flask_app.inputs import ID_MAX, ID_MIN, is_int, is_number, shown
from movierec.data import read_ratings
from movierec.errors import DataError
from movierec.safe_fetch import FetchRules, UrlRefused, fetch, fixed_hosts, system_resolver

URL_TIMEOUT = 5.0  # seconds for a whole download: below nginx's 10 s wait for an answer
FORM_FIELD = "ratings"  # the multipart field of an uploaded file: curl -F ratings=@my.csv
CSV_HELP = (
    "a CSV file in MovieLens' ratings format, e.g. the header userId,movieId,rating,timestamp"
)


# --- where the bytes come from -------------------------------------------------------------------


def uploaded_file() -> bytes | None:
    """The uploaded file's bytes when the request is a form upload; None for any other body."""
    if request.mimetype != "multipart/form-data":
        return None
    upload = request.files.get(FORM_FIELD)
    if upload is None:
        abort(400, description=f"send the file as the form field {FORM_FIELD}: "
                               f"curl -F {FORM_FIELD}=@my-ratings.csv ...")  # fmt: skip
    return upload.read()


def fetched_file(url: Any, max_bytes: int) -> bytes:
    """The file at `url`, downloaded under the safe-fetch rules, or a 400 that says why not."""
    if not isinstance(url, str):
        abort(400, description=f"url must be a string such as https://..., got {shown(url)}")
    try:
        return fetch(url, fetch_rules(max_bytes)).content
    except UrlRefused as refusal:
        abort(400, description=f"url refused: {refusal}")


def fetch_rules(max_bytes: int) -> FetchRules:
    """The rules for downloads; `URL_FETCH` (tests only) swaps DNS for a fixed host table.

    `URL_FETCH` = {"hosts": {"files.test": "127.0.0.1"}, "allow": ["127.0.0.1:8123"],
    "internet": false}: no URL reaches a real DNS server, one loopback port is reachable, and
    no public address is (so nothing leaves the machine).
    """
    testing = current_app.config.get("URL_FETCH") or {}
    hosts = testing.get("hosts")
    return FetchRules(
        max_bytes=max_bytes,
        timeout=URL_TIMEOUT,
        resolve=system_resolver if hosts is None else fixed_hosts(hosts),
        allow=frozenset(_address(text) for text in testing.get("allow", [])),
        internet=testing.get("internet", True),
    )


def _address(text: str) -> tuple[str, int]:
    """("127.0.0.1", 8123) from "127.0.0.1:8123"."""
    host, _, port = text.rpartition(":")
    return host, int(port)


# --- what the bytes must be -------------------------------------------------------------------


def checked_ratings(content: bytes, shown_as: str) -> pd.DataFrame:
    """The ratings in a CSV file's bytes, checked like training data, or a 400 that says why."""
    with tempfile.TemporaryDirectory(prefix="movierec-upload-") as folder:
        path = Path(folder) / "ratings.csv"
        path.write_bytes(content)
        try:
            ratings = read_ratings(path)
        except DataError as error:
            # The message names our temporary file; the client knows it by another name.
            abort(400, description=str(error).replace(str(path), shown_as) + f" (send {CSV_HELP})")
    if ratings.rating.isna().any():
        abort(400, description=f"{shown_as}: every line needs a rating ({CSV_HELP})")
    return ratings


def one_persons_ratings(ratings: pd.DataFrame, shown_as: str) -> dict[int, float]:
    """{movie id: rating} from a file that must hold one person's ratings, each movie once."""
    people = ratings.user_id.nunique()
    if people != 1:
        abort(400, description=f"{shown_as} holds the ratings of {people} users: send one person's")
    repeated = ratings.item_id[ratings.item_id.duplicated()]
    if len(repeated):
        abort(400, description=f"{shown_as} rates movie {int(repeated.iloc[0])} more than once")
    return dict(zip(ratings.item_id.astype(int).tolist(), ratings.rating.tolist(), strict=True))


def json_pairs(value: Any, max_ratings: int) -> dict[int, float]:
    """{movie id: rating} from `[{"item_id": 50, "rating": 5}, ...]`: 1 to `max_ratings` of them."""
    if not isinstance(value, list) or not 1 <= len(value) <= max_ratings:
        abort(400, description=f'ratings must be a list of 1 to {max_ratings:,} objects such as '
                               '{"item_id": 50, "rating": 5}')  # fmt: skip
    pairs: dict[int, float] = {}
    for position, pair in enumerate(value):
        where = f"ratings[{position}]"
        if not isinstance(pair, dict) or set(pair) != {"item_id", "rating"}:
            abort(400, description=f'{where} must be {{"item_id": <id>, "rating": <number>}}, '
                                   f"got {shown(pair)}")  # fmt: skip
        item, rating = pair["item_id"], pair["rating"]
        if not is_int(item) or not ID_MIN <= item <= ID_MAX:
            abort(400, description=f"{where}.item_id must be a movie id, got {shown(item)}")
        if not is_number(rating):
            abort(400, description=f"{where}.rating must be a number, got {shown(rating)}")
        if item in pairs:
            abort(400, description=f"movie {item} is rated more than once")
        pairs[item] = float(rating)
    return pairs


def check_scale(pairs: dict[int, float], scale: tuple[float, float], max_ratings: int) -> None:
    """Every rating on the model's scale (e.g. 1 to 5), and not too many of them."""
    if len(pairs) > max_ratings:
        abort(400, description=f"at most {max_ratings:,} ratings at once, got {len(pairs):,}")
    low, high = scale
    for item, rating in pairs.items():
        if not low <= rating <= high:
            abort(400, description=f"the rating of movie {item} must be between {low:g} and "
                                   f"{high:g} (the model's scale), got {rating:g}")  # fmt: skip
