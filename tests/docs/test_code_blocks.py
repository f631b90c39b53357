"""Every fenced code block of every course document is checked (fast: nothing is run).

The documents are found, not listed (`tests.support.course_documents`): README.md, each folder's
README, every lecture, the notebooks' Markdown cells. So a new lecture is checked the day it
lands. By the block's language (the first word after the opening ```):

- `bash`, `sh`: shellcheck, as bash. What it flags is fixed in the document, except the codes
  in SHELLCHECK_EXCLUDED, each with its reason;
- `python`: compiles;
- `json`, `toml`: parses.

Blocks without a language (a file's contents, a program's output, pseudo-commands) are shown,
not checked. Blocks marked `runnable` are also run: tests/docs/test_runnable.py.
"""

from __future__ import annotations

import json
import subprocess
import tomllib

import pytest

from tests.conftest import require_tool
from tests.support import RUNNABLE, CodeBlock, course_documents, course_notebooks, fenced_blocks

DOCUMENTS = [*course_documents(), *course_notebooks()]
BLOCKS = [block for document in DOCUMENTS for block in fenced_blocks(document)]
SHELL = {"bash", "sh"}
# Languages a block may declare: checked ones, and ones shown as they are.
KNOWN_LANGUAGES = SHELL | {"python", "json", "toml", "text", "yaml", "ini", "console", ""}
SHELLCHECK_EXCLUDED = {
    # `git clone URL DIR && cd DIR` is typed at a prompt, where the `cd DIR || exit` shellcheck
    # wants would close the student's terminal when the clone fails.
    "SC2164",
}


def by_language(*languages: str) -> list[CodeBlock]:
    return [block for block in BLOCKS if block.language in languages]


def test_the_documents_are_found():
    names = {block.document.relative_to(block.document.parents[1]).as_posix() for block in BLOCKS}
    assert {"lectures/03_serving_with_flask.md", "setup/README.md"} <= names
    assert len(by_language(*SHELL)) > 50


@pytest.mark.parametrize("block", BLOCKS, ids=CodeBlock.where)
def test_the_language_is_one_the_harness_knows(block: CodeBlock):
    assert block.language in KNOWN_LANGUAGES, (
        f"{block.where()}: ```{block.language}: add it to KNOWN_LANGUAGES (and a check for it)"
    )
    unknown = set(block.options) - {RUNNABLE}
    assert not unknown, f"{block.where()}: unknown fence options {unknown}"


@pytest.mark.parametrize("block", by_language(*SHELL), ids=CodeBlock.where)
def test_shell_blocks_pass_shellcheck(block: CodeBlock):
    shellcheck = require_tool("shellcheck")
    excluded = ",".join(sorted(SHELLCHECK_EXCLUDED))
    command = [shellcheck, "--shell=bash", f"--exclude={excluded}", "--format=gcc", "-"]
    done = subprocess.run(command, input=block.code, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, f"{block.where()} (lines counted from the block):\n{done.stdout}"


@pytest.mark.parametrize("block", by_language("python"), ids=CodeBlock.where)
def test_python_blocks_compile(block: CodeBlock):
    try:
        compile(block.code, block.where(), "exec")
    except SyntaxError as error:
        pytest.fail(f"{block.where()}: {error}")


@pytest.mark.parametrize("block", by_language("json"), ids=CodeBlock.where)
def test_json_blocks_parse(block: CodeBlock):
    json.loads(block.code)


@pytest.mark.parametrize("block", by_language("toml"), ids=CodeBlock.where)
def test_toml_blocks_parse(block: CodeBlock):
    tomllib.loads(block.code)
