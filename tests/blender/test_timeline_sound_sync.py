"""The clip's sound never drifts from its picture: a picture retimed to fill the gap goes in silent,
with a warning; a picture that plays in real time keeps its sound, as long as the picture."""

from __future__ import annotations

import bpy
import pytest

from tests.blender.test_timeline_insert import PROVENANCE, build_gap
from veo_addon.blender import compat
from veo_addon.blender.insert import insert_clip

HAS_AUDIO = bpy.app.version >= (5, 0, 0)  # the 4.2 wheel is built without Audaspace


@pytest.mark.parametrize(("rate", "gap_frames"), [("25", 60), ("24", 150), ("23.976", 70)])
def test_a_retimed_picture_goes_in_without_its_sound_and_says_so(scene, timeline, rate, gap_frames):
    gap = build_gap(scene, timeline, rate, gap_frames)
    inserted = insert_clip(scene, gap.transition, [gap.clip(with_audio=True)], PROVENANCE, fit_mode="STRETCH")
    assert inserted.live.speed_name is not None  # the picture is retimed
    assert inserted.live.sound_name is None
    assert [s.type for s in compat.top_level_strips(scene)].count("SOUND") == 0
    assert len(bpy.data.sounds) == 0
    [warning] = inserted.warnings
    assert warning.startswith("The clip's sound was left out: the picture is retimed to ")
    assert "out of sync" in warning


@pytest.mark.skipif(not HAS_AUDIO, reason="the 4.2 bpy wheel is built without audio (Audaspace)")
@pytest.mark.parametrize(("rate", "gap_frames", "fit_mode"), [("25", 100, "STRETCH"), ("30", 60, "TRIM")])
def test_a_picture_in_real_time_keeps_its_sound_for_as_long_as_it_plays(
    scene, timeline, rate, gap_frames, fit_mode
):
    gap = build_gap(scene, timeline, rate, gap_frames)
    inserted = insert_clip(scene, gap.transition, [gap.clip(with_audio=True)], PROVENANCE, fit_mode=fit_mode)
    assert inserted.live.plan.playback_rate == pytest.approx(1.0)
    sound = timeline.strips[inserted.live.sound_name]
    movie = timeline.strips[inserted.live.clip_name]
    assert (compat.visible_start(sound), compat.visible_end(sound)) == (
        compat.visible_start(movie),
        compat.visible_end(movie),
    )
    # Real-time sound covers exactly the frames of real-time picture.
    assert compat.visible_duration(sound) == gap_frames
    assert not inserted.warnings
