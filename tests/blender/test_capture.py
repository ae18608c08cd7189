"""Keyframe capture per source kind, and the scene's settings put back afterwards, even on failure."""

from __future__ import annotations

import io
import os
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
    assert_colour,
    load_png,
    set_frame_rate,
    solid,
    timeline_snapshot,
    write_png,
)
from veo_addon.blender import capture, compat
from veo_addon.blender.capture import CaptureError, KeyframeSource, SourceKind
from veo_addon.blender.gaps import find_transition
from veo_addon.core.images import MAX_READ_BYTES

IS_5 = bpy.app.version >= (5, 0, 0)


def scene_settings(scene: bpy.types.Scene) -> dict:
    """Every setting a capture touches."""
    render = scene.render
    editor = scene.sequence_editor
    return {
        "frame": scene.frame_current,
        "filepath": render.filepath,
        "output": compat.image_output_state(render.image_settings),
        "percentage": render.resolution_percentage,
        "size": (render.resolution_x, render.resolution_y),
        "use_sequencer": render.use_sequencer,
        "use_stamp": render.use_stamp,
        "channel_mutes": tuple(channel.mute for channel in editor.channels),
        "strip_mutes": tuple(sorted((strip.name, strip.mute) for strip in compat.strips_all(scene))),
    }


def unusual_settings(scene: bpy.types.Scene) -> None:
    """Settings unlike what a capture uses, so that restoring them is visible."""
    scene.frame_set(7)
    scene.render.filepath = "//renders/shot_"
    scene.render.resolution_percentage = 50
    scene.render.use_stamp = True
    if IS_5:
        scene.render.image_settings.media_type = "VIDEO"
        scene.render.image_settings.file_format = "FFMPEG"
    else:
        scene.render.image_settings.file_format = "JPEG"
    scene.sequence_editor.channels[4].mute = True


@pytest.fixture
def two_shots(timeline):
    """Red on channel 1 (frames 1-50), a green image on channel 2 over its end, blue from 71."""
    timeline.color("left", 1, 1, 50, RED)
    timeline.image("overlay", 2, 41, 10, GREEN)
    timeline.color("right", 1, 71, 30, BLUE)
    return timeline


@pytest.mark.parametrize("rate", ["24", "25", "30", "60", "23.976"])
def test_render_capture_shows_the_top_picture(scene, two_shots, rate):
    set_frame_rate(scene, rate)
    transition = find_transition(scene, two_shots.strips["left"], two_shots.strips["right"])
    first, last = capture.capture_transition_keyframes(scene, transition)
    assert first.kind is SourceKind.RENDER and first.description == "render of frame 50"
    assert last.description == "render of frame 71"
    # The green overlay on channel 2 covers the red strip at frame 50: the preview shows green.
    assert_colour(load_png(first.data), GREEN)
    assert_colour(load_png(last.data), BLUE)


def test_render_capture_is_at_the_scene_output_size(scene, timeline):
    timeline.color("left", 1, 1, 10, RED)
    scene.render.resolution_x, scene.render.resolution_y = 640, 360
    scene.render.resolution_percentage = 25
    image = load_png(capture.render_frame(scene, 5))
    assert image.size == (640, 360)
    assert scene.render.resolution_percentage == 25
    assert capture.output_size(scene) == (640, 360)


def test_render_capture_of_a_movie_strip(scene, timeline):
    clip = timeline.clip("shot", solid(YELLOW), solid(BLUE), seconds=1.0)
    timeline.movie("shot", 1, 1, clip)
    assert_colour(load_png(capture.render_frame(scene, 1)), YELLOW, tolerance=4)
    assert_colour(load_png(capture.render_frame(scene, 24)), BLUE, tolerance=4)


def test_strip_capture_of_an_image_strip_is_its_file(scene, two_shots):
    strip = two_shots.strips["overlay"]
    captured = capture.capture_keyframe(scene, 45, KeyframeSource(SourceKind.STRIP), "overlay")
    file_path = Path(bpy.path.abspath(strip.directory)) / strip.elements[0].filename
    assert captured.data == file_path.read_bytes()
    assert captured.description == f"strip 'overlay' file '{file_path}'"


def test_strip_capture_of_a_covered_colour_strip_mutes_the_rest(scene, two_shots):
    before = scene_settings(scene)
    first, last = capture.capture_transition_keyframes(
        scene,
        find_transition(scene, two_shots.strips["left"], two_shots.strips["right"]),
        first=KeyframeSource(SourceKind.STRIP),
        last=KeyframeSource(SourceKind.STRIP),
    )
    # The green overlay above is muted for the capture: the left strip's own red shows.
    assert_colour(load_png(first.data), RED)
    assert_colour(load_png(last.data), BLUE)
    assert first.description == "strip 'left' at frame 50"
    assert scene_settings(scene) == before


