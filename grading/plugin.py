"""The pytest plugin of graded tests: the `points` and `assignment` markers, the fixtures that
reach a submission, and the report the grader reads (one JSON object per line).

    pytestmark = pytest.mark.assignment("A2")

    @pytest.mark.points(2, exercises=["A2.1"])
    def test_top_k_leaves_out_rated_movies(run_in_submission):
        \"\"\"Recommendations never include a movie the user already rated.\"\"\"
        ...

The grader loads it with `-p grading.plugin`; graded tests never import it. It imports no
submission code: every fixture below reaches the submission through a child process.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

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
from grading.manifest import Manifest, ManifestError, load_manifest

VISIBILITIES = ("visible", "hidden", "after_due_date", "after_published")
MESSAGE_CHARS = 2000  # of a failure message kept for the feedback
REPORT_KEY_VARIABLE = "GRADING_REPORT_KEY"  # signs report lines; taken out of the environment
MANIFEST_KEY = pytest.StashKey[Manifest]()
OUTCOMES_KEY = pytest.StashKey[list]()


# --- options, markers, the manifest -------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("grading")
    group.addoption("--grading-submission", help="the working copy of the submission to grade")
    group.addoption("--grading-report", help="write one JSON line per test to this file")
    group.addoption(
        "--grading-subset",
        action="store_true",
        help="only part of the graded tests run (a student's check, a re-run): totals are not "
        "compared with the manifest",
    )
    group.addoption(
        "--grading-assignments",
        help="comma-separated assignment ids: run only their tests (implies --grading-subset)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep only the tests of the assignments asked for (`--grading-assignments A2,A3`)."""
    wanted = config.getoption("grading_assignments")
    if not wanted:
        return
    wanted_ids = set(wanted.split(","))
    manifest = config.stash[MANIFEST_KEY]
    keep, drop = [], []
    for item in items:
        marker = item.get_closest_marker("assignment")
        assignment = marker.args[0] if marker and marker.args else None
        (keep if assignment in wanted_ids else drop).append(item)
    unknown = wanted_ids - set(manifest.assignments)
    if unknown:
        raise pytest.UsageError(f"no assignment {', '.join(sorted(unknown))} in the manifest")
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "points(n, visibility='visible', exercises=()): a graded test worth n points, needing "
        "the listed exercises (visibility as in Gradescope; tests in hidden/ default to "
        "'after_published')",
    )
    config.addinivalue_line("markers", "assignment(id): the manifest's assignment a test is for")
    try:
        manifest = config.stash[MANIFEST_KEY] = load_manifest(config.rootpath)
    except ManifestError as error:
        raise pytest.UsageError(str(error)) from None
    config.pluginmanager.register(Recorder(config, manifest), "grading-recorder")


def sign(line: str, key: str) -> str:
    """The HMAC of a report line: children never see the key, so they cannot forge a line."""
    return hmac.new(key.encode(), line.encode(), hashlib.sha256).hexdigest()


class Recorder:
    """Checks the collected tests and writes the grader's report: one signed JSON object per
    line, flushed at once, so a run killed at its time limit still leaves what it had done."""

    def __init__(self, config: pytest.Config, manifest: Manifest):
        self.config, self.manifest = config, manifest
        self.path = config.getoption("grading_report")
        self.key = os.environ.pop(REPORT_KEY_VARIABLE, "")  # before any child is started
        self.modules_before = set(sys.modules)

    def write(self, kind: str, **fields: Any) -> None:
        if self.path:
            line = json.dumps({"kind": kind, **fields})
            with open(self.path, "a", encoding="utf-8") as report:
                report.write(f"{sign(line, self.key)} {line}\n")

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            last_line = (str(report.longrepr).strip().splitlines() or ["?"])[-1]
            self.write("grader_error", message=f"{report.nodeid}: not collected: {last_line}")

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        tests, problems = [], []
        for item in session.items:
            try:
                tests.append(describe(item, self.manifest))
            except ValueError as error:
                problems.append(f"{item.nodeid}: {error}")
        subset = self.config.getoption("grading_subset")
        if not subset and not self.config.getoption("grading_assignments"):
            problems += _total_problems(tests, self.manifest)
        problems += self.course_imports()
        self.write("collected", tests=tests)
        for problem in problems:
            self.write("grader_error", message=problem)
        if problems:
            pytest.exit("the graded tests are not usable:\n" + "\n".join(problems), returncode=4)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
        report = yield
        outcomes = item.stash.setdefault(OUTCOMES_KEY, [])
        if report.failed or report.skipped:
            outcomes.append(_outcome(report, call))
        if report.when == "teardown":  # the first failing phase decides
            outcome, message = outcomes[0] if outcomes else ("passed", "")
            self.write(
                "result", nodeid=item.nodeid, outcome=outcome, message=message[:MESSAGE_CHARS]
            )
        return report

    def pytest_sessionfinish(self) -> None:
        for problem in self.course_imports():
            self.write("grader_error", message=problem)

    def course_imports(self) -> list[str]:
        """Graded tests that import the course's own packages would grade the solution
        installed beside the grader, not the submission: that is a grader error."""
        new = set(sys.modules) - self.modules_before
        imported = sorted(m for m in new if m.split(".")[0] in self.manifest.packages)
        if not imported:
            return []
        return [
            f"graded tests imported {', '.join(imported)}: that is the grader's copy, not the "
            "submission's; reach submission code through run_in_submission or submission_cli"
        ]


