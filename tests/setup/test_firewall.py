"""The firewall guide, proven with the project's 03_firewall.sh in private network namespaces.

Two namespaces joined by a veth cable play the server (127.100.0.1) and a machine on the
internet (127.100.0.2); 127.100.0.0/30 is loopback space, so no packet can leave this host.
ufw accepts everything on `lo`, which is why the test needs the cable; those 127.x addresses
on a normal interface need route_localnet=1, and `lo` stays down.

ufw only ever runs inside the server namespace, against private bind-mounted copies of
/etc/ufw and /etc/default/ufw (`ip netns exec` gives each command its own mount namespace).
A module fixture checks that the host's ufw files and iptables rules are unchanged.

What the server exposes is also looked at as lecture 1 shows it: `ss -tln` inside the server
lists every listener, `nmap` from the client namespace finds what the firewall lets through.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import require_root, require_tool
from tests.setup.harness import (
    DROPIN,
    SETUP,
    SshdLayout,
    connect,
    in_netns,
    network_namespaces,
    running,
    running_sshd,
    wait_for,
)

pytestmark = pytest.mark.slow

SERVER_ADDRESS = "127.100.0.1"
CLIENT_ADDRESS = "127.100.0.2"
OTHER_PORT = 5000  # e.g. Flask: must not be reachable from outside
WEB_PORTS = (80, 443)  # nginx (lecture 5): opened only with ALLOW_HTTPS=yes
# Decoys for the port scan: MLflow and Jupyter started by mistake on every address (0.0.0.0).
DECOY_PORTS = (5001, 8888)
# A bounded scan: the well-known ports and the course's own. It touches port 22 once, far below
# the 6 connections in 30 s that `limit OpenSSH` allows, so the scan itself is never cut off.
SCAN_PORTS = "1-1024,5000-5001,8888"

# Run in the client namespace: connect `count` times, report what happened to each attempt.
PROBE = """
import json, socket, sys
host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
outcomes = []
for _ in range(count):
    try:
        with socket.create_connection((host, port), timeout=1.5) as connection:
            banner = connection.recv(64) if port == 22 else b""
            outcomes.append("ssh" if banner.startswith(b"SSH-") else "open")
    except ConnectionRefusedError:
        outcomes.append("refused")
    except TimeoutError:
        outcomes.append("timeout")
