"""The Jupyter guide, proven end to end: the project's Jupyter config (installed by 05_jupyter.sh)
on 127.0.0.1, reached through setup/tunnel.sh and the hardened sshd, with and without the token.
"""

from __future__ import annotations

import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from movierec.processes import free_port
from tests.conftest import VENV_BIN, require, require_tool
from tests.setup.harness import (
    SETUP,
    SshdLayout,
    VpsUser,
    agentless_env,
    run_script,
    running,
    wait_for,
)

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Jupyter:
    port: int
    token: str
    # A second JupyterLab, started at the same time on a port that was already taken.
    on_busy_port: subprocess.Popen
    on_busy_port_log: Path


def jupyter_env(home: Path) -> dict[str, str]:
    """Every Jupyter and IPython directory inside the test's own home."""
    return {
        **agentless_env(),
        "HOME": str(home),
        "JUPYTER_CONFIG_DIR": str(home / ".jupyter"),
        "JUPYTER_DATA_DIR": str(home / "jupyter-data"),
        "JUPYTER_RUNTIME_DIR": str(home / "jupyter-runtime"),
        "IPYTHONDIR": str(home / "ipython"),
    }


def jupyter_command(port: int) -> list[str]:
    # --allow-root: the test runs as root; a student runs Jupyter as their own user.
    return [str(VENV_BIN / "jupyter"), "lab", "--allow-root", f"--ServerApp.port={port}"]


def http_status(url: str, token: str | None = None) -> int:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"token {token}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def accepts_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Jupyter]:
    require((VENV_BIN / "jupyter").exists(), "jupyterlab is not installed in the venv")
    home = tmp_path_factory.mktemp("jupyter-home")
    env = jupyter_env(home)
    run_script(
        "05_jupyter.sh",
        env={
            **env,
            "ALLOW_ROOT": "yes",
            "START_SERVICE": "no",
            "JUPYTER_BIN": str(VENV_BIN / "jupyter"),
        },
    )
    token = (home / ".jupyter" / "course_token").read_text().strip()
    port = free_port()  # on the command line, which wins over the config's 8888
    busy_log = home / "jupyter-on-busy-port.log"
    with socket.socket() as squatter:  # holds a port, like an older Jupyter would
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        busy_port = squatter.getsockname()[1]
        # Both start side by side, which halves the wait on a 2-core machine.
        with (
            running(jupyter_command(port), home / "jupyter.log", env=env, cwd=home) as process,
            running(jupyter_command(busy_port), busy_log, env=env, cwd=home) as on_busy_port,
        ):
            wait_for(
                lambda: accepts_connections(port) or process.poll() is not None,
                60,
                "JupyterLab to start",
            )
            assert process.poll() is None, (home / "jupyter.log").read_text()
            yield Jupyter(port, token, on_busy_port, busy_log)


def tunnel_env(server: SshdLayout, user: VpsUser, ssh_config: Path, ports: str) -> dict[str, str]:
    return {
        **agentless_env(),
        "VPS_HOST": server.address,
        "VPS_SSH_PORT": str(server.port),
        "VPS_USER": user.name,
        "SSH_KEY": str(user.private_key),
        "SSH_CONFIG_FILE": str(ssh_config),
        "TUNNEL_PORTS": ports,
    }


def test_jupyter_listens_on_loopback_only(jupyter: Jupyter):
    require_tool("ss")
    listeners = subprocess.run(
        ["ss", "-Hltn", f"sport = :{jupyter.port}"], capture_output=True, text=True, timeout=10
    ).stdout.split()
    local_addresses = [field for field in listeners if field.endswith(f":{jupyter.port}")]
    assert local_addresses == [f"127.0.0.1:{jupyter.port}"]


def test_jupyter_through_the_tunnel_needs_the_token(
    jupyter: Jupyter, hardened_sshd, vps_user, ssh_client, tmp_path
):
    laptop_port = free_port()
    env = tunnel_env(hardened_sshd, vps_user, ssh_client.config, f"{laptop_port}:{jupyter.port}")
    with running(["bash", str(SETUP / "tunnel.sh")], tmp_path / "tunnel.log", env=env) as tunnel:
        wait_for(
            lambda: accepts_connections(laptop_port) or tunnel.poll() is not None, 15, "the tunnel"
        )
        assert tunnel.poll() is None, (tmp_path / "tunnel.log").read_text()

        url = f"http://127.0.0.1:{laptop_port}/api/status"
        assert http_status(url, jupyter.token) == 200
        assert http_status(url) == 403
        assert http_status(url, "not-the-token") == 403


def test_tunnel_stops_when_a_laptop_port_is_taken(hardened_sshd, vps_user, ssh_client, tmp_path):
    with socket.socket() as squatter:  # e.g. a Jupyter already running on the laptop
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        busy_port = squatter.getsockname()[1]
        env = tunnel_env(hardened_sshd, vps_user, ssh_client.config, f"{busy_port}:8888")
        result = subprocess.run(
            ["bash", str(SETUP / "tunnel.sh")], env=env, capture_output=True, text=True, timeout=30
        )
    # ExitOnForwardFailure: an error and an exit, not a tunnel silently missing that port.
    assert result.returncode != 0
    assert "Address already in use" in result.stderr


def test_jupyter_stops_when_its_port_is_taken(jupyter: Jupyter):
    # port_retries = 0: Jupyter fails instead of moving on to the next port.
    assert jupyter.on_busy_port.wait(timeout=60) != 0
    assert "already in use" in jupyter.on_busy_port_log.read_text()
