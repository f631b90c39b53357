"""Run lecture 5's nginx site and TorchServe config on loopback, as the tests and benchmark do.

Each function starts from a file of deploy/ and changes only what must differ on a test machine
(ports, certificate paths, temporary directories). Every change checks that the text it
replaces is really there, so a test can never quietly run a config other than the one students
install.
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from movierec.processes import listening, running

DEPLOY = Path(__file__).resolve().parent
NGINX_SITE = DEPLOY / "nginx" / "movierec.conf"
TORCHSERVE_CONFIG = DEPLOY / "torchserve" / "config.properties"
EXAMPLE_DOMAIN = "movies.example.com"


def replace_exactly(text: str, old: str, new: str, count: int = 1) -> str:
    """`text` with `old` replaced by `new`; ValueError unless `old` occurs exactly `count` times."""
    found = text.count(old)
    if found != count:
        raise ValueError(f"expected {count} x {old!r} in the config, found {found}")
    return text.replace(old, new)


# --- nginx ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Certificate:
    """A certificate from a throwaway authority, in PEM files: what Let's Encrypt gives a server."""

    authority: Path  # what clients trust (curl --cacert, requests' verify=)
    chain: Path  # what nginx sends (ssl_certificate)
    key: Path  # nginx's private key (ssl_certificate_key)


def issue_certificate(folder: Path, *names: str) -> Certificate:
    """A new certificate authority (trustme, a test dependency) and a certificate for `names`."""
    import trustme

    authority = trustme.CA()
    issued = authority.issue_cert(*names)
    files = Certificate(folder / "ca.pem", folder / "chain.pem", folder / "key.pem")
    authority.cert_pem.write_to_path(str(files.authority))
    issued.private_key_pem.write_to_path(str(files.key))
    for blob in issued.cert_chain_pems:
        blob.write_to_path(str(files.chain), append=True)
    return files


@dataclass(frozen=True)
class NginxPorts:
    http: int  # the redirect (80 on a server)
    https: int  # TLS (443 on a server)
    app: int  # gunicorn (5000 on a server)


def nginx_site_for_loopback(
    ports: NginxPorts, certificate: Path, key: Path, exempt_loopback: bool = False
) -> str:
    """deploy/nginx/movierec.conf on loopback ports with a test certificate (for the example
    domain, which clients reach with `curl --connect-to` or a `Host` header).

    `exempt_loopback`: 127.0.0.1 is not rate limited (for a benchmark, which would otherwise
    measure the limiter).
    """
    site = NGINX_SITE.read_text()
    live = f"/etc/letsencrypt/live/{EXAMPLE_DOMAIN}"
    changes = [
        ("    listen 80;\n", f"    listen 127.0.0.1:{ports.http};\n", 1),
        ("    listen 443 ssl;\n", f"    listen 127.0.0.1:{ports.https} ssl;\n", 1),
        ("    listen [::]:80;\n", "", 1),  # IPv6: loopback-only tests listen on 127.0.0.1 alone
        ("    listen [::]:443 ssl;\n", "", 1),
        (f"{live}/fullchain.pem", str(certificate), 1),
        (f"{live}/privkey.pem", str(key), 1),
        ("server 127.0.0.1:5000;", f"server 127.0.0.1:{ports.app};", 1),
    ]
    if exempt_loopback:
        changes.append(("    default 1;\n", "    default 1;\n    127.0.0.1 0;\n", 1))
    for old, new, count in changes:
        site = replace_exactly(site, old, new, count)
    return site


def nginx_main_config(prefix: Path, site: Path) -> str:
    """A main nginx.conf that keeps every file nginx writes under `prefix` and includes `site`.

    On a server, Debian's /etc/nginx/nginx.conf plays this part.
    """
    # The master runs as whoever starts it; as root, its workers would become `nobody`, who
    # cannot enter a root-owned temporary directory.
    user = "user root;\n" if os.geteuid() == 0 else ""
    paths = "".join(
        f"    {kind}_temp_path {prefix / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        # One event-driven worker handles thousands of requests a second; on a small machine
        # (tests, benchmarks, a 2-core VPS) more would only compete with gunicorn's workers.
        f"{user}worker_processes 1;\n"
        f"pid {prefix / 'nginx.pid'};\n"
        f"error_log {prefix / 'error.log'} notice;\n"
        "events {\n    worker_connections 768;\n}\n"
        "http {\n"
        f"    access_log {prefix / 'access.log'};\n"
        f"{paths}"
        f"    include {site};\n"
        "}\n"
    )


