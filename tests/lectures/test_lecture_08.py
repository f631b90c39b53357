"""Lecture 8 tells the truth: its jq lines work on what the access logger writes (with gunicorn's
own lines mixed in, as in the journal), its monitor command parses, and the README's map has it."""

from __future__ import annotations

import json
import shlex
import subprocess
from datetime import timedelta
from types import SimpleNamespace

import pytest

from flask_app.access_log import access_record
from movierec.cli import build_parser
from tests.conftest import REPO_ROOT, require_tool
from tests.support import shell_lines

LECTURE = REPO_ROOT / "lectures" / "08_monitoring.md"


def journal(tmp_path):
    """What `journalctl -o cat` prints for the unit: gunicorn's messages and JSON lines."""
    lines = ["[2026-11-23 10:00:00 +0000] [41] [INFO] Booting worker with pid: 41"]
    for i, (status, ms) in enumerate([(200, 1.5), (404, 0.8), (200, 250.0), (500, 3.0)]):
        response = SimpleNamespace(status=f"{status} X", headers=[], sent=10)
        environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/recommend",
                   "QUERY_STRING": f"user_id={i}", "movierec.request_id": f"id-{i}"}  # fmt: skip
        lines.append(json.dumps(access_record(response, environ, timedelta(milliseconds=ms))))
    lines.append("Traceback (most recent call last):")
    log = tmp_path / "journal.txt"
    log.write_text("\n".join(lines) + "\n")
    return log


def jq_lines() -> list[str]:
    return [line for line in shell_lines(LECTURE) if "| jq" in line]


def test_the_lecture_has_jq_lines():
    assert len(jq_lines()) >= 2


@pytest.mark.parametrize("line", jq_lines())
def test_each_jq_line_works_on_the_journal(line, tmp_path):
    """The journalctl part is replaced by the log file; the rest runs as written, in bash."""
    require_tool("jq")
    pipeline = line.split("|", 1)[1]
    script = f"cat {journal(tmp_path)} |{pipeline}"
    result = subprocess.run(["bash", "-o", "pipefail", "-c", script],
                            capture_output=True, text=True, timeout=30)  # fmt: skip
    assert result.returncode == 0, result.stderr
    if "sort_by(-.duration_ms)" in line:
        slowest = json.loads(result.stdout)
        assert [r["request_id"] for r in slowest] == ["id-2", "id-3", "id-0", "id-1"]
    else:
        counts = dict(reversed(row.split()) for row in result.stdout.strip().splitlines())
        assert counts == {"200": "2", "404": "1", "500": "1"}


def test_the_monitor_commands_parse():
    commands = [line for line in shell_lines(LECTURE) if line.startswith("python -m movierec ")]
    assert commands
    for command in commands:
        build_parser().parse_args(shlex.split(command.split(" #")[0])[3:])


def test_the_course_maps_have_the_lecture():
    assert "](lectures/08_monitoring.md)" in (REPO_ROOT / "README.md").read_text()
    assert "](08_monitoring.md)" in (REPO_ROOT / "lectures" / "00_overview.md").read_text()
