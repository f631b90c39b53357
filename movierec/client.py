"""A small client for the movierec HTTP API, built on `requests`.

    from movierec.client import MovieRecClient
    api = MovieRecClient("http://127.0.0.1:5000")
    api.recommend(user_id=1, k=5)   # [{"item_id": ..., "title": ..., "score": ...}, ...]

Three habits every HTTP client should have: a timeout on every call (requests has none by
default and would wait forever), retries only for connection errors (nothing reached the server,
so trying again is safe even for a POST), and HTTP errors turned into exceptions that carry the
server's own message.
"""

from __future__ import annotations

import time
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

DEFAULT_URL = "http://127.0.0.1:5000"  # `flask --app flask_app run`, or an SSH tunnel to the VPS


class ApiError(Exception):
    """The server answered with an error status; `message` is its own explanation."""

    def __init__(self, status: int, message: str, url: str):
        super().__init__(f"HTTP {status} from {url}: {message}")
        self.status, self.message, self.url = status, message, url


class ServerUnreachable(Exception):
    """No answer at all: the server is not running, the tunnel is down, or it timed out."""


class MovieRecClient:
    """Calls the movierec API. Use it as a context manager to close its connections."""

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        timeout: float | tuple[float, float] = (3.05, 10.0),
        connect_retries: int = 3,
        backoff_factor: float = 0.5,
    ):
        """`timeout`: seconds to connect and to wait for the answer (a number sets both).

        `connect_retries`: how often to retry a connection that failed; the waits in between
        are 0 s, then backoff_factor x 2, x 4, ... (0, 1, 2 s by default). Read errors and
        error statuses are never retried: the server may already have done the work.
        """
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        retry = Retry(
            total=connect_retries,
            connect=connect_retries,
            read=False,  # a read error is raised as it is (ReadTimeout), never retried
            status=0,
            other=0,
            backoff_factor=backoff_factor,
            raise_on_status=False,  # an HTTP error status is an answer: we raise ApiError
        )
        # One Session for every call: it reuses the TCP connection whenever the server keeps it
        # open (keep-alive), as a browser does, and holds the retry policy.
        self.session = requests.Session()
        self.session.mount("http://", HTTPAdapter(max_retries=retry))
        self.session.mount("https://", HTTPAdapter(max_retries=retry))

    # --- the endpoints -----------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """The server's status and the identity of the model it serves."""
        return self._call("GET", "/health")

    def recommend(self, user_id: int, k: int = 10) -> list[dict[str, Any]]:
        """The user's top-k movies, best first: dicts with item_id, title and score."""
        answer = self._call("GET", "/recommend", params={"user_id": user_id, "k": k})
        return answer["recommendations"]

    def predict(self, user_id: int, item_ids: list[int]) -> list[dict[str, Any]]:
        """Predicted ratings, in the order of `item_ids`: dicts with item_id and rating."""
        answer = self._call("POST", "/predict", json={"user_id": user_id, "item_ids": item_ids})
        return answer["predictions"]

    def movie(self, item_id: int) -> dict[str, Any]:
        """A movie's item_id, title and genres."""
        return self._call("GET", f"/movies/{int(item_id)}")

    def wait_until_ready(self, timeout: float = 30.0) -> dict[str, Any]:
        """Poll /health until the server answers (it may still be loading its model)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.health()
            except ServerUnreachable:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    # --- plumbing ------------------------------------------------------------------------------

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        url = self.base_url + path
        try:
            response = self.session.request(method, url, timeout=self.timeout, **kwargs)
        except requests.ReadTimeout as error:
            message = f"{url} did not answer in time (timeout={self.timeout})"
            raise ServerUnreachable(message) from error
        except requests.ConnectionError as error:
            raise ServerUnreachable(
                f"cannot connect to {self.base_url}: is the server running "
                f"(`flask --app flask_app run`) and, for a VPS, is your SSH tunnel open?"
            ) from error
        if not response.ok:
            raise ApiError(response.status_code, _error_message(response), url)
        return response.json()

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> MovieRecClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _error_message(response: requests.Response) -> str:
    """The API's `{"error": ...}` message, or the start of the body from anything else."""
    try:
        return str(response.json()["error"])
    except (ValueError, KeyError, TypeError):  # not our API: a proxy's HTML page, say
        return response.text[:200] or response.reason
