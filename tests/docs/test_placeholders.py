"""No course document shows a placeholder where a measured figure belongs.

Benchmarks' results are pasted into the lectures and READMEs by hand, after a run; until then a
document holds a marker such as `SPARK_BENCHMARK_TABLE`. A marker left behind fails here.
"""

from __future__ import annotations

import re

import pytest

from tests.support import REPO_ROOT, course_documents

MARKER = re.compile(r"\b[A-Z][A-Z0-9_]*_(?:RESULTS?|TABLE|FIGURES?)\b")


@pytest.mark.parametrize(
    "document", course_documents(), ids=lambda p: p.relative_to(REPO_ROOT).as_posix()
)
def test_no_placeholder_is_left(document):
    found = sorted(set(MARKER.findall(document.read_text())))
    assert not found, f"{document.relative_to(REPO_ROOT)}: measure and replace {', '.join(found)}"


def test_the_marker_pattern_finds_placeholders():
    assert MARKER.findall("| x | SPARK_README_RESULT | and SPARK_BENCHMARK_TABLE") == [
        "SPARK_README_RESULT",
        "SPARK_BENCHMARK_TABLE",
    ]
    assert not MARKER.findall("MOVIEREC_MODEL_DIR, MAX_CONTENT_LENGTH, TrainConfig")
