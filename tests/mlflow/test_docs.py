"""What the lecture and mlflow/README.md show is what the scripts run (fast: nothing starts)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.mlflow.fixtures import MLFLOW_DIR
from tests.support import code_blocks

LECTURE = REPO_ROOT / "lectures" / "04_persistence_with_mlflow.md"
README = MLFLOW_DIR / "README.md"
PAYLOAD = MLFLOW_DIR / "payload.json"
DOCS = [LECTURE, README]


def dry_run(script: str, *args: str, cwd: Path = REPO_ROOT) -> str:
    """What the script would run, as a student's shell (no MLFLOW_TRACKING_URI set) prints it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    done = subprocess.run([str(MLFLOW_DIR / script), "--dry-run", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, check=True, timeout=60)  # fmt: skip
    return done.stdout.strip()


def test_tracking_server_command(tmp_path):
    command = dry_run("start_tracking_server.sh", "--port", "6101", "--dir", "relative/store",
                      cwd=tmp_path)  # fmt: skip
    store = tmp_path / "relative" / "store"
    assert f"--backend-store-uri sqlite:///{store}/mlflow.db" in command  # absolute: 4 slashes
    assert f"--artifacts-destination {store}/mlartifacts" in command
    assert "--host 127.0.0.1 --port 6101 --workers 1" in command
    assert "--allowed-hosts localhost:6101,127.0.0.1:6101" in command  # pasteable: no backslash
    assert command.startswith("MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false")
    assert not store.exists(), "--dry-run must not create anything"


def test_the_readme_shows_the_tracking_server_command():
    # The README's copy, with its example checkout path, is the script's command for this checkout.
    command = dry_run("start_tracking_server.sh")
    shown = _code_block_with(README, "mlflow server --backend-store-uri")
    binary = re.search(r"(\S*mlflow) server", command).group(1)  # the venv's, by full path
    shown = shown.replace("/home/you/course", str(REPO_ROOT))
    shown = shown.replace("mlflow server", f"{binary} server")
    assert _words(shown) == _words(command)


def test_serve_command_is_the_documented_one():
    command = dry_run("serve_champion.sh")
    expected = ("mlflow models serve -m models:/movie-recommender@champion --env-manager local "
                "-h 127.0.0.1 -p 5002")  # fmt: skip
    assert expected in command
    assert "MLFLOW_TRACKING_URI=http://127.0.0.1:5001" in command
    for doc in DOCS:
        block = _code_block_with(doc, "mlflow models serve")
        assert expected in " ".join(_words(block)), doc.name
        assert 'PATH="$PWD/.venv/bin:$PATH"' in block, f"{doc.name}: uvicorn must be on PATH"


def test_the_payload_is_the_one_the_lecture_shows():
    payload = json.loads(PAYLOAD.read_text())
    assert payload == {"dataframe_split": {"columns": ["user_id", "k"], "data": [[1, 5]]}}
    assert _code_block_with(LECTURE, '"dataframe_split"').strip() == PAYLOAD.read_text().strip()
    for doc in DOCS:
        assert "--data @mlflow/payload.json" in doc.read_text()


def test_the_payload_fits_the_model_signature():
    from movierec.mlflow_model import SIGNATURE

    columns = json.loads(PAYLOAD.read_text())["dataframe_split"]["columns"]
    assert columns == SIGNATURE.inputs.input_names()


@pytest.mark.parametrize("doc", DOCS, ids=lambda path: path.name)
def test_every_file_the_docs_name_exists(doc):
    text = doc.read_text()
    named = set(re.findall(r"\b((?:mlflow|movierec|bench|flask_app|notebooks|lectures|tests)"
                           r"/[\w./-]+\.(?:py|sh|json|md|ipynb|yaml)|mlflow/MLproject)",
                           text))  # fmt: skip
    assert named, "the pattern found nothing: has the text changed?"
    missing = sorted(path for path in named if not (REPO_ROOT / path).exists())
    assert not missing, f"{doc.name} names files that do not exist: {missing}"


def test_the_mlproject_declares_the_train_entry_point():
    import yaml

    project = yaml.safe_load((MLFLOW_DIR / "MLproject").read_text())
    assert project["python_env"] == "python_env.yaml"
    train = project["entry_points"]["train"]
    assert train["command"].startswith("python train.py ")
    for name in train["parameters"]:
        assert f"{{{name}}}" in train["command"]


def test_python_env_pins_match_requirements():
    import yaml

    pins = dict(
        line.split("==")
        for line in (REPO_ROOT / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    env = yaml.safe_load((MLFLOW_DIR / "python_env.yaml").read_text())
    for requirement in env["dependencies"]:
        if "==" in requirement:
            name, version = requirement.split("==")
            assert pins[name] == version, f"python_env.yaml pins {requirement}, not {pins[name]}"


# --- helpers ------------------------------------------------------------------------------------


def _code_block_with(doc: Path, needle: str) -> str:
    """The first fenced code block of `doc` that contains `needle`."""
    found = [block for block in code_blocks(doc) if needle in block]
    assert found, f"{doc.name} has no code block with {needle!r}"
    return found[0]


def _words(command: str) -> list[str]:
    """A shell command's words, line continuations and quotes aside."""
    return command.replace("\\\n", " ").replace('"', "").split()
