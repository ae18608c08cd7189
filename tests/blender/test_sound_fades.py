"""The generated sound fades in and out over a few frames (no click against the neighbours), and
when the neighbours' sound is on channels below, the job says which channel the new sound took."""

from __future__ import annotations

from pathlib import Path

import bpy
import pytest

from tests.blender.test_seams import GENERATE
from tests.blender.vse_helpers import BLUE, RED, solid
from veo_addon.blender import compat, jobstore
from veo_addon.blender.preferences import DEFAULT_SOUND_FADE_FRAMES
from veo_addon.blender.provenance import PROP_SOUND_CHANNEL
from veo_addon.blender.sound_fades import add_fades, sound_channel_note

HAS_AUDIO = bpy.app.version >= (5, 0, 0)  # the 4.2 wheel is built without Audaspace
needs_audio = pytest.mark.skipif(not HAS_AUDIO, reason="the 4.2 bpy wheel is built without audio (Audaspace)")


def volume_at(scene: bpy.types.Scene, strip_name: str, frame: int) -> float:
    scene.frame_set(frame)
    return compat.strip_collection(scene.sequence_editor)[strip_name].volume


def shots_with_music(timeline, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """24 fps: shots 1-50 and 147-196 on channel 1 around a 96-frame gap (a 4 s clip plays in real
    time, so it keeps its sound); a music bed on channel 2 under all of it."""
    scene = timeline.scene
    scene.render.fps, scene.render.fps_base = 24, 1.0
    timeline.color("Left", 1, 1, 50, RED)
    timeline.color("Right", 1, 147, 50, BLUE)
    music = timeline.clip("music", solid(RED), solid(RED), seconds=200 / 24, with_audio=True)
    strip = timeline.strips.new_sound(name="Music", filepath=str(music), channel=2, frame_start=1)
    compat.set_visible_duration(strip, 196)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))


@needs_audio
def test_the_generated_sound_fades_in_and_out_and_its_channel_is_named(veo, timeline, tmp_path):
    shots_with_music(timeline, tmp_path)
    result = bpy.ops.veo.generate_transition(
        left_strip="Left", right_strip="Right", generate_audio=True, **GENERATE
    )
    assert result == {"FINISHED"}
    scene = timeline.scene
    [sound] = [s for s in compat.top_level_strips(scene) if s.type == "SOUND" and "veo_role" in s]
    [clip] = [s for s in compat.top_level_strips(scene) if s.type == "MOVIE"]
    start, end, fade = compat.visible_start(sound), compat.visible_end(sound), DEFAULT_SOUND_FADE_FRAMES
    assert (start, end) == (51, 147)
    assert volume_at(scene, sound.name, start) == pytest.approx(0.0)
    assert volume_at(scene, sound.name, start + fade) == pytest.approx(1.0)
    assert volume_at(scene, sound.name, (start + end) // 2) == pytest.approx(1.0)
    assert volume_at(scene, sound.name, end - fade) == pytest.approx(1.0)
    # Smooth (Blender's default easing between keyframes), falling all the way.
    falling = [volume_at(scene, sound.name, frame) for frame in range(end - fade, end + 1)]
    assert (
        falling == sorted(falling, reverse=True) and 0 < falling[-2] < 1 and falling[-1] == pytest.approx(0.0)
    )
    # The music bed is left alone.
    assert volume_at(scene, "Music", start) == pytest.approx(1.0)
    assert sound.channel == 3 and clip[PROP_SOUND_CHANNEL] == 3
    [job] = jobstore.scene_jobs(scene)
    assert "Its sound went to channel 3, above the neighbours' sound on channel 2." in job.message


@needs_audio
def test_a_fade_never_runs_past_the_middle_of_a_short_sound(timeline):
    music = timeline.clip("short", solid(RED), solid(RED), seconds=5 / 24, with_audio=True)
    strip = timeline.strips.new_sound(name="Short", filepath=str(music), channel=1, frame_start=1)
    compat.set_visible_duration(strip, 4)
    assert add_fades(strip, 10) == 2
    assert volume_at(timeline.scene, "Short", 3) == pytest.approx(1.0)


def test_the_channel_is_named_only_when_the_neighbours_sound_is_below():
    assert (
        sound_channel_note(3, [2]) == "Its sound went to channel 3, above the neighbours' sound on channel 2."
    )
    assert sound_channel_note(3, [1, 2]).endswith("on channels 1, 2.")
    assert sound_channel_note(2, [2, 4]) == ""
    assert sound_channel_note(2, []) == ""
