"""A download's temporary file carries its process id: the next download of the same clip removes
those whose process died (Blender killed mid-download), never one a live process is writing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.core.test_client import client, finished_video_url  # noqa: F401  (the fixture)
from veo_addon.core.client import HighwayClient


def dead_process_id() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_partials_of_dead_processes_go_and_live_ones_stay(client: HighwayClient, tmp_path: Path) -> None:  # noqa: F811
    _, url = finished_video_url(client)
    dest = tmp_path / "clip.mp4"
    abandoned = tmp_path / f"clip.mp4.{dead_process_id()}-0123456789ab.part"
    live = tmp_path / f"clip.mp4.{os.getppid()}-0123456789ab.part"  # pytest's parent is alive
    other_clip = tmp_path / f"other.mp4.{dead_process_id()}-0123456789ab.part"
    for path in (abandoned, live, other_clip):
        path.write_bytes(b"half a clip")

    client.download(url, dest)

    assert dest.is_file()
    assert not abandoned.exists()
    assert live.exists() and other_clip.exists()
    assert sorted(path.name for path in tmp_path.glob("clip.mp4.*.part")) == [live.name]
