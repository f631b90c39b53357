"""The HTML page in a real headless Chromium: pick a user, see the recommendations.

Playwright (from PyPI) drives Debian's Chromium; `playwright install` would download a browser,
which this course never does. The flags keep Chromium from calling Google's servers, and a
request log proves the page talked to nothing but our server. (The `browser` fixture, shared
with the website's tests, is in tests/conftest.py.)
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture
def page(browser, live_server):
    """A fresh tab that records every request it makes and every error it logs."""
    context = browser.new_context(base_url=live_server)
    page = context.new_page()
    page.requests, page.errors = [], []
    page.on("request", lambda request: page.requests.append(request.url))
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.on("console", lambda msg: msg.type == "error" and page.errors.append(msg.text))
    yield page
    context.close()


def test_page_shows_a_users_recommendations(app, page, live_server, tmp_path):
    recommender = app.extensions["model"].served.recommender
    user = int(recommender.users.raw_ids[1])
    expected = [r.title for r in recommender.recommend(user, 5)]

    page.goto("/")
    page.get_by_text("trained on synthetic").wait_for()  # filled in from /health
    page.fill("#user-id", str(user))
    page.fill("#k", "5")
    page.click("button[type=submit]")
    page.get_by_text(f"Top 5 movies for user {user}").wait_for()

    titles = page.locator("#recommendations tbody tr td:nth-child(2)").all_text_contents()
    assert titles == expected
    page.screenshot(path=tmp_path / "recommendations.png")
    assert not page.errors
    assert all(url.startswith(live_server) for url in page.requests), page.requests


def test_page_shows_the_first_users_recommendations_before_any_click(app, page):
    recommender = app.extensions["model"].served.recommender
    first = int(recommender.users.raw_ids[0])
    page.goto("/")
    page.get_by_text(f"Top 10 movies for user {first}").wait_for()
    titles = page.locator("#recommendations tbody tr td:nth-child(2)").all_text_contents()
    assert titles == [r.title for r in recommender.recommend(first, 10)]
    assert recommender.version in page.locator("#model").text_content()


def test_page_shows_the_apis_error_message(app, page):
    unknown = int(app.extensions["model"].served.recommender.users.raw_ids.max()) + 1000
    page.goto("/")
    page.fill("#user-id", str(unknown))
    page.click("button[type=submit]")
    page.get_by_text(f"Error: unknown user {unknown}").wait_for()
    assert page.locator("#recommendations").is_hidden()


def test_a_newcomer_rates_a_few_movies_and_gets_recommendations(app, page, live_server):
    """The "rate a few movies" form: three ratings in, the folded-in model's top 10 out."""
    from flask_app.pages import MOVIES_TO_RATE, most_rated

    recommender = app.extensions["model"].served.recommender
    to_rate = most_rated(recommender, MOVIES_TO_RATE)
    ratings = {to_rate[0]["item_id"]: 5.0, to_rate[1]["item_id"]: 1.0, to_rate[4]["item_id"]: 4.0}
    expected = [r.title for r in recommender.recommend_for_ratings(ratings, 10)]

    page.goto("/")
    assert page.locator("#to-rate select").count() == MOVIES_TO_RATE
    for item, rating in ratings.items():
        page.select_option(f'select[data-item-id="{item}"]', str(int(rating)))
    page.click("#rate-movies button[type=submit]")
    page.get_by_text("Top 10 movies for your 3 ratings:").wait_for()

    titles = page.locator("#newcomer-recommendations tbody tr td:nth-child(2)")
    assert titles.all_text_contents() == expected
    assert not page.errors
    assert all(url.startswith(live_server) for url in page.requests), page.requests


def test_the_rating_form_says_what_to_do_when_nothing_is_rated(page):
    page.goto("/")
    page.click("#rate-movies button[type=submit]")
    page.get_by_text("Rate at least one movie first.").wait_for()
    assert page.locator("#newcomer-recommendations").is_hidden()
