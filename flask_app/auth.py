"""API keys for the endpoints that change things (training); reading recommendations stays open.

A client sends `Authorization: Bearer <key>`. The server's keys come from the environment, never
from the repository: `MOVIEREC_API_KEY` (one key), or `MOVIEREC_API_KEY_FILE` (a file outside
the repository, readable by you alone, one key per line, `#` starts a comment). With no usable
key the protected endpoints are off: they answer 503 and say how to turn them on.

Make a key with `python -c "import secrets; print(secrets.token_urlsafe(32))"`.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from flask import Flask, abort, current_app, request
from werkzeug.datastructures import WWWAuthenticate

MIN_KEY_LENGTH = 32  # characters: token_urlsafe(32) gives 43, far beyond guessing
TURN_ON = (
    "training is turned off on this server: no API key is configured. The operator sets "
    "MOVIEREC_API_KEY_FILE (or MOVIEREC_API_KEY; `make api-key` makes one) and restarts it: "
    "lectures/06_training_as_a_service.md, section 2"
)

View = TypeVar("View", bound=Callable)


@dataclass(frozen=True)
class ApiKeys:
    digests: tuple[bytes, ...]  # sha256 of each key: see `matches`
    problem: str | None = None  # why some or all keys were not accepted, for the server's log

    def matches(self, given: str) -> bool:
        """Is `given` one of the keys? Compared in constant time.

        `==` stops at the first differing character, so how long a wrong guess takes tells an
        attacker how much of it was right. `hmac.compare_digest` takes the same time whatever
        differs; hashing first makes every compared value the same length, too.
        """
        digest = hashlib.sha256(given.encode()).digest()
        return any([hmac.compare_digest(digest, known) for known in self.digests])


def register(app: Flask) -> None:
    """Read the keys once, at start-up; log (never answer) what is wrong with them."""
    app.config.setdefault("API_KEYS", [os.environ.get("MOVIEREC_API_KEY", "")])
    app.config.setdefault("API_KEY_FILE", os.environ.get("MOVIEREC_API_KEY_FILE"))
    keys = read_keys(app.config["API_KEYS"], app.config["API_KEY_FILE"])
    if keys.problem:
        app.logger.warning("API keys: %s", keys.problem)
    app.extensions["api_keys"] = keys


def read_keys(given: list[str], key_file: str | None) -> ApiKeys:
    """The usable keys from a list and a file; too short ones are refused."""
    candidates = [key.strip() for key in given if key and key.strip()]
    problems = []
    if key_file:
        try:
            lines = Path(key_file).read_text().splitlines()
        except OSError as error:
            problems.append(f"cannot read {key_file} ({error.strerror})")
        else:
            candidates += [line.split("#")[0].strip() for line in lines]
    usable = [key for key in candidates if len(key) >= MIN_KEY_LENGTH]
    if len(usable) < len([key for key in candidates if key]):
        problems.append(f"keys shorter than {MIN_KEY_LENGTH} characters are ignored")
    if not usable:
        problems.append("no usable key: training is off")
    digests = tuple(hashlib.sha256(key.encode()).digest() for key in usable)
    return ApiKeys(digests, "; ".join(problems) or None)


def require_api_key(view: View) -> View:
    """Let the request through only with a valid `Authorization: Bearer <key>` header."""

    @functools.wraps(view)
    def guarded(*args, **kwargs):
        keys: ApiKeys = current_app.extensions["api_keys"]
        if not keys.digests:
            abort(503, description=TURN_ON)
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            _unauthorized("send your API key as the header Authorization: Bearer <key>")
        if not keys.matches(given.strip()):
            _unauthorized("the API key is not valid")
        return view(*args, **kwargs)

    return guarded  # type: ignore[return-value]


def _unauthorized(message: str) -> None:
    """401, with the header that tells a client which kind of credentials to send."""
    challenge = WWWAuthenticate("Bearer", {"realm": "movierec"})
    abort(401, description=message, www_authenticate=challenge)
