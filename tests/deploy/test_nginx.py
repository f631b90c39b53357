"""HTTPS in front of the app: the repository's nginx site and systemd unit, run for real.

gunicorn runs the command of deploy/systemd/movierec-api.service as systemd would (its %h is a
temporary home whose `course` folder points at this repository and the tiny model). nginx runs
deploy/nginx/movierec.conf on free loopback ports with every file under a temporary folder, and
a certificate for movies.example.com made by a throwaway certificate authority (trustme), which
curl and requests verify: never `-k`, never `verify=False`.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shlex
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from deploy import loopback
from deploy.loopback import Certificate
from movierec.processes import free_port, listening, running, wait_for
from tests.conftest import REPO_ROOT, VENV_BIN, require_tool
from tests.support import shell_lines

UNIT = REPO_ROOT / "deploy" / "systemd" / "movierec-api.service"
WORKER_UNIT = REPO_ROOT / "deploy" / "systemd" / "movierec-worker.service"  # lecture 6
LECTURE = REPO_ROOT / "lectures" / "05_production_serving.md"
DOMAIN = loopback.EXAMPLE_DOMAIN
START_TIMEOUT = 90  # seconds: importing torch on a busy 2-core machine can take a while
WORKERS = os.cpu_count() or 1  # gunicorn.conf.py starts one sync worker per core


# --- the certificate, the app, the proxy -------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> Certificate:
    """A certificate for the example domain, localhost and 127.0.0.1, from a test-only CA."""
    folder = tmp_path_factory.mktemp("tls")
    return loopback.issue_certificate(folder, DOMAIN, "localhost", "127.0.0.1")


def unit_settings(unit: Path) -> dict[str, list[str]]:
    """The [Service] lines of a systemd unit: {key: [values, in order]}."""
    settings: dict[str, list[str]] = {}
    section = None
    for line in unit.read_text().splitlines():
        if line.startswith("["):
            section = line.strip("[]")
        elif section == "Service" and "=" in line and not line.startswith("#"):
            key, value = line.split("=", 1)
            settings.setdefault(key, []).append(value)
    return settings


def fake_home(home: Path, model_dir: Path) -> Path:
    """A home laid out as setup/README.md leaves it: ~/course (this repository, with a model in
    models/default) and ~/miniforge3/envs/movierec/bin (this virtual environment)."""
    course = home / "course"
    (course / "models").mkdir(parents=True)
    (course / "flask_app").symlink_to(REPO_ROOT / "flask_app")
    (course / "models" / "default").symlink_to(model_dir)
    (home / "miniforge3" / "envs" / "movierec").mkdir(parents=True)
    (home / "miniforge3" / "envs" / "movierec" / "bin").symlink_to(VENV_BIN)
    return home


@dataclass(frozen=True)
class AppServer:
    port: int
    log: Path


@pytest.fixture(scope="module")
def app_server(trained_model_dir, tmp_path_factory) -> Iterator[AppServer]:
    """gunicorn started exactly as the unit's ExecStart, Environment and WorkingDirectory say;
    only the port moves off 5000 ($PORT, which gunicorn.conf.py reads)."""
    home = fake_home(tmp_path_factory.mktemp("home"), trained_model_dir)
    settings = {
        key: [value.replace("%h", str(home)) for value in values]
        for key, values in unit_settings(UNIT).items()
    }
    port, log = free_port(), home / "gunicorn.log"
    env = dict(os.environ, PORT=str(port))
    env.update(line.split("=", 1) for line in settings["Environment"])
    command = shlex.split(settings["ExecStart"][0])
    with running(command, log, f"http://127.0.0.1:{port}/health", START_TIMEOUT, env=env,
                 cwd=settings["WorkingDirectory"][0]):  # fmt: skip
        wait_for(lambda: log.read_text().count("Booting worker") >= WORKERS, 60, "all workers")
        yield AppServer(port, log)


@dataclass(frozen=True)
class Proxy:
    ports: loopback.NginxPorts
    certificate: Certificate

    @property
    def url(self) -> str:
        """The proxy's HTTPS address under a name its certificate holds."""
        return f"https://localhost:{self.ports.https}"

    def curl(self, *args: str, source: str | None = None) -> subprocess.CompletedProcess[str]:
        """curl that verifies the certificate and reaches movies.example.com on our ports."""
        route = [
            *("--connect-to", f"{DOMAIN}:443:127.0.0.1:{self.ports.https}"),
            *("--connect-to", f"{DOMAIN}:80:127.0.0.1:{self.ports.http}"),
            *("--cacert", str(self.certificate.authority)),
        ]
        interface = ["--interface", source] if source else []
        return subprocess.run(
            [require_tool("curl"), *route, *interface, *args],
            capture_output=True,
            text=True,
            timeout=30,
        )


