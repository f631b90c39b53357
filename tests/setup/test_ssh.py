"""The SSH guide, proven against real sshd servers on 127.0.0.1.

`hardened_sshd` is configured by the project's own 02_harden_ssh.sh. A control server reads the
same drop-in but an earlier file turns passwords and root logins back on: it accepts exactly
what the hardened one refuses, which proves the refusals come from the hardening and not from a
broken test (wrong password, unusable key, ...).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.setup.harness import (
    DROPIN,
    SshClient,
    SshdLayout,
    VpsUser,
    effective_sshd_settings,
    run_script,
    running_sshd,
)

pytestmark = pytest.mark.slow

# What a student's server must end up with, as `sshd -T` prints it.
EXPECTED_EFFECTIVE = [
    "passwordauthentication no",
    "kbdinteractiveauthentication no",
    "permitrootlogin no",
    "pubkeyauthentication yes",
    "maxauthtries 3",
    "logingracetime 30",
    "allowtcpforwarding local",
]


@pytest.fixture(scope="module")
def control_sshd(tmp_path_factory, make_sshd_layout):
    """The course drop-in plus an earlier one re-enabling passwords and root: first value wins."""
    layout = make_sshd_layout(tmp_path_factory.mktemp("control-sshd"))
    shutil.copy(DROPIN, layout.dropin_dir)
    (layout.dropin_dir / "00-control-allows-passwords.conf").write_text(
        "PasswordAuthentication yes\nPermitRootLogin yes\n"
    )
    with running_sshd(layout):
        yield layout


def try_password(client: SshClient, server: SshdLayout, user: VpsUser, tmp_path: Path):
    """Offer the user's correct password, and only that; return (result, was_it_asked_for)."""
    asked = tmp_path / "askpass-was-called"
    askpass = tmp_path / "askpass.sh"
    # ssh runs SSH_ASKPASS to get the password when there is no terminal; it also records
    # that the server got as far as asking.
    askpass.write_text(f"#!/bin/sh\ntouch '{asked}'\nprintf '%s\\n' '{user.password}'\n")
    askpass.chmod(0o700)
    result = client.run(
        server,
        user.name,
        "whoami",
        options=(
            "BatchMode=no",
            "PubkeyAuthentication=no",
            "NumberOfPasswordPrompts=1",
            "PreferredAuthentications=password,keyboard-interactive",
        ),
        env={"SSH_ASKPASS": str(askpass), "SSH_ASKPASS_REQUIRE": "force", "DISPLAY": ":0"},
    )
    return result, asked.exists()


def test_key_login_works(hardened_sshd, vps_user, ssh_client):
    result = ssh_client.run(hardened_sshd, vps_user.name, "whoami", key=vps_user.private_key)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == vps_user.name


def test_control_server_accepts_the_password(control_sshd, vps_user, ssh_client, tmp_path):
    result, asked = try_password(ssh_client, control_sshd, vps_user, tmp_path)
    assert asked
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == vps_user.name


def test_hardened_server_refuses_the_correct_password(
    hardened_sshd, vps_user, ssh_client, tmp_path
):
    result, asked = try_password(ssh_client, hardened_sshd, vps_user, tmp_path)
    assert result.returncode == 255
    assert "Permission denied (publickey)" in result.stderr
    assert not asked, "the server must not even offer password authentication"


def test_root_login_refused_even_with_a_valid_key(
    hardened_sshd, control_sshd, root_key, ssh_client
):
    accepted = ssh_client.run(control_sshd, "root", "whoami", key=root_key)
    assert accepted.returncode == 0, f"control: the root key should work: {accepted.stderr}"

    refused = ssh_client.run(hardened_sshd, "root", "whoami", key=root_key)
    assert refused.returncode == 255
    assert "Permission denied" in refused.stderr


def test_sshd_T_shows_the_hardened_settings(hardened_sshd):
    settings = effective_sshd_settings(hardened_sshd)
    for expected in EXPECTED_EFFECTIVE:
        assert expected in settings


