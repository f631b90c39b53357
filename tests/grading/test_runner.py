"""One submission's run: its own pytest process, time limits, and what each test scored."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import pytest

from grading.runner import collect, grade
from movierec.processes import wait_for
from tests.grading.conftest import COURSE, FULL_MARKS, variant

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]


def test_the_solution_scores_full_marks_in_a_separate_process(suite, tmp_path):
    run = grade(COURSE, suite, collect(suite, tmp_path / "c"), suite.manifest.limits, tmp_path)
    assert (run.status, run.score, run.notes) == ("ok", FULL_MARKS, [])


def test_a_submission_past_its_time_limit_is_stopped_and_unfinished_tests_score_0(suite, tmp_path):
    ranking = (COURSE / "tinyrec/ranking.py").read_text()
    looping = ranking.replace("return sum(ratings)", "while True: pass\n    return sum(ratings)")
    copy = variant(COURSE, tmp_path / "loops", {"tinyrec/ranking.py": looping})
    tests = collect(suite, tmp_path / "c")
    limits = replace(suite.manifest.limits, test=60, submission=3)
    started = time.monotonic()
    run = grade(copy, suite, tests, limits, tmp_path / "run")
    assert time.monotonic() - started < 10
    assert run.status == "timeout" and "ran out" in run.notes[0]
    assert run.score < FULL_MARKS and len(run.tests) == len(tests)
    # Nothing of the submission keeps looping after its grader was stopped (it would eat a core
    # for every submission of a batch).
    wait_for(lambda: not still_running(copy), 15, "the looping submission's processes to end")


def still_running(copy) -> list[str]:
    """Command lines of processes still running that name the submission's folder."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (proc / "stat").read_text().split(")")[-1].split()[0]
        except (OSError, IndexError):
            continue
        if str(copy) in command and state != "Z":
            found.append(command)
    return found