def test_strip_capture_of_a_movie_under_another_strip(scene, timeline):
    clip = timeline.clip("shot", solid(YELLOW), solid(YELLOW), seconds=1.0)
    timeline.movie("shot", 2, 1, clip)
    timeline.color("title", 3, 1, 24, GREEN)
    captured = capture.capture_keyframe(scene, 10, KeyframeSource(SourceKind.STRIP), "shot")
    assert_colour(load_png(captured.data), YELLOW, tolerance=4)


def test_strip_capture_of_a_muted_strip_still_shows_it(scene, timeline):
    strip = timeline.color("left", 1, 1, 10, RED)
    strip.mute = True
    captured = capture.capture_keyframe(scene, 5, KeyframeSource(SourceKind.STRIP), "left")
    assert_colour(load_png(captured.data), RED)
    assert strip.mute


def test_strip_capture_of_an_exr_image_strip_renders_it(scene, timeline, tmp_path):
    # Not PNG/JPEG: the strip is rendered alone instead of sending its file.
    path = tmp_path / "plate.bmp"
    solid(RED).save(path, format="BMP")
    strip = timeline.strips.new_image(name="plate", filepath=str(path), channel=1, frame_start=1)
    compat.set_visible_duration(strip, 10)
    captured = capture.capture_keyframe(scene, 5, KeyframeSource(SourceKind.STRIP), "plate")
    assert captured.description == "strip 'plate' at frame 5"
    assert_colour(load_png(captured.data), RED)


def test_file_capture_reads_png_and_jpeg(scene, tmp_path):
    png = write_png(tmp_path / "a.png", solid(RED))
    jpeg = tmp_path / "b.jpg"
    solid(BLUE).save(jpeg, format="JPEG", quality=95)
    first = capture.capture_keyframe(scene, 1, KeyframeSource(SourceKind.FILE, path=str(png)))
    second = capture.capture_keyframe(scene, 1, KeyframeSource(SourceKind.FILE, path=str(jpeg)))
    assert first.data == png.read_bytes()
    assert_colour(load_png(second.data), BLUE)
    assert first.description == f"file '{png}'"


def test_file_capture_resolves_blend_relative_paths(scene, tmp_path):
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "project.blend"))
    write_png(tmp_path / "key.png", solid(RED))
    captured = capture.capture_keyframe(scene, 1, KeyframeSource(SourceKind.FILE, path="//key.png"))
    assert_colour(load_png(captured.data), RED)


def test_url_is_passed_through_untouched(scene):
    url = "https://example.com/frames/a.png?sig=AbC%2F"
    captured = capture.capture_keyframe(scene, 1, KeyframeSource(SourceKind.URL, url=url))
    assert (captured.url, captured.data, captured.kind) == (url, None, SourceKind.URL)


@pytest.mark.parametrize(
    "url", ["ftp://example.com/a.png", "file:///tmp/a.png", "example.com/a.png", "https://"]
)
def test_url_must_be_http(scene, url):
    with pytest.raises(CaptureError, match="must be an http"):
        capture.capture_keyframe(scene, 1, KeyframeSource(SourceKind.URL, url=url))


def test_settings_restored_after_capture(scene, two_shots):
    unusual_settings(scene)
    before = scene_settings(scene)
    transition = find_transition(scene, two_shots.strips["left"], two_shots.strips["right"])
    capture.capture_transition_keyframes(
        scene, transition, KeyframeSource(SourceKind.STRIP), KeyframeSource()
    )
    assert scene_settings(scene) == before
    if IS_5:
        assert scene.render.image_settings.media_type == "VIDEO"


def test_settings_restored_when_the_render_raises(scene, two_shots, monkeypatch):
    unusual_settings(scene)
    before = scene_settings(scene)
    seen = {}

    def failing_render(render_scene):
        # The capture's own settings are in force when the render runs...
        seen["frame"] = render_scene.frame_current
        seen["muted"] = render_scene.sequence_editor.channels[2].mute
        seen["percentage"] = render_scene.render.resolution_percentage
        raise RuntimeError("Error: out of memory")

    monkeypatch.setattr(capture, "_render_still", failing_render)
    with pytest.raises(CaptureError, match="Rendering frame 50 failed: Error: out of memory"):
        capture.capture_keyframe(scene, 50, KeyframeSource(SourceKind.STRIP), "left")
    assert seen == {"frame": 50, "muted": True, "percentage": 100}
    # ...and all of them are back afterwards.
    assert scene_settings(scene) == before


