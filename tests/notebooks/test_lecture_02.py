"""Lecture 2 and the notebooks' README tell the truth: their commands work (their links:
tests/docs/test_links.py, with every document's).

The lecture's `python -m movierec train / evaluate / recommend` commands run for real, in order,
in a temporary folder, through `movierec.cli.main` (what `python -m movierec` calls). They use
ML-100K, which the tests must never need, so the run swaps in the synthetic dataset and two
epochs. Every other command is checked: its options exist and the files it names are there.
"""

from __future__ import annotations

import functools
import glob
import re
import shlex
import subprocess
import sys
from pathlib import Path

import papermill
import pytest

from movierec.cli import build_parser, main
from tests.conftest import REPO_ROOT, VENV_BIN
from tests.support import code_blocks

LECTURE = REPO_ROOT / "lectures" / "02_data_model_persistence.md"
README = REPO_ROOT / "notebooks" / "README.md"
DOCS = [LECTURE, README]


def bash_commands(document: Path) -> list[tuple[str, list[str], Path]]:
    """(command, its words without leading VAR=value, working directory) for each command of
    the document's ```bash blocks. `cd DIR && ...` moves the rest of that line into DIR."""
    commands = []
    for block in code_blocks(document, "bash"):
        for line in block.replace("\\\n", " ").splitlines():
            cwd = REPO_ROOT
            for command in filter(None, (part.strip() for part in line.split("&&"))):
                words = shlex.split(command, comments=True)
                while words and re.match(r"^[A-Z_]+=", words[0]):
                    words.pop(0)
                commands.append((command, words, cwd))
                if words[0] == "cd":
                    cwd = cwd / words[1]
    return commands


@functools.cache
def jupyter_options(subcommand: str) -> str:
    """The help text of `jupyter SUBCOMMAND`, listing every option it takes."""
    jupyter = [str(VENV_BIN / "jupyter"), subcommand, "--help-all"]
    return subprocess.run(jupyter, capture_output=True, text=True, timeout=60).stdout


def check(command: str, words: list[str], cwd: Path) -> None:
    """Fail unless `command` would work as written (without running anything slow)."""
    if words[:3] == ["python", "-m", "movierec"]:
        try:
            build_parser().parse_args(words[3:])
        except SystemExit:
            pytest.fail(f"`{command}`: not a valid movierec command")
    elif words[:3] == ["python", "-m", "pytest"]:
        for path in (word for word in words[3:] if not word.startswith("-")):
            assert (cwd / path).exists(), f"`{command}`: no {path}"
    elif words[0] == "python":
        script = cwd / words[1]
        assert script.is_file(), f"`{command}`: no {words[1]}"
        run = subprocess.run([sys.executable, script, "--help"], capture_output=True, timeout=60)
        assert run.returncode == 0, f"`{command}`: --help fails"
    elif words[0] == "jupyter":
        assert (VENV_BIN / f"jupyter-{words[1]}").is_file(), f"`{command}`: no jupyter {words[1]}"
        for word in words[2:]:
            if word.startswith("--"):
                options = jupyter_options(words[1])
                assert word.split("=")[0] in options, f"`{command}`: no option {word}"
            else:
                assert glob.glob(str(cwd / word)), f"`{command}`: nothing matches {word}"
    elif words[0] == "papermill":
        declared = papermill.inspect_notebook(str(cwd / words[1]))
        names = [words[i + 1] for i, word in enumerate(words) if word == "-p"]
        assert set(names) <= set(declared), f"`{command}`: {words[1]} does not declare {names}"
    elif words[0] == "cd":
        assert (cwd / words[1]).is_dir(), f"`{command}`: no folder {words[1]}"
    elif words[0].startswith("./setup/"):
        assert (cwd / words[0]).is_file(), f"`{command}`: no script {words[0]}"
    else:
        pytest.fail(f"`{command}`: tests/notebooks/test_lecture_02.py has no check for it")


@pytest.mark.parametrize("document", DOCS, ids=lambda path: path.name)
def test_every_command_is_valid(document: Path):
    commands = bash_commands(document)
    assert commands, f"no ```bash commands found in {document.name}"
    for command, words, cwd in commands:
        check(command, words, cwd)


def test_lecture_points_at_each_notebook():
    text = LECTURE.read_text()
    for name in ("01_explore_movielens", "02_train_a_recommender", "03_persist_natively"):
        assert f"../notebooks/{name}.ipynb" in text


def test_lecture_train_evaluate_recommend_run(tmp_path: Path, monkeypatch, capsys):
    pipeline = [
        words
        for _, words, _ in bash_commands(LECTURE)
        if words[:3] == ["python", "-m", "movierec"]
        and words[3] in {"train", "info", "evaluate", "recommend"}
        and "--split" not in words  # the canonical splits exist in ML-100K only
    ]
    assert [words[3] for words in pipeline] == ["train", "info", "train", "evaluate", "recommend"]
    monkeypatch.chdir(tmp_path)  # the lecture's relative models/ folder lands here
    monkeypatch.setenv("MOVIEREC_DATA_DIR", str(tmp_path / "no-data"))
    for words in pipeline:
        argv = ["synthetic" if word == "ml-100k" else word for word in words[3:]]
        if argv[0] == "train":
            argv += ["--epochs", "2", "--quiet"]
        capsys.readouterr()
        assert main(argv) == 0, f"`{shlex.join(words)}` failed: {capsys.readouterr().err}"
    assert (tmp_path / "models" / "default" / "model.pt").is_file()
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == 1 + 5, printed  # a header and the `-k 5` movies
