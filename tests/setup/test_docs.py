"""The lecture and the setup guide tell the truth about the scripts.

Every `setup/...` command in their bash blocks must name a real script and set only variables
that script documents; the files they quote must say what the quotes say. (Links, shellcheck
and Markdown parsing: tests/docs/, for every document.)
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.setup.harness import DROPIN, SETUP
from tests.support import code_blocks

REPO = SETUP.parent
LECTURE = REPO / "lectures" / "01_vps_ssh_firewall_conda_jupyter.md"
GUIDE = SETUP / "README.md"
DOCS = [LECTURE, GUIDE]


def bash_commands(document: Path) -> list[list[str]]:
    """Each command of the document's ```bash blocks, as its words (comments dropped)."""
    commands = []
    for block in code_blocks(document, "bash"):
        for line in block.replace("\\\n", " ").splitlines():
            lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
            lexer.whitespace_split = True
            words: list[str] = []
            for token in [*lexer, ";"]:
                if token in {"&&", "||", ";", "|"}:  # the end of one command
                    if words:
                        commands.append(words)
                    words = []
                else:
                    words.append(token)
    return commands


def setup_script_calls(document: Path) -> list[tuple[str, Path, list[str]]]:
    """(command, script, variable names set on that command line) for each setup/*.sh call."""
    calls = []
    for words in bash_commands(document):
        for index, word in enumerate(words):
            match = re.search(r"(?:^|/)(setup/[\w./-]+\.sh)$", word)
            if match:
                assignments = [w.split("=")[0] for w in words[:index] if re.match(r"^[A-Z_]+=", w)]
                calls.append((shlex.join(words), REPO / match.group(1), assignments))
    return calls


def documented_help(script: Path) -> str:
    result = subprocess.run(
        ["bash", str(script), "--help"], capture_output=True, text=True, timeout=10
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("document", DOCS, ids=lambda p: p.name)
def test_setup_commands_name_real_scripts_and_documented_settings(document: Path):
    calls = setup_script_calls(document)
    assert calls, f"no setup/ commands found in {document.name}"
    for command, script, variables in calls:
        assert script.is_file(), f"{document.name}: `{command}` names a missing file"
        assert subprocess.run(["bash", "-n", str(script)], timeout=10).returncode == 0
        help_text = documented_help(script)
        for variable in variables:
            assert variable in help_text, f"`{command}`: {script.name} does not take {variable}"


@pytest.mark.parametrize("document", DOCS, ids=lambda p: p.name)
def test_every_setup_path_in_commands_exists(document: Path):
    named = [
        (words, path)
        for words in bash_commands(document)
        for word in words
        for path in re.findall(r"(?:^|/)(setup/[\w./-]+)", word)
    ]
    assert named, f"{document.name} names no setup/ file in its commands"
    for words, path in named:
        assert (REPO / path).exists(), f"{document.name}: {shlex.join(words)}: no {path}"


@pytest.mark.parametrize("document", DOCS, ids=lambda p: p.name)
def test_conda_activate_uses_the_environment_name(document: Path):
    name = yaml.safe_load((REPO / "environment.yml").read_text())["name"]
    activations = [words for words in bash_commands(document) if words[:2] == ["conda", "activate"]]
    assert activations, f"{document.name} never shows how to activate the environment"
    assert all(words == ["conda", "activate", name] for words in activations), activations


def test_lecture_walks_through_every_script():
    called = {script.name for _, script, _ in setup_script_calls(LECTURE)}
    runnable = {p.name for p in SETUP.glob("*.sh")} - {"lib.sh"}
    assert runnable <= called, f"not shown in the lecture: {runnable - called}"


def test_lecture_quotes_the_real_sshd_dropin():
    lecture = LECTURE.read_text()
    for line in DROPIN.read_text().splitlines():
        if line and not line.startswith("#"):
            assert line in lecture, f"the lecture does not show the drop-in's `{line}`"


def test_lecture_quotes_the_real_ssh_config_example():
    """The Host entries the lecture shows are those of setup/ssh_config.example."""
    lecture = LECTURE.read_text()
    entries = (SETUP / "ssh_config.example").read_text().split("\nHost *")[0]
    for line in entries.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            assert line in lecture, f"the lecture does not show the example's `{line.strip()}`"


def test_lecture_quotes_the_real_jupyter_config():
    config = (SETUP / "jupyter" / "jupyter_server_config.py").read_text()
    block = code_blocks(LECTURE, "python")[0]
    for line in block.splitlines():
        code = line.split("  #")[0].strip()
        assert code in config, f"the lecture shows `{code}`, the config does not have it"
