"""Effects a caller can see coming: reading the settings changes nothing, a job launch applies the
request rate, and the blocking path prints its progress without taking over the line listener."""

from __future__ import annotations

from pathlib import Path

import bpy
import pytest

from tests.blender.vse_helpers import BLUE, RED, TimelineBuilder
from veo_addon.blender.jobmanager import manager
from veo_addon.blender.preferences import service_settings
from veo_addon.core.ratelimit import shared_rate_limiter

GENERATE = {"left_strip": "Left", "right_strip": "Right", "prompt": "red to blue", "duration": "4", "seed": 9}


def two_shots(timeline: TimelineBuilder, tmp_path: Path) -> None:
    timeline.scene.render.fps = 25
    timeline.color("Left", 1, 1, 50, RED)
    timeline.color("Right", 1, 101, 50, BLUE)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))


def test_reading_the_settings_leaves_the_request_rate_alone_until_a_job_starts(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    limiter = shared_rate_limiter()
    monkeypatch.setattr(limiter, "requests_per_minute", 7)
    settings = service_settings()
    assert limiter.requests_per_minute == 7
    assert (
        settings.client_settings.requests_per_minute == 100000
    )  # VEO_REQUESTS_PER_MINUTE, set by the fixture

    two_shots(timeline, tmp_path)
    assert bpy.ops.veo.generate_transition(**GENERATE) == {"FINISHED"}
    assert limiter.requests_per_minute == 100000


def test_the_blocking_path_prints_progress_and_gives_the_listener_back(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    heard: list[str] = []

    def listener(line: str) -> None:
        heard.append(line)

    two_shots(timeline, tmp_path)
    previous, manager.on_line = manager.on_line, listener
    try:
        assert bpy.ops.veo.generate_transition(**GENERATE) == {"FINISHED"}
        assert manager.on_line is listener
    finally:
        manager.on_line = previous
    assert "inserted" in capfd.readouterr().out
    assert heard == []  # while blocking, the lines went to stdout only
