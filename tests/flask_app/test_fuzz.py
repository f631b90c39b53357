"""Property-based tests: arbitrary query strings and bodies never make the API answer 5xx.

Hypothesis generates thousands of requests no one would write by hand (NaN ids, deep nesting,
unicode digits, repeated parameters) and checks two properties of every answer: the status is
below 500, and an error is JSON with an "error" message.
"""

from __future__ import annotations

import json
from urllib.parse import quote, urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

EXAMPLES_PER_TEST = 1_100  # two tests: at least 2,000 requests in all
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES_PER_TEST,
    deadline=None,  # timing varies on a shared CI machine; only correctness is checked here
    suppress_health_check=[HealthCheck.too_slow],
)

METHODS = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
NAMES = st.sampled_from(["user_id", "k", "item_ids", "item_id"]) | st.text(max_size=8)
NUMBERS = st.integers(-(2**70), 2**70).map(str)
VALUES = NUMBERS | st.text(max_size=12) | st.sampled_from(["1", "10", "", "1.0", "1e3", "٧"])
QUERIES = st.lists(st.tuples(NAMES, VALUES), max_size=4).map(urlencode) | st.text(max_size=40)
PATHS = st.sampled_from(["/health", "/recommend", "/predict", "/", "/movies/1"]) | st.text(
    max_size=12
).map(lambda text: "/movies/" + quote(text, safe=""))

# JSON documents of any shape, plus ones that look almost right for /predict.
JSON_LEAVES = (
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8)
)
ANY_JSON = st.recursive(
    JSON_LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
IDS = st.integers(-3, 600) | ANY_JSON
ALMOST_RIGHT = st.fixed_dictionaries(
    {}, optional={"user_id": IDS, "item_ids": st.lists(IDS, max_size=6) | ANY_JSON}
)
BODIES = (ANY_JSON | ALMOST_RIGHT).map(lambda doc: json.dumps(doc).encode()) | st.binary(
    max_size=64
)
CONTENT_TYPES = st.sampled_from(
    ["application/json", "application/json; charset=utf-8", "text/plain", "", None]
)


def _assert_no_server_error(response, method: str) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)
    if response.status_code >= 400 and method != "HEAD":  # HEAD answers have no body
        assert response.mimetype == "application/json"
        assert isinstance(response.get_json()["error"], str)


def test_arbitrary_query_strings_never_cause_5xx(app):
    client, cases = app.test_client(), []

    @FUZZ_SETTINGS
    @given(method=METHODS, path=PATHS, query=QUERIES)
    def check(method, path, query):
        cases.append(query)
        _assert_no_server_error(client.open(path, method=method, query_string=query), method)

    check()
    assert len(cases) >= EXAMPLES_PER_TEST


def test_arbitrary_bodies_never_cause_5xx(app):
    client, cases = app.test_client(), []

    @FUZZ_SETTINGS
    @given(method=st.sampled_from(["POST", "POST", "PUT"]), body=BODIES, content_type=CONTENT_TYPES)
    def check(method, body, content_type):
        cases.append(body)
        response = client.open("/predict", method=method, data=body, content_type=content_type)
        _assert_no_server_error(response, method)

    check()
    assert len(cases) >= EXAMPLES_PER_TEST
