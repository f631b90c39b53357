"""The recommender as a TorchServe model: the handler alone, the archive, then a real TorchServe.

The handler is called directly with a fake context (TorchServe passes a list of requests and a
context that knows the unpacked model folder). A real TorchServe then serves the archive built
by `make mar`'s code, from deploy/torchserve/config.properties on free loopback ports, and must
answer exactly what the Flask app answers for the same model.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from ts.utils.util import PredictionException

from deploy import loopback
from deploy.torchserve import movierec_handler
from deploy.torchserve.archive import HANDLER, build_mar
from deploy.torchserve.movierec_handler import RecommendationHandler
from movierec.errors import ModelLoadError
from movierec.persist import MODEL_FILES, read_metadata
from movierec.processes import free_port
from tests.conftest import REPO_ROOT, VENV_BIN, require_tool


class FakeContext:
    """What the handler uses of TorchServe's context: the model folder, response headers."""

    def __init__(self, model_dir: Path):
        self.system_properties = {"model_dir": str(model_dir)}
        self.content_types: dict[int, str] = {}

    def set_response_content_type(self, index: int, content_type: str) -> None:
        self.content_types[index] = content_type


@pytest.fixture(scope="module")
def handler(trained_model_dir: Path) -> RecommendationHandler:
    handler = RecommendationHandler()
    handler.initialize(FakeContext(trained_model_dir))
    return handler