def nginx_ports(app_port: int) -> loopback.NginxPorts:
    return loopback.NginxPorts(http=free_port(), https=free_port(), app=app_port)


@pytest.fixture(scope="module")
def proxy(app_server, certificate, tmp_path_factory) -> Iterator[Proxy]:
    """nginx with the repository's site in front of `app_server`; one per module."""
    nginx = require_tool("nginx")
    ports = nginx_ports(app_server.port)
    site = loopback.nginx_site_for_loopback(ports, certificate.chain, certificate.key)
    folder = tmp_path_factory.mktemp("nginx")
    with loopback.running_nginx(nginx, folder, site, ports):
        yield Proxy(ports, certificate)


def access_lines(log: Path) -> list[dict]:
    """gunicorn's access log: one JSON object per request (flask_app/access_log.py)."""
    return [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]


def get(proxy: Proxy, path: str, **kwargs) -> requests.Response:
    return requests.get(
        proxy.url + path, verify=str(proxy.certificate.authority), timeout=10, **kwargs
    )


# --- the configuration itself ---------------------------------------------------------------------


def test_nginx_accepts_the_site(certificate, tmp_path):
    """`nginx -t`, as the lecture runs it before every reload."""
    nginx = require_tool("nginx")
    site = tmp_path / "site.conf"
    site.write_text(
        loopback.nginx_site_for_loopback(nginx_ports(5000), certificate.chain, certificate.key)
    )
    main = tmp_path / "nginx.conf"
    main.write_text(loopback.nginx_main_config(tmp_path, site))
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(main)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr


def test_every_error_nginx_makes_itself_is_json():
    """413, 429, 502, 503 and 504 each have an error_page that returns a JSON "error"."""
    site = loopback.NGINX_SITE.read_text()
    pages = dict(re.findall(r"^\s*error_page (\d{3}) (@\w+);", site, flags=re.M))
    assert set(pages) == {"413", "429", "502", "503", "504"}
    for status, location in pages.items():
        block = re.search(rf"location {location} \{{\n(.*?)\n    \}}", site, flags=re.S).group(1)
        assert "default_type application/json;" in block
        code, body = re.search(r"return (\d{3}) '(.*)';", block).groups()
        assert code == status
        assert set(json.loads(body.replace("\\n", "\n"))) == {"error"}


def test_the_unit_runs_gunicorn_on_loopback_behind_one_proxy():
    settings = unit_settings(UNIT)
    gunicorn = "%h/miniforge3/envs/movierec/bin/gunicorn"
    assert settings["ExecStart"] == [
        f'{gunicorn} -c flask_app/gunicorn.conf.py "flask_app:create_app()"'
    ]
    assert "FLASK_PROXY_HOPS=1" in settings["Environment"]
    assert settings["Restart"] == ["on-failure"]


def test_the_worker_unit_runs_the_worker_from_the_same_environment_and_jobs_folder():
    """`make worker`'s command, from the API unit's environment, on the API unit's jobs folder:
    the API queues and the worker runs the same jobs."""
    api, worker = unit_settings(UNIT), unit_settings(WORKER_UNIT)
    (gunicorn,) = api["ExecStart"]
    python = gunicorn.split()[0].replace("/gunicorn", "/python")
    assert worker["ExecStart"] == [f"{python} -m training_service.worker"]
    assert "-m training_service.worker" in (REPO_ROOT / "Makefile").read_text()
    jobs = [value for value in worker["Environment"] if value.startswith("MOVIEREC_JOBS_DIR=")]
    assert jobs and set(jobs) <= set(api["Environment"])
    assert worker["WorkingDirectory"] == api["WorkingDirectory"]
    assert worker["Restart"] == ["on-failure"]


