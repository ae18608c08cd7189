"""A failed job's placeholder on awkward edits: 23.976 fps with a one-frame gap beside it, a
locked channel under it, missing media around it."""

from __future__ import annotations

from pathlib import Path

import bpy
import pytest

from tests.blender.test_failed_placeholder_gaps import playhead_alone_at
from tests.blender.test_jobs_blender import GENERATE, movie_strips, save, start_job, two_shots
from tests.blender.test_placeholder import frames, placeholders
from tests.blender.vse_helpers import BLUE, GREEN, RED, TimelineBuilder, set_frame_rate, timeline_snapshot
from veo_addon.blender import compat
from veo_addon.blender.jobmanager import manager
from veo_addon.core.job import JobState


def fail_a_job_in_the_gap(veo) -> None:  # type: ignore[no-untyped-def]
    veo.faults.add("result", kind="unknown_status")
    [failed] = manager.wait_for([start_job(bpy.context.scene).job_id])
    assert failed.state is JobState.FAILED and not failed.can_resume
    veo.faults.clear()


def test_at_23_976_fps_a_one_frame_hole_beside_a_shortened_failed_placeholder_is_the_whole_gap(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    set_frame_rate(timeline.scene, "23.976")
    timeline.color("Left", 1, 1, 48, RED)
    timeline.color("Right", 1, 97, 48, BLUE)  # the gap: 49-96
    timeline.color("Third", 1, 146, 48, GREEN)  # a one-frame gap at 145
    save(tmp_path / "edit.blend")
    fail_a_job_in_the_gap(veo)
    [failed] = placeholders(timeline.scene)
    compat.set_visible_duration(failed, 47)  # the editor trimmed it: frame 96 shows nothing

    assert bpy.ops.veo.fill_gaps(prompt="a dissolve", duration="4") == {"FINISHED"}

    said = capsys.readouterr().out
    assert "Skipping the gap at frames 145–145" in said, said
    assert veo.submit_count == 2
    assert placeholders(timeline.scene) == []
    assert [frames(clip) for clip in movie_strips(timeline.scene)] == [(49, 97)]


def test_a_failed_placeholder_on_a_locked_channel_gives_way_and_the_clip_goes_above_the_lock(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    """The channel is locked for the shots on it (the placeholder sits beside them): the failed
    placeholder goes, as a landing clip's own placeholder does, and the clip takes a free channel."""
    two_shots(timeline)
    save(tmp_path / "edit.blend")
    fail_a_job_in_the_gap(veo)
    [failed] = placeholders(timeline.scene)
    assert failed.channel == 1
    timeline.lock_channel(1)

    assert bpy.ops.veo.fill_gaps(prompt="a dissolve", duration="4") == {"FINISHED"}

    assert veo.submit_count == 2 and placeholders(timeline.scene) == []
    [clip] = movie_strips(timeline.scene)
    assert frames(clip) == (51, 101) and clip.channel == 2


def test_a_failed_placeholder_the_editor_locked_gives_way_too(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    two_shots(timeline)
    save(tmp_path / "edit.blend")
    fail_a_job_in_the_gap(veo)
    [failed] = placeholders(timeline.scene)
    failed.lock = True

    assert bpy.ops.veo.fill_gaps(prompt="a dissolve", duration="4") == {"FINISHED"}

    assert veo.submit_count == 2 and placeholders(timeline.scene) == []
    [clip] = movie_strips(timeline.scene)
    assert frames(clip) == (51, 101)


def test_missing_media_beside_a_failed_placeholder_is_refused_and_the_placeholder_stays(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    timeline.scene.render.fps = 25
    left = timeline.image("Left", 1, 1, 50, RED)
    timeline.color("Right", 1, 101, 50, BLUE)
    save(tmp_path / "edit.blend")
    fail_a_job_in_the_gap(veo)
    (Path(bpy.path.abspath(left.directory)) / left.elements[0].filename).unlink()
    before = timeline_snapshot(timeline.scene)
    playhead_alone_at(timeline.scene, 70)

    with pytest.raises(RuntimeError, match="'Left' shows missing media"):
        bpy.ops.veo.generate_transition(**GENERATE)

    assert veo.submit_count == 1
    assert timeline_snapshot(timeline.scene) == before
    [kept] = placeholders(timeline.scene)
    assert kept.name.startswith("Veo failed")
