"""The instructor's grading configuration, `<tests>/manifest.toml`: assignments, limits, course.

    [assignments.A2]              # one table per assignment, in the order students meet them
    title = "Train and persist"
    points = 20                   # the fixed total: the grader refuses tests that add up otherwise

    [limits]
    test = 60                     # seconds per test (a test's own @pytest.mark.timeout wins)
    submission = 900              # seconds for all of one submission's tests
    size_mb = 100                 # a submission larger than this, unpacked, is refused
    files = 10000                 # and so is one with more files than this

    [course]
    packages = ["movierec"]       # the course's packages: graded tests never import them
    cli = "movierec"              # `submission_cli(...)` runs `python -m movierec ...`
    exclude = ["tests", "bench"]  # course files left out of the student copy
    protected = ["setup/lib.sh"]  # files students must not change, besides the grading package
    ignore = ["data", "models"]   # names in a submission that are never copied for grading
    env = { OMP_NUM_THREADS = "1" }  # added to the environment of every child process

Path patterns (`exclude`, `protected`) are fnmatch patterns on paths relative to the course root,
where `*` also matches `/`; a pattern without wildcards also matches everything in that folder.
"""

from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MANIFEST = "manifest.toml"
# Never worth grading, in any submission: version control, environments, caches.
ALWAYS_IGNORED = (
    ".git",
    ".hg",
    ".venv",
    "venv",
    "__pycache__",
    "*.pyc",
    ".ipynb_checkpoints",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
    "node_modules",
    ".DS_Store",
    "__MACOSX",
)


class ManifestError(ValueError):
    """The manifest is missing or says something the grader cannot use; the message names it."""


@dataclass(frozen=True)
class Assignment:
    id: str
    title: str
    points: float


@dataclass(frozen=True)
class Limits:
    test: float = 60.0
    submission: float = 900.0
    size_mb: float = 100.0
    files: int = 10_000


@dataclass(frozen=True)
class Manifest:
    path: Path
    assignments: dict[str, Assignment]
    limits: Limits = Limits()
    packages: tuple[str, ...] = ()
    cli: str | None = None
    exclude: tuple[str, ...] = ()
    protected: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> float:
        return sum(a.points for a in self.assignments.values())


def matches(path: str, patterns: tuple[str, ...]) -> bool:
    """True when the relative POSIX `path` matches a pattern (see the module docstring)."""
    return any(
        fnmatch.fnmatchcase(path, pattern) or path.startswith(pattern.rstrip("/") + "/")
        for pattern in patterns
    )


def is_ignored(path: str, names: tuple[str, ...]) -> bool:
    """True when a component of the relative POSIX `path` matches one of the `names` patterns."""
    return any(fnmatch.fnmatchcase(part, name) for part in path.split("/") for name in names)


def load_manifest(tests_dir: Path) -> Manifest:
    """Read and check `<tests_dir>/manifest.toml`; raise `ManifestError` naming what is wrong."""
    path = tests_dir / MANIFEST
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ManifestError(
            f"no {MANIFEST} in {tests_dir} (is --tests the graded tests dir?)"
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ManifestError(f"{path}: {error}") from None
    where = str(path)
    _only_keys(data, {"assignments", "limits", "course"}, where)
    limits = _table(data, "limits", where)
    _only_keys(limits, {"test", "submission", "size_mb", "files"}, f"{where} [limits]")
    course = _table(data, "course", where)
    _only_keys(
        course, {"packages", "cli", "exclude", "protected", "ignore", "env"}, f"{where} [course]"
    )
    return Manifest(
        path=path,
        assignments=_assignments(_table(data, "assignments", where), where),
        limits=Limits(
            **{key: _positive(value, f"{where} [limits] {key}") for key, value in limits.items()}
        ),
        packages=_strings(course, "packages", where),
        cli=course.get("cli"),
        exclude=_strings(course, "exclude", where),
        protected=_strings(course, "protected", where),
        ignore=_strings(course, "ignore", where),
        env={str(k): str(v) for k, v in _table(course, "env", where).items()},
    )


def _assignments(table: dict[str, Any], where: str) -> dict[str, Assignment]:
    if not table:
        raise ManifestError(f"{where}: no [assignments.<id>] table")
    assignments = {}
    for id_, entry in table.items():
        here = f"{where} [assignments.{id_}]"
        if not isinstance(entry, dict):
            raise ManifestError(f"{here}: must be a table with `title` and `points`")
        _only_keys(entry, {"title", "points"}, here)
        if not isinstance(entry.get("title"), str):
            raise ManifestError(f"{here}: needs a `title` (a string)")
        assignments[id_] = Assignment(id_, entry["title"], _positive(entry.get("points"), here))
    return assignments


def _table(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ManifestError(f"{where}: `{key}` must be a table")
    return value


def _only_keys(table: dict[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ManifestError(f"{where}: unknown key {unknown[0]!r} (known: {sorted(allowed)})")


def _positive(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ManifestError(f"{where}: needs a positive number, got {value!r}")
    return value


def _strings(table: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ManifestError(f"{where} [course] {key}: must be a list of strings")
    return tuple(value)