@pytest.mark.parametrize("unit", [UNIT, WORKER_UNIT], ids=lambda unit: unit.name)
def test_systemd_accepts_the_unit(unit, trained_model_dir, tmp_path):
    """`systemd-analyze verify --user` in a home laid out like the course's: %h resolves."""
    analyze = require_tool("systemd-analyze")
    home = fake_home(tmp_path / "home", trained_model_dir)
    units = home / ".config" / "systemd" / "user"
    units.mkdir(parents=True)
    (units / unit.name).write_text(unit.read_text())
    runtime_dir = tmp_path / "runtime"  # `verify --user` needs one, as in a login session
    runtime_dir.mkdir(mode=0o700)
    result = subprocess.run(
        [analyze, "verify", "--user", str(units / unit.name)],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "HOME": str(home), "XDG_RUNTIME_DIR": str(runtime_dir)},
    )
    assert result.returncode == 0, result.stderr


# --- through the proxy -------------------------------------------------------------------------


@pytest.mark.slow
def test_health_and_recommend_answer_over_verified_https(proxy, trained_model_dir):
    health = proxy.curl("-fsS", f"https://{DOMAIN}/health")
    assert health.returncode == 0, health.stderr
    assert json.loads(health.stdout)["status"] == "ok"
    user = json.loads((trained_model_dir / "metadata.json").read_text())["user_ids"][0]
    answer = get(proxy, "/recommend", params={"user_id": user, "k": 3})
    assert answer.status_code == 200
    assert len(answer.json()["recommendations"]) == 3


