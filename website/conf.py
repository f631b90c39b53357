"""Sphinx settings for the course website (`make site`).

The site's source folder is the repository root, so every relative link that works on GitHub
works on the site too: README.md is the home page, and the lectures, the notebooks and the
folders' READMEs are pages found by name pattern, never listed by hand. A new lecture or notebook
joins the site (and its navigation) by being saved under a matching name.
"""

from __future__ import annotations

import os
from pathlib import Path

from sphinx.errors import ExtensionError

project = "Serving ML models on your own server"
author = "the course's authors"
copyright = "the course's authors; teaching text CC BY 4.0, code MIT"  # noqa: A001

extensions = ["myst_nb"]  # MyST Markdown and Jupyter notebooks (it includes myst_parser)

root_doc = "README"
# The pages: found by pattern, so new lectures and notebooks need no change here.
PAGES = {
    "Lectures": "lectures/[0-9A-Z]*",
    "Notebooks": "notebooks/[0-9][0-9]_*",
    "The code, folder by folder": "*/README\n*/*/README",  # e.g. deploy/, then deploy/aws/
}
include_patterns = ["README.md", "lectures/*.md", "notebooks/[0-9][0-9]_*.ipynb"]
include_patterns += ["*/README.md", "*/*/README.md"]  # folders' guides and their subfolders'
exclude_patterns = [".*", "_build", "build", "data", "models", "tests", "node_modules"]

# GitHub's anchors: `[...](#2-ssh-and-keys)` and `file.md#section` work as on GitHub.
myst_heading_anchors = 4
myst_enable_extensions = ["colon_fence"]
# Notebooks are executed before the build, with the test suite's runner (website/build.py),
# never by Sphinx: their outputs come from MOVIEREC_EXECUTED_NOTEBOOKS when it is set.
nb_execution_mode = "off"
nb_merge_streams = True
EXECUTED = os.environ.get("MOVIEREC_EXECUTED_NOTEBOOKS")

html_theme = "furo"
html_title = project
html_theme_options = {"navigation_with_keys": True}
html_favicon = "favicon.svg"  # a browser asks for one; without it, a 404 on every page
html_extra_path = ["extra"]  # index.html: the site's address leads to README.html
html_show_sourcelink = False
html_copy_source = False
# Every warning fails the build (`-W` in website/build.py): a broken link is a warning.


def _executed_notebook(app, docname: str, source: list[str]) -> None:
    """Give Sphinx the executed copy of a notebook (with outputs and figures) instead of the
    committed one, which is kept without outputs. Without MOVIEREC_EXECUTED_NOTEBOOKS (a
    `sphinx-build` by hand) the notebooks show their code only."""
    if EXECUTED is None or app.env.doc2path(docname).suffix != ".ipynb":
        return
    executed = Path(EXECUTED) / f"{Path(docname).name}.ipynb"
    if not executed.is_file():
        raise ExtensionError(f"no executed copy of {docname}.ipynb in {EXECUTED}")
    source[0] = executed.read_text()


def _navigation(app, docname: str, source: list[str]) -> None:
    """The home page (README.md) gets a hidden table of contents: the site's sidebar."""
    if docname != root_doc:
        return
    for caption, pattern in PAGES.items():
        source[0] += (
            f"\n\n```{{toctree}}\n:hidden:\n:glob:\n:caption: {caption}\n\n{pattern}\n```\n"
        )


def setup(app):
    app.connect("source-read", _executed_notebook)
    app.connect("source-read", _navigation)
