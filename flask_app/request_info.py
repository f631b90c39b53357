"""What a request's log line says beyond gunicorn's own fields: its id and the user it asked about.

The id lets one request be followed from curl to the server's log. A client (or nginx, or a load
balancer) may send `X-Request-ID`; it is kept only when it is short and made of safe characters,
because it ends up in the log: a client must not be able to write a fake log line, or a
gigabyte, into it. Otherwise a new random id is made. Either way the answer carries it back in
`X-Request-ID`, and the access log line (flask_app/access_log.py) shows it.

The user id (of /recommend, /predict and the store's /recommendations/<id>) is read from what
the view already parsed, after it answered, so the views stay as they are; the monitoring report
(`python -m movierec monitor`) compares these users with the training data.
"""

from __future__ import annotations

import os
import re

from flask import Flask, Response, request

HEADER = "X-Request-ID"
SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# The WSGI environ is shared with gunicorn, whose access logger reads these after the answer.
ENVIRON_ID = "movierec.request_id"
ENVIRON_USER = "movierec.user_id"
USER_ENDPOINTS = {"api.recommend", "api.predict", "store_api.recommendations"}


def register(app: Flask) -> None:
    app.before_request(_before)
    app.after_request(send_back)


def _before() -> None:
    assign()  # a before_request hook that returned a value would answer in the view's place


def accepted(value: str | None) -> str | None:
    """The client's id if it is safe to log as it is, else None."""
    return value if value is not None and SAFE_ID.fullmatch(value) else None


def assign() -> str:
    """The request's id: the client's if safe, else 32 random hex digits (as uuid4().hex)."""
    environ = request.environ
    request_id = accepted(environ.get("HTTP_X_REQUEST_ID")) or os.urandom(16).hex()
    environ[ENVIRON_ID] = request_id
    return request_id


def send_back(response: Response) -> Response:
    # A request refused before the before_request hooks ran has no id yet: make one now.
    response.headers[HEADER] = request.environ.get(ENVIRON_ID) or assign()
    requested_user(response.status_code)
    return response


def requested_user(status: int) -> int | None:
    """The user id the request asked about, if it named a valid one; noted for the log line.
    `status`: the answer's; a /predict body is read only when the view could read it (200, 404),
    so a body that failed to parse is never parsed again."""
    req = request._get_current_object()  # one context lookup instead of one per attribute
    environ = req.environ
    if ENVIRON_USER in environ:
        return environ[ENVIRON_USER]
    endpoint = req.endpoint
    if endpoint not in USER_ENDPOINTS:
        return None
    if endpoint == "api.predict":
        if status not in (200, 404):
            return None
        body = req.get_json(silent=True)  # already parsed by the view: Flask caches it
        raw = body.get("user_id") if isinstance(body, dict) else None
    elif req.view_args and "user_id" in req.view_args:
        raw = req.view_args["user_id"]
    else:
        raw = req.args.get("user_id")
    if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
        return None
    try:
        user = int(raw)
    except (TypeError, ValueError):
        return None
    environ[ENVIRON_USER] = user
    return user
