"""The course website, built once per test session the way `make site` builds it.

The notebooks it renders are the copies the notebook tests executed earlier in the same session
(tests/notebooks runs first); run alone, the build executes them itself with the same runner.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from movierec.processes import free_port, running
from tests.conftest import REPO_ROOT
from website.build import SiteError, build_html, check_executed, execute_notebooks

# Screenshots of the pages, kept for people to look at (git ignores build/).
SCREENSHOTS = REPO_ROOT / "build" / "screenshots" / "website"


@pytest.fixture(scope="session")
def executed_notebooks(notebook_run_dir: Path, tmp_path_factory) -> Path:
    """The numbered notebooks with their outputs: this session's, or run now."""
    executed = notebook_run_dir / "executed"
    try:
        check_executed(executed)
        return executed
    except SiteError:
        return execute_notebooks(tmp_path_factory.mktemp("site-notebooks"))


@pytest.fixture(scope="session")
def site_html(executed_notebooks: Path, tmp_path_factory) -> Path:
    """The built site's folder (`html/`), from a strict Sphinx build: any warning fails."""
    html = tmp_path_factory.mktemp("site") / "html"
    started = time.monotonic()
    build_html(html, executed_notebooks)
    print(f"site built in {time.monotonic() - started:.1f} s")
    return html


@pytest.fixture(scope="module")
def site_url(site_html: Path, tmp_path_factory) -> Iterator[str]:
    """The built site, served on a free loopback port by website/serve.py."""
    port, log = free_port(), tmp_path_factory.mktemp("site-server") / "serve.log"
    url = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "website.serve", str(site_html), "--port", str(port)]
    with running(command, log, f"{url}/index.html", timeout=30, cwd=REPO_ROOT):
        yield url
