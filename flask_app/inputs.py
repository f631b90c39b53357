"""Turn untrusted request input into typed values, or stop the request with a 400 that explains.

Every view reads its parameters through these helpers, so each rule (what an id is, how many
movies fit in one request) is written once and every error message has the same shape.
"""

from __future__ import annotations

import math
import re
from typing import Any

from flask import abort, request
from werkzeug.exceptions import BadRequest

# MovieLens ids start at 1; the upper bound is what a 32-bit database column holds.
ID_MIN, ID_MAX = 1, 2**31 - 1

# Plain ASCII digits only: int() would also accept " 7", "+7", "7_000" and "٧" (an Arabic 7).
# At most 4,000 digits: Python refuses to convert longer strings (a guard against slow parsing).
_INTEGER = re.compile(r"-?[0-9]{1,4000}")

JSON_HEADER = "Content-Type: application/json"


def shown(value: Any) -> str:
    """A short echo of what the client sent, so a message never grows with the input."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def parse_int(text: str, name: str, low: int = ID_MIN, high: int = ID_MAX) -> int:
    """`text` as an integer in [low, high], or abort with 400 naming the parameter."""
    if not _INTEGER.fullmatch(text):
        abort(400, description=f"{name} must be an integer, got {shown(text)}")
    return check_range(int(text), name, low, high)


def check_range(value: int, name: str, low: int, high: int) -> int:
    """`value` itself when low <= value <= high; otherwise abort with 400."""
    if not low <= value <= high:
        abort(400, description=f"{name} must be between {low} and {high}, got {shown(value)}")
    return value


def query_int(name: str, default: int | None = None, low: int = ID_MIN, high: int = ID_MAX) -> int:
    """An integer query parameter (`?name=...`), required unless it has a default."""
    values = request.args.getlist(name)
    if not values:
        if default is None:
            abort(400, description=f"missing query parameter {name}, e.g. ?{name}=1")
        return default
    if len(values) > 1:
        abort(400, description=f"give the query parameter {name} only once")
    return parse_int(values[0], name, low, high)


def json_object() -> dict[str, Any]:
    """The request body parsed as a JSON object: 415 when it is not JSON, 400 when malformed."""
    if not request.is_json:
        abort(415, description=f"send the body as JSON, with the header {JSON_HEADER}")
    try:
        body = request.get_json()
    except (BadRequest, RecursionError):  # RecursionError: JSON nested thousands of levels deep
        abort(400, description="the body is not valid JSON")
    if not isinstance(body, dict):
        abort(400, description=f"the body must be a JSON object, got {type(body).__name__}")
    return body


def is_int(value: Any) -> bool:
    """An integer from JSON. JSON true/false arrive as bool, which Python counts as int: an id
    is never a boolean."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """A finite number from JSON (not a bool; NaN and Infinity are not numbers one can use)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def field_int(body: dict[str, Any], name: str, low: int = ID_MIN, high: int = ID_MAX) -> int:
    """A required integer field of a JSON object (5.0 and "5" are refused: ids are integers)."""
    if name not in body:
        abort(400, description=f"missing field {name} in the JSON body")
    value = body[name]
    if not is_int(value):
        abort(400, description=f"{name} must be an integer, got {shown(value)}")
    return check_range(value, name, low, high)


def field_ids(body: dict[str, Any], name: str, max_items: int) -> list[int]:
    """A required list of 1..max_items ids in a JSON object, in the order they were sent."""
    if name not in body:
        abort(400, description=f"missing field {name} in the JSON body")
    values = body[name]
    if not isinstance(values, list) or not 1 <= len(values) <= max_items:
        abort(400, description=f"{name} must be a list of 1 to {max_items} integers")
    for position, value in enumerate(values):
        if not is_int(value):
            abort(400, description=f"{name}[{position}] must be an integer, got {shown(value)}")
        check_range(value, f"{name}[{position}]", ID_MIN, ID_MAX)
    return values
