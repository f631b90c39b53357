"""Fetch a file from a URL a stranger gave us, without letting them use our server against us.

A server that downloads "any URL" is a classic hole (server-side request forgery, SSRF): asked
for `http://127.0.0.1:5001/` or `http://169.254.169.254/` (a cloud's metadata service), it
would fetch what only the server itself can reach and hand it to the stranger. So `fetch`:

- accepts only `http://` and `https://` URLs, with no user name or password in them;
- looks the host name up once, refuses it unless *every* address is public (not loopback,
  private, link-local, ...), then connects to exactly the address it checked: a second lookup
  could answer differently ("DNS rebinding");
- follows at most a few redirects, each checked like the first URL;
- stops at a size and a time limit, however slowly or endlessly the other side sends;
- never asks for compressed data, so the size limit is the size of what arrives;
- ignores proxy settings from the environment (a proxy would make its own, unchecked lookup).

Every refusal is a `UrlRefused` whose message says why, for the client to read. Tests reach a
file server on loopback through `FetchRules`: a fixed host table instead of DNS, one explicitly
allowed address, and no public address at all (so nothing leaves the machine).
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as LookupTimeout
from contextlib import suppress
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

# host, port -> the addresses to try (as strings). The default asks the system's DNS resolver.
Resolver = Callable[[str, int], list[str]]

REDIRECTS = frozenset({301, 302, 303, 307, 308})
# Kinds of addresses that lead into the server's own machine or network, never to the internet.
# In this order: Python counts link-local and unspecified addresses as private too.
INWARD = {
    "loopback": "a loopback address",  # 127.0.0.0/8, ::1: this very machine
    "unspecified": "an unspecified address",  # 0.0.0.0 and :: reach this machine too
    "link_local": "a link-local address",  # 169.254/16 (cloud metadata services), fe80::/10
    "multicast": "a multicast address",
    "private": "a private address",  # 10/8, 172.16/12, 192.168/16, fc00::/7: a local network
    "reserved": "a reserved address",
}
MAX_URL_LENGTH = 2000
CHUNK = 64 * 1024


class UrlRefused(Exception):
    """The URL was not fetched, or not completely: the message says why."""


def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system's resolver gives for `host` (an IP literal comes back as is)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise UrlRefused(f"cannot find the host {host!r} ({error})") from None
    return list(dict.fromkeys(info[4][0] for info in found))


def fixed_hosts(table: Mapping[str, str]) -> Resolver:
    """A resolver that knows only `table` ({host name: address}), for tests: no DNS at all.

    An IP literal is returned as it is (no lookup is needed for one); any other name is
    unknown, so a made-up URL never reaches a real DNS server.
    """

    def resolve(host: str, port: int) -> list[str]:
        try:
            return [str(ipaddress.ip_address(host))]
        except ValueError:
            pass
        if host not in table:
            raise UrlRefused(f"cannot find the host {host!r} (not in this server's host table)")
        return [table[host]]

    return resolve


@dataclass(frozen=True)
class FetchRules:
    """How much `fetch` may download, how long it may take, and where it may connect."""

    max_bytes: int
    timeout: float = 5.0  # seconds for everything: lookups, redirects, the whole body
    max_redirects: int = 3
    ports: frozenset[int] = frozenset({80, 443})  # the web's ports: no scanning of others
    resolve: Resolver = system_resolver
    # Tests only: (address, port) pairs reachable although they are not public or not on a
    # usual port, e.g. {("127.0.0.1", 8123)} for a file server the test runs on loopback.
    allow: frozenset[tuple[str, int]] = frozenset()
    # False in tests: public addresses are refused too, so nothing can leave the machine.
    internet: bool = True
    tls: ssl.SSLContext | None = field(default=None, compare=False)  # None: the system's CAs


@dataclass(frozen=True)
class Fetched:
    url: str  # where the file finally came from (after redirects)
    content: bytes
    content_type: str


def fetch(url: str, rules: FetchRules) -> Fetched:
    """GET `url` under `rules`: the body, or `UrlRefused` saying why not."""
    deadline = time.monotonic() + rules.timeout
    for _ in range(rules.max_redirects + 1):
        host, port, address = _checked_target(url, rules, deadline)
        status, location, fetched = _get(url, host, port, address, rules, deadline)
        if status not in REDIRECTS:
            if status != 200:
                raise UrlRefused(f"{_short(url)} answered HTTP {status}, not 200 with a file")
            return fetched
        if not location:
            raise UrlRefused(f"{_short(url)} redirects (HTTP {status}) without saying where")
        url = urljoin(url, location)  # and round again: the new URL is checked like the first
    raise UrlRefused(f"more than {rules.max_redirects} redirects: not followed")


# --- checks before connecting ----------------------------------------------------------------


def _checked_target(url: str, rules: FetchRules, deadline: float) -> tuple[str, int, str]:
    """(host, port, the one address to connect to) for a URL that passes every check."""
    if len(url) > MAX_URL_LENGTH or not url.isascii() or not url.isprintable():
        raise UrlRefused(
            f"give a URL of at most {MAX_URL_LENGTH} printable ASCII characters "
            "(percent-encode others)"
        )
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        shown = f"{parts.scheme}://" if parts.scheme else "no scheme"
        raise UrlRefused(f"only http:// and https:// URLs are fetched, not {shown}")
    if parts.username is not None or parts.password is not None:
        raise UrlRefused("a URL with a user name or password in it is not fetched")
    try:
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError:
        raise UrlRefused(f"{_short(url)} has an invalid port") from None
    host = parts.hostname
    if not host:
        raise UrlRefused(f"{_short(url)} names no host")

    addresses = _resolve_in_time(rules, host, port, deadline)
    refusals = [_refusal(address, port, rules) for address in addresses]
    # Every address must pass: a name that also points inward could be tried on that address.
    for address, refusal in zip(addresses, refusals, strict=True):
        if refusal:
            where = f"{host} is" if address == host else f"{host} resolves to {address},"
            raise UrlRefused(f"{where} {refusal}: not fetched")
    return host, port, addresses[0]


def _resolve_in_time(rules: FetchRules, host: str, port: int, deadline: float) -> list[str]:
    """The resolver's answer, or a refusal once the deadline passes (lookups can hang)."""
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        addresses = pool.submit(rules.resolve, host, port).result(_left(deadline))
    except LookupTimeout:
        raise UrlRefused(f"looking up {host} took longer than {rules.timeout:g} s") from None
    finally:
        pool.shutdown(wait=False)  # a hung lookup finishes in the background, unused
    if not addresses:
        raise UrlRefused(f"cannot find the host {host!r}")
    return addresses


