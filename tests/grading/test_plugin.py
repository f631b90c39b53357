"""The plugin refuses graded tests it cannot score fairly: grader errors, never students' zeros."""

from __future__ import annotations

import pytest

from grading.runner import GraderError, Suite, collect

pytestmark = pytest.mark.timeout(60)
MANIFEST = '[assignments.A1]\ntitle = "One"\npoints = 3\n[course]\npackages = ["json"]\n'


def suite_with(tmp_path, test_code: str) -> Suite:
    (tmp_path / "manifest.toml").write_text(MANIFEST)
    (tmp_path / "public").mkdir()
    (tmp_path / "public" / "test_one.py").write_text("import pytest\n\n" + test_code)
    return Suite.load(tmp_path)


@pytest.mark.parametrize(
    ("code", "complaint"),
    [
        ("def test_a():\n    pass\n", "needs @pytest.mark.points"),
        ("@pytest.mark.points(3)\ndef test_a():\n    pass\n", "needs an assignment"),
        (
            "@pytest.mark.points(2)\n@pytest.mark.assignment('A1')\ndef test_a():\n    pass\n",
            "A1: the tests add up to 2 points, manifest.toml says 3",
        ),
        (
            "@pytest.mark.points(3, visibility='secret')\n@pytest.mark.assignment('A1')\n"
            "def test_a():\n    pass\n",
            "visibility must be one of",
        ),
        ("import nonexistent_module\n", "not collected"),
    ],
)
def test_unusable_graded_tests_are_grader_errors(tmp_path, code, complaint):
    with pytest.raises(GraderError, match=complaint):
        collect(suite_with(tmp_path, code), tmp_path / "scratch")


def test_a_collected_test_carries_its_points_visibility_and_exercises(tmp_path):
    code = (
        "pytestmark = pytest.mark.assignment('A1')\n\n"
        "@pytest.mark.points(3, exercises=['A1.2'])\ndef test_a():\n    '''Sorted, best first.'''\n"
    )
    (test,) = collect(suite_with(tmp_path, code), tmp_path / "scratch")
    assert (test.name, test.points, test.visibility, test.exercises) == (
        "Sorted, best first.",
        3,
        "visible",
        ["A1.2"],
    )
