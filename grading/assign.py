"""`python -m grading assign`: write the student copy of the course, after checking it.

The student copy holds the course's tracked files (`git ls-files`) with every solution region
stubbed and notebook outputs cleared, plus the grading package and the public graded tests (so
students can run `python -m grading check`). Hidden tests and the manifest's `exclude` are left
out. Before anything is written, the copy checks itself: the solution scores full marks, and the
fresh student copy scores exactly the points of the tests that need no exercise.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from grading.manifest import ALWAYS_IGNORED, is_ignored, matches
from grading.regions import (
    NOTEBOOK,
    Region,
    RegionError,
    find_regions,
    kind_of,
    stub_notebook,
    stub_text,
)
from grading.runner import GradedTest, Run, Suite, collect, grade

PACKAGE_DIR = Path(__file__).resolve().parent  # the grading package, copied to students
MARKER = ".grading-assign.json"  # lists the files `assign` wrote, so it only ever replaces those
GRADING_DIR = "grading"  # where the student copy keeps the grading package
TESTS_DIR = "grading/tests"  # and the public graded tests (the default of --tests)


class AssignError(Exception):
    """The student copy cannot be written, or failed its self-check; the message says why."""


@dataclass
class StudentCopy:
    """The files of a student copy (path -> content and mode), and the regions they had."""

    files: dict[str, tuple[bytes, int]] = field(default_factory=dict)
    regions: list[Region] = field(default_factory=list)

    def write(self, root: Path) -> None:
        for relative, (content, mode) in self.files.items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            path.chmod(mode)


def course_files(course: Path) -> list[str]:
    """The course's files: what git tracks, or every file when the course is not in git."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z"], cwd=course, capture_output=True, check=True, text=True
        ).stdout.split("\0")
    except (OSError, subprocess.CalledProcessError):
        listed = [p.relative_to(course).as_posix() for p in course.rglob("*")]
    return sorted(
        path
        for path in listed
        if path and (course / path).is_file() and not is_ignored(path, ALWAYS_IGNORED)
    )


def build_copy(course: Path | None, suite: Suite, stub: bool = True) -> StudentCopy:
    """The student copy in memory (with `stub=False`: the same files, solutions kept).

    Without a `course`, only the grader's own files: the grading package and public tests."""
    copy = StudentCopy()
    if course is not None:
        left_out = (GRADING_DIR, *suite.manifest.exclude)  # the grader's files come from below
        suite_inside = _relative_or_none(suite.dir, course)
        for relative in course_files(course):
            if matches(relative, left_out) or (suite_inside and matches(relative, (suite_inside,))):
                continue
            content, regions = _student_version(course / relative, relative, stub)
            copy.files[relative] = (content, _mode(course / relative))
            copy.regions += regions
    for relative, path in _files_under(PACKAGE_DIR, skip=("tests",)):
        copy.files[f"{GRADING_DIR}/{relative}"] = (path.read_bytes(), 0o644)
    for relative, path in _files_under(suite.dir, skip=("hidden",)):
        copy.files[f"{TESTS_DIR}/{relative}"] = (path.read_bytes(), 0o644)
    return copy


def protected_checksums(course: Path | None, suite: Suite) -> dict[str, str]:
    """sha256 of each file students must not change, as `assign` writes it: the grading
    package, the public tests, and the manifest's `protected` course files."""
    return {
        relative: hashlib.sha256(content).hexdigest()
        for relative, (content, _) in build_copy(course, suite).files.items()
        if relative.startswith(GRADING_DIR + "/") or matches(relative, suite.manifest.protected)
    }


