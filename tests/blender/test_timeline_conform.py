"""A 24 fps clip conformed to the NTSC rates the way editors do: frame for frame at 23.976, timed as
at 30 / 60 at 29.97 / 59.94, with no speed effect that only corrects the 0.1 %."""

from __future__ import annotations

import pytest

from tests.blender.test_timeline_insert import (
    CLIP_FRAMES,
    FRAME_TOLERANCE,
    PROVENANCE,
    render,
    shown_clip_frame,
)
from tests.blender.vse_helpers import BLUE, RED, load_png, mean_difference, solid
from veo_addon.blender import capture, compat
from veo_addon.blender.gaps import find_transition
from veo_addon.blender.insert import insert_clip
from veo_addon.core.timing import FitMode

NTSC = {"23.976": 24, "29.97": 30, "59.94": 60}


def ntsc_gap(scene, timeline, rate: str, gap_frames: int):
    scene.render.fps, scene.render.fps_base = NTSC[rate], 1.001
    left = timeline.color("left", 1, 1, 50, RED)
    right = timeline.color("right", 1, 51 + gap_frames, 30, BLUE)
    transition = find_transition(scene, left, right)
    first, last = capture.capture_transition_keyframes(scene, transition)
    return transition, load_png(first.data), load_png(last.data)


@pytest.mark.parametrize("rate", list(NTSC))
def test_auto_duration_of_a_four_second_gap_is_four_seconds(scene, timeline, rate):
    gap_frames = 4 * NTSC[rate]  # lasts 4.004 s at the NTSC rate
    transition, _, _ = ntsc_gap(scene, timeline, rate, gap_frames)
    assert transition.gap_seconds == pytest.approx(4.004)
    assert transition.gap.auto_duration_seconds("720p") == 4


@pytest.mark.parametrize("fit_mode", [FitMode.STRETCH, FitMode.TRIM])
def test_a_24_fps_clip_lands_frame_for_frame_at_23_976(scene, timeline, fit_mode):
    transition, first, last = ntsc_gap(scene, timeline, "23.976", CLIP_FRAMES)
    clip = timeline.clip("clip", first, last)
    inserted = insert_clip(scene, transition, [clip], PROVENANCE, fit_mode=fit_mode)
    assert inserted.live.speed_name is None  # no speed strip
    assert (inserted.start, inserted.end) == (51, 51 + CLIP_FRAMES)
    for frame in (51, 51 + 40, 50 + CLIP_FRAMES):
        assert shown_clip_frame(render(scene, frame), first, last) == pytest.approx(frame - 51, abs=1.0)
    assert mean_difference(render(scene, 50 + CLIP_FRAMES), last) <= FRAME_TOLERANCE


@pytest.mark.parametrize("rate", ["29.97", "59.94"])
def test_trim_at_29_97_and_59_94_is_timed_as_at_30_and_60(scene, timeline, rate):
    nominal = NTSC[rate]
    gap_frames = 2 * nominal  # two seconds of a four-second clip
    transition, first, last = ntsc_gap(scene, timeline, rate, gap_frames)
    inserted = insert_clip(
        scene, transition, [timeline.clip("clip", first, last)], PROVENANCE, fit_mode="TRIM"
    )
    speed = timeline.strips[inserted.live.speed_name]
    assert speed.speed_control == "MULTIPLY"
    assert speed.speed_factor == pytest.approx(24 / nominal, abs=1e-6)  # not 24 / 29.97
    # One second in, the clip is at its frame 24, as at the whole rate.
    assert shown_clip_frame(render(scene, 51 + nominal), first, last) == pytest.approx(24, abs=1.0)


def test_make_room_at_23_976_opens_the_clips_frame_count(scene, timeline):
    scene.render.fps, scene.render.fps_base = 24, 1.001
    left = timeline.color("left", 1, 1, 50, RED)
    right = timeline.color("right", 1, 51, 50, BLUE)
    clip = timeline.clip("clip", solid(RED), solid(BLUE), seconds=8.0)
    inserted = insert_clip(scene, find_transition(scene, left, right), [clip], PROVENANCE, make_room=True)
    assert inserted.made_room == 192
    assert inserted.live.speed_name is None
    assert compat.visible_start(right) == 51 + 192
