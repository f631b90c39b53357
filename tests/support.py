"""Small helpers the tests share (servers are started with `movierec.processes`).

Reading the course's documents: which they are (found by name, never listed), their fenced code
blocks, their relative links and the anchors their headings make. Markdown is parsed with
markdown-it (the parser MyST, and so the website, uses): fences inside lists count, and a ```
inside a code block does not.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path

from markdown_it import MarkdownIt

REPO_ROOT = Path(__file__).resolve().parents[1]
# Folders that hold no course document: tools' state, data, models, the tests' own fixtures.
NOT_DOCUMENTS = {"build", "data", "models", "tests", "node_modules", "model-store", "results"}
# The word in a fence's info string that asks the harness to run the block (tests/docs/).
RUNNABLE = "runnable"


@dataclass(frozen=True)
class CodeBlock:
    """One fenced code block: ```LANGUAGE OPTIONS... on line `line` of `document`."""

    document: Path
    line: int
    language: str
    options: tuple[str, ...]
    code: str

    @property
    def runnable(self) -> bool:
        return RUNNABLE in self.options

    def where(self) -> str:
        return f"{self.document.relative_to(REPO_ROOT).as_posix()}:{self.line}"


@dataclass(frozen=True)
class Link:
    """A link written in a document: its target as written, and the line it is on."""

    document: Path
    line: int
    target: str

    @property
    def is_relative(self) -> bool:
        return not re.match(r"^[a-z][a-z0-9+.-]*:", self.target, re.I)  # no scheme (http:, ...)


def course_documents(root: Path = REPO_ROOT) -> list[Path]:
    """Every Markdown file of the course: README.md, lectures/, each folder's README, the
    website's pages... found by walking the tree, so a new lecture is checked without a word."""
    found = []
    for path in sorted(root.rglob("*.md")):
        parts = path.relative_to(root).parts[:-1]
        if not any(part.startswith(".") or part in NOT_DOCUMENTS for part in parts):
            found.append(path)
    return found


def course_notebooks(root: Path = REPO_ROOT) -> list[Path]:
    """The numbered notebooks."""
    return sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))


@functools.cache
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark").enable("table")


def markdown_text(document: Path) -> list[tuple[int, str]]:
    """(first line, Markdown) of a document: the whole file, or each Markdown cell of a
    notebook (a notebook's line is its cell's number)."""
    if document.suffix == ".ipynb":
        cells = json.loads(document.read_text())["cells"]
        return [
            (number, "".join(cell["source"]))
            for number, cell in enumerate(cells, 1)
            if cell["cell_type"] == "markdown"
        ]
    return [(1, document.read_text())]


def fenced_blocks(document: Path) -> list[CodeBlock]:
    """Every fenced code block of a Markdown document (or of a notebook's Markdown cells)."""
    blocks = []
    for first_line, text in markdown_text(document):
        for token in _parser().parse(text):
            if token.type == "fence" and token.markup.startswith("`"):
                language, *options = token.info.split() or [""]
                line = first_line + token.map[0] if document.suffix == ".md" else first_line
                blocks.append(CodeBlock(document, line, language, tuple(options), token.content))
    return blocks


def code_blocks(document: Path, language: str | None = None) -> list[str]:
    """The fenced code blocks of a Markdown file, in order; only ```LANGUAGE ones if given."""
    return [
        block.code
        for block in fenced_blocks(document)
        if language is None or block.language == language
    ]


def shell_lines(document: Path) -> list[str]:
    """Each line of the ```bash blocks of a Markdown file, `\\` continuations joined."""
    return [
        line.strip()
        for block in code_blocks(document, "bash")
        for line in block.replace("\\\n", " ").splitlines()
        if line.strip()
    ]


def links(document: Path) -> list[Link]:
    """Every Markdown link of a document (or of a notebook's Markdown cells), images included."""
    found = []
    for first_line, text in markdown_text(document):
        for token in _parser().parse(text):
            line = first_line + (token.map[0] if token.map and document.suffix == ".md" else 0)
            for child in token.children or []:
                target = child.attrs.get("href") or child.attrs.get("src")
                if child.type in {"link_open", "image"} and target:
                    found.append(Link(document, line, str(target)))
    return found


def slugify(heading: str) -> str:
    """A heading's anchor, as GitHub and the website (MyST's heading anchors) make it."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower().replace(" ", "-"))


def anchors(document: Path) -> set[str]:
    """The anchors a document's headings make (`#2-ssh-and-keys`); a repeated heading's
    second anchor gets `-1`, as on GitHub."""
    found: set[str] = set()
    for _, text in markdown_text(document):
        tokens = _parser().parse(text)
        for opening, inline in zip(tokens, tokens[1:], strict=False):
            if opening.type == "heading_open":
                plain = "".join(child.content for child in inline.children or [])
                slug, number = slugify(plain), 1
                while slug in found:
                    slug = f"{slugify(plain)}-{number}"
                    number += 1
                found.add(slug)
    return found
