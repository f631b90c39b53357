"""Jump hosts, proven with the repository's setup/ssh_config.example and two real sshd servers.

Three network namespaces play the laptop, the login node ("bastion") and a compute node, joined
by two cables: laptop - login - compute. The laptop has no route to the compute node, so the
only way there is through the login node's sshd, as on a real cluster. A web server on the
compute node listens on its 127.0.0.1 only, like a Jupyter or Flask there would.

The ssh client reads a test config that sets the addresses, user and key, then Includes the
example: ssh keeps the first value it finds, so everything else (ProxyJump, LocalForward,
IdentitiesOnly) comes from the example file exactly as a student copies it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import require_tool
from tests.setup.harness import (
    DROPIN,
    SETUP,
    SshdLayout,
    VpsUser,
    agentless_env,
    connect,
    in_netns,
    loopback_up,
    network_namespaces,
    running,
    running_sshd,
    wait_for,
)

pytestmark = pytest.mark.slow

EXAMPLE_CONFIG = SETUP / "ssh_config.example"
LOGIN_ADDRESS, LAPTOP_ADDRESS = "127.101.0.1", "127.101.0.2"  # cable laptop - login
LOGIN_INNER_ADDRESS, COMPUTE_ADDRESS = "127.102.0.1", "127.102.0.2"  # cable login - compute
SERVICE_PORT = 8080  # on compute's 127.0.0.1, as in the example's LocalForward
FORWARDED_PORT = 5000  # on the laptop's 127.0.0.1, as in the example's LocalForward

# Run in a namespace: print the body of an HTTP GET, or nothing if the request fails.
FETCH = """
import sys, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=2) as response:
        print(response.read().decode(), end="")
except OSError:
    pass
"""


@dataclass(frozen=True)
class JumpLab:
    laptop_ns: str
    login: SshdLayout
    compute: SshdLayout
    ssh_config: Path  # the test's settings, then `Include` of the repository's example
    page: str  # what the web server on the compute node serves

    def ssh(self, *arguments: str) -> list[str]:
        """The ssh command, run on the "laptop"."""
        return in_netns(self.laptop_ns, "ssh", "-F", str(self.ssh_config), *arguments)

    def fetch(self, url: str) -> str:
        """GET `url` from the laptop; "" if it fails."""
        result = subprocess.run(
            in_netns(self.laptop_ns, sys.executable, "-c", FETCH, url),
            capture_output=True,
            text=True,
            timeout=30,
        )
        return result.stdout


def write_ssh_config(directory: Path, user: VpsUser) -> Path:
    """Only what differs from a student's laptop, then the example file itself."""
    config = directory / "ssh_config"
    config.write_text(
        f"Host login\n    HostName {LOGIN_ADDRESS}\n"
        f"Host compute\n    HostName {COMPUTE_ADDRESS}\n"
        "Host *\n"
        f"    User {user.name}\n"
        f"    IdentityFile {user.private_key}\n"
        f"    UserKnownHostsFile {directory / 'known_hosts'}\n"
        "    GlobalKnownHostsFile /dev/null\n"
        "    StrictHostKeyChecking accept-new\n"
        "    BatchMode yes\n"
        "    ConnectTimeout 5\n"
        "    LogLevel ERROR\n"
        f"Include {EXAMPLE_CONFIG}\n"
    )
    return config


