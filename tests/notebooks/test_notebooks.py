"""Every numbered notebook runs top to bottom in a real Jupyter kernel, and is committed clean.

The slow tests execute `notebooks/NN_*.ipynb` in order with papermill, the way a student runs
them (kernel `python3`, working directory `notebooks/`), on the synthetic data with small
parameters. They share one temporary artifacts folder, so 03 finds the model 02 saved. The
notebooks assert the facts they teach, so a silent regression fails here too.

The fast tests check what is committed: no outputs, the `python3` kernel, a `parameters` cell
papermill can read, learning goals at the top and exercises at the end.
"""

from __future__ import annotations

import ast
import os
import re
import sys
import textwrap
from pathlib import Path

import nbformat
import papermill
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from papermill.exceptions import PapermillExecutionError

from movierec.processes import free_port
from tests.conftest import REPO_ROOT, VENV_BIN

NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
KERNEL = "python3"
# Parameters every notebook may declare (in a cell tagged `parameters`), and nothing else.
VOCABULARY = {"dataset", "epochs", "artifacts_dir", "model_dir", "base_url", "tracking_uri"}
SMALL_EPOCHS = 15  # a synthetic epoch takes ~50 ms; fewer leave the model undertrained
CELL_TIMEOUT = 120  # seconds for any one cell
NOTEBOOK_TIMEOUT = 300  # seconds for a whole notebook, kernel start included
# Notebooks that load the model an earlier notebook saved: each must also run alone, from nothing.
ALONE = ["03_persist_natively"]
# Warnings a student may see in a cell's output, and why they are tolerated.
KNOWN_WARNINGS: set[str] = set()


def small_parameters(tmp: Path) -> dict:
    """The shared parameter vocabulary, sized for a test run, with every output under `tmp`."""
    return {
        "dataset": "synthetic",
        "epochs": SMALL_EPOCHS,
        "artifacts_dir": str(tmp / "artifacts"),
        "model_dir": str(tmp / "artifacts" / "model"),
        "base_url": f"http://127.0.0.1:{free_port()}",  # nothing listens: 05 starts its own server
        "tracking_uri": f"sqlite:///{tmp / 'mlflow.db'}",
    }


@pytest.fixture
def kernel_env(monkeypatch, tmp_path_factory):
    """What the kernel inherits: this venv's `python3` kernel, no real data, no user settings."""
    jupyter_home = tmp_path_factory.mktemp("jupyter")
    monkeypatch.setenv("PATH", f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    # Kernel specs are looked up here first: the `python3` that ipykernel installed in this venv.
    monkeypatch.setenv("JUPYTER_PATH", str(Path(sys.prefix) / "share" / "jupyter"))
    for variable in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        monkeypatch.setenv(variable, str(jupyter_home / variable.lower()))
    # An empty data folder: the tests must never depend on a downloaded ML-100K.
    monkeypatch.setenv("MOVIEREC_DATA_DIR", str(tmp_path_factory.mktemp("no-data")))
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    # One torch thread: on a busy 2-core runner, torch's thread pool makes these tiny models
    # several times slower (bench/notebooks_time.py measures the default).
    monkeypatch.setenv("OMP_NUM_THREADS", "1")


@pytest.fixture(scope="module")
def sequence_dir(notebook_run_dir) -> Path:
    """One folder for the whole sequence, so later notebooks find earlier notebooks' artifacts
    (tests/conftest.py: the website renders the executed copies)."""
    return notebook_run_dir


def run_notebook(notebook: Path, parameters: dict, output: Path) -> nbformat.NotebookNode:
    """Execute `notebook` with the parameters it declares; fail naming the cell that broke."""
    declared = papermill.inspect_notebook(str(notebook))
    output.parent.mkdir(parents=True, exist_ok=True)
    try:
        return papermill.execute_notebook(
            str(notebook),
            str(output),
            parameters={name: parameters[name] for name in declared},
            kernel_name=KERNEL,
            cwd=str(NOTEBOOKS_DIR),  # where Jupyter runs a notebook, wherever it was started
            progress_bar=False,
            start_timeout=60,
            execution_timeout=CELL_TIMEOUT,
        )
    except PapermillExecutionError as error:
        pytest.fail(failure_report(notebook, output, error), pytrace=False)


def failure_report(notebook: Path, output: Path, error: PapermillExecutionError) -> str:
    traceback = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(error.traceback))
    return (
        f"{notebook.name} failed in the cell that ran as In [{error.exec_count}]:\n\n"
        f"{textwrap.indent(error.source.rstrip(), '    ')}\n\n"
        f"{error.ename}: {error.evalue}\n\n"
        f"{traceback[-3000:]}\n\n"
        f"The executed notebook, with every output: {output}"
    )


def printed(executed: nbformat.NotebookNode, stream: str) -> str:
    """Everything the cells printed to `stream` ("stdout" or "stderr")."""
    return "".join(
        output.text
        for cell in executed.cells
        for output in cell.get("outputs", [])
        if output.output_type == "stream" and output.name == stream
    )


