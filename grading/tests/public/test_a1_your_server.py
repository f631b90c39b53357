"""A1, your server: the sshd drop-in (read by sshd itself) and the firewall's rules (read as
text). Nothing of the submission runs on the grading machine."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.assignment("A1")


@pytest.mark.points(1)
def test_the_drop_in_is_valid_sshd_configuration(dropin_settings):
    """sshd accepts the drop-in (a typo there would lock you out at the next restart)."""
    assert dropin_settings.get("port") == "22", "sshd -T did not print the effective settings"


@pytest.mark.points(2, exercises=["A1.1"])
def test_passwords_are_refused(dropin_settings):
    """Nobody logs in with a password, only with a key."""
    assert dropin_settings["passwordauthentication"] == "no", "PasswordAuthentication is not no"
    assert dropin_settings["kbdinteractiveauthentication"] == "no", (
        "KbdInteractiveAuthentication is not no: it asks for passwords too"
    )
    assert dropin_settings["pubkeyauthentication"] == "yes", "keys must still work"


@pytest.mark.points(1, exercises=["A1.1"])
def test_root_cannot_log_in(dropin_settings):
    """root cannot log in over SSH: you log in as your own user and use sudo."""
    assert dropin_settings["permitrootlogin"] == "no", "PermitRootLogin is not no"


@pytest.mark.points(2, exercises=["A1.2"])
def test_the_firewall_denies_incoming_and_allows_outgoing(firewall):
    """The firewall drops incoming connections no rule allows, and lets the server connect out."""
    assert firewall.get("INCOMING") == "deny", "incoming connections must be denied by default"
    assert firewall.get("OUTGOING") == "allow", "outgoing connections must be allowed by default"


@pytest.mark.points(1, exercises=["A1.2"])
def test_ssh_is_let_in_with_a_rate_limit(firewall):
    """SSH is let in, rate-limited (`limit`), so password-guessing bots are slowed down."""
    assert firewall.get("SSH_RULE") == "limit OpenSSH", (
        f"the SSH rule is {firewall.get('SSH_RULE')!r}: use `limit OpenSSH`, not `allow`"
    )
