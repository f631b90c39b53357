"""deploy/aws: the managed-cloud example is valid Terraform, checked offline and never applied,
and its two Python files answer what the Flask app answers.

Terraform is not a Debian package, so `.ci/run` cannot install it: where it (or the AWS provider
on disk) is missing, the Terraform tests skip with the reason, in CI too.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.support import code_blocks

AWS = REPO_ROOT / "deploy" / "aws"
CONFIGS = ["state", "serving"]
# Where machine images keep providers for offline use; $TF_PLUGIN_DIR points elsewhere.
PLUGIN_DIRS = [os.environ.get("TF_PLUGIN_DIR", ""), "/opt/tf-plugins",
               "/usr/share/terraform/plugins"]  # fmt: skip


def plugin_dir() -> Path | None:
    """A folder holding registry.terraform.io/hashicorp/aws/<version>/..., or None."""
    for folder in filter(None, PLUGIN_DIRS):
        if (Path(folder) / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
            return Path(folder)
    return None


@pytest.fixture(scope="module")
def terraform(tmp_path_factory) -> tuple[str, dict[str, str]]:
    """(the terraform binary, an environment that keeps it offline and out of ~/.terraform.d)."""
    binary, plugins = shutil.which("terraform"), plugin_dir()
    if binary is None or plugins is None:
        pytest.skip("Terraform or its AWS provider is not on this machine (not a Debian package: "
                    "CI cannot install it either)")  # fmt: skip
    home = tmp_path_factory.mktemp("terraform")
    (home / "terraformrc").write_text("")
    env = {
        **os.environ,
        "TF_CLI_CONFIG_FILE": str(home / "terraformrc"),  # no user settings, no mirrors
        "CHECKPOINT_DISABLE": "1",  # no check for a newer Terraform: nothing leaves the machine
        "TF_IN_AUTOMATION": "1",
        "TF_PLUGIN_DIR": str(plugins),
    }
    return binary, env


def run_terraform(terraform, folder: Path, *args: str) -> subprocess.CompletedProcess:
    binary, env = terraform
    return subprocess.run([binary, *args, "-no-color"], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=120)  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize("config", CONFIGS)
def test_the_configuration_is_valid_offline(terraform, tmp_path, config):
    """init without a backend and with the provider from disk, then validate; never plan."""
    work = tmp_path / config
    shutil.copytree(AWS / config, work)  # init writes .terraform/ and a lock file: not here
    plugins = terraform[1]["TF_PLUGIN_DIR"]
    init = run_terraform(terraform, work, "init", "-backend=false", f"-plugin-dir={plugins}",
                         "-input=false")  # fmt: skip
    assert init.returncode == 0, init.stderr
    validate = run_terraform(terraform, work, "validate")
    assert validate.returncode == 0 and "The configuration is valid" in validate.stdout, (
        validate.stdout + validate.stderr
    )


def test_the_configuration_is_formatted(terraform):
    result = run_terraform(terraform, AWS, "fmt", "-check", "-recursive", "-diff")
    assert result.returncode == 0, result.stdout


def test_the_state_lives_in_a_versioned_encrypted_private_bucket():
    state = (AWS / "state" / "main.tf").read_text()
    assert re.search(r'versioning_configuration \{\s*status = "Enabled"', state)
    assert "aws_s3_bucket_server_side_encryption_configuration" in state
    for flag in ("block_public_acls", "block_public_policy", "restrict_public_buckets"):
        assert re.search(rf"{flag}\s+= true", state), flag
    backend = (AWS / "serving" / "versions.tf").read_text()
    assert 'backend "s3"' in backend and "use_lockfile = true" in backend


def test_nothing_applied_is_ever_committed():
    tracked = subprocess.run(["git", "ls-files", "deploy/aws"], cwd=REPO_ROOT,
                             capture_output=True, text=True, timeout=30).stdout.split()  # fmt: skip
    assert not [p for p in tracked if p.endswith((".tfstate", ".tfplan")) or "/.terraform/" in p]


# --- the two Python files ------------------------------------------------------------------------


class FakeRuntime:
    """boto3's sagemaker-runtime client, answering through our SageMaker handler in-process."""

    def __init__(self, model_dir: Path):
        from deploy.aws import inference

        self.inference, self.model, self.calls = inference, inference.model_fn(str(model_dir)), []

    def invoke_endpoint(self, **call):
        self.calls.append(call)
        request = self.inference.input_fn(call["Body"], call["ContentType"])
        answer = self.inference.output_fn(self.inference.predict_fn(request, self.model), "")
        return {"Body": io.BytesIO(answer.encode())}


