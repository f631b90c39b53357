"""Every error is JSON: `{"error": "<a message a student understands>"}` with the right status.

Flask's default error pages are HTML, which a `requests` client or `curl | jq` cannot read.
"""

from __future__ import annotations

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import (
    HTTPException,
    InternalServerError,
    MethodNotAllowed,
    NotFound,
    RequestEntityTooLarge,
)

API_SUMMARY = (
    "GET /health, GET /recommend?user_id=1, POST /predict, GET /movies/1, "
    "POST /recommend/for-ratings, POST /train, GET /train/status/<id>"
)


def register(app: Flask) -> None:
    """Render HTTP errors (404, 405, 413, ...) and unexpected exceptions as JSON."""
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected_error)


def _message(error: HTTPException) -> str:
    # No route matched: Werkzeug's text says "check your spelling"; list what exists instead.
    if isinstance(error, NotFound) and request.url_rule is None:
        summary = current_app.extensions.get("api_summary", API_SUMMARY)  # store mode has its own
        return f"no such URL: {request.path} (the API has {summary})"
    if isinstance(error, MethodNotAllowed):
        allowed = [m for m in error.valid_methods or [] if m not in {"HEAD", "OPTIONS"}]
        return f"{request.method} is not allowed on {request.path}; use {' or '.join(allowed)}"
    if isinstance(error, RequestEntityTooLarge):
        limit = request.max_content_length  # the app's, or the endpoint's own (for-ratings, train)
        return f"the request body is too large (the limit is {limit:,} bytes)"
    return error.description or error.name


def http_error(error: HTTPException) -> Response:
    """An `abort(...)` or a routing error, as JSON; headers such as `Allow` on a 405 are kept."""
    # BEGIN SOLUTION A3.2: the error's status and headers, with a JSON body {"error": message}
    response = error.get_response()
    # The trailing newline keeps a shell prompt off the end of `curl`'s output, as jsonify does.
    response.set_data(current_app.json.dumps({"error": _message(error)}) + "\n")
    response.content_type = "application/json"
    return response
    # END SOLUTION


def unexpected_error(error: Exception) -> Response:
    """A bug: log the traceback for us, tell the client only that it was our fault (500)."""
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    return http_error(InternalServerError("internal server error: see the server's log"))
