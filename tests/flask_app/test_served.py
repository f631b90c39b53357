"""flask_app/served.py: a model saved while the app runs answers the next request, whole.

In this process, through the test client; test_swap_under_load.py does the same to a real
gunicorn under load.
"""

from __future__ import annotations

import logging
import os
import shutil

from flask_app.served import ModelSwapper
from movierec.persist import save_model
from tests.flask_app.conftest import variant_of


def answer(client, path: str):
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response


def test_a_model_saved_at_the_location_answers_the_next_request(own_app, served_link, tiny_trained):
    client, old = own_app.test_client(), tiny_trained.recommender
    new = variant_of(old, seed=1)
    user = int(old.users.raw_ids[0])
    assert answer(client, "/health").get_json()["version"] == old.version

    save_model(new, served_link)  # what `movierec train --out`, or a promotion, does
    health = answer(client, "/health")
    assert health.get_json()["version"] == health.headers["X-Model-Version"] == new.version
    recommended = answer(client, f"/recommend?user_id={user}&k=5").get_json()["recommendations"]
    assert recommended == [r._asdict() for r in new.recommend(user, 5)]
    assert recommended != [r._asdict() for r in old.recommend(user, 5)]


def test_every_answer_names_the_model_that_made_it(own_app, tiny_trained):
    client = own_app.test_client()
    for path in ("/health", "/recommend?user_id=abc", "/no-such-page", "/"):
        assert client.get(path).headers["X-Model-Version"] == tiny_trained.recommender.version


def test_a_model_that_cannot_load_is_refused_and_the_old_one_keeps_serving(
    own_app, served_link, tiny_trained, caplog
):
    client, old = own_app.test_client(), tiny_trained.recommender
    broken = served_link.parent / "default.versions" / "broken"
    shutil.copytree(os.path.realpath(served_link), broken)
    (broken / "model.pt").write_bytes(b"not a torch file")
    os.replace(_link_to(served_link, broken), served_link)  # a bad "new model" appears

    with caplog.at_level(logging.ERROR):
        for _ in range(3):
            assert answer(client, "/health").get_json()["version"] == old.version
    refusals = [r for r in caplog.records if "not swapping" in r.getMessage()]
    assert len(refusals) == 1, "logged once, not at every request"
    assert "corrupt" in refusals[0].getMessage()

    fixed = variant_of(old, seed=2)
    save_model(fixed, served_link)
    assert answer(client, "/health").get_json()["version"] == fixed.version


def test_moving_the_link_back_rolls_back(own_app, served_link, tiny_trained):
    client, old = own_app.test_client(), tiny_trained.recommender
    first_version = os.path.realpath(served_link)
    save_model(variant_of(old, seed=3), served_link)
    answer(client, "/health")
    os.replace(_link_to(served_link, first_version), served_link)  # the documented rollback
    assert answer(client, "/health").get_json()["version"] == old.version


def test_the_served_model_is_one_object_replaced_whole(served_link, tiny_trained):
    """Recommender and rankings arrive together; unchanged, the very same object comes back."""
    swapper = ModelSwapper(str(served_link), logging.getLogger("test"))
    before = swapper.latest()
    assert swapper.latest() is before
    save_model(variant_of(tiny_trained.recommender, seed=4), served_link)
    after = swapper.latest()
    assert after is not before and after.folder == os.path.realpath(served_link)
    user = int(after.recommender.users.raw_ids[0])
    expected = [r._asdict() for r in after.recommender.recommend(user, 10)]
    assert after.rankings[user][:10] == expected


def test_an_mlflow_model_is_not_watched(monkeypatch, tiny_trained):
    """A registry alias has no link to look at: the app keeps what it loaded (restart it)."""
    from flask_app import served

    monkeypatch.setattr(served, "load_for_serving", lambda location: tiny_trained.recommender)
    swapper = ModelSwapper("models:/movie-recommender@champion", logging.getLogger("test"))
    looked, realpath = [], os.path.realpath
    monkeypatch.setattr(os.path, "realpath", lambda path: looked.append(path) or realpath(path))
    assert swapper.latest() is swapper.served and swapper.served.folder is None
    assert looked == []


def _link_to(link, target):
    """A new link beside `link` pointing at `target`, ready to replace it atomically."""
    new = link.with_name(f".{link.name}.test-link")
    new.unlink(missing_ok=True)
    new.symlink_to(os.path.relpath(target, link.parent))
    return new
