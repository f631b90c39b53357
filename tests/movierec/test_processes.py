"""Starting and stopping servers: wait for a condition, stop the whole process group."""

from __future__ import annotations

import sys

import pytest

from movierec.processes import ServerError, answers, free_port, listening, running, wait_for


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie, dead but not yet reaped by its parent, does not count)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_running_waits_until_the_server_answers_and_stops_it_and_its_children(tmp_path):
    port, log = free_port(), tmp_path / "log"
    # A server that starts a child of its own, as gunicorn starts workers, and logs its pid.
    script = (
        "import subprocess, sys, http.server;"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']);"
        "print('child', child.pid, flush=True);"
        f"http.server.HTTPServer(('127.0.0.1', {port}), http.server.SimpleHTTPRequestHandler)"
        ".serve_forever()"
    )
    url = f"http://127.0.0.1:{port}/"
    with running([sys.executable, "-c", script], log, url, timeout=60, cwd=tmp_path) as server:
        assert answers(url)
        child = int(log.read_text().split("child ")[1].split()[0])
        assert alive(child)
    assert server.poll() is not None
    wait_for(lambda: not alive(child), 10, "the server's child to stop too")


def test_a_server_that_dies_at_start_shows_its_log(tmp_path):
    command = [sys.executable, "-c", "import sys; print('port taken'); sys.exit(3)"]
    expected = pytest.raises(ServerError, match="exited with 3 before it was ready:\n.*port taken")
    with expected, running(command, tmp_path / "log", "http://127.0.0.1:9/", timeout=30):
        pass


def test_wait_for_names_what_it_waited_for():
    with pytest.raises(TimeoutError, match="waiting for the moon"):
        wait_for(lambda: False, 0.2, "the moon")


def test_listening_tells_an_open_port_from_a_closed_one():
    import socket

    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        assert listening(server.getsockname()[1])
    assert not listening(free_port())
