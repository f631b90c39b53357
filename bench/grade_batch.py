"""Benchmark: grade a batch of submissions of the real course and print seconds per submission.

    python bench/grade_batch.py                 # 4 copies: 2 solutions, 2 fresh student copies
    python bench/grade_batch.py --copies 8 --jobs 2

The copies are the solution (full marks) and the student copy `assign` writes (its untouched
points), alternately, graded with every assignment's public and hidden tests exactly as
`python -m grading grade` does. Goal: at most 20 s per submission on average on 2 cores, so that
a class of 40 is graded in minutes. Synthetic data, so it runs offline.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

from grading.assign import assign, build_copy
from grading.batch import grade_all
from grading.runner import Suite
from movierec.locations import PROJECT_ROOT as REPO_ROOT

GOAL_SECONDS = 20.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", type=int, default=4, help="submissions to grade (default: 4)")
    parser.add_argument("--jobs", type=int, default=1, help="submissions at once (default: 1)")
    args = parser.parse_args(argv)

    suite = Suite.load(REPO_ROOT / "grading" / "tests")
    scratch = Path(tempfile.mkdtemp(prefix="grade-batch-"))
    try:
        solution, student = scratch / "solution", scratch / "student"
        build_copy(REPO_ROOT, suite, stub=False).write(solution)
        print("assign (with its self-check) ...", flush=True)
        started = time.perf_counter()
        assign(REPO_ROOT, suite, student, scratch / "assign")
        print(f"assign: {time.perf_counter() - started:.0f} s", flush=True)
        sources = []
        for number in range(args.copies):
            base = solution if number % 2 == 0 else student
            sources.append(shutil.copytree(base, scratch / "submissions" / f"s{number:02d}"))

        started = time.perf_counter()
        rows = grade_all(sources, scratch / "results", suite, suite.manifest.limits, REPO_ROOT,
                         jobs=args.jobs, report=print)  # fmt: skip
        seconds = time.perf_counter() - started
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    per = seconds / len(rows)
    scores = sorted({row["score"] for _, row in rows})
    verdict = "PASS" if per <= GOAL_SECONDS else "FAIL"
    print(f"\n{len(rows)} submissions, {args.jobs} at a time: {seconds:.0f} s in all, "
          f"{per:.1f} s per submission (scores seen: {scores})")  # fmt: skip
    print(f"Goal: <= {GOAL_SECONDS:.0f} s per submission on average: {verdict}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
