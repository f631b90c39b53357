"""Response headers every answer carries, whatever view or error handler produced it."""

from __future__ import annotations

from flask import Flask, Response


def register(app: Flask) -> None:
    app.after_request(add_security_headers)


def add_security_headers(response: Response) -> Response:
    """Tell browsers not to guess content types, cache answers, or run anything foreign."""
    # Without it a browser may "sniff" a JSON error that echoes input and render it as HTML.
    response.headers["X-Content-Type-Options"] = "nosniff"
    # The page loads only its own script and style, and no other site may frame it.
    response.headers["Content-Security-Policy"] = "default-src 'self'; frame-ancestors 'none'"
    response.headers["Referrer-Policy"] = "no-referrer"
    # Answers change whenever a new model is deployed: never serve a stale one from a cache.
    response.headers.setdefault("Cache-Control", "no-store")
    return response
