"""Each version path of compat.py that can run here (4.2 and 5.0 for real; 5.1 through stand-ins)."""

from __future__ import annotations

from types import SimpleNamespace

import bpy
import pytest

from tests.blender.vse_helpers import RED
from veo_addon.blender import compat

IS_5 = bpy.app.version >= (5, 0, 0)


def test_strip_collection_is_the_one_this_version_has(scene, timeline):
    editor = scene.sequence_editor
    collection = compat.strip_collection(editor)
    if IS_5:
        assert collection == editor.strips
        assert not hasattr(editor, "sequences")
    else:
        assert collection == editor.sequences
        assert not hasattr(editor, "strips")
    timeline.color("A", 1, 1, 10, RED)
    assert [strip.name for strip in compat.top_level_strips(scene)] == ["A"]


def test_strip_collection_stand_ins_for_each_version():
    only_old = SimpleNamespace(sequences=["old"])
    both = SimpleNamespace(sequences=["old"], strips=["new"])  # 4.4 and 4.5
    only_new = SimpleNamespace(strips=["new"])
    assert compat.strip_collection(only_old) == ["old"]
    assert compat.strip_collection(both) == ["new"]
    assert compat.strip_collection(only_new) == ["new"]


def test_strips_all_reaches_into_metas(scene, timeline):
    inner = timeline.color("inner", 1, 1, 10, RED)
    timeline.color("outer", 2, 20, 10, RED)
    meta = compat.strip_collection(scene.sequence_editor).new_meta(name="meta", channel=3, frame_start=1)
    inner.move_to_meta(meta)
    assert {strip.name for strip in compat.top_level_strips(scene)} == {"outer", "meta"}
    assert {strip.name for strip in compat.strips_all(scene)} == {"outer", "meta", "inner"}


def test_no_sequence_editor_means_no_strips():
    scene = bpy.data.scenes.new("bare")
    try:
        assert compat.top_level_strips(scene) == []
        assert compat.strips_all(scene) == []
        assert compat.sequence_editor(scene) is None
        assert compat.sequence_editor(scene, create=True) is not None
    finally:
        bpy.data.scenes.remove(scene)


def test_new_effect_uses_this_versions_keywords(scene):
    collection = compat.strip_collection(scene.sequence_editor)
    parameters = set(collection.bl_rna.functions["new_effect"].parameters.keys())
    assert ("length" in parameters) == IS_5
    assert ("seq1" in parameters) == (not IS_5)
    colour = compat.new_effect(
        collection, name="c", effect_type="COLOR", channel=1, frame_start=11, length=40
    )
    assert (colour.frame_final_start, colour.frame_final_end) == (11, 51)
    transform = compat.new_effect(
        collection, name="t", effect_type="GAUSSIAN_BLUR", channel=2, frame_start=11, length=40, input1=colour
    )
    assert compat.effect_inputs(transform) == [colour]
    assert compat.effect_inputs(colour) == []


def test_frame_properties_on_a_real_strip(scene, timeline):
    strip = timeline.color("A", 1, 11, 40, RED)
    assert compat.visible_start(strip) == 11
    assert compat.visible_end(strip) == 51  # exclusive
    assert compat.visible_duration(strip) == 40
    compat.set_visible_duration(strip, 25)
    assert compat.visible_end(strip) == 36
    compat.move_strip(strip, 5)
    assert (compat.visible_start(strip), compat.visible_end(strip)) == (16, 41)
    assert compat.content_start(strip) == 16


def test_frame_properties_with_the_5_1_names_only():
    # 5.1 renamed the frame properties; a stand-in with only the new names takes the new path.
    strip = SimpleNamespace(
        left_handle=11, right_handle=51, duration=40, content_start=11.0, content_duration=96
    )
    assert compat.visible_start(strip) == 11
    assert compat.visible_end(strip) == 51
    assert compat.visible_duration(strip) == 40
    assert compat.content_duration(strip) == 96
    compat.set_visible_duration(strip, 30)
    assert strip.duration == 30
    compat.move_strip(strip, 4)
    assert strip.content_start == 15.0
    assert not hasattr(strip, "frame_start")


def test_frame_properties_with_the_old_names_only():
    strip = SimpleNamespace(
        frame_final_start=3, frame_final_end=9, frame_final_duration=6, frame_start=1.0, frame_duration=20
    )
    assert (compat.visible_start(strip), compat.visible_end(strip), compat.visible_duration(strip)) == (
        3,
        9,
        6,
    )
    assert compat.content_duration(strip) == 20
    compat.set_visible_duration(strip, 4)
    assert strip.frame_final_duration == 4
    compat.set_content_start(strip, 7.0)
    assert strip.frame_start == 7.0
    assert not hasattr(strip, "left_handle")


def test_image_output_set_and_restore(scene):
    settings = scene.render.image_settings
    if IS_5:
        settings.media_type = "VIDEO"
        settings.file_format = "FFMPEG"
    else:
        settings.file_format = "OPEN_EXR"
        settings.color_depth = "32"
    before = compat.image_output_state(settings)
    assert (before.media_type is not None) == IS_5
    compat.set_image_output(settings, "PNG")
    assert settings.file_format == "PNG"
    assert (settings.color_mode, settings.color_depth) == ("RGB", "8")
    if IS_5:
        assert settings.media_type == "IMAGE"
    compat.restore_image_output(settings, before)
    assert compat.image_output_state(settings) == before


@pytest.mark.parametrize("file_format", ["JPEG", "PNG"])
def test_set_image_output_formats(scene, file_format):
    compat.set_image_output(scene.render.image_settings, file_format)
    assert scene.render.image_settings.file_format == file_format
