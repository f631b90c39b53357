"""Every relative link of every course document leads to a file, and every anchor to a heading.

As GitHub shows the documents and as the website builds them: `[text](../setup/README.md)`,
`[text](#2-ssh-and-keys)`, `[text](02_data_model_persistence.md#3-evaluation)`. The anchors are
the headings' GitHub slugs (`tests.support.anchors`), which the website makes too. A link to a
folder works on GitHub but not on the website: link to its README instead. Links to other sites
are not followed (the tests run offline).
"""

from __future__ import annotations

import pytest

from tests.support import (
    REPO_ROOT,
    Link,
    anchors,
    course_documents,
    course_notebooks,
    links,
    slugify,
)

DOCUMENTS = [*course_documents(), *course_notebooks()]
LINKS = [link for document in DOCUMENTS for link in links(document) if link.is_relative]


def where(link: Link) -> str:
    return f"{link.document.relative_to(REPO_ROOT).as_posix()}:{link.line} {link.target}"


def test_links_are_found():
    assert len(LINKS) > 50
    assert any("#" in link.target for link in LINKS), "no anchor found: is the parser broken?"


def test_anchors_are_the_websites():
    """The harness's slugs are MyST's, so a link that passes here resolves on the website too."""
    from myst_parser.mdit_to_docutils.base import default_slugify

    headings = ["5. Development server or gunicorn?", "Step 2: key-only SSH, no root login",
                "`flask run`, then curl", "Notebook 01 · Explore MovieLens"]  # fmt: skip
    for heading in headings:
        plain = heading.replace("`", "")
        assert slugify(plain) == default_slugify(plain)


@pytest.mark.parametrize("link", LINKS, ids=where)
def test_relative_link_resolves(link: Link):
    path, _, anchor = link.target.partition("#")
    target = (link.document.parent / path).resolve() if path else link.document
    assert target.exists(), f"{where(link)}: no such file"
    assert target.is_file(), f"{where(link)}: a folder; the website needs a file (its README?)"
    assert REPO_ROOT in target.parents, f"{where(link)}: outside the repository"
    if anchor and target.suffix in {".md", ".ipynb"}:
        assert anchor in anchors(target), (
            f"{where(link)}: no heading makes #{anchor} in {target.name}; "
            f"it has {sorted(anchors(target))}"
        )