def _refusal(address: str, port: int, rules: FetchRules) -> str | None:
    """Why we must not connect to address:port, or None when we may."""
    if (address, port) in rules.allow:
        return None
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    for kind, described in INWARD.items():
        if getattr(ip, f"is_{kind}"):
            return described
    if not ip.is_global:
        return "not a public address"
    if port not in rules.ports:
        return f"and port {port} is not one of {sorted(rules.ports)}"
    if not rules.internet:
        return "a public address, and this server fetches nothing from the internet"
    return None


# --- the request, against the checked address ------------------------------------------------


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """HTTP to `host` (its name in the Host header) through a socket to one checked address."""

    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS the same way; the certificate is still checked against the host *name*."""

    def __init__(self, host, port, address, timeout, context: ssl.SSLContext):
        super().__init__(host, port, timeout=timeout, context=context)
        self.address = address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _get(url, host, port, address, rules, deadline) -> tuple[int, str | None, Fetched | None]:
    """(status, Location header, the file when the status is 200) for one GET."""
    parts = urlsplit(url)
    if parts.scheme.lower() == "https":
        context = rules.tls or ssl.create_default_context()
        connection = _PinnedHTTPSConnection(host, port, address, _left(deadline), context)
    else:
        connection = _PinnedHTTPConnection(host, port, address, _left(deadline))
    # Each socket operation has a timeout, but a server that sends one byte just before each
    # would never trip it: at the deadline the connection is cut, whatever it is doing.
    cutter = threading.Timer(_left(deadline), _cut, [connection])
    cutter.start()
    try:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request("GET", target, headers={
            "User-Agent": "movierec-fetch", "Accept-Encoding": "identity", "Connection": "close",
        })  # fmt: skip
        response = connection.getresponse()
        if response.status != 200:
            return response.status, response.getheader("Location"), None
        content = _read_capped(response, rules, deadline, url)
        kind = response.getheader("Content-Type", "")
        return 200, None, Fetched(url, content, kind)
    except (OSError, http.client.HTTPException, ValueError) as error:
        if time.monotonic() >= deadline:
            raise UrlRefused(f"{_short(url)} took longer than {rules.timeout:g} s") from None
        raise UrlRefused(f"could not fetch {_short(url)} ({_reason(error)})") from None
    finally:
        cutter.cancel()
        connection.close()


def _cut(connection: http.client.HTTPConnection) -> None:
    """End a connection from another thread: `shutdown` wakes a blocked read, `close` may not."""
    if connection.sock is not None:
        with suppress(OSError):  # already closed
            connection.sock.shutdown(socket.SHUT_RDWR)


def _read_capped(response, rules: FetchRules, deadline: float, url: str) -> bytes:
    """The body, refused as soon as it is longer than allowed (announced or not)."""
    too_large = f"{_short(url)} is larger than the limit of {rules.max_bytes:,} bytes"
    announced = response.getheader("Content-Length")
    if announced and announced.isdigit() and int(announced) > rules.max_bytes:
        raise UrlRefused(too_large)
    received = bytearray()
    while chunk := response.read1(CHUNK):  # read1: whatever has arrived, never waits for more
        received += chunk
        if len(received) > rules.max_bytes:
            raise UrlRefused(too_large)
        if time.monotonic() >= deadline:
            raise UrlRefused(f"{_short(url)} took longer than {rules.timeout:g} s")
    return bytes(received)


def _left(deadline: float) -> float:
    return max(deadline - time.monotonic(), 0.001)


def _reason(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0][:120] if text else type(error).__name__


def _short(url: str) -> str:
    return url if len(url) <= 80 else url[:77] + "..."
