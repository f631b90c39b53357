"""What the graded tests' fixtures do: reach a submission's code, always in a child process.

`Harness` keeps one `python -I -m grading.harness serve` child and sends it snippets;
`run_cli` runs `python -m <cli>` of the submission; `serve` starts its server on a free port;
`run_notebook` executes one of its notebooks in a Jupyter kernel. Each has a time limit; a
submission that raises, crashes or runs too long raises `SubmissionFailed` with a message a student
understands, and the test fails with it. `plugin.py` turns these into pytest fixtures.
"""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from movierec.processes import (
    ServerError,
    answers,
    free_port,
    log_tail,
    start,
    stop,
    wait_until_ready,
)

LOG_TAIL = 1500  # characters of a child's log shown when it dies


class SubmissionFailed(Exception):
    """The submission's code raised, crashed or did not start; the message is for the student."""


class SubmissionTimeout(SubmissionFailed):
    """The submission's code ran past its time limit (and was stopped)."""


def harness_command(submission: Path, *args: str) -> list[str]:
    """`python -I -m grading.harness ...` with this interpreter (the grader's environment)."""
    return [sys.executable, "-I", "-m", "grading.harness", args[0], str(submission), *args[1:]]


def child_environment(submission: Path, extra: Mapping[str, str]) -> dict[str, str]:
    """The environment of every child: ours without PYTHON* settings, the manifest's `env`, and
    PYTHONPATH set to the submission for the processes the child itself starts (e.g. a kernel)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "PYTEST"))}
    return {**env, **extra, "PYTHONPATH": str(submission), "PYTHONDONTWRITEBYTECODE": "1"}


class Harness:
    """One long-lived child that runs snippets inside the submission; restarted after a failure."""

    def __init__(self, submission: Path, env: Mapping[str, str], log: Path):
        self.submission, self.env, self.log = submission, dict(env), log
        self.process: subprocess.Popen | None = None

    def run(
        self, code: str, timeout: float = 30, variables: Mapping[str, Any] | None = None
    ) -> Any:
        """Run `code` (dedented) in the child and return the `result` it sets."""
        request = json.dumps(
            {"code": textwrap.dedent(code), "variables": dict(variables or {})}, default=str
        )
        if self.process is None or self.process.poll() is not None:
            self._start()
        try:
            os.write(self.requests, request.encode() + b"\n")
            reply = self._reply(timeout)
        except BaseException:  # a timeout, a crash, pytest-timeout's signal: never reuse the child
            self.stop()
            raise
        if reply["ok"]:
            return reply["result"]
        raise SubmissionFailed(explain(reply["error"], reply.get("output", "")))

    def stop(self) -> None:
        """Stop the child and everything it started."""
        if self.process is not None:
            stop(self.process, grace=2)
            for fd in (self.requests, self.replies):
                with suppress(OSError):
                    os.close(fd)
            self.process = None

    def _start(self) -> None:
        request_read, self.requests = os.pipe()
        self.replies, reply_write = os.pipe()
        command = harness_command(self.submission, "serve", str(request_read), str(reply_write))
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(request_read, reply_write),
                cwd=self.submission,
                env=self.env,
                start_new_session=True,  # its own process group, stopped as a whole
            )
        os.close(request_read)
        os.close(reply_write)

    def _reply(self, timeout: float) -> dict[str, Any]:
        deadline, received = time.monotonic() + timeout, b""
        while not received.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            ready = remaining > 0 and select.select([self.replies], [], [], remaining)[0]
            if not ready:
                raise SubmissionTimeout(
                    f"your code did not finish within {timeout:g} s and was stopped "
                    "(an endless loop? a very slow step?)"
                )
            chunk = os.read(self.replies, 1 << 16)
            if not chunk:
                code = self.process.wait()
                raise SubmissionFailed(
                    f"your code ended the Python process (exit code {code}); its last output:\n"
                    + log_tail(self.log, LOG_TAIL)
                )
            received += chunk
        return json.loads(received)


def explain(error: Mapping[str, str], output: str = "") -> str:
    """A harness error reply in a student's words: what was raised, where in their code."""
    message = error.get("message", "")
    if error.get("type") == "NotImplementedError" and message.startswith("exercise "):
        text = f"not done yet: {message}"
    elif error.get("type") == "GraderError":
        text = f"the grader could not read the result ({message}): tell your instructor"
    else:
        text = f"your code raised {error.get('type')}: {message}".rstrip(": ")
    if error.get("traceback"):
        text += "\n" + error["traceback"]
    if output.strip():
        text += "\nit printed:\n" + textwrap.indent(output.strip()[-LOG_TAIL:], "  ")
    return text


