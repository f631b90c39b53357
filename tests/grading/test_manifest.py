"""The manifest fixes each assignment's points and the grader's limits, and refuses typos."""

from __future__ import annotations

import pytest

from grading.manifest import ManifestError, is_ignored, load_manifest, matches
from tests.grading.conftest import FULL_MARKS, GRADED

pytestmark = pytest.mark.timeout(30)


def test_the_fixture_manifest_reads_as_written():
    manifest = load_manifest(GRADED)
    assert [(a.id, a.title, a.points) for a in manifest.assignments.values()] == [
        ("A1", "Rank movies", 9),
        ("A2", "Your server", 6),
    ]
    assert manifest.total == FULL_MARKS
    assert (manifest.limits.test, manifest.limits.files, manifest.cli) == (10, 200, "tinyrec")


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("", "no \\[assignments.<id>\\] table"),
        ("[assignments.A1]\ntitle = 'x'\npoints = 0\n", "A1\\]: needs a positive number"),
        ("[assignments.A1]\ntitle = 'x'\npoints = 2\n[limits]\ntests = 5\n", "unknown key 'tests'"),
        ("[assignments.A1]\npoints = 2\n", "needs a `title`"),
        ("[assignments.A1\n", "manifest.toml: "),
    ],
)
def test_a_wrong_manifest_is_an_error_that_names_it(tmp_path, text, complaint):
    (tmp_path / "manifest.toml").write_text(text)
    with pytest.raises(ManifestError, match=complaint):
        load_manifest(tmp_path)


def test_a_missing_manifest_says_where_it_looked(tmp_path):
    with pytest.raises(ManifestError, match=f"no manifest.toml in {tmp_path}"):
        load_manifest(tmp_path)


def test_path_patterns_match_folders_and_wildcards():
    assert matches("tests/grading/x.py", ("tests/grading",))
    assert matches("bench/a.py", ("*.py",)) and not matches("testsuite/a.py", ("tests",))
    assert is_ignored("a/__pycache__/b.pyc", ("__pycache__",)) and not is_ignored(
        "data.py", ("data",)
    )