def describe(item: pytest.Item, manifest: Manifest) -> dict[str, Any]:
    """What the grader needs to know about a test; `ValueError` when its markers are wrong."""
    points_marker = item.get_closest_marker("points")
    if points_marker is None or len(points_marker.args) != 1:
        raise ValueError("needs @pytest.mark.points(n)")
    points = points_marker.args[0]
    if isinstance(points, bool) or not isinstance(points, int | float) or points <= 0:
        raise ValueError(f"points must be a positive number, not {points!r}")
    unknown = set(points_marker.kwargs) - {"visibility", "exercises"}
    if unknown:
        raise ValueError(f"points() takes visibility= and exercises=, not {sorted(unknown)}")
    assignment_marker = item.get_closest_marker("assignment")
    if assignment_marker is None or len(assignment_marker.args) != 1:
        raise ValueError('needs an assignment: pytestmark = pytest.mark.assignment("A1")')
    assignment = assignment_marker.args[0]
    if assignment not in manifest.assignments:
        raise ValueError(f"assignment {assignment!r} is not in {manifest.path.name}")
    hidden = item.path.relative_to(item.config.rootpath).parts[0] == "hidden"
    visibility = points_marker.kwargs.get("visibility", "after_published" if hidden else "visible")
    if visibility not in VISIBILITIES:
        raise ValueError(f"visibility must be one of {VISIBILITIES}, not {visibility!r}")
    exercises = points_marker.kwargs.get("exercises", [])
    if isinstance(exercises, str) or not all(isinstance(e, str) for e in exercises):
        raise ValueError('exercises must be a list of exercise ids, e.g. ["A2.1"]')
    doc = (getattr(item, "function", None).__doc__ or "").strip().splitlines()
    return {
        "nodeid": item.nodeid,
        "name": doc[0] if doc else item.name,
        "assignment": assignment,
        "points": points,
        "visibility": visibility,
        "exercises": sorted(exercises),
        "hidden": hidden,
    }


def _total_problems(tests: list[dict[str, Any]], manifest: Manifest) -> list[str]:
    problems = []
    for assignment in manifest.assignments.values():
        collected = sum(t["points"] for t in tests if t["assignment"] == assignment.id)
        if collected != assignment.points:
            problems.append(
                f"{assignment.id}: the tests add up to {collected:g} points, "
                f"{manifest.path.name} says {assignment.points:g}"
            )
    return problems


def _outcome(report: pytest.TestReport, call: pytest.CallInfo) -> tuple[str, str]:
    """(outcome, message in a student's words) of a failed or skipped phase."""
    if report.skipped:
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        return "skipped", reason.removeprefix("Skipped: ")
    error = call.excinfo.value if call.excinfo else None
    text = str(error) if error is not None else str(report.longrepr)
    if isinstance(error, SubmissionTimeout):
        return "timeout", text
    if "from pytest-timeout" in text:
        seconds = re.search(r">([\d.]+)s", text)
        limit = f" ({float(seconds[1]):g} s)" if seconds else ""
        return "timeout", f"the test did not finish within its time limit{limit} and was stopped"
    during = "" if report.when == "call" else "(while setting up or cleaning up) "
    if isinstance(error, AssertionError):
        return "failed", during + _assertion_message(text)
    if isinstance(error, SubmissionFailed):
        return "failed", during + text
    return "failed", during + (f"{type(error).__name__}: {text}" if error is not None else text)


