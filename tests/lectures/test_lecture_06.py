"""Lecture 6 tells the truth: its make targets, files, settings and limits are the code's, and its
curl lines work against a real gunicorn with a key made by `make api-key`."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from movierec.processes import free_port, running
from tests.conftest import REPO_ROOT, VENV_BIN, require_tool
from tests.support import shell_lines

LECTURE = REPO_ROOT / "lectures" / "06_training_as_a_service.md"
TEXT = " ".join(LECTURE.read_text().split())  # one line: quotes may wrap in the file


def test_the_make_targets_it_names_exist():
    makefile = (REPO_ROOT / "Makefile").read_text()
    commands = [*re.findall(r"`(make [^`]+)`", TEXT), *shell_lines(LECTURE)]
    named = {line.split()[1] for line in commands if line.startswith("make ")} - {"install"}
    assert {"worker", "api-key", "serve", "retrain"} <= named
    for target in named | {"install"}:
        assert re.search(rf"^{target}:", makefile, re.M), f"no make {target}"


def test_every_repository_file_it_names_exists():
    folders = "movierec|flask_app|training_service|deploy|tests"
    for path in re.findall(rf"(?<![\w/.])((?:{folders})/[\w./-]+\w)", TEXT):
        assert (REPO_ROOT / path).exists(), f"the lecture names {path}"


def test_the_settings_and_limits_it_quotes_are_the_codes(app):
    from flask_app import auth, for_ratings, ratings_input, training

    sources = "".join(p.read_text() for p in [*(REPO_ROOT / "flask_app").glob("*.py"),
                                             REPO_ROOT / "movierec" / "locations.py"])  # fmt: skip
    for variable in set(re.findall(r"\b(MOVIEREC_[A-Z_]+|FLASK_[A-Z_]+)\b", TEXT)):
        name = variable.removeprefix("FLASK_")
        assert name in sources, f"the lecture names {variable}, which nothing reads"
    assert for_ratings.MAX_BODY == 512 * 1024 and "**512 KiB**" in TEXT
    assert training.MAX_BODY == 8 * 1024**2 and "**8 MiB**" in TEXT
    assert auth.MIN_KEY_LENGTH == 32 and "shorter than 32 characters" in TEXT
    assert ratings_input.URL_TIMEOUT == 5 and "512 KiB and 5 s in all" in TEXT
    assert app.config["TRAINING_QUEUE_SIZE"] == 5 and "with 5 jobs waiting" in TEXT
    assert app.config["TRAINING_TIME_LIMIT"] == 30 * 60 and "(30 minutes;" in TEXT
    assert app.config["JOB_TTL"] == 7 * 24 * 3600 and "kept 7 days" in TEXT


def test_the_figures_are_measured_not_placeholders():
    assert "FUZZ_RESULT" not in TEXT
    assert re.search(r"\*\*[\d,]+ requests in [\d.]+ s, 0 failed, 0 5xx", TEXT)


@pytest.mark.slow
def test_its_key_and_curl_lines_work_on_a_real_gunicorn(tmp_path: Path, trained_model_dir):
    """`make api-key`, then the lecture's curl lines (those for this machine) against gunicorn
    started with that key file, as `make serve` starts it."""
    curl = require_tool("curl")
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "HOME": str(home), "PATH": f"{VENV_BIN}:{os.environ['PATH']}"}
    env.pop("MAKEFLAGS", None)
    made = subprocess.run(["make", "-s", "api-key"], cwd=REPO_ROOT, env=env, capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    assert made.returncode == 0, made.stderr
    key_file = home / ".config" / "movierec" / "api-keys"
    key = made.stdout.strip()
    assert key_file.read_text().strip() == key and len(key) >= 32
    assert key_file.stat().st_mode & 0o077 == 0, "the key file is readable by others"

    port = free_port()
    server_env = {**env, "MOVIEREC_MODEL": str(trained_model_dir), "MOVIEREC_API_KEY_FILE":
                  str(key_file), "MOVIEREC_JOBS_DIR": str(tmp_path / "jobs")}  # fmt: skip
    (tmp_path / "my-ratings.csv").write_text("userId,movieId,rating,timestamp\n"
                                             "1,1,5,0\n1,2,4,0\n1,3,1,0\n")  # fmt: skip
    command = [str(VENV_BIN / "gunicorn"), "-c", "flask_app/gunicorn.conf.py", "-b",
               f"127.0.0.1:{port}", "flask_app:create_app()"]  # fmt: skip
    lines = [line for line in shell_lines(LECTURE)
             if line.startswith(("curl ", "KEY=")) and "example.com" not in line
             and "/retry" not in line]  # fmt: skip
    assert len(lines) >= 6, lines
    with running(command, tmp_path / "gunicorn.log", f"http://127.0.0.1:{port}/health", 90,
                 env=server_env, cwd=REPO_ROOT):  # fmt: skip
        job = None
        for line in lines:
            script = line.replace("127.0.0.1:5000", f"127.0.0.1:{port}")
            script = script.replace("curl ", f"{curl} ", 1)
            if line.startswith("KEY="):
                script += '\nprintf "%s" "$KEY"'  # the key the line read from the file
            shell_env = {**env, "KEY": key, "JOB": job or ""}
            bash = ["bash", "-e", "-o", "pipefail", "-c", script]
            done = subprocess.run(bash, cwd=tmp_path, env=shell_env, capture_output=True,
                                  text=True, timeout=30)  # fmt: skip
            assert done.returncode == 0, f"{line}: {done.stdout}{done.stderr}"
            if line.startswith("KEY="):
                assert done.stdout == key
            elif "-si -X POST" in line:
                assert done.stdout.startswith("HTTP/1.1 202"), done.stdout
                job = re.search(r"^Location: /train/status/(\w+)", done.stdout, re.M).group(1)
            elif "/train/status/" in line:
                assert re.search(r'"status": ?"queued"', done.stdout), done.stdout
            elif "x-model-version" in line:
                assert "X-Model-Version" in done.stdout
    assert job is not None
