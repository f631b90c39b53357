"""The container image's files, checked without a container engine (none runs here).

hadolint lints the Dockerfile; dockerfile-parse reads it for the rules lecture 5 teaches (pinned
base, CPU-only torch, two stages, no build tools or pip in the final one, not root, a health
check, exec-form gunicorn); compose.yaml and .dockerignore are read as data. A real build is
`make image` and bench/image_build.py: minutes and a gigabyte, so not part of the tests.
"""

from __future__ import annotations

import fnmatch
import json
import re
import subprocess

import pytest
import yaml
from dockerfile_parse import DockerfileParser

from tests.conftest import REPO_ROOT, VENV_BIN
from tests.test_environment import pins

DOCKERFILE = REPO_ROOT / "Dockerfile"
COMPOSE = REPO_ROOT / "compose.yaml"
DOCKERIGNORE = REPO_ROOT / ".dockerignore"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
MODELS_IN_CONTAINER = "/app/models"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, value) for each instruction of the Dockerfile, comments left out."""
    structure = DockerfileParser(path=str(DOCKERFILE)).structure
    return [(s["instruction"], s["value"]) for s in structure if s["instruction"] != "COMMENT"]


def stages() -> dict[str, list[tuple[str, str]]]:
    """Each stage's instructions by the stage's name (FROM ... AS name); "" before any FROM."""
    found: dict[str, list[tuple[str, str]]] = {"": []}
    name = ""
    for instruction, value in instructions():
        if instruction == "FROM":
            name = value.split(" AS ")[-1].strip()
            found[name] = []
        found[name].append((instruction, value))
    return found


def global_args() -> dict[str, str]:
    """The ARGs declared before the first FROM, with their defaults."""
    return dict(value.split("=", 1) for kind, value in stages()[""] if kind == "ARG")


def values(stage: list[tuple[str, str]], kind: str) -> list[str]:
    return [value for instruction, value in stage if instruction == kind]


# --- the Dockerfile ----------------------------------------------------------------------------


def test_hadolint_finds_nothing_at_warning_level():
    result = subprocess.run(
        [str(VENV_BIN / "hadolint"), "--failure-threshold", "warning", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_base_image_is_an_exact_python_tag_or_a_digest():
    base = global_args()["BASE_IMAGE"]
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", base), base


def test_torch_comes_from_the_cpu_index_pinned_exactly():
    assert global_args()["TORCH_INDEX"] == CPU_INDEX
    runs = " ".join(values(stages()["build"], "RUN"))
    assert '--index-url "${TORCH_INDEX}" torch==2.13.0' in runs


def test_two_stages_on_the_same_base_and_the_runtime_last():
    names = [name for name in stages() if name]
    assert names == ["build", "runtime"]
    for name in names:
        assert stages()[name][0] == ("FROM", f"${{BASE_IMAGE}} AS {name}")


def test_the_runtime_stage_builds_nothing():
    """Only the finished virtual environment is copied in: no pip, apt or compiler runs there."""
    runtime = stages()["runtime"]
    runs = " ".join(values(runtime, "RUN"))
    for tool in ("pip", "apt", "gcc", "build-essential", "curl", "wget"):
        assert tool not in runs, f"the runtime stage runs {tool}"
    assert "--from=build /opt/venv /opt/venv" in values(runtime, "COPY")


def test_it_runs_as_a_numeric_non_root_user():
    runtime = stages()["runtime"]
    (user,) = values(runtime, "USER")
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) >= 1000, user
    kinds = [instruction for instruction, _ in runtime]
    assert kinds.index("USER") < kinds.index("CMD")


def test_the_health_check_asks_the_apps_health_endpoint():
    (check,) = values(stages()["runtime"], "HEALTHCHECK")
    assert "127.0.0.1:5000/health" in check
    assert "--timeout=" in check and "--start-period=" in check


def test_gunicorn_is_pid_1_in_exec_form_on_all_container_addresses():
    (command,) = values(stages()["runtime"], "CMD")
    words = json.loads(command)  # exec form is a JSON list: no shell swallows SIGTERM
    assert words[0] == "gunicorn"
    assert words[words.index("-b") + 1] == "0.0.0.0:5000"
    assert words[-1] == "flask_app:create_app()"
    assert "5000" in values(stages()["runtime"], "EXPOSE")


def test_the_model_is_served_from_the_mounted_models_folder():
    environment = " ".join(values(stages()["runtime"], "ENV"))
    assert f"MOVIEREC_MODEL={MODELS_IN_CONTAINER}/default" in environment


def test_the_serving_requirements_are_a_subset_of_the_course_pins():
    serving = pins((REPO_ROOT / "requirements-serve.txt").read_text().splitlines())
    course = pins((REPO_ROOT / "requirements.txt").read_text().splitlines())
    assert serving.items() <= course.items()
    assert {"torch", "flask", "gunicorn"} <= set(serving)
    assert not {"mlflow", "jupyterlab", "matplotlib"} & set(serving)  # the image stays lean


# --- .dockerignore ------------------------------------------------------------------------------


def ignored(path: str) -> bool:
    patterns = [line for line in DOCKERIGNORE.read_text().splitlines() if line and line[0] != "#"]
    return any(
        fnmatch.fnmatch(path, pattern) or path.startswith(pattern.rstrip("/") + "/")
        for pattern in patterns
    )


OUTSIDE = [
    "data/ml-100k/u.data",
    "models/default",
    ".venv/bin/python",
    "notebooks/artifacts/a.png",
    ".git/HEAD",
    "mlruns/0",
]


@pytest.mark.parametrize("path", OUTSIDE)
def test_data_models_and_environments_stay_out_of_the_build(path):
    assert ignored(path)


def test_what_the_dockerfile_copies_is_not_ignored():
    sources = [
        word
        for value in values(stages()["build"], "COPY") + values(stages()["runtime"], "COPY")
        if not value.startswith("--from")
        for word in value.split()[:-1]
    ]
    assert sources
    for source in sources:
        assert (REPO_ROOT / source).exists(), source
        assert not ignored(source.rstrip("/")), f"{source} is copied but .dockerignore drops it"


# --- compose.yaml -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def services() -> dict:
    return yaml.safe_load(COMPOSE.read_text())["services"]


def test_compose_builds_the_api_from_this_dockerfile(services):
    assert services["api"]["build"] == "."
    assert "ports" not in services["api"]  # the app is reached through nginx only


def test_compose_publishes_only_nginxs_80_and_443(services):
    assert services["nginx"]["ports"] == ["80:80", "443:443"]
    assert re.fullmatch(r"nginx:\d+\.\d+\.\d+-\w+", services["nginx"]["image"])


def test_compose_runs_the_repositorys_site_and_lets_the_app_behind_it(services):
    """nginx loads deploy/nginx/movierec.conf unchanged; the app shares nginx's network, so the
    site's 127.0.0.1:5000 reaches it; Flask trusts exactly one proxy."""
    mounts = services["nginx"]["volumes"]
    assert "./deploy/nginx/movierec.conf:/etc/nginx/conf.d/default.conf:ro" in mounts
    assert "/etc/letsencrypt:/etc/letsencrypt:ro" in mounts
    assert services["api"]["network_mode"] == "service:nginx"
    assert services["api"]["environment"]["FLASK_PROXY_HOPS"] == "1"


def test_compose_mounts_the_whole_models_folder_read_only(services):
    assert f"./models:{MODELS_IN_CONTAINER}:ro" in services["api"]["volumes"]


def test_make_image_builds_this_dockerfile():
    result = subprocess.run(
        ["make", "--no-print-directory", "-n", "image", "CONTAINER_ENGINE=docker"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    command = " ".join(result.stdout.replace("\\\n", " ").split())  # one line, single spaces
    assert re.fullmatch(r"docker build --build-arg TORCH_INDEX=\S+ -t movierec-api \.", command)