def test_second_run_changes_nothing_and_does_not_reload(hardened_sshd, vps_user, tmp_path):
    marker = tmp_path / "reloaded"
    result = harden(hardened_sshd, vps_user.name, marker)
    assert result.returncode == 0, result.stderr
    assert "nothing to change" in result.stdout
    assert not marker.exists()


# --- the checks that keep a student from locking themselves out --------------------------------


def harden(layout: SshdLayout, login_user: str, marker: Path, *args: str):
    """Run 02_harden_ssh.sh on `layout`; its "reload" only creates `marker`."""
    return run_script(
        "02_harden_ssh.sh",
        *args,
        check=False,
        env={
            "LOGIN_USER": login_user,
            "SSHD_CONFIG": str(layout.config),
            "SSHD_CONFIG_DIR": str(layout.dropin_dir),
            "SSHD_RELOAD_CMD": f"touch {marker}",
        },
    )


OLD_DROPIN = "# an older version of the course drop-in\n"


def typo_in_main_config(layout: SshdLayout) -> None:
    """A typo anywhere would stop sshd at the reload; only `sshd -t` catches it."""
    with layout.config.open("a") as config:
        config.write("PasswordAuthentcation no\n")
    # ...and an older version of our file is installed: it must be put back.
    (layout.dropin_dir / DROPIN.name).write_text(OLD_DROPIN)


def earlier_file_enables_passwords(layout: SshdLayout) -> None:
    """A file read before ours wins silently; only `sshd -T` shows it."""
    (layout.dropin_dir / "05-provider.conf").write_text("PasswordAuthentication yes\n")


@pytest.mark.parametrize(
    ("breakage", "message", "dropin_afterwards"),
    [
        (typo_in_main_config, "sshd -t", OLD_DROPIN),
        (earlier_file_enables_passwords, "passwordauthentication no", None),
    ],
    ids=["typo-in-sshd_config", "earlier-file-enables-passwords"],
)
def test_bad_config_is_rolled_back_and_never_reloaded(
    breakage, message, dropin_afterwards, make_sshd_layout, vps_user, tmp_path
):
    layout = make_sshd_layout(tmp_path / "sshd")
    breakage(layout)
    marker = tmp_path / "reloaded"
    result = harden(layout, vps_user.name, marker)
    assert result.returncode != 0
    assert message in result.stderr
    installed = layout.dropin_dir / DROPIN.name
    assert (installed.read_text() if installed.exists() else None) == dropin_afterwards
    assert not marker.exists(), "sshd must not be reloaded"


def test_a_later_cloud_init_file_cannot_undo_the_hardening(make_sshd_layout, vps_user, tmp_path):
    # Ubuntu cloud images ship 50-cloud-init.conf, sometimes with passwords on. Ours is 10-...
    layout = make_sshd_layout(tmp_path / "sshd")
    (layout.dropin_dir / "50-cloud-init.conf").write_text("PasswordAuthentication yes\n")
    marker = tmp_path / "reloaded"
    result = harden(layout, vps_user.name, marker)
    assert result.returncode == 0, result.stderr
    assert marker.exists()
    assert "passwordauthentication no" in effective_sshd_settings(layout)


def test_dry_run_changes_nothing(make_sshd_layout, vps_user, tmp_path):
    layout = make_sshd_layout(tmp_path / "sshd")
    marker = tmp_path / "reloaded"
    result = harden(layout, vps_user.name, marker, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert f"would:   install {layout.dropin_dir / DROPIN.name}" in result.stdout
    assert list(layout.dropin_dir.iterdir()) == []
    assert not marker.exists()


@pytest.mark.parametrize("login_user", ["root", "no-such-user-xyz", "nobody"])
def test_refuses_unless_another_account_has_a_key(login_user, make_sshd_layout, tmp_path):
    # root: refused after hardening; no-such-user: does not exist; nobody: has no key.
    layout = make_sshd_layout(tmp_path / "sshd")
    marker = tmp_path / "reloaded"
    result = harden(layout, login_user, marker)
    assert result.returncode != 0
    assert "ERROR" in result.stderr
    assert list(layout.dropin_dir.iterdir()) == []
