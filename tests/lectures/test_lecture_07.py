"""Lecture 7 tells the truth: its files exist, its commands parse, its curl lines answer from a
real gunicorn in store mode, and its figures are measured ones. (Its links and its rows in the
course maps are checked for every lecture: tests/docs/test_links.py and test_lectures.py.)"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from flask_app import create_app
from movierec.batch import build_store
from movierec.cli import build_parser
from movierec.processes import free_port, running
from tests.conftest import REPO_ROOT, VENV_BIN, require_tool
from tests.support import shell_lines

LECTURE = REPO_ROOT / "lectures" / "07_batch_spark_cloud.md"
GUIDE = REPO_ROOT / "deploy" / "aws" / "README.md"


def test_every_repository_file_in_the_commands_exists():
    for line in shell_lines(LECTURE):
        for path in re.findall(r"(?<![\w/])((?:movierec|flask_app|bench|deploy)/[\w./-]+)", line):
            assert (REPO_ROOT / path).exists(), f"{line}: no {path}"


def movierec_commands(document: Path) -> list[list[str]]:
    """The argument lists of every `python -m movierec ...` in the document's bash blocks."""
    commands = []
    for line in shell_lines(document):
        for part in re.split(r"&&|;", line.split(" #")[0]):
            words = shlex.split(part)
            if words[:3] == ["python", "-m", "movierec"]:
                commands.append(words[3:])
    return commands


def test_every_movierec_command_of_the_lecture_parses():
    commands = movierec_commands(LECTURE)
    assert {"batch", "spark-als", "train"} <= {c[0] for c in commands}
    for argv in commands:
        build_parser().parse_args(argv)  # a wrong option would exit with code 2


def test_the_limit_the_lecture_quotes_is_the_apps(tmp_path, trained_model_dir):
    build_store(trained_model_dir, tmp_path / "top20.sqlite", k=20)
    client = create_app({"TESTING": True, "MOVIEREC_STORE": str(tmp_path / "top20.sqlite")})
    message = client.test_client().get("/recommendations/1?k=50").json["error"]
    quoted = re.search(r"`\?k=50` answers `([^`]+)`", " ".join(LECTURE.read_text().split()))
    assert quoted and message.startswith(quoted.group(1))


def test_the_lecture_shows_measured_figures_not_placeholders():
    text = LECTURE.read_text()
    assert "SPARK_BENCHMARK_TABLE" not in text
    assert re.search(r"^\| store \(`/recommendations/1`\) \| [\d.]+ s \| \d+ MB \|", text, re.M)
    assert re.search(r"^\| u1 \| 0\.9\d+ \|", text, re.M)


@pytest.mark.slow
def test_the_lectures_gunicorn_and_curl_lines_work_in_store_mode(tmp_path, trained_model_dir):
    """The lecture's own command, in a copy of the layout it expects; its curl lines on it."""
    curl = require_tool("curl")
    (serve,) = [line for line in shell_lines(LECTURE) if line.startswith("MOVIEREC_STORE=")]
    setting, *command = shlex.split(serve)
    store = tmp_path / setting.split("=", 1)[1]
    build_store(trained_model_dir, store)
    port = free_port()
    env = {**os.environ, "MOVIEREC_STORE": str(store), "PORT": str(port),
           "PATH": f"{VENV_BIN}:{os.environ['PATH']}"}  # fmt: skip
    env.pop("MOVIEREC_MODEL", None)
    health = f"http://127.0.0.1:{port}/health"
    command = [str(VENV_BIN / command[0]), *command[1:]]
    with running(command, tmp_path / "gunicorn.log", health, timeout=60, env=env, cwd=REPO_ROOT):
        lines = [line for line in shell_lines(LECTURE) if line.startswith("curl ")]
        assert len(lines) == 3
        for line in lines:
            argv = shlex.split(line.replace("127.0.0.1:5000", f"127.0.0.1:{port}"))
            done = subprocess.run([curl, *argv[1:]], capture_output=True, text=True, timeout=30)
            assert done.returncode == 0, f"{line}: {done.stderr}"
            if "999999" in line:
                assert "404" in done.stdout.splitlines()[0] and "unknown user" in done.stdout
            else:
                assert '"status"' in done.stdout or '"model_version"' in done.stdout
