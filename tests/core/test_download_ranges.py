"""A resumed download trusts only the bytes the host says it sent: a 206 from another offset than
the one asked is never written at the wrong place (the download starts over from byte 0), and a
206 shorter than the rest of the file is not taken for its end (Content-Range gives the size)."""

from __future__ import annotations

from pathlib import Path

import pytest

from localserver import LocalHighway
from tests.core.test_client import client, finished_video_url  # noqa: F401  (the fixture)
from veo_addon.core.client import HighwayClient
from veo_addon.core.errors import NetworkError


def whole_clip(client: HighwayClient, url: str, tmp_path: Path) -> bytes:  # noqa: F811
    return client.download(url, tmp_path / "whole.mp4").read_bytes()


def test_a_resume_answered_from_another_offset_starts_over_and_gives_the_clip(
    client: HighwayClient,  # noqa: F811
    highway: LocalHighway,
    tmp_path: Path,
) -> None:
    task_id, url = finished_video_url(client)
    whole = whole_clip(client, url, tmp_path)
    first = highway.request_counts["download"] + 1
    highway.faults.add("download", nth=first, kind="truncate")
    # The resume asks for bytes from the middle on; the host sends them from a quarter on.
    misplaced = highway.faults.add("download", nth=first + 1, kind="other_range")

    clip = client.download(url, tmp_path / "clip.mp4", task_id=task_id)

    assert misplaced.hits == 1
    assert clip.read_bytes() == whole
    assert highway.request_counts["download"] == first + 2  # the restart asked for the whole file
    assert not list(tmp_path.glob("*.part"))


@pytest.mark.parametrize("start", ["asked", 0], ids=["from-the-asked-offset", "from-byte-0"])
def test_a_206_shorter_than_the_rest_is_resumed_not_taken_for_the_end(
    client: HighwayClient,  # noqa: F811
    highway: LocalHighway,
    tmp_path: Path,
    start: str | int,
) -> None:
    # A host that caps each answer: Content-Length is only this part; Content-Range gives the size.
    task_id, url = finished_video_url(client)
    whole = whole_clip(client, url, tmp_path)
    first = highway.request_counts["download"] + 1
    highway.faults.add("download", nth=first, kind="truncate", bytes=1000)
    capped = highway.faults.add(
        "download", nth=first + 1, kind="other_range", start=1000 if start == "asked" else 0, bytes=500
    )

    clip = client.download(url, tmp_path / "clip.mp4", task_id=task_id)

    assert capped.hits == 1
    assert clip.read_bytes() == whole
    assert not list(tmp_path.glob("*.part"))


def test_a_host_that_never_sends_the_asked_bytes_fails_in_one_sentence(
    client: HighwayClient,  # noqa: F811
    highway: LocalHighway,
    tmp_path: Path,
) -> None:
    task_id, url = finished_video_url(client)
    highway.faults.add("download", kind="other_range")  # every answer starts at another byte
    folder = tmp_path / "clips"

    with pytest.raises(NetworkError) as caught:
        client.download(url, folder / "clip.mp4", task_id=task_id)

    message = str(caught.value)
    assert "\n" not in message
    assert task_id in message and "from byte 1" in message, message
    assert list(folder.iterdir()) == []
