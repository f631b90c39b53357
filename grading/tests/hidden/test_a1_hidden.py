"""A1, hidden (an example of what an instructor keeps private)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.assignment("A1")

NIST_CURVES = ("ecdh-sha2-nistp256", "ecdh-sha2-nistp384", "ecdh-sha2-nistp521")


@pytest.mark.points(2, exercises=["A1.3"])
def test_only_the_algorithms_the_audit_accepts(dropin_settings):
    """No NIST-curve key exchange, no SHA-1 MAC, the ed25519 host key only."""
    kex = dropin_settings["kexalgorithms"].split(",")
    macs = dropin_settings["macs"].split(",")
    assert not set(kex) & set(NIST_CURVES), f"NIST curves are offered: {kex}"
    assert not [mac for mac in macs if "sha1" in mac], f"SHA-1 MACs are offered: {macs}"
    assert dropin_settings["hostkeyalgorithms"] == "ssh-ed25519", "only the ed25519 host key"


@pytest.mark.points(1)
def test_a_login_gives_up_soon(dropin_settings):
    """sshd gives up on a connection after 3 failed attempts, or 30 s without logging in."""
    assert int(dropin_settings["maxauthtries"]) <= 3, "MaxAuthTries: 3 attempts at most"
    assert int(dropin_settings["logingracetime"]) <= 30, "LoginGraceTime: 30 seconds at most"
