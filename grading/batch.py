"""`python -m grading grade`: grade many submissions, one row each, whatever happens to one.

Each submission is copied (or unpacked) into a private working copy, checked against the files
students must not change, graded by `runner.grade`, and written out by `reports`. A refused
archive is an `error` row; the batch goes on. A submission is skipped when its content, the
graded tests, the grader and the limits are all unchanged since it was last graded.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grading.assign import PACKAGE_DIR, protected_checksums
from grading.manifest import Limits
from grading.reports import summary, write_grades_csv, write_results
from grading.runner import GradedTest, GraderError, Run, Suite, collect, grade
from grading.submissions import Refused, file_digest, tree_digest, unique_names, working_copy

SUMMARY = "summary.json"  # beside results.json: the gradebook row and the content fingerprint


@dataclass(frozen=True)
class Batch:
    """What stays the same for every submission of one `grade` command."""

    suite: Suite
    tests: list[GradedTest]
    limits: Limits
    out: Path
    protected: dict[str, str]
    fingerprint: str  # of the tests, the grader and the limits


def grade_all(
    sources: list[Path],
    out: Path,
    suite: Suite,
    limits: Limits,
    course: Path | None,
    jobs: int = 1,
    report: Callable[[str], None] = print,
) -> list[tuple[str, dict[str, Any]]]:
    """Grade every source into `out/<name>/` and write `out/grades.csv`; return its rows."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="grading-") as scratch:
        tests = collect(suite, Path(scratch))
    suite_digest = tree_digest(suite.dir)
    grader_digest = tree_digest(PACKAGE_DIR)
    batch = Batch(
        suite,
        tests,
        limits,
        out,
        protected_checksums(course, suite),
        _sha256(suite_digest, grader_digest, repr(limits)),
    )
    names = unique_names(sources)

    def one(name: str, source: Path) -> tuple[str, dict[str, Any]]:
        row = grade_one(name, source, batch)
        if tree_digest(suite.dir) != suite_digest:
            raise GraderError(f"the graded tests changed while grading {name}: was it tampered?")
        skipped = ", unchanged since it was graded" if row.get("unchanged") else ""
        report(f"{name}: {row['score']:g}/{row['max_score']:g} ({row['status']}{skipped})")
        return name, row

    with ThreadPoolExecutor(max(jobs, 1)) as pool:
        rows = list(pool.map(one, names, sources))
    write_grades_csv(out / "grades.csv", rows, suite.manifest)
    return rows


def grade_one(name: str, source: Path, batch: Batch) -> dict[str, Any]:
    """Grade one submission into `batch.out/name/`; return its gradebook row."""
    folder = batch.out / name
    with tempfile.TemporaryDirectory(prefix=f"grading-{name}-") as scratch:
        copy = Path(scratch) / "submission"
        try:
            root = working_copy(source, copy, batch.limits, batch.suite.manifest.ignore)
        except Refused as error:
            run = Run("error", list(batch.tests), notes=[f"the submission was refused: {error}"])
            return _write(folder, name, run, batch, fingerprint=None)
        fingerprint = _sha256(tree_digest(root), batch.fingerprint)
        previous = _previous_summary(folder)
        if previous.get("fingerprint") == fingerprint:
            return {**previous, "unchanged": True}
        changed = _changed_protected_files(root, batch.protected)
        run = grade(root, batch.suite, batch.tests, batch.limits, Path(scratch) / "pytest")
        run.notes[:0] = [
            f"You changed {path}: graded tests always run from the instructor's copy, so "
            "the change had no effect on your score."
            for path in changed
        ]
        return _write(folder, name, run, batch, fingerprint)


def _write(
    folder: Path, name: str, run: Run, batch: Batch, fingerprint: str | None
) -> dict[str, Any]:
    write_results(folder, name, run, batch.suite.manifest)
    row = {**summary(run, batch.suite.manifest), "fingerprint": fingerprint}
    (folder / SUMMARY).write_text(json.dumps(row, indent=1) + "\n")
    return row


def _previous_summary(folder: Path) -> dict[str, Any]:
    try:
        return json.loads((folder / SUMMARY).read_text())
    except (OSError, ValueError):
        return {}


def _changed_protected_files(root: Path, expected: dict[str, str]) -> list[str]:
    """Protected files the submission has, with a content other than the student copy's."""
    return [
        relative
        for relative, digest in sorted(expected.items())
        if (root / relative).is_file() and file_digest(root / relative) != digest
    ]


def _sha256(*parts: str) -> str:
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()
