"""setup/cloud-init/user-data.yaml: valid, free of misspelt keys, and in step with the scripts."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.conftest import require_tool
from tests.setup.harness import DROPIN, SETUP, run_script

USER_DATA = SETUP / "cloud-init" / "user-data.yaml"


@pytest.fixture(scope="module")
def user_data() -> dict:
    return yaml.safe_load(USER_DATA.read_text())


def test_schema_is_valid():
    cloud_init = require_tool("cloud-init")
    result = subprocess.run(
        [cloud_init, "schema", "--config-file", str(USER_DATA)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Valid cloud-config" in result.stdout


def known_top_level_keys(cloud_init: str) -> set[str]:
    """Every key some cloud-init module reads, from the schema that cloud-init itself ships."""
    interpreter = Path(cloud_init).read_text().splitlines()[0].removeprefix("#!").split()
    schema = json.loads(
        subprocess.run(
            [
                *interpreter,
                "-c",
                "import json, cloudinit.config.schema as s; print(json.dumps(s.get_schema()))",
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout
    )
    definitions = schema["$defs"]
    return {
        key
        for reference in schema["allOf"]
        for key in definitions[reference["$ref"].split("/")[-1]].get("properties", {})
    }


def test_no_misspelt_top_level_keys(user_data):
    # `cloud-init schema` accepts unknown keys (e.g. "pakages"); cloud-init then ignores them.
    known = known_top_level_keys(require_tool("cloud-init"))
    assert "packages" in known and "runcmd" in known  # the lookup itself works
    assert set(user_data) - known == set()


def test_starts_with_the_cloud_config_header():
    # Without this exact first line, cloud-init treats the file as something else entirely.
    assert USER_DATA.read_text().startswith("#cloud-config\n")


def test_sshd_dropin_is_the_same_as_the_scripts(user_data):
    written = {entry["path"]: entry for entry in user_data["write_files"]}
    dropin = written[f"/etc/ssh/sshd_config.d/{DROPIN.name}"]
    assert dropin["content"] == DROPIN.read_text()
    assert dropin["permissions"] == "0644"


def test_security_updates_match_the_script(user_data, tmp_path):
    """cloud-init writes byte for byte the apt files that 06_security_updates.sh writes."""
    require_tool("apt-config")
    run_script("06_security_updates.sh", env={"TARGET_ROOT": str(tmp_path)})
    written = {entry["path"]: entry for entry in user_data["write_files"]}
    script_files = sorted((tmp_path / "etc" / "apt" / "apt.conf.d").iterdir())
    assert len(script_files) == 2
    for path in script_files:
        entry = written[f"/etc/apt/apt.conf.d/{path.name}"]
        assert entry["content"] == path.read_text()
        assert entry["permissions"] == "0644"
    assert "unattended-upgrades" in user_data["packages"]


def test_user_is_key_only_and_in_sudo(user_data):
    (user,) = user_data["users"]
    assert "sudo" in user["groups"]
    assert user["lock_passwd"] is True
    assert all(key.startswith("ssh-ed25519 ") for key in user["ssh_authorized_keys"])
    assert user_data["ssh_pwauth"] is False
    assert user_data["disable_root"] is True


def test_firewall_commands_match_the_firewall_script(user_data):
    commands = [c for c in user_data["runcmd"] if isinstance(c, str) and c.startswith("ufw ")]
    assert commands == [
        "ufw default deny incoming",
        "ufw default allow outgoing",
        "ufw limit OpenSSH",  # before enabling, or the new firewall shuts SSH out
        "ufw --force enable",
    ]


def test_runcmd_is_valid_sh_and_stops_at_the_first_error(user_data, tmp_path):
    # cloud-init joins runcmd into one /bin/sh script.
    script = tmp_path / "runcmd.sh"
    script.write_text("\n".join(user_data["runcmd"]) + "\n")
    assert subprocess.run(["sh", "-n", str(script)], timeout=10).returncode == 0
    assert user_data["runcmd"][0] == "set -eu"


def test_runcmd_runs_scripts_that_exist(user_data):
    referenced = re.findall(r"~/course/(setup/\S+?\.sh)", "\n".join(user_data["runcmd"]))
    assert referenced, "the user-data should reuse the course scripts"
    for path in referenced:
        assert (SETUP.parent / path).is_file(), path
