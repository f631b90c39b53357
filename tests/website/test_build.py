"""The site builds offline, strictly, with every page the course has, and every link works.

Sphinx fails on any warning (a relative link or anchor that leads nowhere, in Markdown and in
notebooks alike); Debian's linkchecker then follows every link and anchor of the served site
over HTTP, which also covers what Sphinx cannot see (raw HTML, notebook outputs, the theme).
"""

from __future__ import annotations

import json
import re
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT, require_tool
from website.build import WEBSITE_DIR, SiteError, check_links, make_world_readable

pytestmark = pytest.mark.slow

LECTURES = sorted((REPO_ROOT / "lectures").glob("*.md"))
NOTEBOOKS = sorted((REPO_ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
READMES = sorted(  # the folders' guides and their subfolders' (deploy/aws/), not .venv's or caches'
    readme
    for readme in [*REPO_ROOT.glob("*/README.md"), *REPO_ROOT.glob("*/*/README.md")]
    if not any(
        part.startswith(".") or part in {"build", "data", "models", "tests", "node_modules"}
        for part in readme.relative_to(REPO_ROOT).parts
    )
)


def test_every_lecture_notebook_and_readme_is_a_page(site_html: Path):
    pages = [*LECTURES, *NOTEBOOKS, *READMES, REPO_ROOT / "README.md"]
    missing = [
        page.relative_to(REPO_ROOT).as_posix()
        for page in pages
        if not (site_html / page.relative_to(REPO_ROOT)).with_suffix(".html").is_file()
    ]
    assert not missing, f"not on the site: {missing}"
    assert (site_html / "index.html").is_file()


def test_the_navigation_lists_every_lecture_in_order(site_html: Path):
    home = (site_html / "README.html").read_text()
    linked = re.findall(r'class="reference internal" href="(lectures/[^"#]+\.html)"', home)
    expected = [f"lectures/{lecture.stem}.html" for lecture in LECTURES]
    assert [page for page in dict.fromkeys(linked) if page in expected] == expected


def test_notebook_pages_show_their_outputs_and_figures(site_html: Path, executed_notebooks):
    for notebook in NOTEBOOKS:
        executed = json.loads((executed_notebooks / notebook.name).read_text())
        figures = sum(
            "image/png" in output.get("data", {})
            for cell in executed["cells"]
            for output in cell.get("outputs", [])
        )
        page = (site_html / "notebooks" / f"{notebook.stem}.html").read_text()
        assert "cell_output" in page, f"{notebook.name}: the page shows no output"
        shown = re.findall(r'<img [^>]*src="(\.\./_images/[^"]+\.png)"', page)
        assert len(shown) == figures, f"{notebook.name}: {figures} figures, {len(shown)} shown"
        for source in shown:
            assert (site_html / "notebooks" / source).resolve().is_file(), source


def test_nothing_is_fetched_from_elsewhere(site_html: Path):
    """Scripts, styles, fonts and images all come from the site itself: it works offline."""
    for page in site_html.rglob("*.html"):
        text = page.read_text()
        outside = re.findall(r'<(?:script|link|img)\b[^>]*(?:src|href)="(https?://[^"]+)"', text)
        assert not outside, f"{page.relative_to(site_html)} loads {outside}"


def test_make_site_builds_and_checks_every_link(executed_notebooks: Path, tmp_path: Path):
    """`make site` as CI runs it (reusing this session's executed notebooks): a strict Sphinx
    build, then Debian's linkchecker over HTTP on 127.0.0.1, anchors included."""
    require_tool("linkchecker")
    started = time.monotonic()
    command = [sys.executable, "-m", "website", "--notebooks", str(executed_notebooks),
               "--out", str(tmp_path / "site")]  # fmt: skip
    done = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    print(f"python -m website: {time.monotonic() - started:.1f} s; {done.stdout.strip()}")
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"notebooks [\d.]+ s  html [\d.]+ s  links [\d.]+ s", done.stdout)
    checked = int(re.search(r"(\d+) links checked", done.stdout).group(1))
    assert checked > 200, "linkchecker followed too few links: did it see the pages?"
    html = tmp_path / "site" / "html"
    assert (html / "index.html").is_file()
    for path in [html, *html.rglob("*")]:  # linkchecker, started as root, runs as `nobody`
        assert path.stat().st_mode & stat.S_IROTH, path


def test_a_broken_anchor_fails_the_link_check(site_html: Path, tmp_path: Path):
    """The control: the same check on a copy with one anchor broken must fail."""
    require_tool("linkchecker")
    broken = tmp_path / "html"
    broken.mkdir()
    (broken / "index.html").write_text('<a href="page.html#no-such-section">a</a>')
    (broken / "page.html").write_text('<h1 id="a-section">page</h1>')
    make_world_readable(tmp_path)
    with pytest.raises(SiteError, match="no-such-section"):
        check_links(broken)


BROKEN_LINKS = ["lectures/09_missing.md", "lectures/00_a.md#no-such-section", "notebooks/x.ipynb"]


def test_a_broken_relative_link_fails_the_build(tmp_path: Path):
    """The control for Sphinx's side: the site's own settings, a tiny course, three bad links
    (a missing page, a missing anchor, a missing notebook), each reported."""
    source = tmp_path / "course"
    (source / "lectures").mkdir(parents=True)
    bad = "\n".join(f"[bad]({link})" for link in BROKEN_LINKS)
    (source / "README.md").write_text(f"# Home\n\n[a lecture](lectures/00_a.md)\n{bad}\n")
    (source / "lectures" / "00_a.md").write_text("# Lecture 0\n\n## A section\n\nText.\n")
    done = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-W", "--keep-going", "-q",
         "-c", str(WEBSITE_DIR), str(source), str(tmp_path / "html")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode != 0, "the build passed with broken links"
    for link in BROKEN_LINKS:
        assert link.split("#")[-1].split("/")[-1] in done.stderr, (link, done.stderr)
