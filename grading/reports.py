"""What grading writes: `results.json` (Gradescope's autograder format), `feedback.md` (for the
student), the row of `grades.csv` (for the gradebook), and the summary `check` prints.

Hidden tests (any visibility but "visible") appear in a student's feedback only as pending
points: never their names, code or messages. results.json keeps everything, with each test's
visibility, so that Gradescope shows each part when the instructor decides.
"""

from __future__ import annotations

import csv
import json
import textwrap
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from grading.manifest import Manifest
from grading.runner import GradedTest, Run

CSV_HEAD = ["submission", "score", "max_score"]


def results_json(run: Run) -> dict[str, Any]:
    """The Gradescope autograder result of one run (uploads as it is)."""
    return {
        "score": run.score,
        "execution_time": round(run.seconds, 1),
        "output": f"grading status: {run.status}" + "".join(f"\n\n{note}" for note in run.notes),
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [
            {
                "name": f"{test.assignment}: {test.name}",
                "number": f"{test.assignment}.{number}",
                "score": test.score,
                "max_score": test.points,
                "status": "passed" if test.outcome == "passed" else "failed",
                "output": _outcome_text(test),
                "visibility": test.visibility,
                "tags": [test.assignment, *test.exercises],
            }
            for number, test in _numbered(run.tests)
        ],
    }


def feedback_markdown(name: str, run: Run, manifest: Manifest) -> str:
    """The student's feedback: per assignment what passed, what failed and why, what is pending."""
    visible = [test for test in run.tests if test.visibility == "visible"]
    pending = manifest.total - sum(test.points for test in visible)
    lines = [f"# Feedback: {name}", ""]
    lines.append(f"**Score so far: {_g(sum(t.score for t in visible))} / {_g(manifest.total)}**")
    if pending:
        lines[-1] += f" ({_g(pending)} points from hidden tests are published later)"
    if run.status != "ok":
        lines += ["", f"Grading status: **{run.status}** (see the notes at the end)."]
    for assignment in manifest.assignments.values():
        tests = [test for test in visible if test.assignment == assignment.id]
        hidden = [t for t in run.tests if t.assignment == assignment.id and t not in visible]
        earned = sum(test.score for test in tests)
        lines += [
            "",
            f"## {assignment.id} {assignment.title}: {_g(earned)} / {_g(assignment.points)}",
        ]
        lines += [""] + [_feedback_line(test) for test in tests]
        if hidden:
            points = sum(test.points for test in hidden)
            lines.append(
                f"- ⏳ {_count(len(hidden), 'hidden test')} worth {_count(points, 'point')}: "
                "results published later"
            )
    if run.notes:
        lines += ["", "## Notes", ""] + [f"- {_indent(note, '  ')}" for note in run.notes]
    return "\n".join(lines) + "\n"


def check_summary(run: Run, manifest: Manifest) -> str:
    """What `python -m grading check` prints for a student: points so far, and why tests fail."""
    lines = []
    for assignment in manifest.assignments.values():
        tests = [test for test in run.tests if test.assignment == assignment.id]
        public = sum(test.points for test in tests)
        earned = sum(test.score for test in tests)
        hidden = assignment.points - public
        more = f" (+{_g(hidden)} in hidden tests)" if hidden else ""
        lines.append(f"{assignment.id} {assignment.title}: {_g(earned)}/{_g(public)} points{more}")
        for test in tests:
            mark = "✓" if test.outcome == "passed" else "✗"
            lines.append(f"  {mark} {test.name} ({_g(test.score)}/{_g(test.points)})")
            if test.outcome != "passed":
                lines.append(_indent(_outcome_text(test), "      ", first=True))
    earned = sum(test.score for test in run.tests)
    public = sum(test.points for test in run.tests)
    lines.append(f"Total: {_g(earned)}/{_g(public)} points in the public tests")
    if manifest.total > public:
        lines[-1] += f"; {_g(manifest.total - public)} more come from hidden tests"
    return "\n".join(lines + [f"- {note}" for note in run.notes])


def summary(run: Run, manifest: Manifest) -> dict[str, Any]:
    """The gradebook's view of a run: total, per assignment graded, and status. (Grading some
    assignments only, `--assignment`, leaves the others out of both the total and the row.)"""
    graded = [id_ for id_ in manifest.assignments if any(t.assignment == id_ for t in run.tests)]
    return {
        "status": run.status,
        "score": run.score,
        "max_score": sum(manifest.assignments[id_].points for id_ in graded),
        "assignments": {
            id_: sum(t.score for t in run.tests if t.assignment == id_) for id_ in graded
        },
    }


def write_grades_csv(path: Path, rows: Iterable[tuple[str, dict[str, Any]]], manifest: Manifest):
    """`submission,score,max_score,<one column per assignment>,status`, one row per submission."""
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow([*CSV_HEAD, *manifest.assignments, "status"])
        for name, row in rows:
            scores = [_g(row["assignments"][id_]) if id_ in row["assignments"] else ""
                      for id_ in manifest.assignments]  # fmt: skip
            writer.writerow([name, _g(row["score"]), _g(row["max_score"]), *scores, row["status"]])


def write_results(folder: Path, name: str, run: Run, manifest: Manifest) -> None:
    """`results.json` and `feedback.md` of one submission, in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "results.json").write_text(json.dumps(results_json(run), indent=2) + "\n")
    (folder / "feedback.md").write_text(feedback_markdown(name, run, manifest))


def _numbered(tests: list[GradedTest]) -> Iterable[tuple[int, GradedTest]]:
    counts: dict[str, int] = {}
    for test in tests:
        counts[test.assignment] = counts.get(test.assignment, 0) + 1
        yield counts[test.assignment], test


def _outcome_text(test: GradedTest) -> str:
    if test.outcome == "passed":
        return ""
    if test.outcome == "not run":
        return "not run" + (f": {test.message}" if test.message else "")
    return test.message or test.outcome


def _feedback_line(test: GradedTest) -> str:
    points = f"{_g(test.score)}/{_g(test.points)}"
    if test.outcome == "passed":
        return f"- ✅ {test.name} ({points})"
    why = _indent(_outcome_text(test), "  > ", first=True)
    return f"- ❌ {test.name} ({points})\n{why}"


def _indent(text: str, prefix: str, first: bool = False) -> str:
    indented = textwrap.indent(text, prefix, lambda line: True)
    return indented if first else indented.removeprefix(prefix)


def _count(number: float, noun: str) -> str:
    return f"{_g(number)} {noun}" + ("" if number == 1 else "s")


def _g(number: float) -> str:
    """A number of points as people write it: 2, 2.5."""
    return f"{number:g}"
