"""gunicorn's access log as one JSON object per line, instead of Apache's "combined" format.

flask_app/gunicorn.conf.py sets `logger_class` to `JsonAccessLogger`: gunicorn calls `access`
once per request after the answer is sent, so each request still has exactly one line. JSON
because a program reads it (`jq`, `python -m movierec monitor`, a log shipper): every field has
a name, and a quote or a newline inside a user agent is escaped instead of breaking the line.
Errors and their tracebacks go to the error log only (stderr), never here.

    {"time": "2026-11-23T22:41:07.123+00:00", "remote_addr": "127.0.0.1", "method": "GET",
     "path": "/recommend", "query": "user_id=1&k=3", "status": 200, "duration_ms": 1.234,
     "bytes": 512, "user_agent": "curl/7.88.1", "request_id": "4f2c...", "user_id": 1}
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from gunicorn import glogging

from flask_app.request_info import ENVIRON_ID, ENVIRON_USER, HEADER


def access_record(resp, environ: dict, request_time) -> dict:
    """The fields of one request's log line."""
    status = resp.status
    if isinstance(status, str):  # "200 OK"
        status = status.split(None, 1)[0]
    headers = dict((name.lower(), value) for name, value in resp.headers)
    record = {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        # The client's address: nginx's, unless ProxyFix (FLASK_PROXY_HOPS) put the real one back.
        "remote_addr": environ.get("REMOTE_ADDR"),
        "method": environ.get("REQUEST_METHOD"),
        "path": environ.get("PATH_INFO"),
        "query": environ.get("QUERY_STRING") or "",
        "status": int(status),
        "duration_ms": round(request_time.total_seconds() * 1000, 3),
        "bytes": getattr(resp, "sent", None),
        "user_agent": environ.get("HTTP_USER_AGENT"),
        # Flask's id (checked or made in flask_app/request_info.py), else what the answer carries.
        "request_id": environ.get(ENVIRON_ID) or headers.get(HEADER.lower()),
    }
    if ENVIRON_USER in environ:
        record["user_id"] = environ[ENVIRON_USER]
    return record


class JsonAccessLogger(glogging.Logger):
    """gunicorn's logger, with `access` writing JSON; everything else is gunicorn's own."""

    def access(self, resp, req, environ, request_time) -> None:
        if not self.access_log_enabled:
            return
        try:
            line = json.dumps(access_record(resp, environ, request_time), ensure_ascii=True)
            self.access_log.info(line)
        except Exception:  # a log line must never fail a request; say so in the error log
            self.exception("could not write the access log line")