def assert_no_unexpected_warnings(notebook: Path, executed: nbformat.NotebookNode) -> None:
    warnings = re.findall(r"^.*\b\w*Warning: .*$", printed(executed, "stderr"), flags=re.M)
    unexpected = [w for w in warnings if not any(known in w for known in KNOWN_WARNINGS)]
    assert not unexpected, f"{notebook.name} shows students these warnings: {unexpected}"


def assert_saved_outputs_read_well(notebook: Path, executed: nbformat.NotebookNode) -> None:
    """Figures are saved as images, and a progress bar's saved text ends in its final state
    (a bar frozen at 0% is what a widget leaves behind when nobody watches it)."""
    for cell in executed.cells:
        if cell.cell_type != "code":
            continue
        outputs = cell.get("outputs", [])
        if "plt.show()" in cell.source:
            assert any("image/png" in out.get("data", {}) for out in outputs), (
                f"{notebook.name}: a figure was not saved as an image:\n{cell.source[:200]}"
            )
        streamed = "".join(out.get("text", "") for out in outputs if out.output_type == "stream")
        for line in streamed.split("\n"):
            shown = line.split("\r")[-1]  # what a notebook viewer shows of a line rewritten by \r
            assert not re.search(r"\b0%\|", shown), f"{notebook.name}: frozen bar {shown!r}"


# --- running them ---------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.timeout(NOTEBOOK_TIMEOUT)
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_in_order(notebook: Path, sequence_dir: Path, kernel_env):
    output = sequence_dir / "executed" / notebook.name
    executed = run_notebook(notebook, small_parameters(sequence_dir), output)
    assert_no_unexpected_warnings(notebook, executed)
    assert_saved_outputs_read_well(notebook, executed)


@pytest.mark.slow
@pytest.mark.timeout(NOTEBOOK_TIMEOUT)
@pytest.mark.parametrize("name", ALONE)
def test_notebook_runs_alone(name: str, tmp_path: Path, kernel_env):
    notebook = NOTEBOOKS_DIR / f"{name}.ipynb"
    executed = run_notebook(notebook, small_parameters(tmp_path), tmp_path / notebook.name)
    assert "No model in" in printed(executed, "stdout"), "it must say it made its own model"
    assert_no_unexpected_warnings(notebook, executed)


def test_python3_kernel_is_this_environment(kernel_env):
    argv = KernelSpecManager().get_kernel_spec(KERNEL).argv
    # jupyter_client starts "python"/"python3" as the interpreter it runs in: this venv's.
    generic = {"python", f"python{sys.version_info[0]}", "python{}.{}".format(*sys.version_info)}
    assert argv[0] in generic or Path(argv[0]).parent == VENV_BIN, argv


# --- what is committed ----------------------------------------------------------------------


def test_notebooks_exist():
    names = [path.name for path in NOTEBOOKS]
    for expected in ("01_explore_movielens", "02_train_a_recommender", "03_persist_natively"):
        assert f"{expected}.ipynb" in names


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.stem)
def test_committed_without_outputs(notebook: Path):
    cells = nbformat.read(notebook, as_version=4).cells
    dirty = [
        index
        for index, cell in enumerate(cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, (
        f"{notebook.name}: cells {dirty} have outputs or execution counts; clear them with "
        f"`jupyter nbconvert --clear-output --inplace notebooks/{notebook.name}`"
    )


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.stem)
def test_kernel_is_python3(notebook: Path):
    kernelspec = nbformat.read(notebook, as_version=4).metadata.get("kernelspec", {})
    assert kernelspec.get("name") == KERNEL, f"{notebook.name}: kernelspec {kernelspec}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.stem)
def test_parameters_cell_is_readable(notebook: Path):
    cells = nbformat.read(notebook, as_version=4).cells
    tagged = [cell for cell in cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{notebook.name}: needs exactly one cell tagged `parameters`"
    assigned = {
        target.id
        for statement in ast.parse(tagged[0].source).body
        if isinstance(statement, ast.Assign)
        for target in statement.targets
    }
    # papermill skips a line it cannot parse (one with a second "=", even in a comment).
    assert assigned == set(papermill.inspect_notebook(str(notebook))), notebook.name
    assert assigned <= VOCABULARY, f"{notebook.name}: unknown parameters {assigned - VOCABULARY}"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda path: path.stem)
def test_starts_with_learning_goals_and_ends_with_exercises(notebook: Path):
    cells = nbformat.read(notebook, as_version=4).cells
    assert cells[0].cell_type == "markdown" and "learning goals" in cells[0].source.lower()
    headings = [
        line
        for cell in cells
        if cell.cell_type == "markdown"
        for line in cell.source.splitlines()
        if line.startswith("#")
    ]
    assert re.match(r"#+\s*Exercises", headings[-1]), f"{notebook.name} ends with {headings[-1]}"


def test_training_notebook_defaults_to_the_package_epochs():
    from movierec.train import TrainConfig

    declared = papermill.inspect_notebook(str(NOTEBOOKS_DIR / "02_train_a_recommender.ipynb"))
    assert declared["epochs"]["default"] == str(TrainConfig().epochs)
