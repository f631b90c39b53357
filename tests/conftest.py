"""Fixtures shared by the whole suite.

A grader runs `make test`; CI runs the same command with CI=true. Tests that need a system tool
(sshd, ufw, chromium, ...) skip with a clear reason on a laptop that lacks it, but *fail* under CI,
where `.ci/run` installs every tool: a green CI run never hides a skipped check.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent
IN_CI = bool(os.environ.get("CI"))


def require(condition: bool, reason: str) -> None:
    """Skip the calling test when `condition` is false, or fail it when running in CI."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI must provide this: {reason}")
    pytest.skip(reason)


def require_tool(name: str) -> str:
    """Return the absolute path of a command-line tool, or skip/fail (see `require`)."""
    path = shutil.which(name) or next(
        (str(p) for p in (Path("/usr/sbin") / name, Path("/sbin") / name) if p.exists()), None
    )
    require(path is not None, f"`{name}` is not installed (see .ci/run for the Debian packages)")
    return str(path)


def require_root() -> None:
    require(os.geteuid() == 0, "needs root (network namespaces, sshd, ufw)")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
