"""One JSON line per request, with an id a client may choose (if it is safe) and gets back."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from types import SimpleNamespace

import pytest
import requests

from flask_app.access_log import access_record
from movierec.processes import free_port, running, wait_for
from tests.conftest import REPO_ROOT, VENV_BIN

FIELDS = ["time", "remote_addr", "method", "path", "query", "status", "duration_ms", "bytes",
          "user_agent", "request_id"]  # fmt: skip


# --- the request id, through the test client ------------------------------------------------------


@pytest.mark.parametrize("chosen", ["abc-123", "0f8e.c2_X", "a" * 64])
def test_a_safe_request_id_is_kept_and_returned(client, chosen):
    assert client.get("/health", headers={"X-Request-ID": chosen}).headers["X-Request-ID"] == chosen


@pytest.mark.parametrize(
    "forged",
    ["", "a" * 65, 'x", "status": 200', "two words", "line\\nbreak", "<script>", "é"],
)
def test_an_unsafe_request_id_is_replaced(client, forged):
    returned = client.get("/health", headers={"X-Request-ID": forged}).headers["X-Request-ID"]
    assert returned != forged and len(returned) == 32 and returned.isalnum()


def test_every_answer_has_a_new_id(client):
    ids = {client.get(path).headers["X-Request-ID"] for path in ["/health", "/health", "/nope"]}
    assert len(ids) == 3


# --- the line, from gunicorn's objects ------------------------------------------------------------


def test_the_line_holds_every_field_in_order():
    response = SimpleNamespace(
        status="404 NOT FOUND", headers=[("X-Request-ID", "from-the-answer")], sent=12
    )
    environ = {"REMOTE_ADDR": "127.0.0.2", "REQUEST_METHOD": "GET", "PATH_INFO": "/recommend",
               "QUERY_STRING": "user_id=9", "HTTP_USER_AGENT": 'evil"\nagent',
               "movierec.user_id": 9}  # fmt: skip
    record = access_record(response, environ, timedelta(microseconds=1500))
    assert list(record) == [*FIELDS, "user_id"]
    assert record["status"] == 404 and record["duration_ms"] == 1.5
    assert record["request_id"] == "from-the-answer" and record["user_id"] == 9
    line = json.dumps(record)
    assert "\n" not in line and json.loads(line)["user_agent"] == 'evil"\nagent'


# --- real gunicorn: the log as the journal would get it ------------------------------------------


@pytest.fixture(scope="module")
def gunicorn_log(trained_model_dir, tmp_path_factory):
    """gunicorn with flask_app/gunicorn.conf.py (2 workers): (base URL, log file)."""
    port, log = free_port(), tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MOVIEREC_MODEL": str(trained_model_dir)}
    command = [str(VENV_BIN / "gunicorn"), "-c", "flask_app/gunicorn.conf.py",
               "-b", f"127.0.0.1:{port}", "-w", "2", "flask_app:create_app()"]  # fmt: skip
    with running(command, log, f"{url}/health", 90, env, cwd=REPO_ROOT):
        yield url, log


def json_lines(log) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_gunicorn_writes_one_json_line_per_request(gunicorn_log, trained_model_dir):
    url, log = gunicorn_log
    user = json.loads((trained_model_dir / "metadata.json").read_text())["user_ids"][0]
    headers = {"User-Agent": "course-test/1.0", "X-Request-ID": "follow-me-1"}
    answer = requests.get(f"{url}/recommend", params={"user_id": user, "k": 2}, headers=headers,
                          timeout=10)  # fmt: skip
    assert answer.headers["X-Request-ID"] == "follow-me-1"
    requests.post(f"{url}/predict", json={"user_id": 999999, "item_ids": [1]},
                  headers={"X-Request-ID": "follow-me-2"}, timeout=10)  # fmt: skip
    requests.get(f"{url}/health", headers={"X-Request-ID": "forged\tline"}, timeout=10)

    def by_id(request_id: str) -> list[dict]:
        return [line for line in json_lines(log) if line["request_id"] == request_id]

    wait_for(lambda: by_id("follow-me-2"), 10, "the log line of the second request")
    (line,) = by_id("follow-me-1")  # exactly one line, not gunicorn's as well
    assert list(line) == [*FIELDS, "user_id"]
    assert (line["method"], line["path"], line["status"]) == ("GET", "/recommend", 200)
    assert line["query"] == f"user_id={user}&k=2" and line["user_id"] == user
    assert line["user_agent"] == "course-test/1.0" and line["remote_addr"] == "127.0.0.1"
    assert 0 < line["duration_ms"] < 10_000 and line["bytes"] > 0
    (unknown,) = by_id("follow-me-2")
    assert (unknown["method"], unknown["status"], unknown["user_id"]) == ("POST", 404, 999999)
    assert not [line for line in json_lines(log) if "forged" in line["request_id"]]
    plain = [x for x in log.read_text().splitlines() if '"GET /' in x or '"POST /' in x]
    assert not plain, f"gunicorn's plain access lines are still written: {plain[:2]}"
