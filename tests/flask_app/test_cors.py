"""flask_app/cors.py: only the configured origins may call the API from a browser page."""

from __future__ import annotations

import pytest

from flask_app import create_app
from flask_app.cors import configured_origins

FRONT_END = "https://ui.example.com"
PREFLIGHT = {
    "Origin": FRONT_END,
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "authorization, content-type",
}


@pytest.fixture(scope="module")
def cors_app(trained_model_dir):
    return create_app({"TESTING": True, "MOVIEREC_MODEL": str(trained_model_dir),
                       "CORS_ORIGINS": f"{FRONT_END}, https://admin.example.com"})  # fmt: skip


def test_by_default_no_site_gets_cross_origin_access(app):
    response = app.test_client().get("/health", headers={"Origin": FRONT_END})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_a_configured_origin_may_read_the_answers(cors_app):
    response = cors_app.test_client().get("/health", headers={"Origin": FRONT_END})
    assert response.headers["Access-Control-Allow-Origin"] == FRONT_END
    assert "Origin" in response.headers["Vary"]  # caches keep one answer per origin
    assert "X-Model-Version" in response.headers["Access-Control-Expose-Headers"]
    assert "Access-Control-Allow-Credentials" not in response.headers  # keys, never cookies


@pytest.mark.parametrize(
    "origin", ["https://evil.example.com", "http://ui.example.com", "https://uiXexample.com",
               "https://ui.example.com.evil.test", "null"],
)  # fmt: skip
def test_any_other_origin_gets_nothing(cors_app, origin):
    response = cors_app.test_client().get("/health", headers={"Origin": origin})
    assert response.status_code == 200  # the answer itself: a browser hides it from the page
    assert "Access-Control-Allow-Origin" not in response.headers


def test_a_preflight_for_training_allows_the_key_header(cors_app):
    response = cors_app.test_client().options("/train", headers=PREFLIGHT)
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == FRONT_END
    allowed = response.headers["Access-Control-Allow-Headers"].lower()
    assert "authorization" in allowed and "content-type" in allowed
    assert response.headers["Access-Control-Max-Age"] == "600"


def test_the_security_headers_apply_to_cross_origin_answers_too(cors_app):
    client = cors_app.test_client()
    for response in (client.options("/train", headers=PREFLIGHT),
                     client.get("/nope", headers={"Origin": FRONT_END})):  # fmt: skip
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
        assert response.headers["Access-Control-Allow-Origin"] == FRONT_END


def test_a_wildcard_is_refused_at_start_up(trained_model_dir):
    with pytest.raises(SystemExit, match="'\\*' would let every web site"):
        create_app({"MOVIEREC_MODEL": str(trained_model_dir), "CORS_ORIGINS": "*"})


def test_origins_come_from_a_list_or_a_comma_separated_string():
    assert configured_origins(" https://a.example/ ,https://b.example") == [
        "https://a.example",
        "https://b.example",
    ]
    assert configured_origins(["https://a.example"]) == ["https://a.example"]
    assert configured_origins(None) == configured_origins("") == []
