"""`create_app`: where its configuration comes from, and how it fails without a usable model."""

from __future__ import annotations

import shutil

import pytest
from flask.cli import routes_command
from werkzeug.test import EnvironBuilder

from flask_app import create_app, served
from movierec import locations
from tests.conftest import REPO_ROOT


@pytest.fixture
def clean_env(monkeypatch):
    """No MOVIEREC_MODEL or FLASK_* settings leaking in from the shell that runs the tests."""
    for name in ("MOVIEREC_MODEL", "MOVIEREC_STORE", "FLASK_DEBUG", "FLASK_MAX_CONTENT_LENGTH",
                 "FLASK_PROXY_HOPS"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_test_config_overrides_everything(clean_env, trained_model_dir):
    clean_env.setenv("MOVIEREC_MODEL", "/nowhere")
    app = create_app({"TESTING": True, "MOVIEREC_MODEL": str(trained_model_dir)})
    assert app.testing
    recommender = app.extensions["model"].served.recommender
    assert recommender.metadata["location"] == str(trained_model_dir)


def test_model_location_comes_from_the_environment(clean_env, trained_model_dir):
    clean_env.setenv("MOVIEREC_MODEL", str(trained_model_dir))
    app = create_app()
    assert app.config["MOVIEREC_MODEL"] == str(trained_model_dir)
    assert app.extensions["model"].served.recommender.metadata["source"] == "native"


def test_flask_settings_come_from_flask_prefixed_variables(clean_env, trained_model_dir):
    clean_env.setenv("FLASK_MAX_CONTENT_LENGTH", "1024")
    app = create_app({"MOVIEREC_MODEL": str(trained_model_dir)})
    assert app.config["MAX_CONTENT_LENGTH"] == 1024


def test_debug_is_off_unless_asked_for(clean_env, trained_model_dir):
    app = create_app({"MOVIEREC_MODEL": str(trained_model_dir)})
    assert not app.debug
    assert not app.testing


def test_default_model_is_where_make_demo_saves_it(clean_env, trained_model_dir):
    """Without MOVIEREC_MODEL the app serves models/default (where `make demo` saves its model),
    whether or not this checkout has one: the location is replaced, not the checkout read."""
    clean_env.setattr(locations, "DEFAULT_MODEL_DIR", trained_model_dir)
    assert create_app().config["MOVIEREC_MODEL"] == str(trained_model_dir)
    assert locations.DEFAULT_MODEL_DIR != REPO_ROOT / "models" / "default"  # patched, truly
    clean_env.undo()
    assert locations.model_location() == str(REPO_ROOT / "models" / "default")


def test_importing_the_app_module_starts_no_server():
    """The old-course trap: a module-level `app.run()` would start a server on import. Importing
    returns at once, and the package defines only the factory, no app object."""
    import subprocess
    import sys

    code = "import flask_app, flask_app.api, flask_app.pages; print(hasattr(flask_app, 'app'))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "False", done.stderr
    sources = [path.read_text() for path in (REPO_ROOT / "flask_app").glob("*.py")]
    assert not any(".run(" in source for source in sources)


def test_missing_model_is_one_clear_line(tmp_path):
    missing = tmp_path / "no-model-here"
    with pytest.raises(SystemExit) as stopped:
        create_app({"MOVIEREC_MODEL": str(missing)})
    message = str(stopped.value)
    assert "\n" not in message
    assert str(missing) in message
    assert f"python -m movierec train --out {missing}" in message


def test_corrupt_model_is_one_clear_line(tmp_path, trained_model_dir):
    broken = tmp_path / "broken"
    shutil.copytree(trained_model_dir, broken)
    (broken / "model.pt").write_bytes(b"not a torch file")
    with pytest.raises(SystemExit, match="corrupt") as stopped:
        create_app({"MOVIEREC_MODEL": str(broken)})
    assert str(broken) in str(stopped.value)


def test_model_is_loaded_once_not_per_request(monkeypatch, trained_model_dir):
    loads = []
    real_loader = served.load_for_serving

    def counting_loader(location):
        loads.append(location)
        return real_loader(location)

    monkeypatch.setattr(served, "load_for_serving", counting_loader)
    app = create_app({"MOVIEREC_MODEL": str(trained_model_dir)})
    client = app.test_client()
    for _ in range(3):
        assert client.get("/recommend?user_id=1").status_code == 200
    assert loads == [str(trained_model_dir)]


def test_routes_command_lists_the_api(runner):
    result = runner.invoke(routes_command)  # what `flask --app flask_app routes` prints
    assert result.exit_code == 0
    for rule in ("/health", "/recommend", "/predict", "/movies/<item_id>"):
        assert rule in result.output


def client_seen_by_the_app(app, forwarded_for: str) -> tuple[str, str]:
    """(REMOTE_ADDR, scheme) after the app's WSGI stack, for a request from the local proxy."""
    environ = EnvironBuilder(
        "/health",
        headers={"X-Forwarded-For": forwarded_for, "X-Forwarded-Proto": "https"},
        environ_base={"REMOTE_ADDR": "127.0.0.1"},
    ).get_environ()
    app.wsgi_app(environ, lambda status, headers: None)  # ProxyFix rewrites environ in place
    return environ["REMOTE_ADDR"], environ["wsgi.url_scheme"]


def test_forwarded_headers_are_ignored_without_a_proxy(clean_env, trained_model_dir):
    """With no proxy in front (the default), a client cannot pretend to be someone else."""
    app = create_app({"MOVIEREC_MODEL": str(trained_model_dir)})
    assert client_seen_by_the_app(app, "203.0.113.9") == ("127.0.0.1", "http")


def test_behind_one_proxy_the_app_sees_the_client_nginx_saw(clean_env, trained_model_dir):
    """FLASK_PROXY_HOPS=1 (the systemd unit): the last forwarded address is the client's; an
    address the client itself slipped in before it is ignored."""
    clean_env.setenv("FLASK_PROXY_HOPS", "1")
    app = create_app({"MOVIEREC_MODEL": str(trained_model_dir)})
    assert client_seen_by_the_app(app, "6.6.6.6, 203.0.113.9") == ("203.0.113.9", "https")
