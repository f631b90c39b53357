"""End to end: the real servers, started with the documented commands, called over loopback.

gunicorn runs with flask_app/gunicorn.conf.py on a free port; `requests` and the exact curl lines
of the README and the lecture are sent to it. `flask run` and the start-up error are checked
the same way: as a student would see them in the terminal.
"""

from __future__ import annotations

import os
import re
import runpy
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from movierec.processes import free_port, running, start, stop, wait_for
from tests.conftest import REPO_ROOT, VENV_BIN, require_tool
from tests.support import shell_lines

pytestmark = pytest.mark.slow

GUNICORN = [str(VENV_BIN / "gunicorn"), "-c", "flask_app/gunicorn.conf.py"]
APP = "flask_app:create_app()"
FLASK_RUN = [str(VENV_BIN / "flask"), "--app", "flask_app", "run"]
DOCS = [REPO_ROOT / "flask_app" / "README.md", REPO_ROOT / "lectures" / "03_serving_with_flask.md"]
DOCUMENTED_ADDRESS = re.compile(r"(127\.0\.0\.1|localhost):5000")
START_TIMEOUT = 90  # seconds: importing torch on a busy 2-core machine can take a while


def server_env(model: Path | str) -> dict[str, str]:
    env = {**os.environ, "MOVIEREC_MODEL": str(model), "PATH": f"{VENV_BIN}:{os.environ['PATH']}"}
    env.pop("FLASK_DEBUG", None)
    return env


