"""The fixtures' machinery reaches a submission only through child processes, within limits."""

from __future__ import annotations

import shutil
import sys
import time
import urllib.request

import pytest

from grading.fixtures import (
    Harness,
    SubmissionFailed,
    SubmissionTimeout,
    child_environment,
    run_cli,
    run_notebook,
    serve,
)
from tests.grading.conftest import COURSE

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def env() -> dict[str, str]:
    return child_environment(COURSE, {"TINYREC_MODE": "test"})


@pytest.fixture
def harness(tmp_path, env):
    harness = Harness(COURSE, env, tmp_path / "harness.log")
    yield harness
    harness.stop()


def test_snippets_run_in_one_child_whose_path_starts_with_the_submission(harness):
    first = harness.run(
        "import os, sys, tinyrec\nresult = [sys.path[0], tinyrec.__file__, os.getpid()]"
    )
    assert first[0] == str(COURSE) and first[1] == str(COURSE / "tinyrec" / "__init__.py")
    assert harness.run("import os\nresult = os.getpid()") == first[2]  # the same child
    assert "tinyrec" not in sys.modules  # never imported by this process


def test_prints_cannot_corrupt_replies(harness):
    code = "import os, sys\nprint('{\"ok\": true}')\nos.write(1, b'raw\\n')\nresult = {'x': 1}"
    assert harness.run(code) == {"x": 1}


def test_the_manifest_env_and_the_submission_path_reach_children(harness):
    result = harness.run(
        "import os\nresult = [os.environ['TINYREC_MODE'], os.environ['PYTHONPATH']]"
    )
    assert result == ["test", str(COURSE)]


def test_an_unfinished_exercise_says_so(harness):
    code = "raise NotImplementedError('exercise A1.1: sort')"
    with pytest.raises(SubmissionFailed, match="^not done yet: exercise A1.1: sort$"):
        harness.run(code)


def test_an_endless_loop_is_stopped_and_the_next_call_gets_a_fresh_child(harness):
    pid = harness.run("import os\nresult = os.getpid()")
    started = time.monotonic()
    with pytest.raises(SubmissionTimeout, match="did not finish within 1 s"):
        harness.run("while True: pass", timeout=1)
    assert time.monotonic() - started < 5
    assert harness.run("import os\nresult = os.getpid()") != pid


def test_a_crash_is_a_failure_with_the_exit_code(harness):
    with pytest.raises(SubmissionFailed, match=r"ended the Python process \(exit code 3\)"):
        harness.run("import os\nos._exit(3)")
    assert harness.run("result = 2") == 2


def test_the_cli_runs_as_python_dash_m_in_the_submission(env):
    completed = run_cli(COURSE, "tinyrec", ["top", 2], env)
    assert (completed.returncode, completed.stdout) == (0, "Casablanca\nAlien\n")
    assert completed.args == ["python", "-m", "tinyrec", "top", "2"]


def test_a_cli_that_hangs_is_stopped(env):
    started = time.monotonic()
    with pytest.raises(SubmissionTimeout):
        run_cli(COURSE, "http.server", ["0", "--bind", "127.0.0.1"], env, timeout=1)
    assert time.monotonic() - started < 5


def test_a_server_is_started_on_a_free_port_and_stopped(tmp_path, env):
    with serve(COURSE, "tinyrec", ["serve", "{port}"], env, tmp_path / "log", "/health") as server:
        assert urllib.request.urlopen(server.url + "/health", timeout=5).read() == b"ok"
    assert server.process.poll() is not None


def test_a_server_that_dies_is_a_failure_with_its_log(tmp_path, env):
    starting = serve(COURSE, "tinyrec", ["serve", "not-a-port"], env, tmp_path / "log")
    with pytest.raises(SubmissionFailed, match="your server did not start"), starting:
        pass


def test_a_notebook_runs_in_a_kernel_on_the_submission_with_parameters(tmp_path, env):
    committed = (COURSE / "notebooks" / "explore.ipynb").read_bytes()
    notebook = run_notebook(COURSE, "notebooks/explore.ipynb", env, parameters={"k": 1})
    assert notebook.cells[-1].outputs[0]["text"] == "Casablanca\n"
    assert "injected-parameters" in notebook.cells[2].metadata["tags"]
    # The submission's file is not rewritten.
    assert (COURSE / "notebooks" / "explore.ipynb").read_bytes() == committed


def test_a_failing_notebook_names_its_cell(tmp_path, env):
    broken = tmp_path / "course"
    shutil.copytree(COURSE, broken)
    path = broken / "notebooks" / "explore.ipynb"
    path.write_text(path.read_text().replace("best = top_k(scores, k)", "best = 1 / 0"))
    with pytest.raises(SubmissionFailed, match="cell 3 raised ZeroDivisionError"):
        run_notebook(broken, "notebooks/explore.ipynb", child_environment(broken, {}))
