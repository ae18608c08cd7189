"""Scene strips as neighbours, an edit the happy path never builds.

A scene strip renders its scene through a camera. With no camera the keyframe is black, and
with its scene deleted it is Blender's magenta missing-media picture: either would be sent and
paid for. Both are refused before capture with one sentence naming the strip (and the scene);
a camera-less scene strip over a picture that shows through is not refused.
"""

from __future__ import annotations

from pathlib import Path

import bpy
import pytest

from tests.blender.vse_helpers import BLUE, RED, TimelineBuilder, assert_colour, load_png, timeline_snapshot
from veo_addon.blender import capture, compat

GENERATE = {"prompt": "the title card dissolves into the blue room", "duration": "4", "seed": 42}


def scene_strip_then_gap(timeline: TimelineBuilder, tmp_path: Path) -> bpy.types.Strip:
    """'Title' shows scene 'Title Card' (no camera) at 1-50; a gap; Right 101-150 at 25 fps."""
    timeline.scene.render.fps = 25
    card = bpy.data.scenes.new("Title Card")
    card.frame_start, card.frame_end = 1, 50
    title = timeline.strips.new_scene(name="Title", scene=card, channel=2, frame_start=1)
    title.blend_type = "ALPHA_OVER"
    timeline.color("Right", 1, 101, 50, BLUE)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))
    return title


def refusal(**arguments: str) -> str:
    with pytest.raises(RuntimeError) as refused:
        bpy.ops.veo.generate_transition(left_strip="Title", right_strip="Right", **GENERATE, **arguments)
    sentence = str(refused.value).strip()
    assert len(sentence.splitlines()) == 1
    return sentence


def test_a_scene_strip_whose_scene_has_no_camera_is_refused_before_paying(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    scene_strip_then_gap(timeline, tmp_path)
    before = timeline_snapshot(timeline.scene)

    sentence = refusal()

    assert "strip 'Title' shows scene 'Title Card', which has no camera" in sentence
    assert "frame 50 is black" in sentence
    assert "no camera" in refusal(first_source="strip")  # the strip alone: the same picture
    assert timeline_snapshot(timeline.scene) == before and veo.submit_count == 0


def test_a_scene_strip_whose_scene_was_deleted_is_refused_before_paying(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    title = scene_strip_then_gap(timeline, tmp_path)
    bpy.data.scenes.remove(title.scene)
    before = timeline_snapshot(timeline.scene)

    sentence = refusal()

    assert "strip 'Title' has no scene to show" in sentence and "magenta" in sentence
    assert timeline_snapshot(timeline.scene) == before and veo.submit_count == 0


def test_a_camera_less_scene_strip_over_a_picture_is_not_refused(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    scene_strip_then_gap(timeline, tmp_path)
    timeline.color("Background", 1, 1, 50, RED)  # shows through the empty scene render
    assert_colour(load_png(capture.render_frame(timeline.scene, 50)), RED)
    generated = bpy.ops.veo.generate_transition(left_strip="Title", right_strip="Right", **GENERATE)

    assert generated == {"FINISHED"}

    [clip] = [strip for strip in compat.strips_all(timeline.scene) if strip.type == "MOVIE"]
    assert (compat.visible_start(clip), compat.visible_end(clip)) == (51, 101)
    assert veo.submit_count == 1
