"""A plain file host for download tests: a storage host that is not the service (no API, no
faults, Range as the standard library serves it). `tests/core/conftest.py` provides the fixture."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ServeFiles = Callable[[dict[str, bytes]], str]


@pytest.fixture
def serve_files(tmp_path: Path) -> Iterator[ServeFiles]:
    """`serve_files({"name": data, ...})` serves those files over HTTP on loopback and gives the
    base URL; every server it started stops after the test."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def serve(files: dict[str, bytes]) -> str:
        folder = tmp_path / f"file_host_{len(servers)}"
        folder.mkdir()
        for name, data in files.items():
            (folder / name).write_bytes(data)

        class Quiet(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
                super().__init__(*args, directory=str(folder), **kwargs)

            def log_message(self, *args: object) -> None:
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()