@pytest.fixture(scope="module")
def gunicorn_server(trained_model_dir, tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """The production command on a free loopback port: (base URL, its log file)."""
    port, log = free_port(), tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    url = f"http://127.0.0.1:{port}"
    command = [*GUNICORN, "-b", f"127.0.0.1:{port}", APP]
    with running(command, log, f"{url}/health", START_TIMEOUT, server_env(trained_model_dir),
                 cwd=REPO_ROOT) as server:  # fmt: skip
        yield url, log
    assert server.returncode == 0, log.read_text()  # SIGTERM is a clean, graceful stop


@pytest.fixture
def base_url(gunicorn_server) -> str:
    return gunicorn_server[0]


@pytest.fixture(scope="module")
def known(trained_model_dir) -> dict[str, int]:
    from movierec.persist import read_metadata

    metadata = read_metadata(trained_model_dir)
    return {"user": metadata["user_ids"][0], "movie": metadata["item_ids"][0]}


# --- gunicorn, through requests --------------------------------------------------------------


def test_every_endpoint_over_http(base_url, known, trained_model_dir):
    health = requests.get(f"{base_url}/health", timeout=5).json()
    assert health["status"] == "ok" and health["model"] == str(trained_model_dir)
    answer = requests.get(
        f"{base_url}/recommend", params={"user_id": known["user"], "k": 4}, timeout=5
    ).json()
    assert len(answer["recommendations"]) == 4
    body = {"user_id": known["user"], "item_ids": [known["movie"]]}
    predictions = requests.post(f"{base_url}/predict", json=body, timeout=5).json()["predictions"]
    assert predictions[0]["item_id"] == known["movie"]
    movie = requests.get(f"{base_url}/movies/{known['movie']}", timeout=5).json()
    assert set(movie) == {"item_id", "title", "genres"}
    assert requests.get(base_url, timeout=5).headers["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("path", ["/health", "/", "/recommend?user_id=abc"])
def test_every_answer_carries_the_security_headers_over_the_wire(base_url, path):
    response = requests.get(f"{base_url}{path}", timeout=5)
    assert response.headers["Server"] == "gunicorn"  # no version number for scanners to match
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"] == (
        "default-src 'self'; frame-ancestors 'none'"
    )
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"


def test_oversized_body_is_413_over_the_wire(base_url):
    body = b'{"user_id": 1, "item_ids": [' + b"1, " * 100_000 + b"1]}"
    response = requests.post(
        f"{base_url}/predict", data=body, headers={"Content-Type": "application/json"}, timeout=10
    )
    assert response.status_code == 413
    assert "too large" in response.json()["error"]


def test_errors_are_json_over_the_wire(base_url):
    response = requests.get(f"{base_url}/recommend", params={"user_id": "abc"}, timeout=5)
    assert response.status_code == 400 and "must be an integer" in response.json()["error"]
    response = requests.delete(f"{base_url}/health", timeout=5)
    assert response.status_code == 405 and "GET" in response.headers["Allow"]


def test_gunicorn_listens_on_loopback_with_one_worker_per_core(gunicorn_server):
    url, log = gunicorn_server
    workers = min(os.cpu_count() or 1, 2)
    # Workers boot one after the other, after the first answer: wait for them, do not race them.
    wait_for(lambda: log.read_text().count("Booting worker") >= workers, 60, f"{workers} workers")
    assert f"Listening at: {url}" in log.read_text()


def test_the_gunicorn_config_itself_binds_loopback(monkeypatch, tmp_path):
    """The old-course trap: a server on 0.0.0.0 behind a firewall. The file binds 127.0.0.1,
    whatever `-b` the tests (or anyone) add on the command line."""
    # The file sets the metrics directory in the environment: this test's own, undone after it.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    settings = runpy.run_path(str(REPO_ROOT / "flask_app" / "gunicorn.conf.py"))
    assert settings["bind"].startswith("127.0.0.1:")


def test_the_client_against_gunicorn(base_url, known):
    from movierec.client import ApiError, MovieRecClient

    with MovieRecClient(base_url) as api:
        assert api.wait_until_ready()["status"] == "ok"
        assert len(api.recommend(known["user"], k=2)) == 2
        with pytest.raises(ApiError) as raised:
            api.movie(2**31 - 1)
        assert raised.value.status == 404


# --- the curl lines of the docs, run as written ----------------------------------------------


def documented_curl_commands() -> list[tuple[str, str]]:
    """(where, command) for every `curl` line in a ```bash block of the docs."""
    return [
        (doc.relative_to(REPO_ROOT).as_posix(), line)
        for doc in [*DOCS, REPO_ROOT / "README.md"]
        for line in shell_lines(doc)
        if line.startswith("curl ")
    ]


CURL_COMMANDS = documented_curl_commands()


def test_the_docs_show_curl_commands():
    where = {doc for doc, _ in CURL_COMMANDS}
    assert {"flask_app/README.md", "lectures/03_serving_with_flask.md"} <= where


@pytest.mark.parametrize(("doc", "command"), CURL_COMMANDS, ids=[c for _, c in CURL_COMMANDS])
def test_documented_curl_command_works(base_url, doc, command):
    """`curl -f...` must succeed. An error example shows its status with `-i` and names it in a
    trailing comment (`# 404`): the status line must match."""
    require_tool("curl")
    address = base_url.removeprefix("http://")
    assert DOCUMENTED_ADDRESS.search(command), f"{doc}: {command} does not use 127.0.0.1:5000"
    run = subprocess.run(
        DOCUMENTED_ADDRESS.sub(address, command),
        shell=True,
        capture_output=True,
        text=True,
        timeout=30,
        executable="/bin/bash",
    )
    assert run.returncode == 0, f"{doc}: {command}\n{run.stdout}{run.stderr}"
    expected = re.search(r"#\s*(\d{3})\b", command)
    if re.search(r"\s-\w*f", command):
        assert expected is None, f"{doc}: `-f` hides errors; an error example needs `-si`"
    else:
        assert expected, f"{doc}: {command} has no -f, so it must name its status (# 4xx)"
        assert re.match(rf"HTTP/1\.1 {expected.group(1)} ", run.stdout), run.stdout[:200]
        assert '"error"' in run.stdout


# --- the development server and the start-up error --------------------------------------------


def test_flask_run_serves_on_loopback_with_debug_off(trained_model_dir, tmp_path):
    port, log = free_port(), tmp_path / "flask.log"
    url = f"http://127.0.0.1:{port}"
    command = [*FLASK_RUN, "--port", str(port)]
    with running(command, log, f"{url}/health", START_TIMEOUT, server_env(trained_model_dir),
                 cwd=REPO_ROOT):  # fmt: skip
        pass
    text = log.read_text()
    assert f"Running on {url}" in text
    assert "Debug mode: off" in text


@pytest.mark.parametrize("command", [[*GUNICORN, "-b", "127.0.0.1:0", APP], FLASK_RUN])
def test_missing_model_stops_start_up_with_one_line(command, tmp_path):
    missing, log = tmp_path / "no-model", tmp_path / "server.log"
    server = start(command, log, env=server_env(missing), cwd=REPO_ROOT)
    try:
        assert server.wait(timeout=START_TIMEOUT) != 0
    finally:
        stop(server)
    text = log.read_text()
    assert "Traceback" not in text
    assert f"no model at {missing}: train one with `python -m movierec train --out" in text


def test_a_port_in_use_is_one_clear_line(trained_model_dir, tmp_path):
    """macOS's AirPlay holds port 5000: gunicorn says so once and exits, instead of retrying."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**server_env(trained_model_dir), "PORT": str(port)}  # what `make serve PORT=` sets
        done = subprocess.run([*GUNICORN, APP], cwd=REPO_ROOT, env=env, capture_output=True,
                              text=True, timeout=START_TIMEOUT)  # fmt: skip
    assert done.returncode != 0
    errors = [line for line in done.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and f"127.0.0.1:{port}" in errors[0], done.stderr
    assert "make serve PORT=" in errors[0] and "Traceback" not in done.stderr