@pytest.mark.slow
def test_a_certificate_nobody_vouches_for_is_refused(proxy):
    """Without --cacert, curl does not trust the test CA: verification is really on."""
    result = subprocess.run(
        [require_tool("curl"), "-fsS", f"{proxy.url}/health"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 60, result.stderr  # 60: the certificate could not be verified


@pytest.mark.slow
def test_plain_http_is_redirected_to_https(proxy):
    response = requests.get(
        f"http://127.0.0.1:{proxy.ports.http}/recommend?user_id=1",
        headers={"Host": "attacker.example"},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 301
    # The configured name, never the Host the client sent.
    assert response.headers["Location"] == f"https://{DOMAIN}/recommend?user_id=1"
    assert "Strict-Transport-Security" not in response.headers  # meaningless over plain HTTP


@pytest.mark.slow
@pytest.mark.parametrize("path", ["/health", "/recommend?user_id=abc", "/no-such-page"])
def test_every_https_answer_has_hsts_and_the_apps_headers(proxy, path):
    response = get(proxy, path)
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert response.headers["Server"] == "nginx"  # no version number
    assert response.headers["X-Content-Type-Options"] == "nosniff"  # the app's, passed on


@pytest.mark.slow
def test_an_oversized_body_is_refused_by_nginx_as_json(proxy, app_server):
    body = b'{"user_id": 1, "item_ids": [' + b"1, " * 30_000 + b"1]}"  # 90 KB
    response = requests.post(
        f"{proxy.url}/predict",
        data=body,
        headers={"Content-Type": "application/json"},
        verify=str(proxy.certificate.authority),
        timeout=10,
    )
    assert response.status_code == 413
    assert response.headers["Content-Type"] == "application/json"
    assert "too large" in response.json()["error"]
    assert not [x for x in access_lines(app_server.log) if x["path"] == "/predict"]  # never seen


@pytest.mark.slow
@pytest.mark.parametrize(
    ("path", "fits", "limit"),
    [("/recommend/for-ratings", 200_000, 524_288), ("/train", 1_000_000, 8_388_608)],
)
def test_the_paths_that_take_files_have_their_own_limit_in_nginx(proxy, app_server, path, fits,
                                                                 limit):  # fmt: skip
    """A body too large for the JSON API reaches these two paths; beyond their own limit nginx
    refuses it, naming that limit."""

    def post(size: int) -> requests.Response:
        return requests.post(f"{proxy.url}{path}?size={size}", data=b"x" * size,
                             headers={"Content-Type": "application/json"},
                             verify=str(proxy.certificate.authority), timeout=10)  # fmt: skip

    assert post(fits).status_code != 413  # the app answers it (a 4xx about the JSON, or the key)
    refused = post(limit + 1)
    assert refused.status_code == 413
    assert (
        refused.json()["error"] == f"the request body is too large (the limit is {limit:,} bytes)"
    )
    wait_for(lambda: f"size={fits}" in app_server.log.read_text(), 10, "the access log line")
    assert f"size={limit + 1}" not in app_server.log.read_text()  # gunicorn never saw it


def https_connection(proxy: Proxy, source: str) -> http.client.HTTPSConnection:
    """A keep-alive HTTPS connection from the loopback address `source` (a client of its own)."""
    context = ssl.create_default_context(cafile=str(proxy.certificate.authority))
    return http.client.HTTPSConnection(
        "localhost", proxy.ports.https, context=context, timeout=10, source_address=(source, 0)
    )


@pytest.mark.slow
def test_past_the_burst_a_client_gets_429_as_json_and_others_do_not(proxy):
    """One address (127.0.0.3) sends 100 requests as fast as it can: 10 per second plus a burst
    of 20 get through, the rest are refused; another address is not slowed down by it."""
    connection = https_connection(proxy, "127.0.0.3")
    statuses, refusal = [], None
    for _ in range(100):
        connection.request("GET", "/health")
        response = connection.getresponse()
        body = response.read()
        statuses.append(response.status)
        if response.status == 429:
            refusal = (response.getheader("Content-Type"), json.loads(body))
    connection.close()
    assert 20 <= statuses.count(200) < 100 and set(statuses) == {200, 429}, statuses
    assert statuses[:20] == [200] * 20  # the burst is served at once, without delay
    assert refusal[0] == "application/json" and "too many requests" in refusal[1]["error"]
    other = https_connection(proxy, "127.0.0.4")
    other.request("GET", "/health")
    assert other.getresponse().status == 200


@pytest.mark.slow
def test_flask_sees_the_real_client_address_through_proxyfix(proxy, app_server):
    """nginx connects from 127.0.0.1; with FLASK_PROXY_HOPS=1 the access log (gunicorn's JSON
    line, via ProxyFix) names the client, here 127.0.0.2."""
    result = proxy.curl("-fsS", f"https://{DOMAIN}/health?from=proxyfix", source="127.0.0.2")
    assert result.returncode == 0, result.stderr
    wait_for(lambda: "proxyfix" in app_server.log.read_text(), 10, "the access log line")
    (line,) = [x for x in access_lines(app_server.log) if x["query"] == "from=proxyfix"]
    assert line["remote_addr"] == "127.0.0.2"


@pytest.mark.slow
def test_a_stopped_app_is_a_502_in_json(certificate, tmp_path):
    """nginx in front of a port where nothing listens (the app crashed, or is restarting)."""
    ports = nginx_ports(free_port())
    site = loopback.nginx_site_for_loopback(ports, certificate.chain, certificate.key)
    with loopback.running_nginx(require_tool("nginx"), tmp_path / "nginx", site, ports):
        response = requests.get(
            f"https://localhost:{ports.https}/health", verify=str(certificate.authority), timeout=10
        )
    assert response.status_code == 502
    assert "not running" in response.json()["error"]


# --- slow clients -------------------------------------------------------------------------------


class SlowClients:
    """`count` clients that send a request's headers a few bytes at a time and never finish:
    what a bad mobile connection does by accident, and a "slowloris" attack on purpose."""

    def __init__(self, port: int, count: int, tls: ssl.SSLContext | None = None):
        self.port, self.count, self.tls = port, count, tls
        self.sockets: list[socket.socket] = []
        self.broken = 0  # connections the server closed while we were still sending
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.dribble, daemon=True)

    def __enter__(self) -> SlowClients:
        for _ in range(self.count):
            connection = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            if self.tls:
                connection = self.tls.wrap_socket(connection, server_hostname="localhost")
            connection.sendall(b"GET /health HTTP/1.1\r\nHost: localhost\r\n")
            self.sockets.append(connection)
        self.thread.start()
        return self

    def dribble(self) -> None:
        while not self.done.wait(0.5):
            for connection in self.sockets:
                try:
                    connection.sendall(b"X-Slow: 1\r\n")
                except OSError:
                    self.broken += 1

    def __exit__(self, *exc_info) -> None:
        self.done.set()
        self.thread.join(timeout=5)
        for connection in self.sockets:
            connection.close()


BOUND = 2.0  # seconds: a generous bound for /health, which answers in milliseconds


def seconds_to_health(url: str, verify: str | bool = True) -> float:
    """How long GET url/health takes; `BOUND` plus a little when it does not answer in time."""
    started = time.monotonic()
    try:
        requests.get(f"{url}/health", verify=verify, timeout=BOUND).raise_for_status()
    except requests.Timeout:
        return BOUND + 0.001
    return time.monotonic() - started


@pytest.mark.slow
def test_slow_clients_stall_bare_gunicorn_but_not_nginx(proxy, app_server):
    """One more slow client than gunicorn has sync workers: straight to gunicorn, /health gets
    no answer within BOUND; through nginx, which buffers every request, it answers at once."""
    tls = ssl.create_default_context(cafile=str(proxy.certificate.authority))
    with SlowClients(proxy.ports.https, WORKERS + 1, tls) as slow:
        behind_nginx = seconds_to_health(proxy.url, verify=str(proxy.certificate.authority))
        assert slow.broken == 0  # ...while the slow clients are all still connected

    with SlowClients(app_server.port, WORKERS + 1) as slow:
        bare = seconds_to_health(f"http://127.0.0.1:{app_server.port}")
        assert slow.broken == 0
    answer = f"no answer within {BOUND:.0f} s" if bare > BOUND else f"{bare:.3f} s"
    print(f"\n/health with {WORKERS + 1} slow clients: behind nginx {behind_nginx:.3f} s, "
          f"bare gunicorn {answer}")  # fmt: skip
    assert behind_nginx < BOUND
    assert bare > BOUND
    # Once the slow clients give up, the workers are free again.
    wait_for(lambda: listening(app_server.port) and seconds_to_health(
        f"http://127.0.0.1:{app_server.port}") < BOUND, 30, "gunicorn to recover")  # fmt: skip


# --- the lecture's commands ---------------------------------------------------------------------


def lecture_curl_commands() -> list[str]:
    """The lecture's curl lines that call the example domain (run against our proxy)."""
    return [line for line in shell_lines(LECTURE) if line.startswith("curl ") and DOMAIN in line]


@pytest.mark.slow
def test_the_lectures_curl_lines_work_through_the_proxy(proxy):
    commands = lecture_curl_commands()
    assert commands, "the lecture shows no curl line for movies.example.com"
    for command in commands:
        words = shlex.split(command.split(" #")[0])
        assert "-k" not in words and "--insecure" not in words
        result = proxy.curl(*words[1:])
        assert result.returncode == 0, f"{command}\n{result.stdout}{result.stderr}"
        expected = re.search(r"#\s*(\d{3})\b", command)
        if expected:
            assert re.search(rf"^HTTP/[\d.]+ {expected.group(1)}", result.stdout, re.M), command


# --- /metrics stays private (lecture 8) -----------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    "path", ["/metrics", "/metrics?format=x", "/metrics/", "//metrics", "/%6detrics", "/METRICS"]
)
def test_metrics_are_not_served_to_the_internet(proxy, path):
    """Through nginx /metrics is a 404 however it is spelt, while gunicorn on loopback serves
    it (that is where Prometheus scrapes)."""
    response = get(proxy, path)
    assert response.status_code == 404, path
    assert response.headers["Content-Type"] == "application/json"
    assert "movierec_" not in response.text


@pytest.mark.slow
def test_prometheus_reaches_metrics_on_loopback(app_server):
    response = requests.get(f"http://127.0.0.1:{app_server.port}/metrics", timeout=10)
    assert response.status_code == 200 and "movierec_http_requests_total" in response.text


@pytest.mark.slow
def test_the_request_id_goes_through_the_proxy_to_the_log(proxy, app_server):
    """A client's id reaches the app and comes back; without one, nginx's own id is used."""
    chosen = get(proxy, "/health?from=request-id", headers={"X-Request-ID": "through-nginx-1"})
    assert chosen.headers["X-Request-ID"] == "through-nginx-1"
    made = get(proxy, "/health?from=request-id").headers["X-Request-ID"]
    assert len(made) == 32 and made != "through-nginx-1"  # nginx's $request_id: 32 hex digits
    wait_for(
        lambda: (
            {"through-nginx-1", made} <= {x["request_id"] for x in access_lines(app_server.log)}
        ),
        10,
        "both ids in the access log",
    )