@pytest.fixture(scope="module")
def jump_lab(tmp_path_factory, make_sshd_layout, vps_user: VpsUser) -> Iterator[JumpLab]:
    require_tool("ssh")
    directory = tmp_path_factory.mktemp("jump-host")
    with network_namespaces("laptop", "login", "compute") as (laptop_ns, login_ns, compute_ns):
        connect((login_ns, "veth-laptop", LOGIN_ADDRESS), (laptop_ns, "veth-login", LAPTOP_ADDRESS))
        connect(
            (login_ns, "veth-compute", LOGIN_INNER_ADDRESS),
            (compute_ns, "veth-login", COMPUTE_ADDRESS),
        )
        # The tunnel's laptop end and the compute node's service both live on 127.0.0.1.
        loopback_up(laptop_ns)
        loopback_up(compute_ns)

        login = make_sshd_layout(directory / "login-sshd", address=LOGIN_ADDRESS, port=22)
        compute = make_sshd_layout(directory / "compute-sshd", address=COMPUTE_ADDRESS, port=22)
        for layout in (login, compute):
            shutil.copy(DROPIN, layout.dropin_dir)  # both servers hardened like the course's

        site = directory / "site"
        site.mkdir()
        page = f"served on the compute node for {vps_user.name}\n"
        (site / "index.html").write_text(page)
        web_server = in_netns(
            compute_ns,
            *(sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(SERVICE_PORT)),
        )
        with (
            running_sshd(login, netns=login_ns),
            running_sshd(compute, netns=compute_ns),
            running(web_server, directory / "web.log", cwd=site),
        ):
            lab = JumpLab(laptop_ns, login, compute, write_ssh_config(directory, vps_user), page)
            yield lab


def test_compute_node_is_unreachable_without_the_jump_host(jump_lab: JumpLab):
    """Control: from the laptop, a direct connection to the compute node fails."""
    # Command-line options come first, so they win over the example's ProxyJump.
    result = subprocess.run(
        jump_lab.ssh("-o", "ProxyJump=none", "compute", "true"),
        env=agentless_env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 255
    assert "Network is unreachable" in result.stderr


def test_ssh_compute_logs_in_through_the_login_node(jump_lab: JumpLab, vps_user: VpsUser):
    """`ssh compute` logs in on the compute node, and that node sees the login node connect."""
    result = subprocess.run(
        jump_lab.ssh("compute", "whoami"),
        env=agentless_env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == vps_user.name
    accepted = f"Accepted publickey for {vps_user.name} from {LOGIN_INNER_ADDRESS}"
    assert accepted in jump_lab.compute.log.read_text()


def test_local_forward_reaches_a_service_on_the_compute_node(jump_lab: JumpLab, tmp_path: Path):
    """The example's LocalForward makes the node's 127.0.0.1:8080 the laptop's localhost:5000."""
    url = f"http://127.0.0.1:{FORWARDED_PORT}/"
    assert jump_lab.fetch(url) == ""  # control: nothing there before the tunnel
    tunnel = jump_lab.ssh("-N", "-o", "ExitOnForwardFailure=yes", "compute")
    with running(tunnel, tmp_path / "tunnel.log", env=agentless_env()) as process:
        wait_for(
            lambda: jump_lab.fetch(url) or process.poll() is not None, 15, "the tunnel to open"
        )
        assert process.poll() is None, (tmp_path / "tunnel.log").read_text()
        assert jump_lab.fetch(url) == jump_lab.page


def test_tunnel_sh_follows_the_example_configs_jump_host(jump_lab: JumpLab, tmp_path: Path):
    """tunnel.sh takes a Host alias from the config, ProxyJump included."""
    laptop_port = FORWARDED_PORT + 1  # the alias's own LocalForward holds 5000
    env = {
        **agentless_env(),
        "VPS_HOST": "compute",
        "SSH_CONFIG_FILE": str(jump_lab.ssh_config),
        "TUNNEL_PORTS": f"{laptop_port}:{SERVICE_PORT}",
    }
    url = f"http://127.0.0.1:{laptop_port}/"
    tunnel = in_netns(jump_lab.laptop_ns, "bash", str(SETUP / "tunnel.sh"))
    with running(tunnel, tmp_path / "tunnel.log", env=env) as process:
        wait_for(
            lambda: jump_lab.fetch(url) or process.poll() is not None, 15, "tunnel.sh to connect"
        )
        assert process.poll() is None, (tmp_path / "tunnel.log").read_text()
        assert jump_lab.fetch(url) == jump_lab.page
