"""Fixtures for the VPS guide tests: a throwaway user, real sshd servers, an SSH client.

Each one removes what it created (the user, temp dirs, processes) even when a test fails.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from movierec.processes import free_port
from tests.conftest import require_root, require_tool
from tests.setup.harness import (
    SSHD,
    SshClient,
    SshdLayout,
    VpsUser,
    listening_count,
    make_host_keys,
    make_key,
    run_script,
    running_sshd,
    user_exists,
    wait_for,
    write_sshd_layout,
)


@pytest.fixture(scope="session")
def vps_user(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VpsUser]:
    """A real account made by the project's 01_create_user.sh: home, ed25519 key, password."""
    require_root()
    require_tool("useradd")
    openssl = require_tool("openssl")
    name = f"mrtest_{os.getpid()}"
    key = make_key(tmp_path_factory.mktemp("user-key") / "id_ed25519", name)
    # A real password, so the tests can show the hardened server refuses even the right one.
    password = secrets.token_urlsafe(12)
    password_hash = subprocess.run(
        [openssl, "passwd", "-6", "-stdin"],
        input=password,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout.strip()
    try:
        run_script(
            "01_create_user.sh",
            env={
                "NEW_USER": name,
                "PUBKEY_FILE": f"{key}.pub",
                "USER_PASSWORD_HASH": password_hash,
            },
        )
        yield VpsUser(name, key, password)
    finally:
        if user_exists(name):
            subprocess.run(["userdel", "--remove", name], capture_output=True, timeout=30)
        assert not user_exists(name), f"could not remove the test user {name}"


@pytest.fixture(scope="session")
def host_keys(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Debian's three host keys, shared by every test sshd: the drop-in must pick ed25519."""
    return make_host_keys(tmp_path_factory.mktemp("host-keys"))


@pytest.fixture(scope="session")
def root_key() -> Iterator[Path]:
    """A key the test sshds would accept for root (see SshdLayout's `Match User root`).

    It lives under /run, not /tmp: with StrictModes, sshd ignores root's key files unless every
    directory above them belongs to root and is not world-writable, as /tmp is.
    """
    require_root()
    directory = Path(tempfile.mkdtemp(prefix="mrtest-root-key-", dir="/run"))
    try:
        key = make_key(directory / "id_ed25519", "test-root")
        shutil.copy(f"{key}.pub", directory / "authorized_keys")
        yield key
    finally:
        shutil.rmtree(directory)


@pytest.fixture(scope="session")
def make_sshd_layout(host_keys: list[Path], root_key: Path) -> Callable[..., SshdLayout]:
    """make_sshd_layout(directory, address=..., port=...): files for one test sshd."""

    def make(directory: Path, address: str = "127.0.0.1", port: int | None = None) -> SshdLayout:
        return write_sshd_layout(
            directory,
            host_keys=host_keys,
            root_keys=root_key.parent / "authorized_keys",
            address=address,
            port=port or free_port(),
        )

    return make


@pytest.fixture(scope="session")
def hardened_sshd(
    tmp_path_factory: pytest.TempPathFactory, make_sshd_layout, vps_user: VpsUser
) -> Iterator[SshdLayout]:
    """A running sshd hardened the way a student does it: 02_harden_ssh.sh, then its reload."""
    layout = make_sshd_layout(tmp_path_factory.mktemp("hardened-sshd"))
    with running_sshd(layout) as process:
        run_script(
            "02_harden_ssh.sh",
            env={
                "LOGIN_USER": vps_user.name,
                "SSHD_BIN": SSHD,
                "SSHD_CONFIG": str(layout.config),
                "SSHD_CONFIG_DIR": str(layout.dropin_dir),
                "SSHD_RELOAD_CMD": f"kill -HUP {process.pid}",
            },
        )
        wait_for(lambda: listening_count(layout) >= 2, 10, "sshd to reload its config")
        yield layout


@pytest.fixture(scope="session")
def ssh_client(tmp_path_factory: pytest.TempPathFactory) -> SshClient:
    require_tool("ssh")
    directory = tmp_path_factory.mktemp("ssh-client")
    config = directory / "ssh_config"
    # -F replaces ~/.ssh/config and /etc/ssh/ssh_config; known hosts go to a private file.
    config.write_text(
        "Host *\n"
        f"    UserKnownHostsFile {directory / 'known_hosts'}\n"
        "    GlobalKnownHostsFile /dev/null\n"
        "    StrictHostKeyChecking accept-new\n"
        "    BatchMode yes\n"
        "    IdentitiesOnly yes\n"
        "    ConnectTimeout 5\n"
        "    LogLevel ERROR\n"
    )
    return SshClient(config)
