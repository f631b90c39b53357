"""The setup scripts as programs: lint-clean, self-documenting, idempotent, honest dry runs.

The SSH and firewall scripts are exercised against real servers in test_ssh.py and
test_firewall.py; here are the rest, plus the checks every script shares.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import shlex
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from movierec.processes import free_port
from tests.conftest import VENV_BIN, require, require_root, require_tool
from tests.setup.harness import (
    SETUP,
    VpsUser,
    make_key,
    run_script,
    running,
    user_exists,
    wait_for,
)

SCRIPTS = sorted(SETUP.glob("*.sh"))
RUNNABLE = [script for script in SCRIPTS if script.name != "lib.sh"]  # lib.sh is only sourced


def test_there_are_scripts():
    assert {s.name for s in RUNNABLE} >= {
        "01_create_user.sh",
        "02_harden_ssh.sh",
        "03_firewall.sh",
        "04_install_conda.sh",
        "05_jupyter.sh",
        "06_security_updates.sh",
        "tunnel.sh",
    }


def test_shellcheck_is_clean():
    shellcheck = require_tool("shellcheck")
    # setup/.shellcheckrc lets ShellCheck follow `source lib.sh`.
    result = subprocess.run(
        [shellcheck, *map(str, SCRIPTS)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("script", RUNNABLE, ids=lambda p: p.name)
def test_script_is_strict_executable_and_documented(script: Path):
    assert os.access(script, os.X_OK), f"chmod +x {script}"
    assert "set -euo pipefail" in script.read_text()
    assert subprocess.run(["bash", "-n", str(script)], timeout=10).returncode == 0
    # --help works anywhere (no root, no variables set) and documents every variable it reads.
    result = subprocess.run(
        ["bash", str(script), "--help"],
        capture_output=True,
        text=True,
        timeout=10,
        env={"PATH": os.environ["PATH"], "HOME": "/nonexistent"},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("Usage:")
    for variable in variables_read_from_environment(script):
        assert variable in result.stdout, f"{script.name} --help does not document {variable}"


def variables_read_from_environment(script: Path) -> set[str]:
    """Upper-case names read as ${NAME:-default}: the script's parameters."""
    names = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*):-", script.read_text()))
    return names - {"SUDO_USER"}  # set by sudo, explained next to LOGIN_USER


def test_unknown_option_is_an_error():
    result = run_script("tunnel.sh", "--force", check=False)
    assert result.returncode != 0
    assert "unknown argument: --force" in result.stderr


# --- 01_create_user.sh (the user itself is made by the vps_user fixture) -------------------------


@pytest.mark.slow
def test_create_user_second_run_changes_nothing(vps_user: VpsUser):
    result = run_script(
        "01_create_user.sh",
        env={"NEW_USER": vps_user.name, "PUBKEY_FILE": f"{vps_user.private_key}.pub"},
    )
    assert "nothing to change" in result.stdout, result.stdout


def test_create_user_dry_run_creates_nothing(tmp_path: Path):
    require_root()
    name = f"mrtest_dry_{os.getpid()}"
    key = make_key(tmp_path / "id_ed25519", name)
    result = run_script(
        "01_create_user.sh", "--dry-run", env={"NEW_USER": name, "PUBKEY_FILE": f"{key}.pub"}
    )
    assert f"would:   create user {name}" in result.stdout
    assert "dry run: 5 change(s) would be made" in result.stdout
    assert not user_exists(name)


def test_create_user_without_password_or_terminal_stops_before_creating(tmp_path: Path):
    require_root()
    name = f"mrtest_nopw_{os.getpid()}"
    key = make_key(tmp_path / "id_ed25519", name)
    result = run_script(
        "01_create_user.sh", env={"NEW_USER": name, "PUBKEY_FILE": f"{key}.pub"}, check=False
    )
    assert result.returncode != 0
    assert "USER_PASSWORD_HASH" in result.stderr
    assert not user_exists(name)


@pytest.mark.parametrize("bad_name", ["root", "Student", "1st", "a b", ""])
def test_create_user_rejects_bad_names(bad_name: str):
    require_root()
    result = run_script("01_create_user.sh", env={"NEW_USER": bad_name}, check=False)
    assert result.returncode != 0
    assert "ERROR" in result.stderr


