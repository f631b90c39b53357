"""Solution regions become exercises: Python stubs that raise, marked gaps elsewhere."""

from __future__ import annotations

import json

import pytest

from grading.regions import RegionError, find_regions, kind_of, stub_notebook, stub_text

pytestmark = pytest.mark.timeout(30)

PYTHON = """\
def top_k(scores, k):
    ranked = list(scores)
    # BEGIN SOLUTION A2.1: sort by score, best first
    ranked.sort(key=lambda m: -scores[m])
    # END SOLUTION
    return ranked[:k]
"""


def test_a_python_region_becomes_a_raise_at_its_indentation():
    stubbed, (region,) = stub_text(PYTHON, "rank.py", "python")
    assert (region.exercise, region.prompt, region.begin, region.end) == (
        "A2.1",
        "sort by score, best first",
        3,
        5,
    )
    assert '    raise NotImplementedError("exercise A2.1: sort by score, best first")\n' in stubbed
    assert "ranked.sort" not in stubbed and "return ranked[:k]" in stubbed
    compile(stubbed, "rank.py", "exec")


def test_shell_config_and_markdown_regions_become_marked_gaps():
    shell = (
        "ufw default deny\n# BEGIN SOLUTION A1.2: rate-limit ssh\nufw limit ssh\n# END SOLUTION\n"
    )
    assert (
        stub_text(shell, "fw.sh", "hash")[0]
        == "ufw default deny\n# EXERCISE A1.2: rate-limit ssh\n"
    )
    markdown = "Q?\n<!-- BEGIN SOLUTION A1.3 -->\nBecause.\n<!-- END SOLUTION -->\n"
    assert stub_text(markdown, "notes.md", "html")[0] == "Q?\n<!-- EXERCISE A1.3 -->\n"


def test_a_notebook_has_its_cells_stubbed_and_its_outputs_cleared():
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "execution_count": 3,
                "metadata": {},
                "outputs": [{"output_type": "stream", "name": "stdout", "text": ["42\n"]}],
                "source": ["# BEGIN SOLUTION A2.4: train\n", "model = fit()\n", "# END SOLUTION"],
            },
            {
                "cell_type": "markdown",
                "metadata": {},
                "source": ["<!-- BEGIN SOLUTION A2.5 -->\nyes\n<!-- END SOLUTION -->"],
            },
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    stubbed, regions = stub_notebook(json.dumps(notebook), "nb.ipynb")
    code, markdown = json.loads(stubbed)["cells"]
    assert [r.exercise for r in regions] == ["A2.4", "A2.5"]
    assert "".join(code["source"]) == 'raise NotImplementedError("exercise A2.4: train")\n'
    assert code["outputs"] == [] and code["execution_count"] is None
    assert "".join(markdown["source"]) == "<!-- EXERCISE A2.5 -->\n"


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("# BEGIN SOLUTION A1: x\n", "rank.py:1: BEGIN SOLUTION without an END SOLUTION"),
        ("x = 1\n# END SOLUTION\n", "rank.py:2: END SOLUTION without a BEGIN SOLUTION"),
        (
            "# BEGIN SOLUTION A1\n# BEGIN SOLUTION A2\n# END SOLUTION\n# END SOLUTION\n",
            "rank.py:2: BEGIN SOLUTION inside the region of line 1",
        ),
        ("# BEGIN SOLUTION\n# END SOLUTION\n", "rank.py:1: BEGIN SOLUTION needs an exercise id"),
        ("x = 1  # BEGIN SOLUTION A1\n", "rank.py:1: a marker must be alone on its line"),
    ],
)
def test_bad_markers_are_errors_that_name_file_and_line(text, complaint):
    with pytest.raises(RegionError, match=complaint.replace("(", r"\(")):
        find_regions(text, "rank.py")


def test_a_python_region_outside_a_function_is_refused():
    text = "import os\n# BEGIN SOLUTION A1.1: pick\nX = 1\n# END SOLUTION\n"
    with pytest.raises(RegionError, match=r"m.py:2: region A1.1 is not in a function body"):
        stub_text(text, "m.py", "python")


def test_a_python_region_that_leaves_broken_code_is_refused():
    text = "def f(y):\n    # BEGIN SOLUTION A1\n    for x in y:\n    # END SOLUTION\n        pass\n"
    with pytest.raises(RegionError, match="does not compile once its regions are stubbed"):
        stub_text(text, "m.py", "python")


def test_kinds_follow_the_file_suffix():
    assert [
        kind_of(p) for p in ("a.py", "b.sh", "c.conf", "d.yaml", "e.md", "f.ipynb", "g.png")
    ] == [
        "python",
        "hash",
        "hash",
        "hash",
        "html",
        "notebook",
        None,
    ]
