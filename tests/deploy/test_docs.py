"""Lecture 5 and deploy/README.md tell the truth about the files they teach.

The lecture's curl lines run against a real nginx in test_nginx.py; here, the rest: commands,
make targets, and the settings the lecture quotes (links: tests/docs/test_links.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.setup.test_docs import documented_help, setup_script_calls
from tests.support import shell_lines

LECTURE = REPO_ROOT / "lectures" / "05_production_serving.md"
GUIDE = REPO_ROOT / "deploy" / "README.md"
SITE = REPO_ROOT / "deploy" / "nginx" / "movierec.conf"


@pytest.mark.parametrize("document", [LECTURE, GUIDE], ids=lambda p: p.name)
def test_every_make_target_shown_exists(document: Path):
    makefile = (REPO_ROOT / "Makefile").read_text()
    for line in shell_lines(document):
        for target in re.findall(r"^make (\w[\w-]*)", line):
            assert re.search(rf"^{target}:", makefile, re.M), f"{document.name}: make {target}"


def test_every_repository_file_in_the_lectures_commands_exists():
    for line in shell_lines(LECTURE):
        for path in re.findall(r"\b((?:deploy|setup|bench)/[\w./-]+)", line):
            assert (REPO_ROOT / path).exists(), f"{line}: no {path}"


def test_the_firewall_command_uses_a_documented_setting():
    (call,) = setup_script_calls(LECTURE)
    command, script, variables = call
    assert script.name == "03_firewall.sh" and variables == ["ALLOW_HTTPS"]
    assert "ALLOW_HTTPS" in documented_help(script)


# (what the site says, how the lecture quotes it)
QUOTED = [
    ("client_max_body_size 64k;", "`client_max_body_size` | `64k`"),
    ("rate=10r/s;", "rate=10r/s"),
    ("burst=20 nodelay;", "burst=20 nodelay"),
    ('"max-age=31536000"', "`max-age=31536000`"),
    ("ssl_protocols TLSv1.2 TLSv1.3;", "`TLSv1.2 TLSv1.3`"),
    ("proxy_connect_timeout 2s;", "`proxy_connect_timeout 2s`"),
    ("proxy_read_timeout 10s;", "`proxy_read_timeout 10s`"),
    ("client_header_timeout 10s;", "`client_header_timeout`, `client_body_timeout` | `10s`"),
]


@pytest.mark.parametrize(("in_site", "in_lecture"), QUOTED, ids=[s for s, _ in QUOTED])
def test_the_settings_the_lecture_quotes_are_the_sites(in_site, in_lecture):
    assert in_site in SITE.read_text()
    assert in_lecture in LECTURE.read_text()


def test_nginx_and_flask_refuse_the_same_bodies(app):
    """nginx's client_max_body_size is Flask's MAX_CONTENT_LENGTH: one limit, two places."""
    kilobytes = int(re.search(r"client_max_body_size (\d+)k;", SITE.read_text()).group(1))
    assert kilobytes * 1024 == app.config["MAX_CONTENT_LENGTH"]


def test_the_paths_that_take_files_have_the_apps_own_limits_in_nginx():
    """Each endpoint with a larger body limit has a `location` of its own with the same limit,
    and the 413 nginx answers there names it."""
    from flask_app import for_ratings, training

    units = {"k": 1024, "m": 1024**2}
    for path, limit in [("/recommend/for-ratings", for_ratings.MAX_BODY),
                        ("/train", training.MAX_BODY)]:  # fmt: skip
        block = re.search(rf"location = {path} \{{(.*?)\}}", SITE.read_text(), re.S).group(1)
        size, unit = re.search(r"client_max_body_size (\d+)([km]);", block).groups()
        assert int(size) * units[unit] == limit, path
        assert re.search(rf'{re.escape(path)}\s+"{limit:,} bytes";', SITE.read_text()), path


def test_the_lecture_shows_measured_figures_not_placeholders():
    text = LECTURE.read_text()
    assert "BENCHMARK_TABLE" not in text and "IMAGE_BUILD_RESULT" not in text
    assert re.search(r"^\| gunicorn \+ Flask[^|]* \| [\d,]+ \|", text, re.M)
