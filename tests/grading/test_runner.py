"""One submission's run: its own pytest process, time limits, and what each test scored."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from grading.runner import collect, grade
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