def assign(course: Path, suite: Suite, out: Path, scratch: Path) -> str:
    """Write the checked student copy of `course` into `out`; return a summary to print."""
    student, solution = build_copy(course, suite), build_copy(course, suite, stub=False)
    previous = _files_we_wrote(out, student)
    tests = collect(suite, scratch / "collect")
    problems = _unknown_exercises(tests, student.regions)
    if problems:
        raise AssignError("the graded tests do not match the regions:\n" + "\n".join(problems))
    solution.write(scratch / "solution")
    student.write(scratch / "student")
    with ThreadPoolExecutor(2) as pool:
        runs = pool.map(
            lambda name: grade(
                scratch / name, suite, tests, suite.manifest.limits, scratch / f"{name}-run"
            ),
            ["solution", "student"],
        )
        solution_run, student_run = list(runs)
    problems = _self_check(solution_run, student_run)
    if problems:
        raise AssignError("the self-check failed, nothing was written:\n" + "\n".join(problems))
    for relative in previous - set(student.files):
        (out / relative).unlink(missing_ok=True)  # a file an earlier `assign` wrote, now gone
    student.write(out)
    (out / MARKER).write_text(json.dumps({"files": sorted(student.files)}, indent=1) + "\n")
    exercises = sorted({region.exercise for region in student.regions})
    untested = sorted(set(exercises) - {e for test in tests for e in test.exercises})
    lines = [
        f"wrote {len(student.files)} files to {out}: {len(exercises)} exercises in "
        f"{len(student.regions)} regions",
        f"self-check: the solution scores {_g(solution_run.score)}/"
        f"{_g(suite.manifest.total)}, the student copy {_g(student_run.score)} "
        "(the points of the tests that need no exercise)",
    ]
    if untested:
        lines.append(f"warning: no graded test needs exercise {', '.join(untested)}")
    return "\n".join(lines)


def _student_version(path: Path, relative: str, stub: bool) -> tuple[bytes, list[Region]]:
    raw = path.read_bytes()
    kind = kind_of(relative)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw, []  # not text: no regions
    if kind is None:
        if find_regions(text, relative):  # markers where they cannot be stubbed would leak
            raise RegionError(
                f"{relative}: solution regions are not supported in this kind of file"
            )
        return raw, []
    stubbed, regions = (
        stub_notebook(text, relative) if kind == NOTEBOOK else stub_text(text, relative, kind)
    )
    return (stubbed if stub else text).encode("utf-8"), regions


def _files_under(root: Path, skip: tuple[str, ...]) -> Iterator[tuple[str, Path]]:
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        ignored = is_ignored(relative, ALWAYS_IGNORED) or matches(relative, skip)
        if path.is_file() and not ignored:
            yield relative, path


def _mode(path: Path) -> int:
    return 0o755 if os.access(path, os.X_OK) else 0o644


def _relative_or_none(path: Path, root: Path) -> str | None:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return None


def _files_we_wrote(out: Path, copy: StudentCopy) -> set[str]:
    """The files an earlier `assign` wrote in `out`; refuse an `out` that holds anything else."""
    if not out.exists() or not any(out.iterdir()):
        return set()
    if not (out / MARKER).is_file():
        raise AssignError(f"{out} is not empty and was not written by `grading assign`")
    previous = set(json.loads((out / MARKER).read_text())["files"])
    for relative in copy.files:
        if relative not in previous and (out / relative).exists():
            raise AssignError(f"{out / relative} was not written by `grading assign`")
    return previous


def _unknown_exercises(tests: list[GradedTest], regions: list[Region]) -> list[str]:
    known = {region.exercise for region in regions}
    return [
        f"{test.nodeid} needs exercise {exercise}, which no solution region defines"
        for test in tests
        for exercise in test.exercises
        if exercise not in known
    ]


def _self_check(solution: Run, student: Run) -> list[str]:
    problems = [
        f"the solution fails {test.nodeid} ({test.outcome}): {test.message}"
        for test in solution.tests
        if test.outcome != "passed"
    ]
    for test in student.tests:
        if test.exercises and test.outcome == "passed":
            problems.append(
                f"{test.nodeid} passes on the student copy although it needs exercise "
                f"{', '.join(test.exercises)}: it does not test what the exercise asks"
            )
        elif not test.exercises and test.outcome != "passed":
            problems.append(
                f"{test.nodeid} fails on the student copy although it needs no exercise "
                f"(declare the exercises it needs): {test.message}"
            )
    return problems


def _g(number: float) -> str:
    return f"{number:g}"
