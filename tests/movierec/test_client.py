"""`movierec.client.MovieRecClient` against the app on a real socket, and against bad servers."""

from __future__ import annotations

import socket
import threading
import time

import pytest
from werkzeug.serving import make_server

from movierec.client import ApiError, MovieRecClient, ServerUnreachable
from movierec.processes import free_port


@pytest.fixture
def api(live_server):
    with MovieRecClient(live_server) as client:
        yield client


def test_every_endpoint(app, api):
    recommender = app.extensions["model"].served.recommender
    user, movie = int(recommender.users.raw_ids[0]), int(recommender.items.raw_ids[0])
    assert api.health()["status"] == "ok"
    top = api.recommend(user, k=3)
    assert [r["item_id"] for r in top] == [r.item_id for r in recommender.recommend(user, 3)]
    predictions = api.predict(user, [movie])
    assert predictions[0]["item_id"] == movie
    assert predictions[0]["rating"] == pytest.approx(recommender.predict([user], [movie])[0])
    assert api.movie(movie) == recommender.movie(movie)


def test_http_error_carries_the_servers_message(app, api):
    unknown = int(app.extensions["model"].served.recommender.users.raw_ids.max()) + 1000
    with pytest.raises(ApiError) as raised:
        api.recommend(unknown)
    assert raised.value.status == 404
    assert raised.value.message.startswith(f"unknown user {unknown}")
    assert "404" in str(raised.value) and "/recommend" in str(raised.value)

    with pytest.raises(ApiError, match="k must be between 1 and 100") as raised:
        api.recommend(int(app.extensions["model"].served.recommender.users.raw_ids[0]), k=0)
    assert raised.value.status == 400


def test_error_page_that_is_not_json_still_gives_a_message():
    """A proxy in front of the API may answer with HTML: the client shows its start."""

    def proxy_error(environ, start_response):
        start_response("502 Bad Gateway", [("Content-Type", "text/html")])
        return [b"<h1>502 Bad Gateway</h1>"]

    server = make_server("127.0.0.1", 0, proxy_error)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(ApiError, match="502 Bad Gateway") as raised:
            MovieRecClient(f"http://127.0.0.1:{server.server_port}").health()
        assert raised.value.status == 502
    finally:
        server.shutdown()


def test_no_server_is_a_clear_error_after_the_retries():
    client = MovieRecClient(f"http://127.0.0.1:{free_port()}", backoff_factor=0.05)
    started = time.monotonic()
    with pytest.raises(ServerUnreachable, match="is the server running"):
        client.health()
    assert time.monotonic() - started < 5


def test_connection_errors_are_retried_until_the_server_is_up(app):
    """A server that starts half a second late: the retries (0 + 1 s of back-off) cover it."""
    port = free_port()
    server = None

    def start_late():
        nonlocal server
        time.sleep(0.5)
        server = make_server("127.0.0.1", port, app, threaded=True)
        server.serve_forever()

    threading.Thread(target=start_late, daemon=True).start()
    try:
        assert MovieRecClient(f"http://127.0.0.1:{port}").health()["status"] == "ok"
    finally:
        while server is None:  # the answer came, so the server exists or is about to
            time.sleep(0.01)
        server.shutdown()


def test_a_server_that_never_answers_times_out():
    """A socket that accepts connections but never replies: the timeout ends the wait."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        client = MovieRecClient(f"http://127.0.0.1:{silent.getsockname()[1]}", timeout=0.5)
        started = time.monotonic()
        with pytest.raises(ServerUnreachable, match="did not answer in time"):
            client.health()
        assert time.monotonic() - started < 3
