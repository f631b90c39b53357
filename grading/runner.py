"""Grade one submission: run the instructor's tests on its working copy in a separate pytest
process, within time limits, and read back what each test scored.

The pytest process runs from the instructor's tests folder with the grader's own settings
(`grading/pytest.ini`), no plugin but ours and pytest-timeout, and never imports the submission.
A test that timed out is run once more before it scores 0 (a busy machine is noisy). When the
whole submission runs past its time limit, its process group is killed and every test that did
not report scores 0.
"""

from __future__ import annotations

import hmac
import json
import os
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from grading.manifest import Limits, Manifest, load_manifest
from grading.plugin import REPORT_KEY_VARIABLE, sign
from movierec.processes import log_tail, start, stop

PYTEST_INI = Path(__file__).with_name("pytest.ini")
PUBLIC, HIDDEN = "public", "hidden"


class GraderError(RuntimeError):
    """The grader itself cannot run (the instructor's tests or manifest are wrong)."""


@dataclass(frozen=True)
class Suite:
    """The instructor's graded tests: a folder with manifest.toml, public/ and maybe hidden/."""

    dir: Path
    manifest: Manifest
    check: bool = False  # a student's check: the public tests alone
    assignments: tuple[str, ...] = ()  # only these assignments' tests (all when empty)

    @classmethod
    def load(cls, tests_dir: Path, check: bool = False, assignments: tuple[str, ...] = ()) -> Suite:
        if not tests_dir.is_dir():
            raise GraderError(f"no graded tests at {tests_dir} (give --tests DIR)")
        manifest = load_manifest(tests_dir)
        unknown = set(assignments) - set(manifest.assignments)
        if unknown:
            raise GraderError(f"no assignment {', '.join(sorted(unknown))} in the manifest")
        return cls(tests_dir.resolve(), manifest, check, tuple(assignments))

    @property
    def paths(self) -> list[Path]:
        kinds = (PUBLIC,) if self.check else (PUBLIC, HIDDEN)
        return [self.dir / kind for kind in kinds if (self.dir / kind).is_dir()]


@dataclass(frozen=True)
class GradedTest:
    """One graded test and what it scored. `outcome`: passed, failed, timeout, skipped, not run."""

    nodeid: str
    name: str
    assignment: str
    points: float
    visibility: str
    exercises: list[str]
    hidden: bool
    outcome: str = "not run"
    message: str = ""

    @property
    def score(self) -> float:
        return self.points if self.outcome == "passed" else 0


@dataclass
class Run:
    """Grading one submission: `status` is ok, timeout (its time limit ran out) or error."""

    status: str
    tests: list[GradedTest]
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        return sum(test.score for test in self.tests)


def collect(suite: Suite, scratch: Path) -> list[GradedTest]:
    """The suite's tests, checked (markers, manifest totals) without any submission."""
    records = _pytest(suite, None, [str(p) for p in suite.paths], scratch, "collect", 300)
    if records.problems or records.collected is None:
        reasons = records.problems or [log_tail(records.log, 2000)]
        raise GraderError("the graded tests cannot be used:\n" + "\n".join(reasons))
    return records.collected


def grade(work: Path, suite: Suite, tests: list[GradedTest], limits: Limits, scratch: Path) -> Run:
    """Run `tests` (from `collect`) on the working copy `work`; never raises for the student's
    code, only `GraderError` for the grader's."""
    started = time.monotonic()
    by_id = {test.nodeid: test for test in tests}
    targets = [str(p) for p in suite.paths]
    runs = [_pytest(suite, work, targets, scratch, "run", limits.submission, limits.test)]
    _merge(by_id, runs[0].results)
    timed_out = [n for n, (outcome, _) in runs[0].results.items() if outcome == "timeout"]
    remaining = limits.submission - (time.monotonic() - started)
    if timed_out and not runs[0].killed and remaining > 0:
        targets = [str(suite.dir / nodeid) for nodeid in timed_out]
        runs.append(_pytest(suite, work, targets, scratch, "rerun", remaining, limits.test))
        _merge(by_id, runs[-1].results)
    problems = [problem for records in runs for problem in records.problems]
    if problems:
        raise GraderError("the graded tests are not usable:\n" + "\n".join(problems))
    run = Run("ok", list(by_id.values()), time.monotonic() - started)
    if any(records.killed for records in runs):
        run.status = "timeout"
        run.notes.append(
            f"the time limit for the whole submission ({limits.submission:g} s) ran out: "
            "tests that had not finished score 0"
        )
    elif any(records.crashed for records in runs):
        run.status = "error"
        run.notes.append("the grading process ended early:\n" + log_tail(runs[-1].log, 2000))
    forged = sum(records.forged for records in runs)
    if forged:
        run.notes.append(
            f"{forged} lines of the grader's report were not written by the grader and were "
            "ignored: did the submission's code tamper with grading?"
        )
    return run


