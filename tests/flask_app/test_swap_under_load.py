"""Models swapped under load in a real gunicorn: not one request fails, and every answer comes
wholly from one model (the one its X-Model-Version header names), never from a mix.

Four client threads ask for /recommend and /health as fast as they can while the served link is
pointed at a new model three times, each with `save_model`, as a promotion does. Each answer's
list must equal, exactly, what the model it names recommends.
"""

from __future__ import annotations

import http.client
import json
import os
import threading
import time
from dataclasses import dataclass

import pytest

from movierec.persist import save_model
from movierec.processes import free_port, running, wait_for
from tests.conftest import REPO_ROOT, VENV_BIN
from tests.flask_app.conftest import variant_of

pytestmark = pytest.mark.slow

CLIENTS = 4
SWAPS = 3
START_TIMEOUT = 90  # seconds: importing torch on a busy 2-core machine can take a while


@dataclass(frozen=True)
class Answer:
    path: str
    status: int
    version: str | None  # the X-Model-Version header
    body: bytes


class LoadGenerator:
    """`CLIENTS` threads sending requests back to back, recording every answer and failure."""

    def __init__(self, port: int, paths: list[str]):
        self.port, self.paths = port, paths
        self.answers: list[Answer] = []
        self.failures: list[str] = []  # connection errors and timeouts: must stay empty
        self.done = threading.Event()
        self.threads = [threading.Thread(target=self.client, daemon=True) for _ in range(CLIENTS)]

    def client(self) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        while not self.done.is_set():
            for path in self.paths:
                try:
                    connection.request("GET", path)
                    response = connection.getresponse()
                    body = response.read()
                except (OSError, http.client.HTTPException) as error:
                    self.failures.append(f"{path}: {error!r}")
                    connection.close()
                    continue
                version = response.getheader("X-Model-Version")
                self.answers.append(Answer(path, response.status, version, body))

    def wait_for_more_answers(self, n: int) -> None:
        target = len(self.answers) + n
        wait_for(lambda: len(self.answers) >= target, 60, f"{n} more answers")

    def wait_until_only(self, version: str, n: int = 50) -> None:
        """Until the last `n` answers all came from `version`: every worker has swapped."""

        def only_the_new_one() -> bool:
            return {answer.version for answer in self.answers[-n:]} == {version}

        wait_for(only_the_new_one, 60, f"{n} answers in a row from {version}")

    def __enter__(self) -> LoadGenerator:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.done.set()
        for thread in self.threads:
            thread.join(timeout=15)


def test_models_swapped_under_load_drop_no_request_and_never_mix(tiny_trained, tmp_path):
    original = tiny_trained.recommender
    models = [original, *(variant_of(original, seed) for seed in range(1, SWAPS + 1))]
    user = int(original.users.raw_ids[0])
    expected = {m.version: [r._asdict() for r in m.recommend(user, 10)] for m in models}
    assert len({json.dumps(ranking) for ranking in expected.values()}) == len(models)

    link = save_model(original, tmp_path / "models" / "default")
    port, log = free_port(), tmp_path / "gunicorn.log"
    command = [str(VENV_BIN / "gunicorn"), "-c", "flask_app/gunicorn.conf.py",
               "-b", f"127.0.0.1:{port}", "flask_app:create_app()"]  # fmt: skip
    env = {**os.environ, "MOVIEREC_MODEL": str(link)}
    paths = [f"/recommend?user_id={user}&k=10", "/health"]
    with running(command, log, f"http://127.0.0.1:{port}/health", START_TIMEOUT, env=env,
                 cwd=REPO_ROOT), LoadGenerator(port, paths) as load:  # fmt: skip
        started = time.monotonic()
        for new in models[1:]:
            load.wait_for_more_answers(100)  # the current model under load first
            save_model(new, link)  # one atomic swap of the link, as a promotion does
            load.wait_until_only(new.version)
        seconds = time.monotonic() - started

    assert load.failures == []
    statuses = {answer.status for answer in load.answers}
    assert statuses == {200}, statuses
    seen = {answer.version for answer in load.answers}
    assert seen == set(expected), seen
    for answer in load.answers:
        body = json.loads(answer.body)
        if answer.path == "/health":
            assert body["version"] == answer.version
        else:
            assert body["recommendations"] == expected[answer.version], "a mixed answer"
    server_errors = sum(answer.status >= 500 for answer in load.answers)
    print(f"\n{len(load.answers):,} requests in {seconds:.1f} s by {CLIENTS} clients, "
          f"{SWAPS} swaps: {len(load.failures)} failed, {server_errors} 5xx, "
          f"models seen: {len(seen)}")  # fmt: skip
