"""A file server on loopback for the tests of URL inputs (movierec.safe_fetch and the endpoints
that take a URL): files, redirects, and bodies that never end. It records every request, so a
test can prove that a refused URL was never even asked for.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class FileServer:
    port: int
    files: dict[str, bytes]  # path -> body, served with 200
    redirects: dict[str, str]  # path -> Location, served with 302
    requests: list[str] = field(default_factory=list)  # every path asked for, in order
    stop: threading.Event = field(default_factory=threading.Event)  # ends endless bodies


def _handler(server: FileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server.requests.append(self.path)
            if self.path in server.files:
                self._send(200, server.files[self.path])
            elif self.path in server.redirects:
                self.send_response(302)
                self.send_header("Location", server.redirects[self.path])
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif self.path == "/endless":  # as fast as it can, forever: only a size cap stops it
                self._stream(b"1,1,5,0\n" * 8192, pause=0)
            elif self.path == "/slow":  # a byte at a time, forever: only a time cap stops it
                self._stream(b"1", pause=0.05)
            elif self.path == "/announced-huge":  # says 10 GB is coming
                self.send_response(200)
                self.send_header("Content-Length", str(10 * 1024**3))
                self.end_headers()
            else:
                self._send(404, b"not found")

        def _send(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _stream(self, chunk: bytes, pause: float) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.end_headers()  # no Content-Length: the body ends when the connection does
            try:
                while not server.stop.is_set():
                    self.wfile.write(chunk)
                    self.wfile.flush()
                    time.sleep(pause)
            except OSError:
                pass  # the client hung up, as it should

        def log_message(self, format, *args) -> None:
            pass  # quiet: the test output is for failures

    return Handler


@contextmanager
def file_server(
    files: dict[str, bytes] | None = None,
    redirects: dict[str, str] | None = None,
    tls: ssl.SSLContext | None = None,
) -> Iterator[FileServer]:
    """Serve `files` and `redirects` on 127.0.0.1 (HTTPS with `tls`) for a `with` block."""
    state = FileServer(0, dict(files or {}), dict(redirects or {}))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    if tls is not None:
        httpd.socket = tls.wrap_socket(httpd.socket, server_side=True)
    state.port = httpd.server_address[1]
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.stop.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
