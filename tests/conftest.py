"""Root fixtures shared by every test folder."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from localserver import LocalHighway


@pytest.fixture
def highway() -> Iterator[LocalHighway]:
    """A fresh local Highway server on a free loopback port, with a short generation time (0.5 s)."""
    server = LocalHighway(gen_seconds=0.5)
    server.start()
    try:
        yield server
    finally:
        server.stop()
