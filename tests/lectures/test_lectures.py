"""Every lecture has the shape the course promises, and the course maps list them all.

The lectures are found by name (`lectures/*.md`), so a lecture merged tomorrow is held to the
same rules: a title that matches its file name, learning objectives and a time estimate at the
top, exercises at the end, and a row in the README's course map and in lecture 0's.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

LECTURES = sorted((REPO_ROOT / "lectures").glob("*.md"))
NUMBERED = re.compile(r"^(?P<number>\d{2}|[A-Z])_[a-z0-9_]+\.md$")


def headings(lecture: Path, level: int) -> list[str]:
    """The lecture's headings of one level, outside code blocks."""
    text = re.sub(r"^```.*?^```", "", lecture.read_text(), flags=re.S | re.M)
    return re.findall(rf"^{'#' * level} (.+)$", text, flags=re.M)


def introduction(lecture: Path) -> str:
    """Everything before the first `##` section."""
    return lecture.read_text().split("\n## ", 1)[0]


def test_the_lectures_are_found():
    names = [lecture.name for lecture in LECTURES]
    assert names[:2] == ["00_overview.md", "01_vps_ssh_firewall_conda_jupyter.md"], names


@pytest.mark.parametrize("lecture", LECTURES, ids=lambda p: p.name)
def test_the_title_matches_the_file_name(lecture: Path):
    match = NUMBERED.match(lecture.name)
    assert match, f"{lecture.name}: name it NN_topic.md (or X_topic.md for an appendix)"
    (title,) = headings(lecture, 1)[:1]
    number = match["number"]
    if number.isdigit():
        assert title.startswith(f"Lecture {int(number)}: "), f"{lecture.name}: # {title}"
    else:
        assert title.startswith(f"Appendix {number} "), f"{lecture.name}: # {title}"


@pytest.mark.parametrize("lecture", LECTURES, ids=lambda p: p.name)
def test_it_starts_with_learning_objectives_and_a_time_estimate(lecture: Path):
    intro = introduction(lecture)
    assert "**Learning objectives.**" in intro, f"{lecture.name}: no learning objectives on top"
    assert re.search(r"^- ", intro.split("**Learning objectives.**")[1], re.M), "not a list"
    time = re.search(r"^\*\*Time:\*\* (.+)", intro, re.M)
    assert time, f"{lecture.name}: no **Time:** estimate on top"
    assert re.search(r"\d|½", time.group(1)), f"{lecture.name}: the time has no figure"


@pytest.mark.parametrize("lecture", LECTURES, ids=lambda p: p.name)
def test_it_ends_with_exercises(lecture: Path):
    last = headings(lecture, 2)[-1]
    assert re.search(r"\bexercises\b", last, re.I), f"{lecture.name} ends with ## {last}"
    exercises = lecture.read_text().rsplit(f"## {last}", 1)[1]
    assert re.search(r"^1\. ", exercises, re.M), f"{lecture.name}: no numbered exercise"


@pytest.mark.parametrize("lecture", LECTURES, ids=lambda p: p.name)
def test_the_graded_assignment_is_the_guides(lecture: Path):
    """A lecture that names a graded assignment names the one the instructor's guide gives it."""
    guide = (REPO_ROOT / "grading" / "README.md").read_text()
    rows = dict(re.findall(r"^\| \*\*(A\d) [^|]*\*\* \([^|]*\| (\d+) \|", guide, re.M))
    number = lecture.name[:2]
    for assignment in set(re.findall(r"\bassignment (A\d)\b", lecture.read_text())):
        assert rows.get(assignment) == str(int(number)), f"{lecture.name} names {assignment}"


@pytest.mark.parametrize("course_map", ["README.md", "lectures/00_overview.md"])
def test_the_course_maps_link_every_lecture(course_map: str):
    text = (REPO_ROOT / course_map).read_text()
    prefix = "lectures/" if course_map == "README.md" else ""
    for lecture in LECTURES:
        if lecture.name != Path(course_map).name:
            assert f"]({prefix}{lecture.name})" in text, f"{course_map}: no row for {lecture.name}"
