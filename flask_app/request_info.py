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

import re
import uuid

from flask import Flask, Response, g, request

HEADER = "X-Request-ID"
SAFE_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# The WSGI environ is shared with gunicorn, whose access logger reads these after the answer.
ENVIRON_ID = "movierec.request_id"
ENVIRON_USER = "movierec.user_id"
USER_ENDPOINTS = {"api.recommend", "api.predict", "store_api.recommendations"}


def register(app: Flask) -> None:
    app.before_request(assign)
    app.after_request(send_back)


def accepted(value: str | None) -> str | None:
    """The client's id if it is safe to log as it is, else None."""
    return value if value is not None and SAFE_ID.fullmatch(value) else None


def assign() -> None:
    g.request_id = accepted(request.headers.get(HEADER)) or uuid.uuid4().hex
    request.environ[ENVIRON_ID] = g.request_id


def send_back(response: Response) -> Response:
    # A request refused before the before_request hooks ran has no id yet: make one now.
    if "request_id" not in g:
        assign()
    response.headers[HEADER] = g.request_id
    requested_user()
    return response


def requested_user() -> int | None:
    """The user id the request asked about, if it named a valid one; noted for the log line."""
    if ENVIRON_USER in request.environ:
        return request.environ[ENVIRON_USER]
    if request.endpoint not in USER_ENDPOINTS:
        return None
    if request.endpoint == "api.predict":
        body = request.get_json(silent=True)  # already parsed by the view: Flask caches it
        raw = body.get("user_id") if isinstance(body, dict) else None
    elif request.view_args and "user_id" in request.view_args:
        raw = request.view_args["user_id"]
    else:
        raw = request.args.get("user_id")
    try:
        user = int(raw)
    except (TypeError, ValueError):
        return None
    if isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
        return None
    request.environ[ENVIRON_USER] = user
    return user
