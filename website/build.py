"""Build the course website and check every link in it: `make site`, or `python -m website`.

1. **Notebooks.** The numbered notebooks run on the synthetic data through the test suite's own
   runner (tests/notebooks/test_notebooks.py), which keeps the executed copies with their
   outputs and figures. `--notebooks DIR` reuses copies executed earlier instead.
2. **HTML.** Sphinx (MyST-NB, the Furo theme; settings in website/conf.py) renders README.md,
   the lectures, the executed notebooks and the folders' READMEs. Every warning is an error, so
   a relative link or an anchor that leads nowhere stops the build, in a notebook too.
3. **Links.** The site is served on 127.0.0.1 and Debian's `linkchecker` follows every link
   and anchor over HTTP: what Sphinx cannot see (links in raw HTML, in notebook outputs,
   the theme's own) fails the build too.

Everything stays on this machine: no fonts, scripts or themes are fetched, and links to other
sites are listed but never followed. The site is left world-readable (linkchecker, started as
root, drops to the user `nobody`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

from movierec.processes import free_port, running

REPO_ROOT = Path(__file__).resolve().parents[1]
WEBSITE_DIR = REPO_ROOT / "website"
DEFAULT_OUT = REPO_ROOT / "build" / "site"
NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
NOTEBOOK_TEST = "tests/notebooks/test_notebooks.py"


class SiteError(RuntimeError):
    """A step of the build failed; the message says which and shows its output."""


def execute_notebooks(run_dir: Path) -> Path:
    """Run every numbered notebook in order with the notebook tests' runner, keeping the executed
    copies in `run_dir/executed/`, and return that folder."""
    command = [sys.executable, "-m", "pytest", NOTEBOOK_TEST, "-k", "test_notebook_runs_in_order",
               "-q", "--no-header", "-p", "no:cacheprovider"]  # fmt: skip
    env = {**os.environ, "MOVIEREC_NOTEBOOK_RUN_DIR": str(run_dir)}
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=30 * 60)  # fmt: skip
    if done.returncode != 0:
        raise SiteError(f"the notebooks did not all run:\n{done.stdout[-4000:]}{done.stderr}")
    return run_dir / "executed"


def check_executed(executed: Path) -> None:
    """Every numbered notebook has an executed copy, and no cell of it failed."""
    for notebook in NOTEBOOKS:
        copy = executed / notebook.name
        if not copy.is_file():
            raise SiteError(f"no executed copy of {notebook.name} in {executed}")
        if json.loads(copy.read_text()).get("metadata", {}).get("papermill", {}).get("exception"):
            raise SiteError(f"{copy} stopped at an error: the site shows no failed notebook")


def build_html(html: Path, executed: Path) -> None:
    """Sphinx, with every warning an error, from the repository root into `html`."""
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q",
               "-c", str(WEBSITE_DIR), "-d", str(html.parent / "doctrees"),
               str(REPO_ROOT), str(html)]  # fmt: skip
    env = {**os.environ, "MOVIEREC_EXECUTED_NOTEBOOKS": str(executed)}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise SiteError(f"sphinx-build failed:\n{done.stdout}{done.stderr}")


def make_world_readable(root: Path) -> None:
    """Folders 755, files 644: anyone may read the site (a web server running as another user)."""
    for path in [root, *root.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def check_links(html: Path, linkchecker: str = "linkchecker") -> str:
    """Serve `html` on a free loopback port and let linkchecker follow every link and anchor.
    Returns linkchecker's report; raises SiteError when a link or an anchor is broken."""
    if shutil.which(linkchecker) is None:
        raise SiteError("linkchecker is not installed: `sudo apt-get install linkchecker`")
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    serve = [sys.executable, "-m", "website.serve", str(html), "--port", str(port)]
    log = html.parent / "serve.log"
    with running(serve, log, f"{url}index.html", timeout=30, cwd=REPO_ROOT):
        command = [linkchecker, "--config", str(WEBSITE_DIR / "linkcheckerrc"), "--no-status",
                   f"{url}index.html"]  # fmt: skip
        env = {**os.environ, "HOME": str(html.parent)}  # nothing written to root's home
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    report = done.stdout + done.stderr
    if done.returncode != 0:  # 1: a broken link, or a warning such as a missing anchor
        raise SiteError(f"linkchecker found broken links or anchors:\n{report[-6000:]}")
    return report


def build_site(out: Path, notebooks: Path | None = None, check: bool = True) -> Path:
    """The whole build into `out` (`out/html` is the site); returns the html folder."""
    out.mkdir(parents=True, exist_ok=True)
    html = out / "html"
    if html.exists():
        shutil.rmtree(html)  # no page of an earlier build survives to hide a missing one
    timings = {}
    started = time.monotonic()
    executed = notebooks or execute_notebooks(out / "notebook-run")
    check_executed(executed)
    timings["notebooks"] = time.monotonic() - started
    started = time.monotonic()
    build_html(html, executed)
    make_world_readable(out)
    timings["html"] = time.monotonic() - started
    checked = ""
    if check:
        started = time.monotonic()
        report = check_links(html)
        timings["links"] = time.monotonic() - started
        counted = re.search(r"(\d+) links? in \d+ URLs checked", report)
        checked = f"; {counted.group(1) if counted else 'all'} links checked, none broken"
    print("  ".join(f"{step} {seconds:.1f} s" for step, seconds in timings.items()) + checked)
    return html


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="default: build/site")
    parser.add_argument(
        "--notebooks", type=Path, metavar="DIR", help="executed notebooks to reuse, not run again"
    )
    parser.add_argument("--no-check", action="store_true", help="skip the link check")
    args = parser.parse_args(argv)
    try:
        html = build_site(args.out.resolve(), args.notebooks, check=not args.no_check)
    except SiteError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"the site: {html / 'index.html'}; `make site-serve` shows it on http://127.0.0.1:8000/")
    return 0
