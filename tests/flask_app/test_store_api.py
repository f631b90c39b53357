"""Store mode (flask_app/store_api.py): /recommendations/<user_id> answers from the store what
/recommend answers from the model, without torch, and a store swapped in while requests run
drops none of them."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections import Counter
from dataclasses import replace

import pytest
import requests

from flask_app import create_app
from movierec.batch import build_store, store_contents
from movierec.limits import DEFAULT_K, MAX_K
from movierec.persist import load_model
from movierec.processes import free_port, running, wait_for
from movierec.store import write_store
from tests.conftest import REPO_ROOT, VENV_BIN


@pytest.fixture(scope="module")
def store_path(tmp_path_factory, trained_model_dir):
    """The session's tiny model, every user's top MAX_K, in a store."""
    path = tmp_path_factory.mktemp("store") / "default.sqlite"
    build_store(trained_model_dir, path)
    return path


@pytest.fixture(scope="module")
def store_app(store_path):
    return create_app({"TESTING": True, "MOVIEREC_STORE": str(store_path)})


@pytest.fixture
def store_client(store_app):
    return store_app.test_client()


@pytest.fixture(scope="module")
def users(trained_model_dir) -> list[int]:
    return [int(u) for u in load_model(trained_model_dir).users.raw_ids]


def test_the_store_answers_what_the_model_answers_for_every_user(store_client, client, users):
    """The same shape as /recommend, plus the version of the model the list came from."""
    version = client.get("/health").json["version"]
    for user in users:
        stored = store_client.get(f"/recommendations/{user}?k={MAX_K}").json
        computed = client.get(f"/recommend?user_id={user}&k={MAX_K}").json
        assert stored == {**computed, "model_version": version}, f"user {user}"


def test_k_defaults_to_the_apis_default(store_client, users):
    answer = store_client.get(f"/recommendations/{users[0]}").json
    assert len(answer["recommendations"]) == DEFAULT_K


def test_a_k_above_what_was_stored_is_a_400_that_names_the_limit(tmp_path, trained_model_dir):
    path = tmp_path / "top5.sqlite"
    build_store(trained_model_dir, path, k=5)
    client = create_app({"TESTING": True, "MOVIEREC_STORE": str(path)}).test_client()
    response = client.get("/recommendations/1?k=6")
    assert response.status_code == 400
    assert "k must be at most 5" in response.json["error"]
    assert len(client.get("/recommendations/1").json["recommendations"]) == 5  # min(10, 5)


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/recommendations/999999", 404, "unknown user 999999"),
        ("/recommendations/abc", 400, "user_id must be an integer"),
        ("/recommendations/0", 400, "user_id must be between 1"),
        ("/recommendations/1?k=0", 400, "k must be between 1 and 100"),
        ("/recommend?user_id=1", 404, "GET /recommendations/1"),
    ],
)
def test_errors_are_json_that_explains(store_client, path, status, message):
    response = store_client.get(path)
    assert response.status_code == status and response.is_json
    assert message in response.json["error"]


def test_health_says_which_model_the_store_came_from(store_client, client, store_path):
    health, model = store_client.get("/health").json, client.get("/health").json
    assert health["status"] == "ok" and health["source"] == "store"
    assert health["store"] == str(store_path) and health["k"] == MAX_K
    assert health["version"] == model["version"] and health["created_at"] == model["created_at"]
    assert health["n_users"] == model["n_users"]


def test_a_missing_store_stops_the_app_with_one_line(tmp_path):
    with pytest.raises(SystemExit) as stopped:
        create_app({"TESTING": True, "MOVIEREC_STORE": str(tmp_path / "none.sqlite")})
    assert str(stopped.value).startswith("error: cannot serve: no store at ")
    assert "python -m movierec batch" in str(stopped.value)


def test_store_mode_never_imports_torch(store_path):
    """The point of store mode: no model, no torch, not even pandas."""
    code = (
        "import sys; from flask_app import create_app; "
        f"c = create_app({{'MOVIEREC_STORE': {str(store_path)!r}}}).test_client(); "
        "assert c.get('/recommendations/1').status_code == 200; "
        "print(sorted({'torch', 'pandas', 'numpy'} & set(sys.modules)))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, cwd=REPO_ROOT)  # fmt: skip
    assert done.stdout.strip() == "[]", done.stderr


def test_the_next_request_reads_a_new_store(tmp_path, trained_model_dir):
    path = tmp_path / "s.sqlite"
    contents = store_contents(load_model(trained_model_dir), k=3)
    write_store(contents, path)
    client = create_app({"TESTING": True, "MOVIEREC_STORE": str(path)}).test_client()
    assert client.get("/recommendations/1").json["model_version"] == contents.about["model_version"]
    write_store(replace(contents, about={**contents.about, "model_version": "next"}), path)
    assert client.get("/recommendations/1").json["model_version"] == "next"


# --- a real gunicorn in store mode -------------------------------------------------------------


def two_versions(trained_model_dir):
    """Two stores' contents, told apart by their version and by each list's order."""
    first = store_contents(load_model(trained_model_dir), k=5)
    rows = list(first.recommendations)
    flipped = [(user, 6 - rank, item, -score) for user, rank, item, score in rows]
    second = replace(
        first, about={**first.about, "model_version": "second"}, recommendations=flipped
    )
    return first, second


def expected_answers(contents) -> dict[int, list[int]]:
    """Each user's item ids, best first, as the store holds them."""
    lists: dict[int, list[tuple[int, int]]] = {}
    for user, rank, item, _ in contents.recommendations:
        lists.setdefault(user, []).append((rank, item))
    return {user: [item for _, item in sorted(pairs)] for user, pairs in lists.items()}


