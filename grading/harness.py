"""The child process through which graded tests reach a submission's code.

The pytest process that scores never imports a submission; it starts this module instead, with
`python -I` (no PYTHONPATH, no user site, no current folder on sys.path), and the submission first
on `sys.path`. Two ways to run it:

    python -I -m grading.harness run SUBMISSION MODULE [ARGS ...]
        runs `python -m MODULE ARGS` of the submission (its CLI, its server);
    python -I -m grading.harness serve SUBMISSION REQUEST_FD REPLY_FD
        runs snippets, one JSON request per line on REQUEST_FD: {"code": ..., "variables": {...}}.
        A snippet sets `result`; the reply, one JSON line on REPLY_FD, is {"ok": true, "result":
        ..., "output": ...} or {"ok": false, "error": {...}, "output": ...}. Replies travel on their
        own pipe, so nothing a snippet prints can corrupt them.

Only the standard library here: this module runs beside the submission's code.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import json
import os
import runpy
import signal
import sys
import traceback
from typing import Any

OUTPUT_TAIL = 2000  # characters of a snippet's printed output sent back with its reply
TRACEBACK_FRAMES = 6  # the student's innermost frames shown with an exception


def die_with_the_grader() -> None:
    """Be killed when the process that started us dies (Linux): a submission stuck in a loop must
    not outlive a grader that was stopped at its time limit. Elsewhere, the grader's own kill of
    the process group is all there is."""
    if not sys.platform.startswith("linux"):
        return
    grader = os.getppid()
    pr_set_pdeathsig = 1
    ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    if os.getppid() != grader:  # the grader died before the request took effect
        os._exit(1)


def main(argv: list[str]) -> int:
    die_with_the_grader()
    mode, submission, *rest = argv
    submission = os.path.realpath(submission)
    sys.path.insert(0, submission)  # before the editable install's finder: the submission wins
    if mode == "run":
        module, *args = rest
        sys.argv = [module, *args]
        runpy.run_module(module, run_name="__main__", alter_sys=True)
        return 0
    request_fd, reply_fd = (int(fd) for fd in rest)
    with (
        os.fdopen(request_fd, encoding="utf-8") as requests,
        os.fdopen(reply_fd, "w", encoding="utf-8") as replies,
    ):
        for line in requests:
            replies.write(json.dumps(run_snippet(json.loads(line), submission)) + "\n")
            replies.flush()
    return 0


def run_snippet(request: dict[str, Any], submission: str) -> dict[str, Any]:
    """Execute one snippet in a fresh namespace; describe its `result` or its exception."""
    namespace = {"__name__": "__graded_snippet__", **request.get("variables", {})}
    output = io.StringIO()
    try:
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            exec(compile(request["code"], "<graded test>", "exec"), namespace)
    except BaseException as error:  # SystemExit and KeyboardInterrupt too: the reply must go out
        return {"ok": False, "error": describe(error, submission), "output": _tail(output)}
    try:
        result = json.loads(json.dumps(namespace.get("result"), default=_plain))
    except (TypeError, ValueError) as error:
        return {
            "ok": False,
            "error": {"type": "GraderError", "message": f"`result` is not JSON: {error}"},
            "output": _tail(output),
        }
    return {"ok": True, "result": result, "output": _tail(output)}


def describe(error: BaseException, submission: str) -> dict[str, str]:
    """An exception as a student should see it: its type, message and their own frames only."""
    frames = [
        frame
        for frame in traceback.extract_tb(error.__traceback__)
        if not frame.filename.startswith("<")  # the test's own snippet: never shown
        and os.path.realpath(frame.filename).startswith(submission + os.sep)
    ][-TRACEBACK_FRAMES:]
    lines = [
        f"  {os.path.relpath(frame.filename, submission)}, line {frame.lineno}, in {frame.name}"
        + (f"\n      {frame.line}" if frame.line else "")
        for frame in frames
    ]
    return {"type": type(error).__name__, "message": str(error), "traceback": "\n".join(lines)}


def _plain(value: Any) -> Any:
    """numpy and pandas values as JSON can carry them (called by json.dumps for other types)."""
    for method in ("tolist", "item", "to_dict"):
        if hasattr(value, method):
            return getattr(value, method)()
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    raise TypeError(f"{type(value).__name__} cannot be sent back")


def _tail(output: io.StringIO) -> str:
    return output.getvalue()[-OUTPUT_TAIL:]


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