# --- 04_install_conda.sh, against a fake Miniforge release served on 127.0.0.1 ------------------

# Stands in for the Miniforge installer: takes -b -p PREFIX and lays out a fake `conda` that
# records its calls and, for `env create`, makes an env whose python is the test venv's.
FAKE_INSTALLER = """#!/bin/bash
set -euo pipefail
while getopts bp: option; do [[ $option == p ]] && prefix=$OPTARG; done
mkdir -p "$prefix/bin"
cat >"$prefix/bin/conda" <<'CONDA'
#!/bin/bash
set -euo pipefail
prefix=$(cd "$(dirname "$0")/.." && pwd)
echo "$*" >>"$prefix/conda-calls.log"
case "$1 ${2:-}" in
  "env create")
    name=$(sed -n 's/.*--name \\([^ ]*\\).*/\\1/p' <<<"$*")
    mkdir -p "$prefix/envs/$name/bin"
    printf '#!/bin/sh\\nexec %s "$@"\\n' "$TEST_PYTHON" >"$prefix/envs/$name/bin/python"
    chmod +x "$prefix/envs/$name/bin/python" ;;
  "init bash") printf '# >>> conda initialize >>>\\n# <<< conda initialize <<<\\n' >>~/.bashrc ;;
esac
CONDA
chmod +x "$prefix/bin/conda"
"""


@pytest.fixture
def fake_release(tmp_path: Path) -> Iterator[str]:
    """A directory served over HTTP like a Miniforge release: the installer and its .sha256."""
    release = tmp_path / "release"
    release.mkdir()
    installer = release / f"Miniforge3-Linux-{platform.machine()}.sh"
    installer.write_text(FAKE_INSTALLER)
    digest = hashlib.sha256(installer.read_bytes()).hexdigest()
    (release / f"{installer.name}.sha256").write_text(f"{digest}  {installer.name}\n")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)]
    with running(server, tmp_path / "http.log", cwd=release):
        wait_for(lambda: serves(f"{url}/{installer.name}"), 15, "the release server")
        yield url


