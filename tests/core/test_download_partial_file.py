"""How a download writes its `.part` file: truncated only when a restart must drop bytes it holds.

Truncating a file marks it on ext4 (auto_da_alloc) so that closing it writes the whole file to disk
there and then: a 500 MB clip took a fifth longer to arrive than curl took for the same URL.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from tests.core.test_client import client, finished_video_url  # noqa: F401  (the fixture)
from veo_addon.core import download
from veo_addon.core.client import HighwayClient


class RecordingFile:
    """A file that notes every truncate() and otherwise behaves as the file it wraps."""

    def __init__(self, file: Any, truncations: list[int | None]) -> None:
        self._file = file
        self._truncations = truncations

    def truncate(self, size: int | None = None) -> int:
        self._truncations.append(size)
        return self._file.truncate(size)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)

    def __enter__(self) -> RecordingFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._file.close()


@pytest.fixture
def file_opens(monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], list[int | None]]:
    """(the modes the download opened its .part file with, the sizes it truncated it to)."""
    modes: list[str] = []
    truncations: list[int | None] = []

    def recording_open(path: Any, mode: str = "r", *args: Any, **kwargs: Any) -> RecordingFile:
        modes.append(mode)
        return RecordingFile(open(path, mode, *args, **kwargs), truncations)

    monkeypatch.setattr(download, "open", recording_open, raising=False)
    return modes, truncations


def test_a_clean_download_never_truncates_its_partial_file(
    client: HighwayClient,  # noqa: F811
    tmp_path: Path,
    file_opens: tuple[list[str], list[int | None]],
) -> None:
    modes, truncations = file_opens
    _, url = finished_video_url(client)
    clip = client.download(url, tmp_path / "clip.mp4")
    assert clip.read_bytes()[4:8] == b"ftyp"
    assert modes and not any("w" in mode for mode in modes), modes  # "wb" truncates on open
    assert truncations == []


def test_a_host_that_ignores_range_after_a_break_gives_the_whole_file(
    client: HighwayClient,  # noqa: F811
    highway,  # type: ignore[no-untyped-def]
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, url = finished_video_url(client)
    whole = client.download(url, tmp_path / "whole.mp4").read_bytes()
    serve = highway.download
    # The resume asks for the rest; this host answers 200 with the whole file from byte 0.
    monkeypatch.setattr(highway, "download", lambda token, name, range_header: serve(token, name, None))
    highway.faults.add("download", nth=highway.request_counts["download"] + 1, kind="truncate")
    resumed = client.download(url, tmp_path / "resumed.mp4").read_bytes()
    assert resumed == whole
    assert not list(tmp_path.glob("*.part"))


def test_a_restart_drops_bytes_past_the_new_start(tmp_path: Path) -> None:
    # A partial file longer than where the next attempt writes from: the tail must go, or the
    # clip would end in bytes of an earlier, abandoned transfer.
    partial = tmp_path / "clip.mp4.1-0.part"
    partial.write_bytes(b"0123456789")

    class Answer:
        status_code = 200

        def __init__(self) -> None:
            self.headers = {"Content-Length": "4"}

        def iter_bytes(self) -> list[bytes]:
            return [b"abcd"]

        def __enter__(self) -> Answer:
            return self

        def __exit__(self, *exc_info: object) -> None:
            pass

    class Files:
        def stream(self, method: str, url: str, headers: dict[str, str]) -> Answer:
            return Answer()

    outcome = download._download_once(
        Files(),  # type: ignore[arg-type]
        "http://127.0.0.1/clip.mp4",
        partial,
        6,
        None,
        "the clip",
        "",
        threading.Event(),
    )
    assert outcome == (4, 4)
    assert partial.read_bytes() == b"abcd"
