"""`movierec.safe_fetch`: every refusal, proved without a byte leaving the machine.

The file server runs on 127.0.0.1 and is reached as `files.test` through a fixed host table (no
DNS) and one explicitly allowed address; public addresses are refused (`internet=False`). The
`offline` fixture makes any real DNS lookup, or any connection that is not to loopback, fail
the test.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
import time

import pytest

from movierec.safe_fetch import FetchRules, UrlRefused, fetch, fixed_hosts
from tests.file_server import file_server

CSV = b"userId,movieId,rating,timestamp\n1,10,5,0\n1,20,3,0\n"
HOSTS = {"files.test": "127.0.0.1", "intranet.test": "192.168.1.5", "cloud.test": "169.254.169.254"}


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """Fail the test if anything looks a name up in DNS or connects off loopback."""
    real_connect, real_lookup = socket.create_connection, socket.getaddrinfo

    def no_dns(host, *args, **kwargs):
        ipaddress.ip_address(host)  # an IP literal needs no DNS: anything else fails the test
        return real_lookup(host, *args, **kwargs)

    def loopback_only(address, *args, **kwargs):
        assert address[0] == "127.0.0.1", f"a connection to {address} was attempted"
        return real_connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    monkeypatch.setattr(socket, "create_connection", loopback_only)


@pytest.fixture(scope="module")
def server():
    redirects = {
        "/to-ratings": "/ratings.csv",
        "/to-intranet": "http://intranet.test/ratings.csv",
        "/to-metadata": "http://169.254.169.254/latest/meta-data/",
        "/to-file": "file:///etc/passwd",
        "/loop": "/loop",
    }
    with file_server({"/ratings.csv": CSV}, redirects) as running:
        yield running


def rules(server, **changes) -> FetchRules:
    """The tests' rules: the host table, the file server allowed, nothing public."""
    settings = {
        "max_bytes": 64 * 1024,
        "timeout": 2.0,
        "resolve": fixed_hosts(HOSTS),
        "allow": frozenset({("127.0.0.1", server.port)}),
        "internet": False,
    }
    return FetchRules(**(settings | changes))


def refusal(url: str, rule: FetchRules) -> str:
    with pytest.raises(UrlRefused) as refused:
        fetch(url, rule)
    return str(refused.value)


# --- what is fetched ------------------------------------------------------------------------------


def test_a_file_on_an_allowed_host_is_fetched(server):
    fetched = fetch(f"http://files.test:{server.port}/ratings.csv", rules(server))
    assert fetched.content == CSV and fetched.content_type == "text/csv"


def test_a_redirect_is_followed_and_checked_again(server):
    fetched = fetch(f"http://files.test:{server.port}/to-ratings", rules(server))
    assert fetched.content == CSV
    assert fetched.url == f"http://files.test:{server.port}/ratings.csv"


# --- refused before any connection ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("file:///etc/passwd", "only http:// and https:// URLs are fetched, not file://"),
        ("ftp://files.test/ratings.csv", "not ftp://"),
        ("gopher://files.test:70/", "not gopher://"),
        ("files.test/ratings.csv", "not no scheme"),
        ("http://user:secret@files.test/x", "user name or password"),
        ("http:///nohost", "names no host"),
        ("http://files.test:99999/", "invalid port"),
        ("http://fïles.test/", "printable ASCII"),
        ("http://nowhere.test/", "cannot find the host 'nowhere.test'"),
    ],
)
def test_malformed_and_other_scheme_urls_are_refused(server, url, reason):
    assert reason in refusal(url, rules(server))


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://127.0.0.1/", "a loopback address"),
        ("http://127.0.0.1:5001/", "a loopback address"),
        ("http://[::1]/", "a loopback address"),
        ("http://[::ffff:127.0.0.1]/", "a loopback address"),
        ("http://10.0.0.8/", "a private address"),
        ("http://intranet.test/ratings.csv", "a private address"),
        ("http://cloud.test/latest/meta-data/", "a link-local address"),
        ("http://169.254.169.254/", "a link-local address"),
        ("http://0.0.0.0/", "an unspecified address"),
        ("http://224.0.0.1/", "a multicast address"),
        ("http://100.64.0.1/", "not a public address"),
    ],
)
def test_inward_addresses_are_refused_with_the_reason(url, kind):
    """With the production rules (no allowance), DNS replaced by the host table."""
    message = refusal(url, FetchRules(max_bytes=1024, resolve=fixed_hosts(HOSTS)))
    assert f"{kind}: not fetched" in message