def serves(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except OSError:  # URLError and HTTPError are OSErrors too
        return False


def conda_env(tmp_path: Path, release_url: str, **extra: str) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env_file = tmp_path / "environment.yml"
    if not env_file.exists():
        env_file.write_text(
            "name: coursetest\nchannels: [conda-forge]\ndependencies: [python=3.11]\n"
        )
    return {
        "HOME": str(home),
        "ALLOW_ROOT": "yes",
        "MINIFORGE_DIR": str(home / "miniforge3"),
        "MINIFORGE_RELEASE_URL": release_url,
        "ENV_FILE": str(env_file),
        "JUPYTER_DATA_DIR": str(home / "jupyter-data"),
        "TEST_PYTHON": sys.executable,
        **extra,
    }


@pytest.mark.slow
def test_conda_install_creates_env_and_kernel_then_changes_nothing(fake_release, tmp_path):
    require_tool("curl")
    require((VENV_BIN / "jupyter").exists(), "ipykernel is not installed in the venv")
    env = conda_env(tmp_path, fake_release)
    home = Path(env["HOME"])

    dry = run_script("04_install_conda.sh", "--dry-run", env=env)
    assert "dry run: 4 change(s) would be made" in dry.stdout
    assert not (home / "miniforge3").exists()

    first = run_script("04_install_conda.sh", env=env)
    assert "checksum of Miniforge3" in first.stdout
    calls = (home / "miniforge3" / "conda-calls.log").read_text()
    assert "env create --file" in calls
    assert (home / "jupyter-data" / "kernels" / "coursetest" / "kernel.json").exists()

    second = run_script("04_install_conda.sh", env=env)
    assert "nothing to change" in second.stdout

    # Editing environment.yml makes the next run update the env, and only that.
    env_file = Path(env["ENV_FILE"])
    env_file.write_text(env_file.read_text() + "  # edited\n")
    third = run_script("04_install_conda.sh", env=env)
    assert "done:    1 change(s) made." in third.stdout
    assert "--prune" in (home / "miniforge3" / "conda-calls.log").read_text()


@pytest.mark.slow
def test_conda_installer_with_wrong_checksum_is_never_run(fake_release, tmp_path):
    require_tool("curl")
    env = conda_env(tmp_path, fake_release, MINIFORGE_SHA256="0" * 64)
    result = run_script("04_install_conda.sh", env=env, check=False)
    assert result.returncode != 0
    assert "checksum mismatch" in result.stderr
    assert not (Path(env["HOME"]) / "miniforge3").exists()


def test_conda_refuses_root_by_default(tmp_path):
    require_root()
    result = run_script(
        "04_install_conda.sh", env={"HOME": str(tmp_path), "ALLOW_ROOT": ""}, check=False
    )
    assert result.returncode != 0
    assert "not root" in result.stderr


# --- 05_jupyter.sh (Jupyter itself runs in test_tunnel.py) ----------------------------------


def jupyter_setup_env(home: Path) -> dict[str, str]:
    return {
        "HOME": str(home),
        "ALLOW_ROOT": "yes",
        "START_SERVICE": "no",
        "JUPYTER_BIN": str(VENV_BIN / "jupyter"),
        "JUPYTER_CONFIG_DIR": str(home / ".jupyter"),
    }


def test_jupyter_setup_is_private_and_idempotent(tmp_path: Path):
    env = jupyter_setup_env(tmp_path)
    dry = run_script("05_jupyter.sh", "--dry-run", env=env)
    assert "dry run: 4 change(s) would be made" in dry.stdout
    assert not (tmp_path / ".jupyter").exists()

    run_script("05_jupyter.sh", env=env)
    token_file = tmp_path / ".jupyter" / "course_token"
    assert len(token_file.read_text()) == 48
    # Anyone who can read the token can run code as you.
    assert token_file.stat().st_mode & 0o077 == 0
    assert (tmp_path / ".jupyter").stat().st_mode & 0o077 == 0

    second = run_script("05_jupyter.sh", env=env)
    assert "nothing to change" in second.stdout


def test_installed_systemd_unit_is_valid(tmp_path: Path):
    analyze = require_tool("systemd-analyze")
    run_script("05_jupyter.sh", env=jupyter_setup_env(tmp_path))
    unit = tmp_path / ".config" / "systemd" / "user" / "jupyter-course.service"
    assert f"ExecStart={VENV_BIN / 'jupyter'} lab" in unit.read_text()
    assert "@" not in unit.read_text().split("[Unit]")[1], "a placeholder was left in the unit"
    runtime_dir = tmp_path / "runtime"  # `verify --user` needs one, as in a login session
    runtime_dir.mkdir(mode=0o700)
    result = subprocess.run(
        [analyze, "verify", "--user", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "XDG_RUNTIME_DIR": str(runtime_dir)},
    )
    assert result.returncode == 0, result.stderr


# --- 06_security_updates.sh, into a temporary root: this machine's /etc/apt is never touched ---


def apt_settings(root: Path) -> dict[str, str]:
    """The configuration apt itself reads from root/etc/apt, as {"Key::Name": "value"}."""
    apt_config = require_tool("apt-config")
    # apt reads the file APT_CONFIG names first; its Dir line points apt at `root`.
    pointer = root / "apt-config-pointer"
    pointer.write_text(f'Dir "{root}/";\n')
    dump = subprocess.run(
        [apt_config, "dump"],
        env={**os.environ, "APT_CONFIG": str(pointer)},
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    # Lines such as: APT::Periodic::Unattended-Upgrade "1";
    return dict(re.findall(r'^(\S+) "(.*)";$', dump, flags=re.M))


def test_security_updates_are_switched_on_and_a_second_run_changes_nothing(tmp_path: Path):
    """Daily unattended upgrades, no automatic reboots; honest dry run; a rerun changes nothing."""
    env = {"TARGET_ROOT": str(tmp_path)}
    dry = run_script("06_security_updates.sh", "--dry-run", env=env)
    assert "dry run: 2 change(s) would be made" in dry.stdout
    assert list(tmp_path.iterdir()) == []

    first = run_script("06_security_updates.sh", env=env)
    assert "done:    2 change(s) made." in first.stdout
    settings = apt_settings(tmp_path)
    assert settings["APT::Periodic::Update-Package-Lists"] == "1"
    assert settings["APT::Periodic::Unattended-Upgrade"] == "1"
    assert settings["Unattended-Upgrade::Automatic-Reboot"] == "false"

    second = run_script("06_security_updates.sh", env=env)
    assert "nothing to change" in second.stdout


def test_automatic_reboots_are_opt_in(tmp_path: Path):
    """AUTO_REBOOT=yes turns reboots on at the chosen time; a run without it turns them off."""
    env = {"TARGET_ROOT": str(tmp_path), "AUTO_REBOOT": "yes", "AUTO_REBOOT_TIME": "03:30"}
    run_script("06_security_updates.sh", env=env)
    settings = apt_settings(tmp_path)
    assert settings["Unattended-Upgrade::Automatic-Reboot"] == "true"
    assert settings["Unattended-Upgrade::Automatic-Reboot-Time"] == "03:30"

    back = run_script("06_security_updates.sh", env={"TARGET_ROOT": str(tmp_path)})
    assert "done:    1 change(s) made." in back.stdout
    assert apt_settings(tmp_path)["Unattended-Upgrade::Automatic-Reboot"] == "false"


def test_a_later_file_that_switches_updates_off_is_reported(tmp_path: Path):
    """apt keeps the last value it reads, so the script checks the result with apt-config."""
    conf_dir = tmp_path / "etc" / "apt" / "apt.conf.d"
    conf_dir.mkdir(parents=True)
    (conf_dir / "99no-updates").write_text('APT::Periodic::Unattended-Upgrade "0";\n')
    result = run_script("06_security_updates.sh", env={"TARGET_ROOT": str(tmp_path)}, check=False)
    assert result.returncode != 0
    assert "99no-updates:1" in result.stderr
    assert apt_settings(tmp_path)["APT::Periodic::Unattended-Upgrade"] == "0"


@pytest.mark.parametrize(
    "setting",
    [{"AUTO_REBOOT": "maybe"}, {"AUTO_REBOOT_TIME": "4am"}, {"TARGET_ROOT": "/nonexistent"}],
    ids=["AUTO_REBOOT", "AUTO_REBOOT_TIME", "TARGET_ROOT"],
)
def test_security_updates_reject_bad_settings(setting: dict[str, str], tmp_path: Path):
    """A wrong setting stops the script with an error naming it, before anything is written."""
    result = run_script(
        "06_security_updates.sh", env={"TARGET_ROOT": str(tmp_path), **setting}, check=False
    )
    assert result.returncode != 0
    assert f"ERROR:   {next(iter(setting))}" in result.stderr
    assert list(tmp_path.iterdir()) == []


# --- tunnel.sh ---------------------------------------------------------------------------------


def test_tunnel_forwards_jupyter_flask_and_mlflow_on_loopback():
    result = run_script(
        "tunnel.sh", "--dry-run", env={"VPS_HOST": "203.0.113.10", "VPS_USER": "student"}
    )
    command = shlex.split(result.stdout.splitlines()[-1].removeprefix("would run:"))
    assert command[:2] == ["ssh", "-N"]
    assert "ExitOnForwardFailure=yes" in command
    forwards = [command[i + 1] for i, arg in enumerate(command) if arg == "-L"]
    assert forwards == [f"127.0.0.1:{p}:127.0.0.1:{p}" for p in (8888, 5000, 5001)]
    assert command[-1] == "student@203.0.113.10"


@pytest.mark.parametrize("ports", ["8888 abc", "70000", "8888:"])
def test_tunnel_rejects_bad_ports(ports: str):
    result = run_script(
        "tunnel.sh",
        "--dry-run",
        env={"VPS_HOST": "203.0.113.10", "TUNNEL_PORTS": ports},
        check=False,
    )
    assert result.returncode != 0
    assert "TUNNEL_PORTS" in result.stderr
