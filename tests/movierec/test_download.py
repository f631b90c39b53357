"""Downloads: a real HTTP server on loopback serving a zip; checksums pinned; a cache reused."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import shutil
import threading
import zipfile
from pathlib import Path

import pytest

from movierec.download import Source, download, is_cached, sha256_of
from movierec.errors import DataError
from movierec.processes import free_port

ML_100K_TINY = Path(__file__).parents[1] / "fixtures" / "ml-100k-tiny"


def _checksums(folder: Path) -> dict[str, str]:
    return {p.name: sha256_of(p) for p in sorted(folder.iterdir())}


def _zip_of(folder: Path, name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in folder.iterdir():
            archive.write(path, f"{name}/{path.name}")
    return buffer.getvalue()


@pytest.fixture
def zip_server(tmp_path):
    """Serve files from a folder over HTTP on 127.0.0.1; yields (folder, base_url)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_download_extracts_verifies_and_reuses_the_cache(zip_server, tmp_path):
    www, url = zip_server
    source = Source("tiny", "tiny.zip", _checksums(ML_100K_TINY))
    (www / "tiny.zip").write_bytes(_zip_of(ML_100K_TINY, "tiny"))
    cache = tmp_path / "cache"

    folder = download(source, cache, base_url=url)
    assert folder == cache / "tiny" and is_cached(source, cache)
    assert _checksums(folder) == source.checksums

    (www / "tiny.zip").unlink()  # a second call must not need the network
    assert download(source, cache, base_url=url) == folder
    assert not [p for p in cache.iterdir() if p.name.startswith(".")]  # no leftovers


def test_a_checksum_mismatch_in_the_download_names_the_file(zip_server, tmp_path):
    www, url = zip_server
    pins = _checksums(ML_100K_TINY) | {"u.item": hashlib.sha256(b"other").hexdigest()}
    (www / "tiny.zip").write_bytes(_zip_of(ML_100K_TINY, "tiny"))
    with pytest.raises(DataError, match=r"u\.item does not match its pinned sha256"):
        download(Source("tiny", "tiny.zip", pins), tmp_path / "cache", base_url=url)
    assert not (tmp_path / "cache" / "tiny").exists()  # nothing unverified reaches the cache


def test_a_modified_cached_file_is_refused(tmp_path):
    cached = tmp_path / "tiny"
    shutil.copytree(ML_100K_TINY, cached)
    source = Source("tiny", "tiny.zip", _checksums(cached))
    (cached / "u.data").write_text("1\t1\t5\t0\n")  # a silently edited copy
    with pytest.raises(DataError, match=r"u\.data does not match"):
        download(source, tmp_path, base_url="http://127.0.0.1:9")


def test_offline_download_is_a_clear_error(tmp_path):
    source = Source("tiny", "tiny.zip", {})
    closed = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(DataError, match="could not download .*tiny.zip"):
        download(source, tmp_path, base_url=closed, timeout=5)