@pytest.fixture(scope="module")
def users(trained_model_dir: Path) -> list[int]:
    """A few users the model knows: the first, one in the middle, the last."""
    ids = read_metadata(trained_model_dir)["user_ids"]
    return [ids[0], ids[len(ids) // 2], ids[-1]]


def flask_answer(app, user_id: int, k: int | None = None) -> dict[str, Any]:
    query = {"user_id": user_id} if k is None else {"user_id": user_id, "k": k}
    response = app.test_client().get("/recommend", query_string=query)
    assert response.status_code == 200
    return response.get_json()


# --- the handler, without a server -------------------------------------------------------------


def test_the_handler_module_holds_exactly_one_class():
    """TorchServe instantiates the only class of a handler module, and refuses two."""
    classes = [
        value
        for value in vars(movierec_handler).values()
        if isinstance(value, type) and value.__module__ == movierec_handler.__name__
    ]
    assert classes == [RecommendationHandler]


def test_the_handler_answers_what_flask_answers(handler, app, users):
    for user in users:
        for k in (None, 1, 5, 100):
            body = {"user_id": user} if k is None else {"user_id": user, "k": k}
            (answer,) = handler.handle([{"body": body}], FakeContext(Path()))
            assert answer == flask_answer(app, user, k)


def test_the_handler_serves_the_strongest_model_unchanged(blend_model_dir, users):
    """`--model best` (a blend of three networks) through the same handler: Flask's answers."""
    from flask_app import create_app

    assert read_metadata(blend_model_dir)["model"]["class"] == "Blend"
    handler = RecommendationHandler()
    handler.initialize(FakeContext(blend_model_dir))
    app = create_app({"TESTING": True, "MOVIEREC_MODEL": str(blend_model_dir)})
    for user in users:
        (answer,) = handler.handle([{"body": {"user_id": user, "k": 5}}], FakeContext(Path()))
        assert answer == flask_answer(app, user, 5)


def test_a_batch_gets_one_json_answer_per_request_in_order(handler, users):
    context = FakeContext(Path())
    batch = [{"body": {"user_id": user, "k": 2}} for user in users]
    answers = handler.handle(batch, context)
    assert [a["user_id"] for a in answers] == users
    assert context.content_types == dict.fromkeys(range(len(users)), "application/json")


BAD_BODIES = [
    ({}, "missing field user_id"),
    ({"user_id": "1"}, "user_id must be an integer, got '1'"),
    ({"user_id": 1.0}, "user_id must be an integer, got 1.0"),
    ({"user_id": True}, "user_id must be an integer, got True"),
    ({"user_id": 0}, "user_id must be between 1 and 2147483647, got 0"),
    ({"user_id": 1, "k": 0}, "k must be between 1 and 100, got 0"),
    ({"user_id": 1, "k": 101}, "k must be between 1 and 100, got 101"),
    ({"user_id": 1, "k": "x" * 100}, "k must be an integer, got 'xxxxxxxxxx"),
    ([1, 2], "send a JSON object"),
    (None, "send a JSON object"),
    (b"user_id=1", "the body is not valid JSON"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "message"), BAD_BODIES, ids=[repr(b) for b, _ in BAD_BODIES])
def test_bad_input_is_a_400_that_says_what_is_wrong(handler, body, message):
    with pytest.raises(PredictionException) as raised:
        handler.handle([{"body": body}], FakeContext(Path()))
    assert raised.value.error_code == 400
    assert raised.value.message.startswith(message)
    assert len(raised.value.message) < 120  # what the client sent is echoed, but cut short


def test_an_unknown_user_is_a_404(handler):
    with pytest.raises(PredictionException) as raised:
        handler.handle([{"body": {"user_id": 2**31 - 1}}], FakeContext(Path()))
    assert raised.value.error_code == 404
    assert raised.value.message.startswith("unknown user 2147483647")


# --- the archive -------------------------------------------------------------------------------


def test_the_archive_holds_the_model_and_the_handler(tiny_archive, trained_model_dir):
    with zipfile.ZipFile(tiny_archive) as archive:
        names = set(archive.namelist())
        manifest = json.loads(archive.read("MAR-INF/MANIFEST.json"))
    assert MODEL_FILES | {HANDLER.name} <= names
    assert manifest["model"]["handler"] == HANDLER.name
    assert manifest["model"]["modelVersion"] == read_metadata(trained_model_dir)["version"]


def test_a_folder_that_is_not_a_model_is_refused_before_packing(tmp_path):
    with pytest.raises(ModelLoadError, match="no model at"):
        build_mar(tmp_path / "nothing", tmp_path / "store")
    assert not (tmp_path / "store").exists()


def test_make_mar_runs_the_archive_module():
    """`make mar` is one command: the module these tests exercise, on models/default."""
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert "$(PY) -m deploy.torchserve.archive $(MODEL) model-store" in makefile


# --- a real TorchServe -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def torchserve(tiny_archive, tmp_path_factory) -> Iterator[loopback.TorchServe]:
    """TorchServe with deploy/torchserve/config.properties on free ports, one per module."""
    require_tool("java")
    ports = loopback.TorchServePorts(*(free_port() for _ in range(5)), worker=free_port())
    folder = tmp_path_factory.mktemp("torchserve")
    with loopback.running_torchserve(
        str(VENV_BIN / "torchserve"), folder, tiny_archive, ports
    ) as server:
        yield server


def predict(server: loopback.TorchServe, body: Any, key: str | None = "inference"):
    headers = server.headers(key) if key else {}
    return requests.post(
        f"{server.inference_url}/predictions/movierec", json=body, headers=headers, timeout=30
    )


@pytest.mark.slow
def test_torchserve_answers_what_flask_answers(torchserve, app, users):
    for user in users:
        for k in (None, 3, 100):
            body = {"user_id": user} if k is None else {"user_id": user, "k": k}
            response = predict(torchserve, body)
            assert response.status_code == 200, response.text
            assert response.headers["Content-Type"] == "application/json"
            assert response.json() == flask_answer(app, user, k)


@pytest.mark.slow
def test_torchserve_gives_the_handlers_400_and_404(torchserve):
    response = predict(torchserve, {"user_id": "abc"})
    assert response.status_code == 400
    assert response.json()["message"] == "user_id must be an integer, got 'abc'"
    assert predict(torchserve, {"user_id": 2**31 - 1}).status_code == 404


@pytest.mark.slow
def test_without_the_token_every_request_is_refused(torchserve, users):
    """Token authorization stays on: no key, or the wrong one, and nothing is answered."""
    assert predict(torchserve, {"user_id": users[0]}, key=None).status_code in {400, 401}
    wrong = requests.get(
        f"{torchserve.inference_url}/ping", headers={"Authorization": "Bearer wrong"}, timeout=10
    )
    assert wrong.status_code in {400, 401}
    ping = requests.get(
        f"{torchserve.inference_url}/ping", headers=torchserve.headers(), timeout=10
    )
    assert ping.json() == {"status": "Healthy"}


@pytest.mark.slow
def test_one_worker_and_no_models_from_urls(torchserve):
    """One worker per model; the management API registers nothing, not even with its key."""
    management = torchserve.headers("management")
    (description,) = requests.get(
        f"{torchserve.management_url}/models/movierec", headers=management, timeout=10
    ).json()
    assert len(description["workers"]) == 1
    register = requests.post(
        f"{torchserve.management_url}/models",
        params={"url": "https://example.com/evil.mar"},
        headers=management,
        timeout=10,
    )
    assert register.status_code >= 400
    models = requests.get(f"{torchserve.management_url}/models", headers=management, timeout=10)
    assert [m["modelName"] for m in models.json()["models"]] == ["movierec"]