def run_cli(
    submission: Path,
    module: str,
    args: Sequence[str],
    env: Mapping[str, str],
    timeout: float = 60,
    input: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """`python -m MODULE ARGS` of the submission, in its folder; stopped after `timeout` s."""
    process = subprocess.Popen(
        harness_command(submission, "run", module, *map(str, args)),
        stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=submission,
        env=dict(env),
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise SubmissionTimeout(
            f"`python -m {module} {' '.join(map(str, args))}` did not finish within {timeout:g} s"
        ) from None
    finally:
        stop(process, grace=2)
    return subprocess.CompletedProcess(
        ["python", "-m", module, *map(str, args)], process.returncode, stdout, stderr
    )


@dataclass(frozen=True)
class Server:
    """A submission's server that answers on `url` (http://127.0.0.1:<port>)."""

    url: str
    port: int
    log: Path
    process: subprocess.Popen


@contextmanager
def serve(
    submission: Path,
    module: str,
    args: Sequence[str],
    env: Mapping[str, str],
    log: Path,
    ready: str = "/",
    timeout: float = 60,
) -> Iterator[Server]:
    """Run `python -m MODULE ARGS` of the submission until `ready` (a path) answers HTTP 200.

    "{port}" in ARGS becomes a free port on 127.0.0.1. The server is stopped on leaving.
    """
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = harness_command(
        submission, "run", module, *(a.replace("{port}", str(port)) for a in args)
    )
    process = start(command, log, env=env, cwd=submission)
    try:
        try:
            wait_until_ready(process, lambda: answers(url + ready), log, timeout)
        except ServerError as error:
            raise SubmissionFailed(f"your server did not start: {error}") from None
        yield Server(url, port, log, process)
    finally:
        stop(process, grace=5)


def run_notebook(
    submission: Path,
    notebook: str,
    env: Mapping[str, str],
    parameters: Mapping[str, Any] | None = None,
    cell_timeout: float = 60,
    kernel: str = "python3",
):
    """Execute the submission's `notebook` (a path inside it) in a Jupyter kernel whose sys.path
    starts with the submission; return the executed notebook (an nbformat NotebookNode).

    `parameters` go into a cell after the one tagged `parameters`, as papermill does.
    """
    # nbformat's validator imports jsonschema, which imports rfc3987_syntax when it is installed
    # and compiles 39 grammars (1-3 s per grading run) for IRI checks a notebook never needs.
    sys.modules.setdefault("rfc3987_syntax", None)
    import nbformat
    from jupyter_core.utils import run_sync
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    path = submission / notebook
    if not path.is_file():
        raise SubmissionFailed(f"{notebook} is missing from your submission")
    executed = nbformat.read(path, as_version=4)
    if parameters:
        _inject(executed, parameters)
    client = NotebookClient(
        executed,
        timeout=cell_timeout,
        kernel_name=kernel,
        resources={"metadata": {"path": str(path.parent)}},
        shutdown_kernel="immediate",  # a graceful shutdown costs seconds per notebook
    )
    try:
        client.execute(env=dict(env))
    except CellTimeoutError:
        raise SubmissionTimeout(
            f"{notebook}: cell {_failed_cell(executed)} did not finish within {cell_timeout:g} s"
        ) from None
    except CellExecutionError as error:
        raise SubmissionFailed(
            f"{notebook}: cell {_failed_cell(executed)} raised {error.ename}: {error.evalue}"
        ) from None
    except DeadKernelError:
        raise SubmissionFailed(f"{notebook}: the kernel died (a crash or out of memory)") from None
    finally:
        # Also when the test's own time limit interrupts us mid-cell: a kernel stuck in a loop
        # must not go on eating a core after its test has ended.
        if client.km is not None and client.km.has_kernel:
            run_sync(client.km.shutdown_kernel)(now=True)
    return executed


def _inject(notebook, parameters: Mapping[str, Any]) -> None:
    import nbformat

    lines = [f"{name} = {value!r}" for name, value in parameters.items()]
    cell = nbformat.v4.new_code_cell("# Parameters injected by the grader\n" + "\n".join(lines))
    cell.metadata["tags"] = ["injected-parameters"]
    tagged = [i for i, c in enumerate(notebook.cells) if "parameters" in c.metadata.get("tags", [])]
    notebook.cells.insert(tagged[0] + 1 if tagged else 0, cell)


def _failed_cell(notebook) -> int:
    """The 1-based number of the cell whose output is an error (or the last one executed)."""
    for number, cell in enumerate(notebook.cells, start=1):
        if any(output.get("output_type") == "error" for output in cell.get("outputs", [])):
            return number
    executed = [n for n, c in enumerate(notebook.cells, 1) if c.get("execution_count")]
    return executed[-1] if executed else 1
