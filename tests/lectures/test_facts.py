"""Facts the lectures state, checked against the code or the system they describe.

Each of these was once wrong in the text: a figure that disagreed with its own table, a status
named differently than the server sends it, a default path that moved, a claim about sshd
that Debian's unit contradicts, two files that disagreed on a number.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, require

LECTURES = REPO_ROOT / "lectures"
LECTURE_1 = LECTURES / "01_vps_ssh_firewall_conda_jupyter.md"
LECTURE_2 = LECTURES / "02_data_model_persistence.md"
LECTURE_3 = LECTURES / "03_serving_with_flask.md"


def test_every_status_in_lecture_3_is_named_as_werkzeug_sends_it():
    from werkzeug.http import HTTP_STATUS_CODES

    rows = re.findall(r"^\| (\d{3}) ([A-Z][A-Za-z ]+?) \|", LECTURE_3.read_text(), re.M)
    assert len(rows) >= 6, rows
    for code, name in rows:
        assert HTTP_STATUS_CODES[int(code)] == name, f"{code} {name}"


def test_lecture_3_quotes_its_own_gunicorn_figures():
    text = LECTURE_3.read_text()
    requests, p99 = re.search(
        r"^\| gunicorn \+ Flask, 2 sync workers \| ([\d,]+) \| [\d.]+ ms \| ([\d.]+) ms \|",
        text,
        re.M,
    ).groups()
    quoted = re.search(r"gunicorn served about ([\d,]+)\s+requests per second with a p99 of "
                       r"([\d.]+) ms \(section 5\)", text)  # fmt: skip
    assert quoted, "the sentence of section 8 that quotes section 5 has changed: update this test"
    assert quoted.group(2) == p99
    assert abs(int(quoted.group(1).replace(",", "")) - int(requests.replace(",", ""))) <= 100


def test_lecture_3_places_the_control_socket_where_gunicorn_does():
    from gunicorn.config import ControlSocket

    assert ControlSocket.default_doc == (
        "$XDG_RUNTIME_DIR/gunicorn.ctl or $HOME/.gunicorn/gunicorn.ctl"
    )
    row = next(line for line in LECTURE_3.read_text().splitlines() if "control_socket" in line)
    assert "`$XDG_RUNTIME_DIR/gunicorn.ctl`" in row and "`~/.gunicorn/gunicorn.ctl`" in row


def test_debians_ssh_unit_checks_the_configuration_before_a_reload_and_a_start():
    """Lecture 1: a reload refuses a broken file; the next start (restart, reboot) fails."""
    unit = Path("/lib/systemd/system/ssh.service")
    require(unit.is_file(), "openssh-server's systemd unit is not installed")
    settings = unit.read_text()
    assert re.search(r"^ExecReload=/usr/sbin/sshd -t$", settings, re.M)
    assert re.search(r"^ExecStartPre=/usr/sbin/sshd -t$", settings, re.M)
    text = LECTURE_1.read_text()
    assert "runs it before every\n   `systemctl reload ssh`" in text
    assert "`systemctl restart ssh` or a reboot" in text


@pytest.mark.parametrize("document", [LECTURE_1, REPO_ROOT / "setup" / "README.md"],
                         ids=lambda p: p.relative_to(REPO_ROOT).as_posix())  # fmt: skip
def test_one_server_size_everywhere(document: Path):
    text = " ".join(document.read_text().split())
    assert "2 vCPUs, 4 GB RAM and 40 GB of disk" in text


def test_lecture_2_and_notebook_01_count_the_long_tail_alike():
    notebook = (REPO_ROOT / "notebooks" / "01_explore_movielens.ipynb").read_text()
    (threshold,) = set(re.findall(r"per_movie < (\d+)", notebook))
    assert f"fewer than {threshold} ratings" in " ".join(LECTURE_2.read_text().split())


def test_no_file_claims_the_pytorch_conda_channel_is_gone():
    """The `pytorch` channel stopped at torch 2.5 (2024); it still exists, without 2.13."""
    for path in [REPO_ROOT / "environment.yml", *LECTURES.glob("*.md")]:
        assert "channel no longer exists" not in " ".join(path.read_text().split()), path.name
