"""Serve a built site on 127.0.0.1 (`make site-serve`, and the link check of `make site`).

Python's own static file server, bound to loopback, plus one header: `LinkChecker`, which lets
Debian's linkchecker send more than 10 requests a second to it (its politeness limit for servers
that have not said they are fine with that).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

DEFAULT_DIR = Path(__file__).resolve().parents[1] / "build" / "site" / "html"


class SiteHandler(SimpleHTTPRequestHandler):
    def end_headers(self) -> None:
        self.send_header("LinkChecker", "allowed")  # see the module's docstring
        self.send_header("Cache-Control", "no-store")  # a rebuilt page shows at once
        super().end_headers()

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the base class's name)
        pass  # one line per file would drown the terminal; errors still reach the browser


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("directory", nargs="?", type=Path, default=DEFAULT_DIR)
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    if not (args.directory / "index.html").is_file():
        raise SystemExit(f"error: no site in {args.directory}: build it first with `make site`")
    handler = functools.partial(SiteHandler, directory=str(args.directory))
    with ThreadingHTTPServer(("127.0.0.1", args.port), handler) as server:
        print(f"serving {args.directory} on http://127.0.0.1:{args.port}/ (Ctrl-C stops)")
        with contextlib.suppress(KeyboardInterrupt):
            server.serve_forever()


if __name__ == "__main__":
    main()
