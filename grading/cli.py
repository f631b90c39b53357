"""The command line: `python -m grading {assign,grade,check} --help`.

Every failure of the grader itself ends with one line starting `error:` and exit code 1 (2 for
a usage error), never a traceback. A submission that fails, loops or crashes is not a failure of
the grader: `grade` exits 0 whenever grading ran, whatever the scores.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

from grading.assign import TESTS_DIR, AssignError, assign
from grading.batch import grade_all
from grading.manifest import ManifestError
from grading.regions import RegionError
from grading.reports import check_summary
from grading.runner import GraderError, Suite, collect, grade
from grading.submissions import Refused, working_copy

EXAMPLES = """examples:
  python -m grading assign --out ../course-student          # the student copy, self-checked
  python -m grading grade submissions/*.zip --out results    # results/grades.csv and more
  python -m grading grade alice/ bob.tar.gz --out results --tests ../private-tests --jobs 2
  python -m grading check                                    # a student, in their copy

See grading/README.md (the instructor's guide)."""


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        args.command(args)
    except (AssignError, GraderError, ManifestError, RegionError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 1
    return 0


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="python -m grading",
        description="Grade the course's assignments with pytest: write the student copy, "
        "grade submissions, or check your own work.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = top.add_subparsers(required=True, metavar="COMMAND")

    do_assign = commands.add_parser(
        "assign",
        help="write the student copy (solutions stubbed), after checking it",
        description="Write the student copy of the course: solution regions stubbed, notebook "
        "outputs cleared, hidden tests left out. It is graded before it is written: the "
        "solution must score full marks and the copy exactly the points no exercise touches.",
    )
    do_assign.add_argument("--out", type=Path, required=True, help="a new or empty folder")
    _course_options(do_assign)
    do_assign.set_defaults(command=cmd_assign)

    do_grade = commands.add_parser(
        "grade",
        help="grade submissions into RESULTS (results.json, feedback.md, grades.csv)",
        description="Grade each SUBMISSION (a folder, .zip or .tar.gz) on a private copy, "
        "one at a time unless --jobs says otherwise. Writes RESULTS/<name>/results.json "
        "(Gradescope's format), RESULTS/<name>/feedback.md and RESULTS/grades.csv. "
        "A submission already graded with the same content, tests and grader is skipped.",
    )
    do_grade.add_argument("submissions", nargs="+", type=Path, metavar="SUBMISSION")
    do_grade.add_argument("--out", type=Path, required=True, metavar="RESULTS")
    _course_options(do_grade)
    do_grade.add_argument("--jobs", type=_positive_int, default=1, help="submissions at once")
    do_grade.add_argument(
        "--assignment", action="append", default=[], metavar="ID",
        help="grade only this assignment (repeat for several; default: all)",
    )  # fmt: skip
    do_grade.add_argument(
        "--timeout-test", type=_positive_float, metavar="S", help="seconds per test"
    )
    do_grade.add_argument(
        "--timeout-submission", type=_positive_float, metavar="S", help="seconds per submission"
    )
    do_grade.set_defaults(command=cmd_grade)

    do_check = commands.add_parser(
        "check",
        help="run the public tests on your own work and show your points so far",
        description="Run the public graded tests on a copy of the current folder (your "
        "work) and print the points you have so far. Your files are not changed.",
    )
    do_check.add_argument(
        "--tests", type=Path, default=Path(TESTS_DIR), help=f"default: {TESTS_DIR}"
    )
    do_check.set_defaults(command=cmd_check)
    return top


def _course_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--course", type=Path, default=Path("."), help="the course folder (default: here)"
    )
    command.add_argument(
        "--tests",
        type=Path,
        help=f"the graded tests: manifest.toml, public/, hidden/ (default: COURSE/{TESTS_DIR})",
    )


def cmd_assign(args: argparse.Namespace) -> None:
    suite = Suite.load(args.tests or args.course / TESTS_DIR)
    with tempfile.TemporaryDirectory(prefix="grading-assign-") as scratch:
        print(assign(args.course.resolve(), suite, args.out, Path(scratch)))


def cmd_grade(args: argparse.Namespace) -> None:
    suite = Suite.load(args.tests or args.course / TESTS_DIR, assignments=tuple(args.assignment))
    limits = suite.manifest.limits
    if args.timeout_test:
        limits = replace(limits, test=args.timeout_test)
    if args.timeout_submission:
        limits = replace(limits, submission=args.timeout_submission)
    grade_all(args.submissions, args.out, suite, limits, args.course, jobs=args.jobs)
    print(f"wrote {args.out / 'grades.csv'}")


def cmd_check(args: argparse.Namespace) -> None:
    suite = Suite.load(args.tests, check=True)
    with tempfile.TemporaryDirectory(prefix="grading-check-") as scratch:
        copy = Path(scratch) / "work"
        try:
            root = working_copy(Path("."), copy, suite.manifest.limits, suite.manifest.ignore)
        except Refused as error:
            raise GraderError(f"your folder cannot be checked: {error}") from None
        tests = collect(suite, Path(scratch) / "collect")
        run = grade(root, suite, tests, suite.manifest.limits, Path(scratch) / "run")
    print(check_summary(run, suite.manifest))


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be more than 0")
    return value
