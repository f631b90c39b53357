"""The VS Code settings the repository provides (.vscode/, appendix A) are valid and true.

Every file is strict JSON (VS Code would accept comments; a student's tools may not). Every
debug configuration names a module that exists and arguments that module accepts, and the
slow tests start each one as VS Code would, without the debugger: the Flask app until it
answers, the commands until they finish.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from movierec.cli import build_parser
from movierec.processes import free_port, running
from tests.conftest import REPO_ROOT, VENV_BIN

VSCODE = REPO_ROOT / ".vscode"
LAUNCH = json.loads((VSCODE / "launch.json").read_text())
CONFIGURATIONS = LAUNCH.get("configurations", [])
MODULES = [c for c in CONFIGURATIONS if "module" in c]


def by_name(configuration: dict) -> str:
    return configuration["name"]


@pytest.mark.parametrize("name", ["launch.json", "settings.json", "extensions.json"])
def test_every_file_is_strict_json(name: str):
    json.loads((VSCODE / name).read_text())  # raises on comments or trailing commas


def test_the_launch_file_has_the_documented_configurations():
    assert LAUNCH["version"] == "0.2.0"
    names = [c["name"] for c in CONFIGURATIONS]
    assert len(names) == len(set(names)), "two configurations share a name"
    assert {c.get("module") for c in CONFIGURATIONS} >= {"flask", "movierec"}
    lecture = next((REPO_ROOT / "lectures").glob("A_*.md")).read_text()
    for name in names:
        assert name in lecture, f"appendix A does not show the configuration {name!r}"


@pytest.mark.parametrize("configuration", CONFIGURATIONS, ids=by_name)
def test_each_configuration_uses_the_python_debugger(configuration: dict):
    assert configuration["type"] == "debugpy"  # the Python Debugger extension (ms-python.debugpy)
    assert configuration["request"] == "launch"
    assert ("module" in configuration) != ("program" in configuration)


@pytest.mark.parametrize("configuration", MODULES, ids=by_name)
def test_each_module_is_one_this_environment_can_run(configuration: dict):
    module = configuration["module"]
    assert importlib.util.find_spec(module) is not None, f"no module {module}"
    assert importlib.util.find_spec(f"{module}.__main__") is not None, f"python -m {module} fails"
    args = configuration["args"]
    if module == "movierec":
        build_parser().parse_args(args)  # SystemExit (a failure) on an unknown option
    else:
        app = args[args.index("--app") + 1]
        assert hasattr(importlib.import_module(app), "create_app"), f"{app} has no create_app"
        help_text = subprocess.run([sys.executable, "-m", "flask", "run", "--help"],
                                   capture_output=True, text=True, timeout=60).stdout  # fmt: skip
        for option in (arg for arg in args[args.index("run") + 1 :] if arg.startswith("--")):
            assert option in help_text, f"`flask run` has no {option}"


def test_the_recommended_extensions_are_extension_ids():
    recommended = json.loads((VSCODE / "extensions.json").read_text())["recommendations"]
    assert all(re.fullmatch(r"[a-z0-9-]+\.[a-z0-9-]+", name) for name in recommended)
    assert {"ms-vscode-remote.remote-ssh", "ms-python.python", "ms-toolsai.jupyter"} <= set(
        recommended
    )


def test_the_test_settings_select_existing_markers():
    settings = json.loads((VSCODE / "settings.json").read_text())
    args = settings["python.testing.pytestArgs"]
    marker = args[args.index("-m") + 1].removeprefix("not ")
    assert f'"{marker}:' in (REPO_ROOT / "pyproject.toml").read_text()


def test_the_forwarded_ports_are_the_courses():
    settings = json.loads((VSCODE / "settings.json").read_text())
    ports = set(settings["remote.portsAttributes"])
    tunnel = (REPO_ROOT / "setup" / "tunnel.sh").read_text()
    for port in ("8888", "5000", "5001"):
        assert port in ports and port in tunnel


# --- each configuration started as VS Code starts it (without the debugger) -------------------


def launched(configuration: dict, workspace: Path) -> tuple[list[str], dict[str, str], Path]:
    """The command, environment and folder VS Code would use, in `workspace`."""

    def expand(value: str) -> str:
        return value.replace("${workspaceFolder}", str(workspace))

    command = [sys.executable, "-m", configuration["module"], *map(expand, configuration["args"])]
    env = {**os.environ, **{k: expand(v) for k, v in configuration.get("env", {}).items()}}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}"
    env["MOVIEREC_DATA_DIR"] = str(workspace / "no-data")
    env.pop("FLASK_DEBUG", None)
    return command, env, Path(expand(configuration.get("cwd", str(workspace))))


@pytest.fixture
def workspace(tmp_path: Path, trained_model_dir: Path) -> Path:
    """A workspace folder in a temporary place, with a model in models/default: the
    configurations' relative paths resolve there, and nothing is written into the repository."""
    (tmp_path / "models").mkdir()
    shutil.copytree(trained_model_dir.resolve(), tmp_path / "models" / "default")
    return tmp_path


@pytest.mark.slow
@pytest.mark.parametrize("configuration", MODULES, ids=by_name)
def test_each_configuration_starts(configuration: dict, workspace: Path):
    command, env, cwd = launched(configuration, workspace)
    if configuration["module"] == "flask":
        port = free_port()
        command[command.index("5000")] = str(port)  # the documented port may be taken
        log = workspace / "flask.log"
        with running(command, log, f"http://127.0.0.1:{port}/health", 90, env, cwd=cwd):
            pass
        assert "Debug mode: off" in log.read_text()
    else:
        done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True,
                              timeout=180)  # fmt: skip
        assert done.returncode == 0, done.stderr