def test_settings_restored_when_blender_cannot_write_the_image(scene, two_shots, tmp_path, monkeypatch):
    unusual_settings(scene)
    before = scene_settings(scene)
    # A real failure: the output folder cannot be created because a file is in the way.
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    monkeypatch.setattr(capture.tempfile, "TemporaryDirectory", lambda prefix: _Fixed(blocker / "sub"))
    with pytest.raises(CaptureError, match="frame 71"):
        capture.capture_keyframe(scene, 71, KeyframeSource())
    assert scene_settings(scene) == before


class _Fixed:
    """Stand-in for TemporaryDirectory that yields a given (unusable) folder."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __enter__(self) -> str:
        return str(self.path)

    def __exit__(self, *exc: object) -> None:
        return None


@pytest.mark.parametrize(
    ("make_file", "message"),
    [
        (lambda path: path, "does not exist"),
        (lambda path: (path.write_bytes(b""), path)[1], "is empty"),
        (
            lambda path: (solid(RED).save(path, format="GIF"), path)[1],
            r"not a PNG, JPEG, TIFF or WebP image \(looks like GIF\)",
        ),
        (lambda path: (path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100), path)[1], "cannot be decoded"),
        (
            lambda path: (
                path.write_bytes(b"\x89PNG\r\n\x1a\n"),
                os.truncate(path, MAX_READ_BYTES + 1),
                path,
            )[2],
            "keyframe files are read up to 256.0 MB",
        ),
    ],
    ids=["missing", "empty", "gif", "corrupt", "over-the-read-limit"],
)
def test_file_refusals_leave_the_timeline_unchanged(scene, two_shots, tmp_path, make_file, message):
    path = make_file(tmp_path / "key.png")
    transition = find_transition(scene, two_shots.strips["left"], two_shots.strips["right"])
    before = timeline_snapshot(scene), scene_settings(scene)
    with pytest.raises(CaptureError, match=f"^Last keyframe: keyframe file '.*key.png' .*{message}"):
        capture.capture_transition_keyframes(
            scene, transition, KeyframeSource(), KeyframeSource(SourceKind.FILE, path=str(path))
        )
    assert (timeline_snapshot(scene), scene_settings(scene)) == before


def test_resolve_aspect_ratio(scene):
    assert capture.resolve_aspect_ratio(scene, "auto").value == "16:9"
    scene.render.resolution_x, scene.render.resolution_y = 1080, 1920
    assert capture.resolve_aspect_ratio(scene, "auto").value == "9:16"
    assert capture.resolve_aspect_ratio(scene, "16:9").value == "16:9"
    with pytest.raises(CaptureError, match="auto, 16:9 or 9:16"):
        capture.resolve_aspect_ratio(scene, "4:3")


def test_captured_render_prepares_for_the_request(scene, two_shots):
    from veo_addon.core.images import prepare_keyframe

    captured = capture.capture_keyframe(scene, 80, KeyframeSource())
    prepared = prepare_keyframe(captured.data, capture.resolve_aspect_ratio(scene, "auto"), "720p")
    image = Image.open(io.BytesIO(prepared.data))
    assert image.size == (1280, 720)
    assert_colour(image, BLUE)


def test_a_render_is_handed_over_unencoded_for_the_worker(scene, two_shots, monkeypatch):
    """No PNG is written on the main thread (that froze Blender for up to 2.8 s); the worker's
    preparation turns what is handed over into the same picture."""
    from veo_addon.core.images import PNG_SIGNATURE, prepare_keyframe

    formats = []
    real_render = capture._render_still

    def spy(render_scene):
        settings = render_scene.render.image_settings
        formats.append((settings.file_format, settings.color_mode, settings.tiff_codec))
        real_render(render_scene)

    monkeypatch.setattr(capture, "_render_still", spy)
    transition = find_transition(scene, two_shots.strips["left"], two_shots.strips["right"])
    first, last = capture.capture_transition_keyframes(scene, transition)
    # An uncompressed RGBA TIFF: Blender writes its own buffer as it is, nothing compressed or flattened.
    assert formats == [("TIFF", "RGBA", "NONE")] * 2
    assert first.data[: len(PNG_SIGNATURE)] != PNG_SIGNATURE
    for captured, colour in ((first, GREEN), (last, BLUE)):
        prepared = prepare_keyframe(captured.data, "16:9", "720p")
        assert prepared.mime_type == "image/jpeg"
        assert_colour(Image.open(io.BytesIO(prepared.data)), colour)


def test_file_and_url_sources_need_their_file_and_url(scene, two_shots):
    transition = find_transition(scene, two_shots.strips["left"], two_shots.strips["right"])
    with pytest.raises(CaptureError, match=r"^First keyframe: no file chosen \(First Frame File\)$"):
        capture.capture_transition_keyframes(scene, transition, KeyframeSource(SourceKind.FILE))
    with pytest.raises(CaptureError, match=r"^Last keyframe: no URL given \(Last Frame URL\)$"):
        capture.capture_transition_keyframes(scene, transition, last=KeyframeSource(SourceKind.URL))


OUTPUTS = (capture.RENDER_OUTPUT, capture.RenderOutput("IRIS"))
PNG_PREPARED = "same as the PNG capture"


def prepared_by_output(scene, transition, monkeypatch) -> dict:
    """For each intermediate, whether the request image is byte for byte the PNG capture's."""
    from veo_addon.core.images import prepare_keyframe

    def prepared(output: capture.RenderOutput) -> bytes:
        monkeypatch.setattr(capture, "RENDER_OUTPUT", output)
        first, _ = capture.capture_transition_keyframes(scene, transition)
        return prepare_keyframe(first.data, "16:9", "720p").data

    reference = prepared(capture.RenderOutput("PNG"))
    return {
        output: PNG_PREPARED if prepared(output) == reference else "differs from the PNG capture"
        for output in OUTPUTS
    }


