"""Edits a new user brings that the happy path never builds: here, shots grouped in a meta strip.

The extension fills gaps on the main timeline only. Named strips inside a meta strip, or the
Sequencer showing a meta strip's inside (Tab), must be refused with one sentence naming the
meta strip, before anything is captured, changed or paid.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import bpy
import pytest

from tests.blender.vse_helpers import BLUE, RED, TimelineBuilder, timeline_snapshot
from veo_addon.blender import compat
from veo_addon.blender.ui.readiness import readiness

GENERATE = {"prompt": "the red room dissolves into the blue room", "duration": "4", "seed": 42}


def sequencer_op(scene: bpy.types.Scene, operator: str) -> None:
    """A Sequencer menu command, as the user runs it (5.0 wants the sequencer scene named)."""
    with bpy.context.temp_override(sequencer_scene=scene):
        assert getattr(bpy.ops.sequencer, operator)() == {"FINISHED"}


def shots_in_a_meta(timeline: TimelineBuilder, tmp_path: Path) -> None:
    """Left 1-50 and Right 101-150 (a 2 s gap at 25 fps), grouped with Ctrl+G into one meta."""
    scene = timeline.scene
    scene.render.fps = 25
    for strip in (timeline.color("Left", 1, 1, 50, RED), timeline.color("Right", 1, 101, 50, BLUE)):
        strip.select = True
    sequencer_op(scene, "meta_make")
    [meta] = compat.top_level_strips(scene)
    meta.name = "Scene 3"
    scene.frame_current = 75
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))


def panel_sentence(scene: bpy.types.Scene) -> str:
    return readiness(SimpleNamespace(scene=scene, preferences=bpy.context.preferences)).reason


def test_strips_named_inside_a_meta_strip_are_refused_naming_the_meta(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    shots_in_a_meta(timeline, tmp_path)
    before = timeline_snapshot(timeline.scene)

    with pytest.raises(RuntimeError) as refused:
        bpy.ops.veo.generate_transition(left_strip="Left", right_strip="Right", **GENERATE)

    sentence = str(refused.value).strip()
    assert "'Left' is inside meta strip 'Scene 3'" in sentence and "UnMeta" in sentence
    assert len(sentence.splitlines()) == 1
    assert timeline_snapshot(timeline.scene) == before and veo.submit_count == 0


def test_inside_an_open_meta_strip_the_panel_and_the_operator_say_so(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    shots_in_a_meta(timeline, tmp_path)
    sequencer_op(timeline.scene, "meta_toggle")  # Tab: the editor now shows Left and Right
    for strip in compat.strips_all(timeline.scene):
        strip.select = strip.name in ("Left", "Right")
    before = timeline_snapshot(timeline.scene)

    with pytest.raises(RuntimeError) as refused:
        bpy.ops.veo.generate_transition(**GENERATE)

    sentence = str(refused.value).strip()
    assert "inside of meta strip 'Scene 3'" in sentence and "Tab" in sentence
    panel = panel_sentence(timeline.scene)
    assert panel and panel in sentence  # the Veo tab shows the same sentence before any click
    assert timeline_snapshot(timeline.scene) == before and veo.submit_count == 0


def test_after_ungrouping_the_meta_strip_the_gap_is_filled(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    shots_in_a_meta(timeline, tmp_path)
    sequencer_op(timeline.scene, "meta_separate")  # what the refusal tells the user to do
    for strip in compat.strips_all(timeline.scene):
        strip.select = False

    assert panel_sentence(timeline.scene) == ""
    assert bpy.ops.veo.generate_transition(**GENERATE) == {"FINISHED"}

    [clip] = [strip for strip in compat.strips_all(timeline.scene) if strip.type == "MOVIE"]
    assert (compat.visible_start(clip), compat.visible_end(clip)) == (51, 101)
    assert veo.submit_count == 1


def test_a_meta_strip_on_the_main_timeline_can_be_a_neighbour(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    scene = timeline.scene
    scene.render.fps = 25
    timeline.color("Left", 1, 1, 50, RED).select = True
    sequencer_op(scene, "meta_make")  # the left shot, grouped: "Scene 1"
    [meta] = compat.top_level_strips(scene)
    meta.name, meta.select = "Scene 1", False
    timeline.color("Right", 1, 101, 50, BLUE)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))

    assert bpy.ops.veo.generate_transition(left_strip="Scene 1", right_strip="Right", **GENERATE) == {
        "FINISHED"
    }

    [clip] = [strip for strip in compat.strips_all(scene) if strip.type == "MOVIE"]
    assert (compat.visible_start(clip), compat.visible_end(clip)) == (51, 101)
    assert veo.submit_count == 1
