"""The channel check before paying: a failed job's placeholder is no content, so its channel is
free for the clip that replaces it; a placeholder whose clip may still come keeps its channel.

The shots sit near the top channel, so the clip and its speed effect (two channels) fit only
if the placeholder's channel counts as free.
"""

from __future__ import annotations

from pathlib import Path

import bpy
import pytest

from tests.blender.test_failed_placeholder_awkward import fail_a_job_in_the_gap
from tests.blender.test_failed_placeholder_gaps import playhead_alone_at
from tests.blender.test_jobs_blender import GENERATE, movie_strips, save, start_job, wait_for_task_id
from tests.blender.test_placeholder import frames, placeholders
from tests.blender.vse_helpers import BLUE, RED, TimelineBuilder, set_frame_rate
from veo_addon.blender import compat
from veo_addon.blender.jobmanager import manager
from veo_addon.core.job import JobState


def shots_on_channel(timeline: TimelineBuilder, channel: int) -> None:
    """25 fps: Left 1-50 and Right 101-150 on `channel`; the 4 s clip stretched into the gap
    51-100 needs a speed effect, so two channels."""
    set_frame_rate(timeline.scene, "25")
    timeline.color("Left", channel, 1, 50, RED)
    timeline.color("Right", channel, 101, 50, BLUE)


def test_fill_all_gaps_puts_the_clip_on_the_channel_a_failed_placeholder_leaves(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    shots_on_channel(timeline, 127)
    save(tmp_path / "edit.blend")
    fail_a_job_in_the_gap(veo)
    [failed] = placeholders(timeline.scene)
    assert failed.channel == 127  # only channel 128 is free beside it

    assert bpy.ops.veo.fill_gaps(prompt="a dissolve", duration="4") == {"FINISHED"}

    assert veo.submit_count == 2
    assert placeholders(timeline.scene) == []
    [clip] = movie_strips(timeline.scene)
    assert (frames(clip), clip.channel) == ((51, 101), 127)


def test_at_23_976_fps_above_a_locked_channel_generate_replaces_a_failed_placeholder(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    """The shots' channel is locked, the failed placeholder sits above it, one channel is left."""
    set_frame_rate(timeline.scene, "23.976")
    timeline.color("Left", 126, 1, 48, RED)
    timeline.color("Right", 126, 97, 48, BLUE)  # the gap: 49-96, 2 s; the 4 s clip is stretched
    timeline.lock_channel(126)
    save(tmp_path / "edit.blend")
    fail_a_job_in_the_gap(veo)
    [failed] = placeholders(timeline.scene)
    assert (frames(failed), failed.channel) == ((49, 97), 127)
    playhead_alone_at(timeline.scene, 70)

    assert bpy.ops.veo.generate_transition(**GENERATE) == {"FINISHED"}

    assert veo.submit_count == 2
    assert placeholders(timeline.scene) == []
    [clip] = movie_strips(timeline.scene)
    assert (frames(clip), clip.channel) == ((49, 97), 127)
    speed = [s for s in compat.top_level_strips(timeline.scene) if s.type == "SPEED"]
    assert [s.channel for s in speed] == [128]


@pytest.mark.parametrize(
    "state", [JobState.PROCESSING, JobState.STOPPED, JobState.UNKNOWN_OUTCOME], ids=lambda state: state.value
)
def test_a_placeholder_whose_clip_may_still_come_keeps_its_channel(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path, state: JobState
) -> None:
    """Naming the two strips asks for the gap anyway; the held channel is still counted as taken."""
    veo.gen_seconds = 3
    shots_on_channel(timeline, 127)
    save(tmp_path / "edit.blend")
    if state is JobState.UNKNOWN_OUTCOME:
        veo.faults.add("submit", kind="reset")  # sent, no answer: it may have been billed
    holder = start_job(timeline.scene)
    if state is JobState.UNKNOWN_OUTCOME:
        [holder] = manager.wait_for([holder.job_id])
        veo.faults.clear()
    else:
        holder = wait_for_task_id(holder.job_id)
    if state is JobState.STOPPED:
        manager.stop(holder.job_id)
        [holder] = manager.wait_for([holder.job_id])
    # Running (queued or processing at the service: the local server decides which, not the test).
    assert holder.state.is_in_flight if state is JobState.PROCESSING else holder.state is state
    submits = veo.submit_count
    [held] = placeholders(timeline.scene)
    assert held.channel == 127

    refusal = r"No free unlocked channel at or above channel 127 for frames 51–100: 2 needed, 1 free"
    with pytest.raises(RuntimeError, match=refusal):
        bpy.ops.veo.generate_transition(left_strip="Left", right_strip="Right", **GENERATE)

    assert veo.submit_count == submits
    assert placeholders(timeline.scene) == [held]