@pytest.mark.slow
def test_a_store_swapped_while_requests_run_drops_none(tmp_path, trained_model_dir):
    """gunicorn's two sync workers each keep a connection open; 20 swaps under four clients:
    every answer is a 200 from one whole store, and after the last swap every worker reads it."""
    first, second = two_versions(trained_model_dir)
    expected = {first.about["model_version"]: expected_answers(first),
                "second": expected_answers(second)}  # fmt: skip
    path = tmp_path / "store.sqlite"
    write_store(first, path)
    port, log = free_port(), tmp_path / "gunicorn.log"
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MOVIEREC_STORE": str(path), "PATH": f"{VENV_BIN}:{os.environ['PATH']}"}
    command = [str(VENV_BIN / "gunicorn"), "-c", "flask_app/gunicorn.conf.py", "-w", "2",
               "-b", f"127.0.0.1:{port}", "flask_app:create_app()"]  # fmt: skip
    users = sorted(expected["second"])
    seen: Counter[tuple[int, str]] = Counter()
    failures: list[str] = []
    stop = threading.Event()

    def client(offset: int) -> None:
        with requests.Session() as session:
            n = offset
            while not stop.is_set():
                user = users[n % len(users)]
                n += 1
                try:
                    response = session.get(f"{url}/recommendations/{user}?k=5", timeout=10)
                    answer = response.json()
                    items = [r["item_id"] for r in answer["recommendations"]]
                    if items != expected[answer["model_version"]][user]:
                        failures.append(f"user {user}: a list that no store holds: {answer}")
                    seen[response.status_code, answer["model_version"]] += 1
                except (requests.RequestException, ValueError, KeyError) as error:
                    failures.append(f"user {user}: {error!r}")

    with running(command, log, f"{url}/health", timeout=60, env=env, cwd=REPO_ROOT):
        threads = [threading.Thread(target=client, args=(i * 7,)) for i in range(4)]
        for thread in threads:
            thread.start()
        try:
            for swap in range(20):
                answered = sum(seen.values())
                wait_for(lambda n=answered: sum(seen.values()) > n + 10, 30, "answers to go on")
                write_store(second if swap % 2 == 0 else first, path)
            # After the last swap (to `first`), every worker notices it at its next request.
            wait_for(lambda: all(
                requests.get(f"{url}/recommendations/{users[0]}", timeout=5).json()["model_version"]
                == first.about["model_version"] for _ in range(10)
            ), 30, "every worker to read the last store")  # fmt: skip
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
    assert not failures, failures[:5]
    assert {status for status, _ in seen} == {200}
    assert {version for _, version in seen} == set(expected), seen