def test_the_prepared_keyframe_is_the_same_as_from_the_png_capture(scene, timeline, monkeypatch):
    """Same pixels, same request bytes: an identical request made before the intermediate changed
    is still recognised as identical (and reused, not paid for again)."""
    grain = Image.merge("RGB", [Image.effect_noise(SMALL_SIZE, 70) for _ in range(3)])
    left = timeline.image("left", 1, 1, 50, grain)
    right = timeline.color("right", 1, 71, 30, BLUE)
    transition = find_transition(scene, left, right)
    assert prepared_by_output(scene, transition, monkeypatch) == {output: PNG_PREPARED for output in OUTPUTS}


@pytest.mark.parametrize("sequencer_space", ["sRGB", "Linear Rec.709"])
def test_a_see_through_picture_is_flattened_onto_black_as_the_png_capture_did(
    scene, timeline, monkeypatch, sequencer_space
):
    """Over nothing, what is transparent is black and what is half transparent is half as bright,
    exactly as the PNG (RGB) capture flattened it (a linear sequencer space renders in float)."""
    scene.sequencer_colorspace_settings.name = sequencer_space
    from veo_addon.core.images import prepare_keyframe

    width, height = SMALL_SIZE
    picture = Image.merge("RGB", [Image.effect_noise(SMALL_SIZE, 70) for _ in range(3)]).convert("RGBA")
    alpha = Image.linear_gradient("L").resize(SMALL_SIZE)  # more and more opaque downwards
    alpha.paste(0, (0, 0, width, height // 4))  # the top quarter fully transparent
    picture.putalpha(alpha)
    left = timeline.image("left", 1, 1, 50, picture)
    right = timeline.color("right", 1, 71, 30, BLUE)
    transition = find_transition(scene, left, right)
    first, _ = capture.capture_transition_keyframes(scene, transition)
    sent = Image.open(io.BytesIO(prepare_keyframe(first.data, "16:9", "720p").data)).convert("L")
    assert sent.crop((0, 0, 1280, 720 // 4 - 30)).getextrema()[1] <= 3  # the transparent top: black
    assert prepared_by_output(scene, transition, monkeypatch) == {output: PNG_PREPARED for output in OUTPUTS}


def test_a_missing_last_file_is_found_before_the_first_keyframe_is_rendered(scene, two_shots, monkeypatch):
    rendered = []
    monkeypatch.setattr(
        capture, "_render_still", lambda render_scene: rendered.append(render_scene.frame_current)
    )
    transition = find_transition(scene, two_shots.strips["left"], two_shots.strips["right"])
    with pytest.raises(CaptureError, match=r"^Last keyframe: keyframe file '.*gone\.png' does not exist$"):
        capture.capture_transition_keyframes(
            scene, transition, KeyframeSource(), KeyframeSource(SourceKind.FILE, path="/nowhere/gone.png")
        )
    assert rendered == []