def test_a_url_pointing_at_our_own_server_is_never_requested(server):
    """The production rules refuse the loopback file server itself: it sees no request."""
    before = len(server.requests)
    production = FetchRules(max_bytes=1024, resolve=fixed_hosts(HOSTS))
    assert "loopback" in refusal(f"http://127.0.0.1:{server.port}/ratings.csv", production)
    assert len(server.requests) == before


def test_a_name_with_one_inward_address_among_public_ones_is_refused(server):
    def two_answers(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "10.1.1.1"]

    message = refusal("http://mixed.test/", FetchRules(max_bytes=1024, resolve=two_answers))
    assert "resolves to 10.1.1.1, a private address" in message


def test_public_addresses_on_other_ports_are_refused():
    def public(host: str, port: int) -> list[str]:
        return ["93.184.216.34"]

    message = refusal("http://example.test:22/", FetchRules(max_bytes=1024, resolve=public))
    assert "port 22 is not one of [80, 443]" in message


def test_offline_rules_refuse_public_addresses_too(server):
    assert "fetches nothing from the internet" in refusal("http://93.184.216.34/", rules(server))


# --- refused after redirects ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        ("/to-intranet", "intranet.test resolves to 192.168.1.5, a private address"),
        ("/to-metadata", "169.254.169.254 is a link-local address"),
        ("/to-file", "not file://"),
        ("/loop", "more than 3 redirects"),
    ],
)
def test_redirects_are_checked_like_the_first_url(server, path, reason):
    assert reason in refusal(f"http://files.test:{server.port}{path}", rules(server))


# --- size and time --------------------------------------------------------------------------------


def test_an_endless_body_is_cut_at_the_size_limit(server):
    started = time.monotonic()
    message = refusal(f"http://files.test:{server.port}/endless", rules(server))
    assert "larger than the limit of 65,536 bytes" in message
    assert time.monotonic() - started < 2


def test_an_announced_huge_body_is_refused_before_it_is_read(server):
    message = refusal(f"http://files.test:{server.port}/announced-huge", rules(server))
    assert "larger than the limit" in message


def test_a_body_that_never_ends_slowly_is_cut_at_the_time_limit(server):
    """A byte every 50 ms never trips a per-read timeout: the deadline cuts the connection."""
    started = time.monotonic()
    message = refusal(
        f"http://files.test:{server.port}/slow", rules(server, timeout=1.0, max_bytes=10**6)
    )
    assert "took longer than 1 s" in message
    assert time.monotonic() - started < 2


def test_a_lookup_that_hangs_is_given_up_at_the_time_limit():
    released = threading.Event()

    def hanging(host: str, port: int) -> list[str]:
        released.wait(10)
        return ["127.0.0.1"]

    started = time.monotonic()
    try:
        message = refusal("http://slow-dns.test/", FetchRules(1024, timeout=0.5, resolve=hanging))
    finally:
        released.set()
    assert "looking up slow-dns.test took longer than 0.5 s" in message
    assert time.monotonic() - started < 1.5


def test_an_error_status_is_refused_with_it(server):
    assert "answered HTTP 404" in refusal(f"http://files.test:{server.port}/nope", rules(server))


# --- HTTPS: connected to the checked address, verified against the name ---------------------------


@pytest.fixture(scope="module")
def tls_server():
    trustme = pytest.importorskip("trustme")
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("files.test").configure_cert(server_context)
    client_context = ssl.create_default_context()
    authority.configure_trust(client_context)
    with file_server({"/ratings.csv": CSV}, tls=server_context) as running:
        yield running, client_context


def test_https_verifies_the_certificate_against_the_host_name(tls_server):
    server, client_context = tls_server
    fetched = fetch(
        f"https://files.test:{server.port}/ratings.csv", rules(server, tls=client_context)
    )
    assert fetched.content == CSV


def test_https_refuses_a_certificate_for_another_name(tls_server):
    server, client_context = tls_server
    other = rules(server, tls=client_context, resolve=fixed_hosts({"other.test": "127.0.0.1"}))
    message = refusal(f"https://other.test:{server.port}/ratings.csv", other)
    assert "could not fetch" in message and "certificate" in message.lower()


def test_proxy_settings_are_ignored(server, monkeypatch):
    """A proxy would look the name up itself, unchecked: the fetch goes straight to the
    checked address even when the environment names a proxy."""
    for name in ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"):
        monkeypatch.setenv(name, "http://10.9.9.9:3128")
    fetched = fetch(f"http://files.test:{server.port}/ratings.csv", rules(server))
    assert fetched.content == CSV
