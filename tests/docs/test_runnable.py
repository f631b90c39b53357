"""Code blocks marked `runnable` are run, as a student would paste them.

The marker is a word in the opening fence, after the language:

    ```bash runnable
    curl -fsS http://127.0.0.1:5000/health
    ```

GitHub and the website ignore the extra word (the block still shows as bash). Not running is
the default: most commands belong on a VPS, need root, or take minutes. A runnable block runs:

- `bash` blocks with `bash -e -u -o pipefail` (the first failing command fails the block),
  `python` blocks with this environment's Python;
- from the repository root, with HOME in a fresh temporary folder (so `~/...` is scratch
  space), this environment's bin first on PATH, an empty data folder (the synthetic data) and
  a tmux server of its own;
- against the real servers the suite starts: an address the course documents is replaced by
  the running server's. SERVERS says which address is which server; a block that names another
  loopback port fails, naming the port.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from movierec.processes import free_port, running
from tests.conftest import REPO_ROOT, VENV_BIN, require_tool
from tests.flask_app.test_gunicorn_e2e import APP, GUNICORN, START_TIMEOUT, server_env
from tests.support import CodeBlock, course_documents, course_notebooks, fenced_blocks

pytestmark = pytest.mark.slow

RUNNABLE = [
    block
    for document in [*course_documents(), *course_notebooks()]
    for block in fenced_blocks(document)
    if block.runnable
]
# The documented address (as the lectures write it) -> the fixture that serves it in the tests.
SERVERS = {"5000": "docs_gunicorn"}
ADDRESS = re.compile(r"\b(?:127\.0\.0\.1|localhost):(\d{2,5})\b")
BLOCK_TIMEOUT = 120  # seconds for one block


@pytest.fixture(scope="module")
def docs_gunicorn(trained_model_dir, tmp_path_factory) -> Iterator[str]:
    """The production command (lecture 3) serving the tiny model: `host:port`."""
    port, log = free_port(), tmp_path_factory.mktemp("docs-gunicorn") / "gunicorn.log"
    command = [*GUNICORN, "-b", f"127.0.0.1:{port}", APP]
    with running(command, log, f"http://127.0.0.1:{port}/health", START_TIMEOUT,
                 server_env(trained_model_dir), cwd=REPO_ROOT):  # fmt: skip
        yield f"127.0.0.1:{port}"


def test_some_blocks_are_runnable():
    documents = {block.document.name for block in RUNNABLE}
    assert {"README.md", "03_serving_with_flask.md"} <= documents, documents


def test_every_runnable_block_has_a_language_the_harness_runs():
    for block in RUNNABLE:
        assert block.language in {"bash", "python"}, f"{block.where()}: cannot run {block.language}"


@pytest.mark.parametrize("block", RUNNABLE, ids=CodeBlock.where)
def test_runnable_block_succeeds(block: CodeBlock, request, tmp_path: Path):
    code = block.code
    for port in sorted(set(ADDRESS.findall(code))):
        assert port in SERVERS, f"{block.where()}: no server for port {port} (see SERVERS)"
        address = request.getfixturevalue(SERVERS[port])
        code = re.sub(rf"\b(?:127\.0\.0\.1|localhost):{port}\b", address, code)
    home = tmp_path / "home"
    home.mkdir()
    env = {
        **os.environ,
        "HOME": str(home),
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
        "MOVIEREC_DATA_DIR": str(tmp_path / "no-data"),
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "TMUX_TMPDIR": str(tmp_path),  # a tmux server of its own, never someone else's sessions
    }
    if block.language == "bash":
        command = [require_tool("bash"), "-euo", "pipefail", "-c", code]
    else:
        command = [sys.executable, "-c", code]
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=BLOCK_TIMEOUT)  # fmt: skip
    assert done.returncode == 0, (
        f"{block.where()} exited with {done.returncode}:\n{code}\n"
        f"--- stdout ---\n{done.stdout[-3000:]}\n--- stderr ---\n{done.stderr[-3000:]}"
    )
