"""Known before paying: gaps no clip fills sensibly, and insertions that could not succeed, are
refused before anything is captured or sent; "fill all gaps" lists what it skips and the cost.
Against the local server, in real Blender (background mode)."""

from __future__ import annotations

from pathlib import Path

import bpy
import pytest

from tests.blender.test_jobs_blender import jobs_in_scene, movie_strips, save
from tests.blender.vse_helpers import BLUE, GREEN, RED, TimelineBuilder, timeline_snapshot
from veo_addon.blender import compat, generation, jobmanager, operators
from veo_addon.blender.gaps import choose_transition
from veo_addon.blender.generation_options import GenerationOptions
from veo_addon.blender.preferences import service_settings
from veo_addon.core.job import JobState

GENERATE = {"prompt": "the red room dissolves into the blue room", "seed": 42}


def shots(timeline: TimelineBuilder, right_start: int, left_channel: int = 1) -> None:
    """Red frames 1-50 and blue from `right_start` on `left_channel`, at 25 fps."""
    timeline.scene.render.fps = 25
    timeline.color("Left", left_channel, 1, 50, RED)
    timeline.color("Right", left_channel, right_start, 50, BLUE)


@pytest.fixture
def no_capture(monkeypatch):
    """A refusal must come before the keyframes are rendered."""

    def capture(*args, **kwargs):
        raise AssertionError("the keyframes were captured although the request is refused")

    monkeypatch.setattr(generation, "capture_transition_keyframes", capture)


def assert_refused(veo, timeline, message: str, **arguments) -> None:
    before = timeline_snapshot(timeline.scene)
    # bpy.ops raises the operator's error report, prefixed "Error: ".
    pattern = "^Error: " + message[1:] if message.startswith("^") else message
    with pytest.raises(RuntimeError, match=pattern):
        bpy.ops.veo.generate_transition(left_strip="Left", right_strip="Right", **{**GENERATE, **arguments})
    assert timeline_snapshot(timeline.scene) == before
    assert veo.request_counts["submit"] == 0
    assert jobs_in_scene() == []


def test_a_one_frame_gap_is_refused_before_paying(veo, timeline, no_capture) -> None:  # type: ignore[no-untyped-def]
    shots(timeline, 52)
    assert_refused(
        veo,
        timeline,
        r"^The gap at frames 51–51 \(1 frame, 0\.04 s\) is shorter than the minimum of 0\.5 s: "
        r"the 4 s clip would be squeezed 100x",
    )