@dataclass
class _Records:
    log: Path
    collected: list[GradedTest] | None = None
    results: dict[str, tuple[str, str]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    killed: bool = False
    crashed: bool = False
    forged: int = 0


def _pytest(
    suite: Suite,
    work: Path | None,
    targets: list[str],
    scratch: Path,
    label: str,
    timeout: float,
    test_timeout: float | None = None,
) -> _Records:
    """One pytest process over `targets`, read back from its report; its whole process group is
    killed after `timeout` seconds. Without a `work` copy, it only collects."""
    report, log = scratch / f"{label}.jsonl", scratch / f"{label}.log"
    command = [
        sys.executable,
        "-I",  # no PYTHONPATH, no user site, no current folder on sys.path
        "-m",
        "pytest",
        *targets,
        *("-c", str(PYTEST_INI), "--rootdir", str(suite.dir), "--confcutdir", str(suite.dir)),
        *("-p", "no:cacheprovider", "-p", "pytest_timeout", "-p", "grading.plugin"),
        *("--import-mode=importlib", "--basetemp", str(scratch / f"{label}-tmp")),
        *("--grading-report", str(report), "-q", "--no-header", "-p", "no:warnings"),
    ]
    if suite.check or label == "rerun":
        command.append("--grading-subset")
    if suite.assignments:
        command += ["--grading-assignments", ",".join(suite.assignments)]
    if work is None:
        command.append("--collect-only")
    else:
        command += ["--grading-submission", str(work), "--timeout", f"{test_timeout:g}"]
        command += ["-o", "timeout_method=signal"]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PYTEST"))}
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # no plugin from the environment, only ours
    key = env[REPORT_KEY_VARIABLE] = secrets.token_hex(16)
    scratch.mkdir(parents=True, exist_ok=True)
    process = start(command, log, env=env, cwd=scratch)
    records = _Records(log)
    try:
        code = process.wait(timeout=max(timeout, 0.1))
    except subprocess.TimeoutExpired:
        records.killed, code = True, None
    finally:
        stop(process, grace=2)
    _read(report, key, records)
    if code not in (None, 0, 1, 5) and not records.problems:
        records.crashed = True
    return records


def _read(report: Path, key: str, records: _Records) -> None:
    if not report.exists():
        return
    text = report.read_text(encoding="utf-8", errors="replace")
    lines = text.splitlines() if text.endswith("\n") else text.splitlines()[:-1]  # cut short
    for signed in lines:
        mac, _, line = signed.partition(" ")
        if not hmac.compare_digest(mac, sign(line, key)):
            records.forged += 1
            continue
        record: dict[str, Any] = json.loads(line)
        kind = record.pop("kind")
        if kind == "collected":
            records.collected = [GradedTest(**test) for test in record["tests"]]
        elif kind == "result":
            records.results[record["nodeid"]] = (record["outcome"], record["message"])
        elif kind == "grader_error":
            records.problems.append(record["message"])


def _merge(by_id: dict[str, GradedTest], results: dict[str, tuple[str, str]]) -> None:
    for nodeid, (outcome, message) in results.items():
        if nodeid in by_id:
            by_id[nodeid] = replace(by_id[nodeid], outcome=outcome, message=message)