def _assertion_message(text: str) -> str:
    """The test's own message when it gave one; else the first line of pytest's explanation."""
    lines = text.splitlines()
    explained = [i for i, line in enumerate(lines) if line.startswith("assert ")]
    if explained and explained[0] > 0:
        return "\n".join(lines[: explained[0]]).strip()
    return lines[0][:300] if lines else "an assertion failed"


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def submission(pytestconfig: pytest.Config) -> Path:
    """The private working copy of the submission being graded (tests may write in it)."""
    path = pytestconfig.getoption("grading_submission")
    if not path:
        pytest.fail("no submission: run graded tests with `python -m grading grade` or `check`")
    return Path(path)


@pytest.fixture(scope="session")
def submission_env(submission: Path, pytestconfig: pytest.Config) -> dict[str, str]:
    """The environment of every child process: the manifest's `[course] env` added, and
    PYTHONPATH set to the submission for the processes the children start."""
    return child_environment(submission, pytestconfig.stash[MANIFEST_KEY].env)


@pytest.fixture(scope="module")
def submission_harness(
    submission: Path, submission_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Harness]:
    """One child process per test module that runs snippets in the submission (see harness.py)."""
    harness = Harness(submission, submission_env, tmp_path_factory.mktemp("harness") / "log")
    yield harness
    harness.stop()


@pytest.fixture
def run_in_submission(submission_harness: Harness) -> Callable[..., Any]:
    """`run_in_submission(code, timeout=30, **variables)`: run `code` in the submission, where
    the variables are globals, and return the JSON value it assigns to `result`."""

    def run_in_submission(code: str, timeout: float = 30, **variables: Any) -> Any:
        return submission_harness.run(code, timeout, variables)

    return run_in_submission


@pytest.fixture
def submission_cli(
    submission: Path, submission_env: dict[str, str], pytestconfig: pytest.Config
) -> Callable[..., Any]:
    """`submission_cli(*args, timeout=60, input=None)`: `python -m <cli> ARGS` of the submission,
    returning a `subprocess.CompletedProcess` with text `stdout` and `stderr`."""
    module = pytestconfig.stash[MANIFEST_KEY].cli
    if not module:
        pytest.fail('submission_cli needs `cli = "<package>"` under [course] in manifest.toml')

    def submission_cli(*args: Any, timeout: float = 60, input: str | None = None):
        return run_cli(submission, module, args, submission_env, timeout, input)

    return submission_cli


@pytest.fixture
def submission_server(
    submission: Path, submission_env: dict[str, str], tmp_path: Path
) -> Callable[..., Any]:
    """`with submission_server(module, *args, ready="/", timeout=60, env=None) as server:` runs
    `python -m MODULE ARGS` of the submission ("{port}" in ARGS becomes a free port; `env` adds
    variables) until `server.url + ready` answers 200; `server.url` is http://127.0.0.1:<port>."""
    numbers = itertools.count(1)

    def submission_server(
        module: str,
        *args: str,
        ready: str = "/",
        timeout: float = 60,
        env: dict[str, str] | None = None,
    ):
        log = tmp_path / f"server-{next(numbers)}.log"
        return serve(submission, module, args, {**submission_env, **(env or {})}, log, ready,
                     timeout)  # fmt: skip

    return submission_server


@pytest.fixture
def run_submission_notebook(
    submission: Path, submission_env: dict[str, str], tmp_path: Path
) -> Callable[..., Any]:
    """`run_submission_notebook(path, parameters=None, cell_timeout=60)`: execute the
    submission's notebook at `path` in a `python3` kernel whose sys.path starts with the
    submission, parameters injected after its `parameters` cell; returns the executed notebook."""
    env = {
        **submission_env,
        "IPYTHONDIR": str(tmp_path / "ipython"),
        "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter"),
    }

    def run_submission_notebook(
        notebook: str, parameters: dict[str, Any] | None = None, cell_timeout: float = 60
    ):
        return run_notebook(submission, notebook, env, parameters, cell_timeout)

    return run_submission_notebook
