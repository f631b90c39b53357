"""The repository's Prometheus and Alertmanager files, checked by their own tools and run for real.

First promtool and amtool check the files, and `promtool test rules` runs the unit tests of the
alert rules (monitoring/alerts_test.yml) with their real `for:` durations. Then, on loopback,
Debian's prometheus scrapes a real gunicorn from a copy of prometheus.yml with 1-second intervals
(and a copy of alerts.yml with windows of seconds instead of minutes); the test makes the app slow
through its test-only delay file, watches MovierecSlowResponses go pending, then firing, through
Prometheus' HTTP API, sees Alertmanager deliver it to a webhook receiver (a tiny HTTP server in
this test, the course's stand-in for Slack) with the alert's labels, then makes the app fast again
and watches the alert resolve.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from movierec.processes import free_port, running, wait_for
from tests.conftest import REPO_ROOT, VENV_BIN, require_tool

MONITORING = REPO_ROOT / "monitoring"
ALERT = "MovierecSlowResponses"


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=60, cwd=REPO_ROOT)


# --- the files, checked by their tools --------------------------------------------------------


def test_promtool_accepts_the_config_and_its_rules():
    result = run(require_tool("promtool"), "check", "config", "monitoring/prometheus.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 rule files found" in result.stdout


def test_promtool_accepts_the_rules():
    result = run(require_tool("promtool"), "check", "rules", "monitoring/alerts.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 rules found" in result.stdout


def test_the_rules_pass_their_unit_tests():
    """monitoring/alerts_test.yml: slow answers fire after 5 minutes and resolve, fast ones and
    slow /metrics scrapes never fire, 10 % of 5xx fires and 1 % does not, a down app fires."""
    result = run(require_tool("promtool"), "test", "rules", "monitoring/alerts_test.yml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_amtool_accepts_the_alertmanager_config():
    result = run(require_tool("amtool"), "check-config", "monitoring/alertmanager.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_prometheus_scrapes_loopback_only():
    """gunicorn is scraped on 127.0.0.1, never through nginx (which refuses /metrics)."""
    config = (MONITORING / "prometheus.yml").read_text()
    assert '- targets: ["127.0.0.1:5000"]' in config
    assert '- targets: ["127.0.0.1:9093"]' in config


# --- copies with short intervals, for a run that takes seconds ---------------------------------


def replace_exactly(text: str, old: str, new: str, count: int) -> str:
    """Replace `old` by `new`, failing when it does not occur exactly `count` times (so a change
    in the shipped file cannot make the test run something else silently)."""
    assert text.count(old) == count, f"expected {count} x {old!r}"
    return text.replace(old, new)


def fast_prometheus_config(app_port: int, alertmanager_port: int, rules: Path) -> str:
    text = (MONITORING / "prometheus.yml").read_text()
    for old, new, count in [
        ("scrape_interval: 15s", "scrape_interval: 1s", 1),
        ("evaluation_interval: 15s", "evaluation_interval: 1s", 1),
        ("- alerts.yml", f"- {rules}", 1),
        ('"127.0.0.1:5000"', f'"127.0.0.1:{app_port}"', 1),
        ('"127.0.0.1:9093"', f'"127.0.0.1:{alertmanager_port}"', 1),
    ]:
        text = replace_exactly(text, old, new, count)
    return text


def fast_rules() -> str:
    """alerts.yml with windows of 10 s instead of 5 minutes, and 3 s of `for:`."""
    text = (MONITORING / "alerts.yml").read_text()
    text = replace_exactly(text, "[5m]", "[10s]", 3)
    text = replace_exactly(text, "for: 5m", "for: 3s", 2)
    return replace_exactly(text, "for: 1m", "for: 3s", 1)


def fast_alertmanager_config(webhook_url: str) -> str:
    text = (MONITORING / "alertmanager.yml").read_text()
    for old, new in [
        ("group_wait: 30s", "group_wait: 1s"),
        ("group_interval: 5m", "group_interval: 1s"),
        ("http://127.0.0.1:5005/alerts", webhook_url),
    ]:
        text = replace_exactly(text, old, new, 1)
    return text


# --- the webhook receiver: what Slack would get ------------------------------------------------


class Webhook:
    """An HTTP server on loopback that keeps every JSON body Alertmanager posts to it."""

    def __init__(self) -> None:
        received: list[dict] = []
        self.received = received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (the name http.server calls)
                length = int(self.headers.get("Content-Length", 0))
                received.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:  # quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Webhook:
        self.thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)

    def notifications(self, status: str) -> list[dict]:
        """The alerts of every message so far with this status ("firing" or "resolved")."""
        return [a for m in self.received for a in m["alerts"] if a["status"] == status]


class Load:
    """Two clients asking /recommend over and over, until stopped: the traffic being watched."""

    def __init__(self, url: str) -> None:
        self.url, self.done, self.errors = url, threading.Event(), []
        self.threads = [threading.Thread(target=self.ask, daemon=True) for _ in range(2)]

    def ask(self) -> None:
        while not self.done.is_set():
            try:
                requests.get(self.url, timeout=10).raise_for_status()
            except requests.RequestException as error:
                self.errors.append(error)
            self.done.wait(0.05)  # a steady trickle, not a benchmark

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.done.set()
        for thread in self.threads:
            thread.join(timeout=15)


# --- the whole chain, for real -----------------------------------------------------------------


@pytest.fixture
def stack(trained_model_dir, tmp_path) -> Iterator[dict]:
    """gunicorn (2 workers, a delay file), Alertmanager, Prometheus and the webhook, on loopback."""
    prometheus = require_tool("prometheus")
    alertmanager = require_tool("prometheus-alertmanager")
    app_port, am_port, prom_port = free_port(), free_port(), free_port()
    delay = tmp_path / "delay-seconds"
    env = {**os.environ, "MOVIEREC_MODEL": str(trained_model_dir), "FLASK_DELAY_FILE": str(delay)}
    gunicorn = [str(VENV_BIN / "gunicorn"), "-c", "flask_app/gunicorn.conf.py",
                "-b", f"127.0.0.1:{app_port}", "-w", "2", "flask_app:create_app()"]  # fmt: skip
    (tmp_path / "alerts.yml").write_text(fast_rules())
    (tmp_path / "prometheus.yml").write_text(
        fast_prometheus_config(app_port, am_port, tmp_path / "alerts.yml")
    )
    with Webhook() as webhook:
        (tmp_path / "alertmanager.yml").write_text(fast_alertmanager_config(webhook.url))
        prom_url, am_url = f"http://127.0.0.1:{prom_port}", f"http://127.0.0.1:{am_port}"
        with (
            running(gunicorn, tmp_path / "gunicorn.log", f"http://127.0.0.1:{app_port}/health",
                    90, env, cwd=REPO_ROOT),
            running([alertmanager, f"--config.file={tmp_path / 'alertmanager.yml'}",
                     f"--storage.path={tmp_path / 'alertmanager-data'}",
                     f"--web.listen-address=127.0.0.1:{am_port}", "--cluster.listen-address="],
                    tmp_path / "alertmanager.log", f"{am_url}/-/ready", 60),
            running([prometheus, f"--config.file={tmp_path / 'prometheus.yml'}",
                     f"--storage.tsdb.path={tmp_path / 'prometheus-data'}",
                     f"--web.listen-address=127.0.0.1:{prom_port}"],
                    tmp_path / "prometheus.log", f"{prom_url}/-/ready", 60),
        ):  # fmt: skip
            yield {
                "app": f"http://127.0.0.1:{app_port}",
                "prometheus": prom_url,
                "webhook": webhook,
                "delay": delay,
                "logs": tmp_path,
            }


def alert_states(prometheus: str) -> set[str]:
    """The states ("pending", "firing") of our alert in Prometheus right now."""
    alerts = requests.get(f"{prometheus}/api/v1/alerts", timeout=5).json()["data"]["alerts"]
    return {a["state"] for a in alerts if a["labels"]["alertname"] == ALERT}


def target_up(prometheus: str) -> bool:
    targets = requests.get(f"{prometheus}/api/v1/targets", timeout=5).json()["data"]
    return [t["health"] for t in targets["activeTargets"]] == ["up"]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_slow_app_fires_the_alert_which_reaches_the_webhook_and_resolves(stack, known_user):
    prometheus, webhook = stack["prometheus"], stack["webhook"]
    wait_for(lambda: target_up(prometheus), 60, "Prometheus to scrape gunicorn", interval=0.5)
    with Load(f"{stack['app']}/recommend?user_id={known_user}") as load:
        # Fast: a few evaluations pass without any alert.
        wait_for(lambda: query(prometheus, "movierec_http_requests_total") > 20, 60, "traffic")
        assert alert_states(prometheus) == set()

        stack["delay"].write_text("0.4")  # every request now takes 0.4 s: above 0.25 s
        seen: set[str] = set()

        def reached(state: str) -> bool:
            seen.update(alert_states(prometheus))
            return state in seen

        wait_for(lambda: reached("pending"), 60, "the alert to be pending", interval=0.2)
        wait_for(lambda: reached("firing"), 60, "the alert to fire", interval=0.2)
        wait_for(lambda: webhook.notifications("firing"), 60, "Alertmanager's message")
        (fired, *_) = webhook.notifications("firing")
        assert fired["labels"]["alertname"] == ALERT and fired["labels"]["severity"] == "page"
        assert "slow" in fired["annotations"]["summary"]

        stack["delay"].unlink()  # fast again: once the slow seconds leave the window, it is over
        wait_for(lambda: alert_states(prometheus) == set(), 90, "the alert to resolve", 0.5)
        wait_for(lambda: webhook.notifications("resolved"), 60, "the resolved message")
        assert webhook.notifications("resolved")[0]["labels"]["alertname"] == ALERT
    assert not load.errors, load.errors[:3]


def query(prometheus: str, expression: str) -> float:
    """The sum of an instant query's values (0 when it has none)."""
    answer = requests.get(
        f"{prometheus}/api/v1/query", params={"query": f"sum({expression})"}, timeout=5
    ).json()
    result = answer["data"]["result"]
    return float(result[0]["value"][1]) if result else 0.0


@pytest.fixture
def known_user(trained_model_dir) -> int:
    return json.loads((trained_model_dir / "metadata.json").read_text())["user_ids"][0]