@contextmanager
def running_nginx(
    nginx: str, prefix: Path, site_text: str, ports: NginxPorts, timeout: float = 30
) -> Iterator[Path]:
    """nginx in the foreground with `site_text` as its only site, for a `with` block.

    Yields the prefix folder (its logs: error.log, access.log, nginx.out).
    """
    prefix.mkdir(parents=True, exist_ok=True)
    site = prefix / "movierec.conf"
    site.write_text(site_text)
    main = prefix / "nginx.conf"
    main.write_text(nginx_main_config(prefix, site))
    command = [nginx, "-p", str(prefix), "-c", str(main), "-g", "daemon off;"]
    with running(command, prefix / "nginx.out", lambda: listening(ports.https), timeout):
        yield prefix


# --- TorchServe -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TorchServePorts:
    inference: int
    management: int
    metrics: int
    grpc_inference: int
    grpc_management: int
    worker: int  # the first port of the frontend-to-worker sockets


@dataclass(frozen=True)
class TorchServe:
    """A running TorchServe: where to send requests, and the keys it wrote into its folder."""

    inference_url: str
    management_url: str
    folder: Path

    def key(self, kind: str = "inference") -> str:
        """A key from key_file.json ("inference", "management" or "API")."""
        return json.loads((self.folder / "key_file.json").read_text())[kind]["key"]

    def headers(self, kind: str = "inference") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key(kind)}"}


def torchserve_config_for_loopback(ports: TorchServePorts) -> str:
    """deploy/torchserve/config.properties on free loopback ports."""
    config = TORCHSERVE_CONFIG.read_text()
    changes = [
        ("inference_address=http://127.0.0.1:8080", f"inference_address=http://127.0.0.1:{ports.inference}"),
        ("management_address=http://127.0.0.1:8081", f"management_address=http://127.0.0.1:{ports.management}"),
        ("metrics_address=http://127.0.0.1:8082", f"metrics_address=http://127.0.0.1:{ports.metrics}"),
        ("grpc_inference_port=7070", f"grpc_inference_port={ports.grpc_inference}"),
        ("grpc_management_port=7071", f"grpc_management_port={ports.grpc_management}"),
    ]  # fmt: skip
    for old, new in changes:
        config = replace_exactly(config, old, new)
    # Worker sockets are numbered from 9000 by default: two servers on one machine would clash.
    return config + f"initial_worker_port={ports.worker}\n"


def model_ready(server: TorchServe, model: str) -> bool:
    """True once the management API reports a worker of `model` as READY."""
    try:
        request = urllib.request.Request(
            f"{server.management_url}/models/{model}", headers=server.headers("management")
        )
        with urllib.request.urlopen(request, timeout=2) as response:
            (description,) = json.load(response)
    except (OSError, ValueError, KeyError):  # not up yet, no key file yet, not loaded yet
        return False
    return any(worker["status"] == "READY" for worker in description["workers"])


@contextmanager
def running_torchserve(
    torchserve: str,
    folder: Path,
    archive: Path,
    ports: TorchServePorts,
    model: str = "movierec",
    timeout: float = 120,
) -> Iterator[TorchServe]:
    """TorchServe serving `archive` as `model`, with every file it writes under `folder`."""
    store, tmp, logs = folder / "model-store", folder / "tmp", folder / "logs"
    for directory in (store, tmp, logs):
        directory.mkdir(parents=True, exist_ok=True)
    shutil.copy(archive, store / archive.name)
    config = folder / "config.properties"
    config.write_text(torchserve_config_for_loopback(ports))
    env = {
        **os.environ,
        # Its PID file, the worker sockets and Java's temporary files go to $TMPDIR / $TEMP;
        # its logs to $LOG_LOCATION; key_file.json to the working directory (`cwd` below).
        "TMPDIR": str(tmp),
        "TEMP": str(tmp),
        "LOG_LOCATION": str(logs),
        "METRICS_LOCATION": str(logs),
    }
    command = [
        torchserve, "--start", "--foreground",
        "--ncs",  # no config snapshots: the config file is the whole truth
        "--ts-config", str(config),
        "--model-store", str(store),
        "--models", f"{model}={archive.name}",
    ]  # fmt: skip
    server = TorchServe(
        f"http://127.0.0.1:{ports.inference}", f"http://127.0.0.1:{ports.management}", folder
    )
    log = folder / "torchserve.out"
    with running(command, log, lambda: model_ready(server, model), timeout, env=env, cwd=folder):
        yield server
