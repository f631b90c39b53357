"""Find the solution regions in course files and replace them with exercises.

A region is a block between two marker lines, in the convention otter-grader and nbgrader share,
with an exercise id and a prompt (what the student is asked to do):

    # BEGIN SOLUTION A2.1: leave out the movies the user already rated
    scores[rated] = -np.inf
    # END SOLUTION

in `.py`, `.sh`, `.conf`, `.yaml`, ... files and notebook code cells, and as
`<!-- BEGIN SOLUTION A2.3: ... -->` / `<!-- END SOLUTION -->` in `.md` files and notebook
markdown cells. In Python the region becomes `raise NotImplementedError("exercise A2.1: ...")`
(so it must sit in a function body); elsewhere a marked gap, `# EXERCISE A2.1: ...`.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass
from pathlib import PurePosixPath

# How each kind of file writes its markers and its stub.
PYTHON, HASH, HTML, NOTEBOOK = "python", "hash", "html", "notebook"
KIND_BY_SUFFIX = {
    ".py": PYTHON,
    ".ipynb": NOTEBOOK,
    ".md": HTML,
    ".html": HTML,
    **dict.fromkeys((".sh", ".bash", ".conf", ".cfg", ".ini", ".yaml", ".yml", ".toml"), HASH),
    **dict.fromkeys((".service", ".txt"), HASH),
}
LABEL = r"(?:[ \t]+(?P<label>.*?))?"
BEGIN = {
    "hash": re.compile(rf"^(?P<indent>[ \t]*)# BEGIN SOLUTION{LABEL}[ \t]*$"),
    "html": re.compile(rf"^(?P<indent>[ \t]*)<!--[ \t]*BEGIN SOLUTION{LABEL}[ \t]*-->[ \t]*$"),
}
END = {
    "hash": re.compile(r"^[ \t]*# END SOLUTION[ \t]*$"),
    "html": re.compile(r"^[ \t]*<!--[ \t]*END SOLUTION[ \t]*-->[ \t]*$"),
}
EXERCISE_ID = re.compile(r"^(?P<id>[A-Za-z][\w.-]*)(?::[ \t]*(?P<prompt>.*))?$")
# A line that mentions a marker at all: it must then be a well-formed one.
LOOKS_LIKE_MARKER = re.compile(r"(#|<!--)\s*(BEGIN|END) SOLUTION\b")


class RegionError(ValueError):
    """Markers that cannot be stubbed (unbalanced, nested, malformed); the message names a line."""


@dataclass(frozen=True)
class Region:
    path: str  # as shown in messages: the file, plus the notebook cell when there is one
    exercise: str
    prompt: str
    begin: int  # 1-based line numbers of the two markers
    end: int


def kind_of(path: str) -> str | None:
    """The region style of a file (`python`, `hash`, `html`, `notebook`), None for other files."""
    return KIND_BY_SUFFIX.get(PurePosixPath(path).suffix)


def find_regions(text: str, path: str, style: str = "hash") -> list[Region]:
    """The regions of `text` (markers in `style`: "hash" or "html"), checked for balance."""
    regions, open_at, label = [], None, None
    for number, line in enumerate(text.splitlines(), start=1):
        begin, end = BEGIN[style].match(line), END[style].match(line)
        if begin:
            if open_at is not None:
                raise RegionError(
                    f"{path}:{number}: BEGIN SOLUTION inside the region of line "
                    f"{open_at} (regions cannot nest)"
                )
            open_at, label = number, _exercise(begin["label"], path, number)
        elif end:
            if open_at is None:
                raise RegionError(f"{path}:{number}: END SOLUTION without a BEGIN SOLUTION")
            regions.append(Region(path, *label, begin=open_at, end=number))
            open_at = None
        elif (marker := LOOKS_LIKE_MARKER.search(line)) and _marker_style(marker[1]) == style:
            raise RegionError(
                f"{path}:{number}: a marker must be alone on its line, as {_example(style)}"
            )
    if open_at is not None:
        raise RegionError(f"{path}:{open_at}: BEGIN SOLUTION without an END SOLUTION")
    return regions


def stub_text(
    text: str, path: str, kind: str, top_level_ok: bool = False
) -> tuple[str, list[Region]]:
    """`text` with every region replaced by its exercise stub, and the regions found.

    Python stubs must land in a function body unless `top_level_ok` (a notebook cell).
    """
    style = HTML if kind == HTML else HASH
    regions = find_regions(text, path, style)
    if not regions:
        return text, []
    lines = text.splitlines(keepends=True)
    for region in reversed(regions):  # from the end, so earlier line numbers stay valid
        indent = BEGIN[style].match(lines[region.begin - 1])["indent"]
        lines[region.begin - 1 : region.end] = [indent + _stub(region, kind) + "\n"]
    stubbed = "".join(lines)
    if kind == PYTHON:
        _check_python(stubbed, path, regions, top_level_ok)
    return stubbed, regions


def stub_notebook(text: str, path: str) -> tuple[str, list[Region]]:
    """A notebook's JSON with regions stubbed in its cells, and every output cleared."""
    notebook = json.loads(text)
    found = []
    for number, cell in enumerate(notebook.get("cells", []), start=1):
        source = "".join(cell.get("source", []))
        kind = PYTHON if cell.get("cell_type") == "code" else HTML
        if cell.get("cell_type") in ("code", "markdown"):
            source, regions = stub_text(source, f"{path} cell {number}", kind, top_level_ok=True)
            cell["source"] = source.splitlines(keepends=True)
            found += regions
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", found


def _stub(region: Region, kind: str) -> str:
    message = f"exercise {region.exercise}" + (f": {region.prompt}" if region.prompt else "")
    if kind == PYTHON:
        return f"raise NotImplementedError({json.dumps(message, ensure_ascii=False)})"
    if kind == HTML:
        return f"<!-- EXERCISE {message.removeprefix('exercise ')} -->"
    return f"# EXERCISE {message.removeprefix('exercise ')}"


def _exercise(label: str | None, path: str, number: int) -> tuple[str, str]:
    match = EXERCISE_ID.match((label or "").strip())
    if not match:
        raise RegionError(
            f"{path}:{number}: BEGIN SOLUTION needs an exercise id, as "
            "`# BEGIN SOLUTION A2.1: what the student should do`"
        )
    return match["id"], (match["prompt"] or "").strip()


def _marker_style(opening: str) -> str:
    return "html" if opening == "<!--" else "hash"


def _example(style: str) -> str:
    return (
        "`<!-- BEGIN SOLUTION A2.1: prompt -->`"
        if style == "html"
        else ("`# BEGIN SOLUTION A2.1: prompt`")
    )


def _check_python(source: str, path: str, regions: list[Region], top_level_ok: bool) -> None:
    """The stubbed module still compiles, and every stub sits in a function body."""
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as error:
        raise RegionError(
            f"{path}:{error.lineno}: does not compile once its regions are stubbed "
            f"({error.msg}): a region must hold whole statements of one block"
        ) from None
    if top_level_ok:
        return
    functions = [
        (node.lineno, node.end_lineno)
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]
    removed = 0  # lines the earlier regions gave up: each became a one-line stub
    for region in regions:
        stub_line = region.begin - removed
        if not any(first < stub_line <= last for first, last in functions):
            raise RegionError(
                f"{path}:{region.begin}: region {region.exercise} is not in a function body "
                "(its stub would raise on import)"
            )
        removed += region.end - region.begin
