"""Capture the two keyframes: render the sequencer, pick a strip's own picture, or take a file or URL.

Runs on Blender's main thread, so it does as little as it can there: before anything is
rendered, both keyframes are checked for missing media and muted pictures
(`keyframe_checks`); a render leaves out the strips that play over the clip as well
(`overlays`); a render is written in the quickest format Blender has (an uncompressed
RGBA TIFF: nothing compressed on the main thread) and its bytes handed on. A render is written
as the footage's own colours: the scene's view transform (AgX, Filmic...), look, exposure,
gamma, curves and white balance are left out through the output's colour-management override,
because the generated clip comes back as an ordinary sRGB movie that gets the view transform
when it plays, as its neighbours do; a keyframe that had it already would get it twice.
Every scene setting a render needs to change is put back afterwards, whether the render worked
or not. Decoding, fitting and encoding for the request is `core.images.prepare_keyframe`, which
needs no bpy and runs in the worker thread.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import bpy

from ..core import raw_tiff
from ..core.alpha_reading import AlphaReading
from ..core.errors import VeoError
from ..core.file_mapping import take_file
from ..core.imagebytes import ImageBytes
from ..core.images import AspectRatio, ImageError, aspect_for_size, read_image_file
from . import compat
from .gaps import Transition
from .keyframe_checks import CaptureError, check_keyframe, transition_sides
from .keyframe_sources import KeyframeSource, SourceKind
from .settings_guard import SettingsGuard

if TYPE_CHECKING:
    from bpy.types import Scene


@dataclass(frozen=True)
class RenderOutput:
    """The still a render is written as (`compat.set_image_output`'s arguments)."""

    file_format: str
    color_mode: str = "RGB"
    tiff_codec: str | None = None


# Of the stills Blender writes and Pillow reads, an 8-bit RGBA TIFF without compression is the
# quickest to write (at 1080p under half the time of SGI, BMP, Targa or an RGB TIFF, a sixth of
# PNG's at level 0) and to decode: Blender writes its RGBA buffer as it is. When every pixel is
# opaque (a frame the footage fills) that is the very picture an RGB file would hold.
RENDER_OUTPUT = RenderOutput("TIFF", color_mode="RGBA", tiff_codec="NONE")
# A frame with anything see-through is rendered again to this: Blender then flattens it under
# black itself, in the space its buffer is in (linear light for a float render), which nothing
# outside Blender could redo exactly from the RGBA file.
FLATTENED_OUTPUT = RenderOutput("TIFF", color_mode="RGB", tiff_codec="NONE")
# The seam check's thumbnails (seams.py) are still SGI.
RENDER_FILE_FORMAT = "IRIS"


@dataclass(frozen=True)
class CapturedKeyframe:
    kind: SourceKind
    # Where the picture came from, for the inserted strip's custom properties.
    description: str
    # PNG, JPEG, TIFF or WebP bytes (a render: an RGBA TIFF, its file mapped); None for a URL
    data: ImageBytes | None
    url: str | None = None
    # A render found opaque: where its pixels lie, so the preparation need not read them again.
    opaque_pixels: raw_tiff.RgbaPixels | None = None
    # Strips a render left out because they play over the clip as well (`overlays`).
    left_out: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Shown:
    """Which strips a render shows: `solo` alone (every other channel muted), or everything but
    `hidden`."""

    solo: str | None = None
    hidden: tuple[str, ...] = ()


def output_size(scene: Scene) -> tuple[int, int]:
    """The scene's output size in pixels at 100 % (what a render capture produces)."""
    return scene.render.resolution_x, scene.render.resolution_y


def resolve_aspect_ratio(scene: Scene, requested: str) -> AspectRatio:
    """ "auto" follows the scene's output shape; "16:9" and "9:16" are taken as they are."""
    if requested == "auto":
        return aspect_for_size(*output_size(scene))
    try:
        return AspectRatio(requested)
    except ValueError:
        raise CaptureError(f"Aspect ratio must be auto, 16:9 or 9:16, got '{requested}'") from None


def _nothing() -> None:
    pass


@contextlib.contextmanager
def _render_settings(
    scene: Scene, frame: int, output_path: str, output: RenderOutput
) -> Iterator[SettingsGuard]:
    guard = SettingsGuard()
    render = scene.render
    saved_frame, saved_subframe = scene.frame_current, scene.frame_subframe
    guard.on_restore(lambda: scene.frame_set(saved_frame, subframe=saved_subframe))
    saved_output = compat.image_output_state(render.image_settings)
    guard.on_restore(lambda: compat.restore_image_output(render.image_settings, saved_output))
    try:
        guard.set_attribute(render, "filepath", output_path)
        guard.set_attribute(render, "resolution_percentage", 100)
        guard.set_attribute(render, "use_sequencer", True)
        # Burnt-in metadata is an output option the preview never shows.
        guard.set_attribute(render, "use_stamp", False)
        compat.set_image_output(
            render.image_settings, output.file_format, output.color_mode, output.tiff_codec
        )
        compat.set_footage_colours(render.image_settings)
        scene.frame_set(frame)
        yield guard
    finally:
        guard.restore()


def _render_still(scene: Scene) -> None:
    """Render the scene's current frame to its output path (a separate function so tests can fail it)."""
    bpy.ops.render.render(write_still=True, scene=scene.name)


def render_frame(
    scene: Scene, frame: int, solo_strip: str | None = None, before_render: Callable[[], None] = _nothing
) -> ImageBytes:
    """Image bytes of the sequencer's output at `frame` (`RENDER_OUTPUT`, or `FLATTENED_OUTPUT`
    when anything in it is see-through), at the scene's output size, in the footage's own sRGB
    colours (no view transform, look or exposure: the clip gets those when it plays).

    With `solo_strip`, every other channel is muted, so only that strip's picture shows.
    `before_render` runs just before Blender starts rendering (see `capture_transition_keyframes`).
    """
    return _render_keyframe(scene, frame, _Shown(solo_strip), before_render)[0]


def _render_keyframe(
    scene: Scene,
    frame: int,
    shown: _Shown,
    before_render: Callable[[], None],
    unread: list[_UnreadAlpha] | None = None,
) -> tuple[ImageBytes, raw_tiff.RgbaPixels | None]:
    """`render_frame`'s picture, and where its pixels lie when every one is opaque. Given
    `unread`, the alpha is left to read beside the next render: the RGBA render is returned as
    it is, and noted there."""
    data = _render_as(scene, frame, shown, RENDER_OUTPUT, before_render)
    if RENDER_OUTPUT.color_mode != "RGBA":
        return data, None
    if unread is not None:
        unread.append(_UnreadAlpha(AlphaReading(data), frame, shown))
        return data, None
    opaque_pixels = raw_tiff.opaque_rgba_pixels(data)
    if opaque_pixels is None:
        return _render_as(scene, frame, shown, FLATTENED_OUTPUT, before_render), None
    return data, opaque_pixels


def _render_as(
    scene: Scene, frame: int, shown: _Shown, output: RenderOutput, before_render: Callable[[], None]
) -> ImageBytes:
    with tempfile.TemporaryDirectory(prefix="veo_capture_") as folder:
        # No extension: Blender adds the one of the format it writes.
        output_path = str(Path(folder) / f"frame_{frame}")
        try:
            with _render_settings(scene, frame, output_path, output) as guard:
                if shown.solo is not None:
                    _solo(scene, shown.solo, guard)
                _hide(scene, shown.hidden, guard)
                before_render()
                _render_still(scene)
        except VeoError:
            raise
        except Exception as error:
            raise CaptureError(f"Rendering frame {frame} failed: {str(error).strip()}") from error
        written = [path for path in Path(folder).glob(f"frame_{frame}*") if path.is_file()]
        if not written:
            raise CaptureError(f"Rendering frame {frame} wrote no image")
        return take_file(written[0])


def _solo(scene: Scene, strip_name: str, guard: SettingsGuard) -> None:
    editor = scene.sequence_editor
    strip = None if editor is None else compat.strip_collection(editor).get(strip_name)
    if editor is None or strip is None:
        raise CaptureError(f"Strip '{strip_name}' is not on the timeline")
    for channel in range(1, compat.MAX_CHANNEL + 1):
        guard.set_attribute(editor.channels[channel], "mute", channel != strip.channel)
    # Its own picture is wanted even when the editor has it muted for now.
    guard.set_attribute(strip, "mute", False)


def _hide(scene: Scene, names: tuple[str, ...], guard: SettingsGuard) -> None:
    if not names:
        return
    strips = compat.strip_collection(scene.sequence_editor)
    for name in names:
        if (strip := strips.get(name)) is not None:
            guard.set_attribute(strip, "mute", True)


# --- one keyframe ------------------------------------------------------------------------------------


def _image_strip_file(strip: Any, frame: int) -> Path | None:
    element = strip.strip_elem_from_frame(frame)
    if element is None:
        return None
    return Path(bpy.path.abspath(strip.directory)) / element.filename


def capture_keyframe(
    scene: Scene,
    frame: int,
    source: KeyframeSource,
    strip_name: str | None = None,
    before_render: Callable[[], None] = _nothing,
) -> CapturedKeyframe:
    """One keyframe at `frame`; `strip_name` is the strip a STRIP source takes its picture from
    (and, for a RENDER source, the neighbour whose muting would leave the render black).
    `before_render` runs just before Blender starts rendering, if it does."""
    check_keyframe(scene, frame, source, strip_name)
    return _capture_checked(scene, frame, source, strip_name, before_render)


def _capture_checked(
    scene: Scene,
    frame: int,
    source: KeyframeSource,
    strip_name: str | None,
    before_render: Callable[[], None],
    unread: list[_UnreadAlpha] | None = None,
    hidden: tuple[str, ...] = (),
) -> CapturedKeyframe:
    if source.kind is SourceKind.URL:
        return CapturedKeyframe(SourceKind.URL, f"url {source.url}", data=None, url=source.url)
    if source.kind is SourceKind.FILE:
        path = Path(bpy.path.abspath(source.path))
        return CapturedKeyframe(SourceKind.FILE, f"file '{path}'", data=read_image_file(path))
    if source.kind is SourceKind.RENDER:
        data, opaque_pixels = _render_keyframe(scene, frame, _Shown(hidden=hidden), before_render, unread)
        without = f" without {', '.join(hidden)}" if hidden else ""
        return CapturedKeyframe(
            SourceKind.RENDER,
            f"render of frame {frame}{without}",
            data,
            opaque_pixels=opaque_pixels,
            left_out=hidden,
        )
    assert strip_name is not None  # check_keyframe refused a STRIP source without one
    strip = compat.strip_collection(scene.sequence_editor).get(strip_name)
    if strip.type == "IMAGE":
        image_path = _image_strip_file(strip, frame)
        if image_path is not None:
            try:
                data = read_image_file(image_path)
            except ImageError:
                pass  # EXR, BMP, too big...: render the strip alone instead, below.
            else:
                return CapturedKeyframe(
                    SourceKind.STRIP, f"strip '{strip_name}' file '{image_path}'", data=data
                )
    data, opaque_pixels = _render_keyframe(scene, frame, _Shown(solo=strip_name), before_render, unread)
    return CapturedKeyframe(
        SourceKind.STRIP, f"strip '{strip_name}' at frame {frame}", data, opaque_pixels=opaque_pixels
    )


def capture_transition_keyframes(
    scene: Scene,
    transition: Transition,
    first: KeyframeSource = KeyframeSource(),
    last: KeyframeSource = KeyframeSource(),
    hand_over: Callable[[str, CapturedKeyframe], None] | None = None,
) -> tuple[CapturedKeyframe, CapturedKeyframe]:
    """Keyframe A (the left strip's last frame) and keyframe B (the right strip's first frame).

    Both are checked before either is rendered, so a mistake in the second costs no render.
    `hand_over(side, keyframe)` ("First" or "Last") gets each keyframe as soon as it can be
    prepared beside the main thread: the first just as Blender starts rendering the last.
    Rendering lets go of Python's lock, so the first's alpha is read then too, beside the
    render (reading it holds the lock: any earlier, it would hold up the main thread's next
    step). Should the first turn out see-through, it is rendered again, flattened, after the
    last, and handed over a second time: the second replaces the first.
    """
    sides = transition_sides(scene, transition, first, last)
    for side, frame, strip_name, source, hidden in sides:
        try:
            check_keyframe(scene, frame, source, strip_name, side, hidden)
        except VeoError as error:
            raise CaptureError(f"{side} keyframe: {error}") from error
    captured: list[CapturedKeyframe] = []
    due: list[Callable[[], None]] = []
    unread: list[_UnreadAlpha] = []

    def hand_over_due() -> None:
        while due:
            due.pop(0)()

    for side, frame, strip_name, source, hidden in sides:
        try:
            keyframe = _capture_checked(
                scene, frame, source, strip_name, hand_over_due, unread if not captured else None, hidden
            )
        except VeoError as error:
            raise CaptureError(f"{side} keyframe: {error}") from error
        captured.append(keyframe)
        if len(captured) == 1:
            due.extend(pending.reading.start for pending in unread)
        if hand_over is not None:
            due.append(functools.partial(hand_over, side, keyframe))
    hand_over_due()
    first_side = sides[0].side
    for pending in unread:
        try:
            captured[0] = _settle_alpha(scene, captured[0], pending, first_side, hand_over)
        except VeoError as error:
            raise CaptureError(f"{first_side} keyframe: {error}") from error
    return captured[0], captured[1]


@dataclass(frozen=True)
class _UnreadAlpha:
    """An RGBA render handed over before its alpha was read, and how to render it again."""

    reading: AlphaReading
    frame: int
    shown: _Shown


def _settle_alpha(
    scene: Scene,
    keyframe: CapturedKeyframe,
    pending: _UnreadAlpha,
    side: str,
    hand_over: Callable[[str, CapturedKeyframe], None] | None,
) -> CapturedKeyframe:
    """The keyframe with its alpha read: as it was if opaque, else rendered again, flattened."""
    opaque_pixels = pending.reading.opaque_pixels()
    if opaque_pixels is not None:
        return dataclasses.replace(keyframe, opaque_pixels=opaque_pixels)
    flattened = _render_as(scene, pending.frame, pending.shown, FLATTENED_OUTPUT, _nothing)
    keyframe = dataclasses.replace(keyframe, data=flattened)
    if hand_over is not None:
        hand_over(side, keyframe)
    return keyframe
