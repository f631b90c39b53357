"""Small helpers the tests share (servers are started with `movierec.processes`)."""

from __future__ import annotations

import re
from pathlib import Path

_FENCE = re.compile(r"^```(?P<language>[\w-]*)[^\n]*\n(?P<code>.*?)^```", flags=re.M | re.S)


def code_blocks(document: Path, language: str | None = None) -> list[str]:
    """The fenced code blocks of a Markdown file, in order; only ```LANGUAGE ones if given."""
    return [
        match["code"]
        for match in _FENCE.finditer(document.read_text())
        if language is None or match["language"] == language
    ]


def shell_lines(document: Path) -> list[str]:
    """Each line of the ```bash blocks of a Markdown file, `\\` continuations joined."""
    return [
        line.strip()
        for block in code_blocks(document, "bash")
        for line in block.replace("\\\n", " ").splitlines()
        if line.strip()
    ]
