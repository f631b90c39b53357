"""Helpers for the VPS guide tests: run the setup scripts, real sshd servers, an SSH client.

Every server listens on 127.0.0.1 (or inside a private network namespace) with its own config,
host key, pid file and log; the host's own sshd and /etc/ssh are never used. The setup scripts
are pointed at these files through their environment variables (SSHD_CONFIG, ...).
"""

from __future__ import annotations

import itertools
import os
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from movierec.processes import running, wait_for
from tests.conftest import REPO_ROOT, require_root, require_tool

SETUP = REPO_ROOT / "setup"
DROPIN = SETUP / "sshd_config.d" / "10-course-hardening.conf"
SSHD = "/usr/sbin/sshd"  # sshd re-executes itself on reload, so always an absolute path


def run_script(
    name: str,
    *args: str,
    env: dict[str, str] | None = None,
    check: bool = True,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    """Run setup/<name> with extra environment variables; on failure show its output."""
    result = subprocess.run(
        ["bash", str(SETUP / name), *args],
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        pytest.fail(f"{name} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def make_key(path: Path, comment: str) -> Path:
    """A new passphrase-less ed25519 key pair: `path` and `path`.pub."""
    require_tool("ssh-keygen")
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(path)],
        check=True,
        timeout=30,
    )
    return path


def user_exists(name: str) -> bool:
    return subprocess.run(["id", name], capture_output=True, timeout=10).returncode == 0


@dataclass(frozen=True)
class VpsUser:
    name: str
    private_key: Path
    password: str


@dataclass(frozen=True)
class SshdLayout:
    """The files of one test sshd. The main config Includes dropin_dir first, as Debian's does."""

    config: Path
    dropin_dir: Path
    log: Path
    address: str
    port: int


def make_host_keys(directory: Path) -> list[Path]:
    """The host keys of a fresh Debian server (RSA 3072, ECDSA P-256, ed25519), made the same way.

    `ssh-keygen -A` is what the openssh-server package runs when it is installed.
    """
    require_tool("ssh-keygen")
    (directory / "etc" / "ssh").mkdir(parents=True)
    subprocess.run(
        ["ssh-keygen", "-A", "-f", str(directory)], check=True, capture_output=True, timeout=60
    )
    return sorted((directory / "etc" / "ssh").glob("ssh_host_*_key"))


def write_sshd_layout(
    directory: Path, *, host_keys: Sequence[Path], root_keys: Path, address: str, port: int
) -> SshdLayout:
    directory.mkdir(parents=True, exist_ok=True)
    dropin_dir = directory / "sshd_config.d"
    dropin_dir.mkdir()
    layout = SshdLayout(
        directory / "sshd_config", dropin_dir, directory / "sshd.log", address, port
    )
    # Only what a test server needs: every security setting comes from the drop-ins.
    # UsePAM no because PAM sessions do not work in every container.
    # root's keys live in a separate file so the tests can show root is refused anyway.
    layout.config.write_text(
        f"Include {dropin_dir}/*.conf\n"
        f"ListenAddress {address}\n"
        f"Port {port}\n"
        + "".join(f"HostKey {key}\n" for key in host_keys)
        + f"PidFile {directory / 'sshd.pid'}\n"
        "UsePAM no\n"
        "Match User root\n"
        f"    AuthorizedKeysFile {root_keys}\n"
    )
    return layout


def listening_count(layout: SshdLayout) -> int:
    """How many times sshd has (re)started listening: once at start, once per reload."""
    if not layout.log.exists():
        return 0
    return layout.log.read_text().count(f"Server listening on {layout.address} port {layout.port}")


@contextmanager
def running_sshd(layout: SshdLayout, netns: str | None = None) -> Iterator[subprocess.Popen]:
    """A real sshd in the foreground (-D) with the layout's config, inside `netns` if given."""
    require_root()
    require_tool("sshd")
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege-separation directory
    command = [SSHD, "-D", "-f", str(layout.config), "-E", str(layout.log)]
    if netns:
        command = ["ip", "netns", "exec", netns, *command]
    with running(command, layout.log.with_suffix(".out")) as process:
        wait_for(
            lambda: listening_count(layout) >= 1 or process.poll() is not None, 10, "sshd to listen"
        )
        if process.poll() is not None:
            pytest.fail(f"sshd exited {process.returncode}:\n{layout.log.read_text()}")
        yield process


def effective_sshd_settings(layout: SshdLayout) -> list[str]:
    """`sshd -T`: the settings sshd really uses, one "keyword value" per line."""
    result = subprocess.run(
        [SSHD, "-T", "-f", str(layout.config)], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


@dataclass(frozen=True)
class SshClient:
    """The ssh command with a private config file (-F): no ~/.ssh/config, no agent."""

    config: Path

    def command(
        self,
        server: SshdLayout,
        user: str,
        *remote: str,
        key: Path | None = None,
        options: tuple[str, ...] = (),
    ) -> list[str]:
        identity = ["-i", str(key)] if key else []
        extra = [arg for option in options for arg in ("-o", option)]
        return [
            "ssh",
            "-F",
            str(self.config),
            "-p",
            str(server.port),
            *identity,
            *extra,
            f"{user}@{server.address}",
            *remote,
        ]

    def run(
        self,
        server: SshdLayout,
        user: str,
        *remote: str,
        key: Path | None = None,
        options: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(server, user, *remote, key=key, options=options),
            env={**agentless_env(), **(env or {})},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=30,
        )


def agentless_env() -> dict[str, str]:
    """The current environment without SSH_AUTH_SOCK, so no agent offers its own keys."""
    return {k: v for k, v in os.environ.items() if k != "SSH_AUTH_SOCK"}


# --- private networks: network namespaces joined by veth cables ---------------------------------
#
# A network namespace is a separate network stack: its own interfaces, addresses, routes and
# firewall. A veth pair is a virtual cable whose two ends can sit in two namespaces. The tests
# use addresses from 127.0.0.0/8, which no packet can leave the host with; on a normal interface
# they need route_localnet=1, and `lo` must not claim the whole 127.0.0.0/8 (see `loopback_up`).


def in_netns(namespace: str, *command: str) -> list[str]:
    """`command` run inside `namespace` (which also gets its own mount namespace)."""
    return ["ip", "netns", "exec", namespace, *command]


def ip(arguments: str) -> None:
    """Run `ip` with space-separated arguments, e.g. ip("netns add NAME")."""
    subprocess.run(["ip", *arguments.split()], check=True, capture_output=True, timeout=30)


_namespace_numbers = itertools.count()


@contextmanager
def network_namespaces(*roles: str) -> Iterator[list[str]]:
    """A new namespace per role (mrtest-ROLE-PID-N), all deleted afterwards whatever happens."""
    require_root()
    require_tool("ip")
    tag = f"{os.getpid()}-{next(_namespace_numbers)}"
    created: list[str] = []
    try:
        for role in roles:
            ip(f"netns add mrtest-{role}-{tag}")
            created.append(f"mrtest-{role}-{tag}")
        yield created
    finally:
        for namespace in created:  # deleting a namespace also removes its end of any cable
            subprocess.run(["ip", "netns", "delete", namespace], capture_output=True, timeout=30)


def connect(end_a: tuple[str, str, str], end_b: tuple[str, str, str]) -> None:
    """A cable between two namespaces; each end is (namespace, device, address in a /30)."""
    (namespace_a, device_a, _), (namespace_b, device_b, _) = end_a, end_b
    # Created inside namespace_a with its peer moved straight to namespace_b: never in the host's.
    ip(f"-n {namespace_a} link add {device_a} type veth peer name {device_b} netns {namespace_b}")
    for namespace, device, address in (end_a, end_b):
        for scope in ("all", device):
            ip(f"netns exec {namespace} sysctl -qw net.ipv4.conf.{scope}.route_localnet=1")
        ip(f"-n {namespace} addr add {address}/30 dev {device}")
        ip(f"-n {namespace} link set {device} up")


def loopback_up(namespace: str) -> None:
    """127.0.0.1 in `namespace`, for services that listen on loopback only.

    Bringing `lo` up normally makes the whole 127.0.0.0/8 local, so the cables' 127.x addresses
    would never leave the namespace; keeping just 127.0.0.1/32 on `lo` avoids that.
    """
    ip(f"-n {namespace} link set lo up")
    ip(f"-n {namespace} addr del 127.0.0.1/8 dev lo")
    ip(f"-n {namespace} addr add 127.0.0.1/32 dev lo")
