"""A keyframe that would show missing media (magenta) or nothing (black) is refused before anything
is rendered or sent, naming the strip and the file; what cannot show through is not held against it."""

from __future__ import annotations

from pathlib import Path

import bpy
import pytest
from PIL import Image

from tests.blender.vse_helpers import (
    BLUE,
    GREEN,
    RED,
    SMALL_SIZE,
    YELLOW,
    TimelineBuilder,
    assert_colour,
    load_png,
    solid,
    timeline_snapshot,
)
from veo_addon.blender import capture, compat, jobstore
from veo_addon.blender.capture import CaptureError, KeyframeSource, SourceKind
from veo_addon.blender.gaps import find_transition

GENERATE = {"prompt": "the red room dissolves into the blue room", "duration": "4", "seed": 42}


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The frames rendered, so a test can tell a refusal came before any render."""
    rendered: list[int] = []
    real_render = capture._render_still

    def counting(scene: bpy.types.Scene) -> None:
        rendered.append(scene.frame_current)
        real_render(scene)

    monkeypatch.setattr(capture, "_render_still", counting)
    return rendered


def gap_between(timeline: TimelineBuilder, left: object, right: object):  # type: ignore[no-untyped-def]
    return find_transition(timeline.scene, left, right)


def capture_both(timeline: TimelineBuilder, left: object, right: object, **sources: KeyframeSource):  # type: ignore[no-untyped-def]
    return capture.capture_transition_keyframes(timeline.scene, gap_between(timeline, left, right), **sources)


def refused(timeline: TimelineBuilder, left: object, right: object, **sources: KeyframeSource) -> str:
    before = timeline_snapshot(timeline.scene)
    with pytest.raises(CaptureError) as caught:
        capture_both(timeline, left, right, **sources)
    assert timeline_snapshot(timeline.scene) == before
    return str(caught.value)


def test_missing_image_of_the_left_strip(timeline, renders):
    left = timeline.image("Shot A", 1, 1, 50, RED)
    right = timeline.color("Shot B", 1, 71, 30, BLUE)
    missing = timeline.folder / "Shot A.png"
    missing.unlink()
    assert refused(timeline, left, right) == (
        f"First keyframe: strip 'Shot A' shows missing media: file '{missing}' does not exist"
    )
    assert renders == []


def test_missing_movie_of_the_right_strip_is_found_before_the_first_is_rendered(timeline, renders):
    left = timeline.color("Shot A", 1, 1, 50, RED)
    clip = timeline.clip("shot_b", solid(BLUE), solid(BLUE), seconds=1.0)
    right = timeline.movie("Shot B", 1, 71, clip)
    clip.unlink()
    message = refused(timeline, left, right)
    assert message == f"Last keyframe: strip 'Shot B' shows missing media: file '{clip}' does not exist"
    assert renders == []


def test_a_strip_source_with_a_missing_file_is_refused(timeline, renders):
    # Before: the file could not be read, so the strip was rendered alone: the magenta picture.
    left = timeline.image("Shot A", 1, 1, 50, RED)
    right = timeline.color("Shot B", 1, 71, 30, BLUE)
    (timeline.folder / "Shot A.png").unlink()
    message = refused(timeline, left, right, first=KeyframeSource(SourceKind.STRIP))
    assert message.startswith("First keyframe: strip 'Shot A' shows missing media: file '")
    assert renders == []


def test_the_image_of_that_frame_in_a_sequence(timeline):
    left = timeline.image("Shot A", 1, 1, 2, RED)
    Image.new("RGB", SMALL_SIZE, RED).save(timeline.folder / "second.png")
    left.elements.append("second.png")
    compat.set_visible_duration(left, 2)
    right = timeline.color("Shot B", 1, 20, 10, BLUE)
    (timeline.folder / "second.png").unlink()
    # Frame 2, the last before the gap, shows the second file: that is the one named.
    message = refused(timeline, left, right)
    assert message == (
        f"First keyframe: strip 'Shot A' shows missing media: "
        f"file '{timeline.folder / 'second.png'}' does not exist"
    )


def test_a_path_relative_to_the_blend_file_is_resolved(timeline, tmp_path):
    left = timeline.image("Shot A", 1, 1, 50, RED)
    right = timeline.color("Shot B", 1, 71, 30, BLUE)
    project = tmp_path / "project"
    project.mkdir()
    bpy.ops.wm.save_as_mainfile(filepath=str(project / "edit.blend"))
    left.directory = "//media/"
    message = refused(timeline, left, right)
    assert message == (
        f"First keyframe: strip 'Shot A' shows missing media: "
        f"file '{project / 'media' / 'Shot A.png'}' does not exist"
    )


def test_a_missing_overlay_above_the_neighbour_is_named(timeline):
    left = timeline.color("Shot A", 1, 1, 50, RED)
    timeline.image("Title", 2, 41, 10, GREEN)
    right = timeline.color("Shot B", 1, 71, 30, BLUE)
    (timeline.folder / "Title.png").unlink()
    assert refused(timeline, left, right).startswith("First keyframe: strip 'Title' shows missing media")


def test_missing_media_under_a_transparent_overlay_shows_through(timeline):
    left = timeline.image("Shot A", 1, 1, 50, RED)
    timeline.image("Title", 2, 41, 10, Image.new("RGBA", SMALL_SIZE, (0, 0, 0, 0)))
    right = timeline.color("Shot B", 1, 71, 30, BLUE)
    (timeline.folder / "Shot A.png").unlink()
    assert refused(timeline, left, right).startswith("First keyframe: strip 'Shot A' shows missing media")


def test_missing_media_under_an_opaque_picture_is_not_held_against_it(timeline):
    left = timeline.image("Shot A", 1, 1, 50, RED)
    timeline.image("Cover", 2, 41, 10, YELLOW)
    right = timeline.color("Shot B", 1, 71, 30, BLUE)
    (timeline.folder / "Shot A.png").unlink()
    first, _ = capture_both(timeline, left, right)
    assert_colour(load_png(first.data), YELLOW)


def test_a_strip_source_is_not_refused_for_a_missing_strip_above_it(timeline):
    left = timeline.color("Shot A", 1, 1, 50, RED)
    timeline.image("Title", 2, 41, 10, GREEN)
    right = timeline.color("Shot B", 1, 71, 30, BLUE)
    (timeline.folder / "Title.png").unlink()
    first, _ = capture_both(timeline, left, right, first=KeyframeSource(SourceKind.STRIP))
    assert_colour(load_png(first.data), RED)


def test_an_effect_names_its_missing_input(timeline):
    source = timeline.image("Plate", 1, 1, 50, RED)
    blur = compat.new_effect(
        timeline.strips,
        name="Blur",
        effect_type="GAUSSIAN_BLUR",
        channel=2,
        frame_start=1,
        length=50,
        input1=source,
    )
    right = timeline.color("Shot B", 1, 71, 30, BLUE)
    (timeline.folder / "Plate.png").unlink()
    assert refused(timeline, blur, right).startswith("First keyframe: strip 'Plate' shows missing media")


def test_a_meta_strip_names_the_strip_inside(timeline):
    inner = timeline.image("Inside", 1, 1, 50, RED)
    meta = timeline.strips.new_meta(name="Group", channel=2, frame_start=1)
    inner.move_to_meta(meta)
    right = timeline.color("Shot B", 1, 71, 30, BLUE)
    (timeline.folder / "Inside.png").unlink()
    message = refused(timeline, meta, right)
    assert message.startswith("First keyframe: strip 'Inside' shows missing media")
    message = refused(timeline, meta, right, first=KeyframeSource(SourceKind.STRIP))
    assert message.startswith("First keyframe: strip 'Inside' shows missing media")


def test_a_muted_neighbour_renders_black(timeline, renders):
    left = timeline.color("Shot A", 1, 1, 50, RED)
    right = timeline.color("Shot B", 1, 71, 30, BLUE)
    left.mute = True
    assert refused(timeline, left, right) == (
        "First keyframe: strip 'Shot A' is muted, so the render of frame 50 is black"
    )
    assert renders == []
    assert left.mute


def test_a_neighbour_on_a_muted_channel_renders_black(timeline):
    left = timeline.color("Shot A", 1, 1, 50, RED)
    right = timeline.color("Shot B", 2, 71, 30, BLUE)
    timeline.editor.channels[2].mute = True
    assert refused(timeline, left, right) == (
        "Last keyframe: strip 'Shot B' is on muted channel 2, so the render of frame 71 is black"
    )


def test_a_muted_neighbour_is_fine_as_a_strip_source(timeline):
    left = timeline.color("Shot A", 1, 1, 50, RED)
    right = timeline.color("Shot B", 1, 71, 30, BLUE)
    left.mute = True
    first, _ = capture_both(timeline, left, right, first=KeyframeSource(SourceKind.STRIP))
    assert_colour(load_png(first.data), RED)


def test_a_muted_neighbour_over_a_visible_background_shows_the_background(timeline):
    timeline.color("Background", 1, 1, 100, GREEN)
    left = timeline.color("Shot A", 2, 1, 50, RED)
    right = timeline.color("Shot B", 2, 71, 30, BLUE)
    left.mute = True
    first, _ = capture_both(timeline, left, right)
    assert_colour(load_png(first.data), GREEN)


def test_the_operator_refuses_before_a_job_exists(veo, timeline: TimelineBuilder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    timeline.scene.render.fps = 25
    timeline.image("Left", 1, 1, 50, RED)
    timeline.color("Right", 1, 101, 50, BLUE)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))
    (timeline.folder / "Left.png").unlink()
    before = timeline_snapshot(timeline.scene)
    with pytest.raises(
        RuntimeError, match=r"First keyframe: strip 'Left' shows missing media: file '.*Left\.png'"
    ):
        bpy.ops.veo.generate_transition(left_strip="Left", right_strip="Right", **GENERATE)
    assert timeline_snapshot(timeline.scene) == before
    assert veo.request_counts["submit"] == 0
    assert jobstore.scene_jobs(timeline.scene) == []


def test_a_truncated_keyframe_file_fails_before_anything_is_sent(
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    """The main thread reads only the file's header; the worker decodes it and stops before sending."""
    timeline.scene.render.fps = 25
    timeline.color("Left", 1, 1, 50, RED)
    timeline.color("Right", 1, 101, 50, BLUE)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))
    whole = tmp_path / "whole.jpg"
    Image.effect_noise((640, 360), 50).convert("RGB").save(whole, format="JPEG")
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    before = timeline_snapshot(timeline.scene)
    with pytest.raises(RuntimeError, match=r"First keyframe \(file '.*cut\.jpg'\) cannot be decoded"):
        bpy.ops.veo.generate_transition(
            left_strip="Left", right_strip="Right", first_source="file", first_path=str(cut), **GENERATE
        )
    assert timeline_snapshot(timeline.scene) == before
    assert veo.request_counts["submit"] == 0