@pytest.fixture(scope="module")
def runtime(trained_model_dir) -> FakeRuntime:
    return FakeRuntime(trained_model_dir)


def get(runtime, monkeypatch, **query) -> tuple[int, dict]:
    from deploy.aws.lambda_api import handler

    monkeypatch.setenv("ENDPOINT_NAME", "movierec")
    event = {"queryStringParameters": {name: str(value) for name, value in query.items()}}
    response = handler(event, None, runtime=runtime)
    return response["statusCode"], json.loads(response["body"])


def test_the_cloud_api_answers_what_flask_answers(runtime, monkeypatch, app):
    status, body = get(runtime, monkeypatch, user_id=1, k=4)
    assert status == 200 and body == app.test_client().get("/recommend?user_id=1&k=4").json
    assert runtime.calls[-1]["EndpointName"] == "movierec"


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ({}, 400, "missing query parameter user_id"),
        ({"user_id": "abc"}, 400, "user_id must be an integer"),
        ({"user_id": 1, "k": 101}, 400, "k must be an integer between 1 and 100"),
        ({"user_id": 999999}, 404, "unknown user 999999"),
    ],
)
def test_the_cloud_api_errors_are_flasks(runtime, monkeypatch, query, status, message):
    answer_status, body = get(runtime, monkeypatch, **query)
    assert answer_status == status and message in body["error"]


@pytest.mark.slow
def test_the_readmes_archives_hold_what_sagemaker_and_lambda_run(tmp_path, trained_model_dir):
    """The README's build lines, run in a copy of the layout they expect; then the archive's
    code/inference.py answers from the archive's model, with nothing but the archive imported."""
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "default").symlink_to(trained_model_dir)
    (tmp_path / "deploy").symlink_to(REPO_ROOT / "deploy")
    shutil.copytree(REPO_ROOT / "movierec", tmp_path / "movierec")  # cp -r copies a link as a link
    (build,) = [block for block in code_blocks(AWS / "README.md", "bash") if "tar -czf" in block]
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", build], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    unpacked = tmp_path / "opt-ml-model"  # where SageMaker unpacks it
    with tarfile.open(tmp_path / "build" / "model.tar.gz") as archive:
        names = archive.getnames()
        archive.extractall(unpacked, filter="data")
    assert {"./model.pt", "./metadata.json", "./code/inference.py"} <= set(names)
    assert not [n for n in names if "__pycache__" in n]
    code = ("import sys; sys.path.insert(0, 'code'); import inference, movierec; "
            "m = inference.model_fn('.'); r = inference.predict_fn(inference.input_fn("
            "'{\"user_id\": 1, \"k\": 2}', 'application/json'), m); print(movierec.__file__); "
            "print(inference.output_fn(r, 'application/json'))")  # fmt: skip
    answer = subprocess.run([sys.executable, "-c", code], cwd=unpacked, capture_output=True,
                            text=True, timeout=120)  # fmt: skip
    assert answer.returncode == 0, answer.stderr
    imported_from, printed = answer.stdout.splitlines()
    assert Path(imported_from).is_relative_to(unpacked)  # the archive's copy, not the repository's
    assert len(json.loads(printed)["recommendations"]) == 2
    with zipfile.ZipFile(tmp_path / "build" / "lambda_api.zip") as zipped:
        assert zipped.namelist() == ["lambda_api.py"]