print(json.dumps(outcomes))
"""

# Mount the private copies over ufw's paths, then run the command (inside `ip netns exec`).
WITH_PRIVATE_UFW = (
    'mount --bind "$1" /etc/ufw && mount --bind "$2" /etc/default/ufw && shift 2 && exec "$@"'
)


def host_ufw_state() -> dict[str, str]:
    """Hashes of the host's ufw files, plus its current iptables rules."""
    files = [
        Path("/etc/default/ufw"),
        *sorted(p for p in Path("/etc/ufw").rglob("*") if p.is_file()),
    ]
    state = {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    for tool in ("iptables", "ip6tables"):
        state[tool] = subprocess.run(
            [tool, "-S"], capture_output=True, text=True, timeout=30
        ).stdout
    return state


@pytest.fixture(scope="module", autouse=True)
def host_firewall_untouched() -> Iterator[None]:
    require_root()
    require_tool("ufw")
    require_tool("iptables")
    before = host_ufw_state()
    yield
    assert host_ufw_state() == before, "the host's ufw files or iptables rules changed"


@dataclass(frozen=True)
class FirewallLab:
    server_ns: str
    client_ns: str
    ufw_dir: Path  # private copy of /etc/ufw
    ufw_defaults: Path  # private copy of /etc/default/ufw

    def in_server(self, *command: str) -> list[str]:
        """`command` in the server namespace, seeing the private ufw files."""
        private_files = (str(self.ufw_dir), str(self.ufw_defaults))
        return in_netns(
            self.server_ns, "bash", "-c", WITH_PRIVATE_UFW, "_", *private_files, *command
        )

    def apply_firewall(self, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
        """Run 03_firewall.sh in the server with `args` and settings such as ALLOW_HTTPS="yes"."""
        assignments = [f"{name}={value}" for name, value in settings.items()]
        result = subprocess.run(
            self.in_server("env", *assignments, "bash", str(SETUP / "03_firewall.sh"), *args),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result

    def listening_ports(self) -> set[int]:
        """What `ss -tln` lists in the server: every TCP port a program listens on."""
        result = subprocess.run(
            in_netns(self.server_ns, "ss", "-Htln"), capture_output=True, text=True, timeout=30
        )
        assert result.returncode == 0, result.stderr
        return {int(line.split()[3].rsplit(":", 1)[1]) for line in result.stdout.splitlines()}

    def open_ports_seen_by_nmap(self) -> set[int]:
        """What `nmap` from the "internet" namespace finds open on the server."""
        nmap = require_tool("nmap")
        # -Pn: scan even if the host does not answer pings; -n: no DNS; -oX -: XML on stdout.
        result = subprocess.run(
            in_netns(
                self.client_ns,
                *(nmap, "-Pn", "-n", "--max-retries", "1", "-p", SCAN_PORTS, "-oX", "-"),
                SERVER_ADDRESS,
            ),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        ports = ElementTree.fromstring(result.stdout).iter("port")
        return {int(p.get("portid")) for p in ports if p.find("state").get("state") == "open"}

    def probe(self, port: int, count: int = 1) -> list[str]:
        result = subprocess.run(
            in_netns(
                self.client_ns, sys.executable, "-c", PROBE, SERVER_ADDRESS, str(port), str(count)
            ),
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[FirewallLab]:
    """A fresh pair of namespaces per test: ufw's rate-limit memory lasts 30 s."""
    ufw_dir, ufw_defaults = tmp_path / "etc-ufw", tmp_path / "default-ufw"
    shutil.copytree("/etc/ufw", ufw_dir, symlinks=True)
    shutil.copy2("/etc/default/ufw", ufw_defaults)
    with network_namespaces("fw-server", "fw-client") as (server_ns, client_ns):
        connect(
            (server_ns, "veth-server", SERVER_ADDRESS), (client_ns, "veth-client", CLIENT_ADDRESS)
        )
        yield FirewallLab(server_ns, client_ns, ufw_dir, ufw_defaults)


@pytest.fixture
def servers(lab: FirewallLab, make_sshd_layout, tmp_path: Path) -> Iterator[None]:
    """A real sshd on port 22 and a web server on OTHER_PORT, both inside the server namespace."""
    layout: SshdLayout = make_sshd_layout(tmp_path / "sshd", address=SERVER_ADDRESS, port=22)
    shutil.copy(DROPIN, layout.dropin_dir)
    web_server = in_netns(
        lab.server_ns,
        sys.executable,
        "-m",
        "http.server",
        "--bind",
        SERVER_ADDRESS,
        str(OTHER_PORT),
    )
    with (
        running_sshd(layout, netns=lab.server_ns),
        running(web_server, tmp_path / "web.log", cwd=tmp_path),
    ):
        wait_for(lambda: lab.probe(OTHER_PORT) == ["open"], 10, "the web server to listen")
        yield


@pytest.mark.usefixtures("servers")
def test_ssh_gets_in_and_other_ports_are_dropped(lab: FirewallLab):
    # Control: before the firewall, both ports answer from the "internet" namespace.
    assert lab.probe(22) == ["ssh"]
    assert lab.probe(OTHER_PORT) == ["open"]

    lab.apply_firewall()

    assert lab.probe(22) == ["ssh"]
    # Dropped, not refused: the sender gets no answer at all.
    assert lab.probe(OTHER_PORT) == ["timeout"]


@pytest.mark.usefixtures("servers")
def test_a_burst_of_ssh_connections_is_cut_off(lab: FirewallLab):
    lab.apply_firewall()
    # `ufw limit`: the 6th new connection from one address within 30 seconds is rejected.
    assert lab.probe(22, count=6) == ["ssh"] * 5 + ["refused"]


@pytest.mark.usefixtures("servers")
def test_nmap_from_outside_sees_only_ssh(lab: FirewallLab, tmp_path: Path):
    """Programs may listen on any port; from outside, the firewall lets only SSH be seen."""
    decoys = [
        in_netns(lab.server_ns, sys.executable, "-m", "http.server", "--bind", "0.0.0.0", str(p))
        for p in DECOY_PORTS
    ]
    with (
        running(decoys[0], tmp_path / "decoy-1.log", cwd=tmp_path),
        running(decoys[1], tmp_path / "decoy-2.log", cwd=tmp_path),
    ):
        wait_for(lambda: lab.listening_ports() >= set(DECOY_PORTS), 10, "the decoys to listen")
        everything = {22, OTHER_PORT, *DECOY_PORTS}
        assert lab.listening_ports() == everything
        # Control: without the firewall the scan finds every listener.
        assert lab.open_ports_seen_by_nmap() == everything

        lab.apply_firewall()

        assert lab.listening_ports() == everything  # still running...
        assert lab.open_ports_seen_by_nmap() == {22}  # ...but only SSH can be reached


def test_dry_run_changes_nothing_and_a_second_run_nothing_more(lab: FirewallLab):
    # Start from a server whose default policy was loosened, to see it repaired.
    defaults = lab.ufw_defaults.read_text()
    lab.ufw_defaults.write_text(
        defaults.replace('DEFAULT_INPUT_POLICY="DROP"', 'DEFAULT_INPUT_POLICY="ACCEPT"')
    )
    before = {
        p: p.read_bytes()
        for p in [lab.ufw_defaults, *lab.ufw_dir.rglob("*.conf"), *lab.ufw_dir.rglob("*.rules")]
    }

    dry = lab.apply_firewall("--dry-run")
    assert "dry run: 3 change(s) would be made" in dry.stdout
    assert {p: p.read_bytes() for p in before} == before, "--dry-run must not write anything"

    first = lab.apply_firewall()
    assert "done:    3 change(s) made." in first.stdout
    assert "ENABLED=yes" in (lab.ufw_dir / "ufw.conf").read_text()
    assert 'DEFAULT_INPUT_POLICY="DROP"' in lab.ufw_defaults.read_text()

    second = lab.apply_firewall()
    assert "nothing to change" in second.stdout
    assert "change:" not in second.stdout


@pytest.mark.usefixtures("servers")
def test_allow_https_opens_80_and_443_and_nothing_else(lab: FirewallLab, tmp_path: Path):
    """Lecture 5: with nginx in front of the app, ALLOW_HTTPS=yes lets the web's two ports in;
    Flask's own port stays dropped, and SSH keeps its limit."""
    web = [
        in_netns(
            lab.server_ns, sys.executable, "-m", "http.server", "--bind", SERVER_ADDRESS, str(p)
        )
        for p in WEB_PORTS
    ]
    with (
        running(web[0], tmp_path / "web-80.log", cwd=tmp_path),
        running(web[1], tmp_path / "web-443.log", cwd=tmp_path),
    ):
        wait_for(lambda: lab.listening_ports() >= set(WEB_PORTS), 10, "ports 80 and 443")
        lab.apply_firewall()  # SSH only: the web's ports stay closed
        assert [lab.probe(p) for p in WEB_PORTS] == [["timeout"], ["timeout"]]

        first = lab.apply_firewall(ALLOW_HTTPS="yes")
        assert "done:    2 change(s) made." in first.stdout, first.stdout
        assert [lab.probe(p) for p in WEB_PORTS] == [["open"], ["open"]]
        assert lab.probe(OTHER_PORT) == ["timeout"]
        assert lab.probe(22, count=6) == ["ssh"] * 5 + ["refused"]

        second = lab.apply_firewall(ALLOW_HTTPS="yes")
        assert "nothing to change" in second.stdout and "WARNING" not in second.stderr
        # Run later without it, the script does not close them, but says they are open.
        without = lab.apply_firewall()
        assert "extra rule 'ufw allow 443/tcp'" in without.stderr


def test_allow_https_takes_only_yes_or_no(lab: FirewallLab):
    result = subprocess.run(
        lab.in_server("env", "ALLOW_HTTPS=maybe", "bash", str(SETUP / "03_firewall.sh")),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "ALLOW_HTTPS must be yes or no" in result.stderr