def test_the_minimum_gap_is_an_operator_property(veo, timeline: TimelineBuilder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    shots(timeline, 56)  # a 5-frame gap: 0.2 s
    save(tmp_path / "edit.blend")
    with pytest.raises(RuntimeError, match=r"is shorter than the minimum of 0\.3 s"):
        bpy.ops.veo.generate_transition(
            left_strip="Left", right_strip="Right", min_gap_seconds=0.3, **GENERATE
        )
    assert veo.request_counts["submit"] == 0
    result = bpy.ops.veo.generate_transition(
        left_strip="Left", right_strip="Right", min_gap_seconds=0.1, **GENERATE
    )
    assert result == {"FINISHED"}
    [clip] = movie_strips(timeline.scene)
    assert (clip.frame_final_start, clip.frame_final_end) == (51, 56)


def test_a_thirty_second_gap_is_refused_before_paying(veo, timeline, no_capture) -> None:  # type: ignore[no-untyped-def]
    shots(timeline, 801)  # 750 frames: 30 s at 25 fps
    assert_refused(
        veo,
        timeline,
        r"^The gap at frames 51–800 \(750 frames, 30\.00 s\) would slow the 8 s clip down 3\.75x, "
        r"more than the maximum stretch of 2x",
        duration="auto",
    )
    assert_refused(veo, timeline, r"more than the maximum stretch of 3x", max_stretch=3.0)


def test_no_free_channel_is_found_before_paying(veo, timeline, no_capture) -> None:  # type: ignore[no-untyped-def]
    shots(timeline, 101, left_channel=126)
    timeline.lock_channel(126)
    timeline.lock_channel(127)
    timeline.color("Busy", 128, 40, 80, GREEN)
    # The clip and its speed effect (96 frames into 100) need two channels.
    assert_refused(
        veo,
        timeline,
        r"^No free unlocked channel at or above channel 126 for frames 51–100: 2 needed, 0 free$",
    )


def test_every_sample_is_counted_before_paying(veo, timeline, no_capture) -> None:  # type: ignore[no-untyped-def]
    shots(timeline, 151, left_channel=124)  # 4 s at 25 fps: real time, so the sound is kept
    assert_refused(
        veo,
        timeline,
        r"^No free unlocked channel at or above channel 124 for frames 51–150: 6 needed, 5 free$",
        sample_count=2,
        generate_audio=True,
    )


def test_make_room_over_a_locked_strip_is_refused_before_paying(veo, timeline, no_capture) -> None:  # type: ignore[no-untyped-def]
    shots(timeline, 51)
    timeline.color("Locked", 3, 90, 20, GREEN).lock = True
    assert_refused(
        veo,
        timeline,
        r"^Cannot make room: strip 'Locked' \(channel 3, frames 90–109\) is locked$",
        make_room=True,
    )


def test_the_summary_of_a_make_room_job_shows_the_frames_it_filled(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    shots(timeline, 51)
    save(tmp_path / "edit.blend")
    assert bpy.ops.veo.generate_transition(
        left_strip="Left", right_strip="Right", make_room=True, **GENERATE
    ) == {"FINISHED"}
    [job] = jobs_in_scene()
    line = operators.summary_line(job)
    assert line.startswith(f"[veo] INSERTED job {job.job_id[:8]} ({job.task_id}) frames 51-150: "), line


def test_fill_gaps_lists_what_it_skips_and_the_cost_before_it_starts(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path, capfd
) -> None:
    timeline.scene.render.fps = 25
    timeline.color("A", 1, 1, 50, RED)
    timeline.color("B", 1, 52, 20, GREEN)  # 1-frame gap at 51
    timeline.color("C", 1, 102, 20, BLUE)  # 30-frame gap, 72-101: fine
    timeline.color("D", 1, 650, 20, RED)  # 528 frames, 21 s: too long for an 8 s clip
    save(tmp_path / "edit.blend")

    assert bpy.ops.veo.fill_gaps(prompt="a dissolve") == {"FINISHED"}

    out = capfd.readouterr().out
    skip_short = (
        "Skipping the gap at frames 51–51 (1 frame, 0.04 s) between 'A' and 'B': it is shorter than the "
        "minimum of 0.5 s"
    )
    skip_long = "Skipping the gap at frames 122–649 (528 frames, 21.12 s) between 'C' and 'D': it would slow"
    cost = (
        "Filling 1 of 3 gaps: about USD 0.80 in all (estimate at list price: (4 s) × 1 sample × USD 0.20/s)"
    )
    for expected in (skip_short, skip_long, cost):
        assert expected in out, out
    assert out.index(cost) < out.index("[veo] INSERTED job")
    assert veo.request_counts["submit"] == 1
    assert [(s.frame_final_start, s.frame_final_end) for s in movie_strips(timeline.scene)] == [(72, 102)]


def test_fill_gaps_with_every_gap_skipped_pays_nothing_and_says_so(veo, timeline, no_capture) -> None:  # type: ignore[no-untyped-def]
    timeline.scene.render.fps = 25
    timeline.color("A", 1, 1, 50, RED)
    timeline.color("B", 1, 52, 20, GREEN)
    timeline.color("C", 1, 102, 20, BLUE)
    before = timeline_snapshot(timeline.scene)
    with pytest.raises(
        RuntimeError, match=r"Every one of the 2 gaps was skipped; nothing was sent and nothing is paid for"
    ):
        bpy.ops.veo.fill_gaps(prompt="a dissolve", min_gap_seconds=2.0)
    assert veo.request_counts["submit"] == 0
    assert jobs_in_scene() == []
    assert timeline_snapshot(timeline.scene) == before


def test_sound_that_would_be_left_out_is_not_paid_for(veo, timeline, no_capture) -> None:  # type: ignore[no-untyped-def]
    shots(timeline, 101)  # 50 frames: the 4 s clip plays at 2x, and sound cannot follow it
    assert_refused(
        veo,
        timeline,
        r"^The 4 s clip plays at 2\.00x speed to fill frames 51–100, and its sound cannot follow a retimed "
        r"picture: turn off Generate Audio \(sound costs twice as much\), or use \"Trim\"",
        generate_audio=True,
    )


def test_a_retimed_job_says_its_sound_was_left_out(veo, timeline: TimelineBuilder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The same rule at insertion time: a clip with sound that arrives for a retimed gap (here
    the scene's rate doubled while it was generated) goes in silent and the job says why."""
    veo.gen_seconds = 1
    shots(timeline, 151)  # 100 frames: real time, so the sound is wanted
    save(tmp_path / "edit.blend")
    job = jobmanager.manager.start(
        generation.plan_generation(
            timeline.scene,
            choose_transition(timeline.scene, "Left", "Right"),
            GenerationOptions(prompt="p", duration="4", seed=1, generate_audio=True),
            service_settings(),
        )
    )
    timeline.scene.render.fps = 50  # the same 100 frames now last 2 s: the 4 s clip plays at 2x
    [done] = jobmanager.manager.wait_for([job.job_id])
    assert done.state is JobState.INSERTED, done.message
    assert "The clip's sound was left out: the picture is retimed to" in done.message
    assert [s.type for s in compat.top_level_strips(timeline.scene)].count("SOUND") == 0
