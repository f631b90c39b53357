"""The built site in a real headless Chromium: the home page, a lecture, a notebook's figure.

Each test saves a screenshot into build/screenshots/website/ for people to look at, and checks
that the browser asked nothing of any server but ours and logged no error.
"""

from __future__ import annotations

import pytest

from tests.conftest import REPO_ROOT
from tests.website.conftest import SCREENSHOTS

pytestmark = pytest.mark.slow

LECTURES = sorted((REPO_ROOT / "lectures").glob("*.md"))


@pytest.fixture
def page(browser, site_url):
    """A fresh tab that records every request it makes and every error it logs."""
    context = browser.new_context(base_url=site_url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.requests, page.errors = [], []
    page.on("request", lambda request: page.requests.append(request.url))
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("console", lambda msg: msg.type == "error" and page.errors.append(msg.text))
    page.on("response", lambda r: r.status >= 400 and page.errors.append(f"{r.status} {r.url}"))
    yield page
    assert not page.errors
    assert all(url.startswith(site_url) for url in page.requests), page.requests
    context.close()


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png")


def test_the_home_page_is_the_course_map(page):
    page.goto("/")  # index.html leads to README.html
    page.wait_for_url("**/README.html")
    assert page.title().startswith("Serving ML models on your own server")
    course_map = page.get_by_role("heading", name="The course, in order")
    course_map.wait_for()
    sidebar = page.locator(".sidebar-tree")
    for lecture in LECTURES:
        assert sidebar.locator(f'a[href="lectures/{lecture.stem}.html"]').count() == 1, lecture
    course_map.scroll_into_view_if_needed()
    screenshot(page, "home")


def test_a_lecture_page_with_its_code(page):
    page.goto("/lectures/03_serving_with_flask.html")
    page.get_by_role("heading", name="Lecture 3").first.wait_for()
    assert page.locator("div.highlight-bash pre").count() >= 5  # the curl lines, highlighted
    link = page.locator('a[href="../notebooks/04_call_the_api_with_requests.html"]').first
    link.click()
    page.wait_for_url("**/notebooks/04_call_the_api_with_requests.html")
    page.go_back()
    screenshot(page, "lecture")


def test_a_notebook_page_shows_its_figure(page):
    page.goto("/notebooks/01_explore_movielens.html")
    figures = page.locator(".cell_output img")
    figures.first.wait_for()
    assert figures.count() >= 2
    for index in range(figures.count()):
        figure = figures.nth(index)
        figure.scroll_into_view_if_needed()
        loaded = figure.evaluate("img => img.complete && img.naturalWidth > 100")
        assert loaded, f"figure {index} did not load: {figure.get_attribute('src')}"
    figures.first.scroll_into_view_if_needed()
    screenshot(page, "notebook")
