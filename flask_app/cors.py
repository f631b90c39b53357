"""Cross-origin requests (CORS): which other web sites' pages may call this API from a browser.

A browser lets a page call only the site it came from, unless that site's answers say
otherwise. A front end of your own on another origin (say `https://ui.example.com`) needs that
permission; every other site must not get it. So the API allows exactly the origins configured
in `CORS_ORIGINS`, e.g. `FLASK_CORS_ORIGINS=https://ui.example.com,https://admin.example.com`,
and by default none. `curl` and `requests` ignore CORS: it protects browsers' users, not the API.
"""

from __future__ import annotations

from flask import Flask
from flask_cors import CORS

# What a permitted page may send and read: the API key header, JSON bodies, and the headers a
# training job (Location, Retry-After) or any answer (X-Model-Version) carries.
ALLOWED_HEADERS = ["Authorization", "Content-Type"]
EXPOSED_HEADERS = ["Location", "Retry-After", "X-Model-Version"]


def register(app: Flask) -> None:
    """Allow the configured origins, if any; refuse `*` at start-up."""
    origins = configured_origins(app.config.get("CORS_ORIGINS"))
    if not origins:
        return  # no CORS headers at all: browsers keep every other site's pages out
    if "*" in origins:
        raise SystemExit(
            "error: CORS_ORIGINS must list origins such as https://ui.example.com; "
            "'*' would let every web site's pages call this API"
        )
    CORS(
        app,
        origins=origins,
        allow_headers=ALLOWED_HEADERS,
        expose_headers=EXPOSED_HEADERS,
        methods=["GET", "POST"],
        supports_credentials=False,  # a key in a header, never cookies: no ambient authority
        max_age=600,  # browsers may cache a preflight answer for 10 minutes
    )


def configured_origins(value: str | list[str] | None) -> list[str]:
    """Origins from a list, or from one comma-separated string (an environment variable)."""
    if not value:
        return []
    items = value.split(",") if isinstance(value, str) else value
    return [origin.strip().rstrip("/") for origin in items if origin.strip()]
