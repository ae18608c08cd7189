"""What a keyframe will show, checked before anything is rendered or sent.

A strip whose image or movie file is missing renders as Blender's magenta "missing media"
picture, and a frame where every picture is muted renders black: either would be sent, and
paid for, as a keyframe; so does a scene strip with no scene, or whose scene has no camera. Only
file existence, mute flags and scene strips' scene and camera are read here; nothing is changed.

Which strips a keyframe reads:
- RENDER (the sequencer's output): the strips visible at that frame (not muted, channel not
  muted, not left out because they play over the clip as well: `overlays`), from the top
  channel down until one covers the whole frame; an effect reads its inputs (muted or not) and
  a meta strip its own contents by the same rule.
- STRIP: that strip alone, unmuted, with its inputs or contents.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import TYPE_CHECKING, Any

import bpy

from ..core.errors import VeoError
from ..core.lazy_import import lazy_module
from . import compat

if TYPE_CHECKING:
    from PIL import Image
else:
    Image = lazy_module("PIL.Image")


class KeyframeMediaError(VeoError):
    """A keyframe would show missing media or nothing at all."""

    code = "keyframe_shows_nothing"


# Sound strips have no picture (what a sound-only neighbour means is decided elsewhere).
_NO_PICTURE = ("SOUND",)


def check_render_keyframe(
    scene: bpy.types.Scene, frame: int, neighbour_name: str | None, hidden: Collection[str] = ()
) -> None:
    """Refuse a render of `frame` that would show missing media, or black (a muted neighbour, or
    only scene strips without a camera); the render leaves the strips named in `hidden` out."""
    editor = scene.sequence_editor
    if editor is None:
        return
    stack = _visible_stack(scene, compat.strip_collection(editor), editor.channels, frame, hidden)
    for strip in stack:
        _check_strip(scene, strip, frame)
    if stack and all(_shows_no_camera(strip) for strip in stack):
        raise _no_camera_error(stack[0], frame)
    if not stack and neighbour_name is not None:
        neighbour = compat.strip_collection(editor).get(neighbour_name)
        if neighbour is not None:
            _check_neighbour_shows(neighbour, editor.channels, frame)


def check_strip_keyframe(scene: bpy.types.Scene, frame: int, strip_name: str) -> None:
    """Refuse a STRIP keyframe whose strip (or what it reads) is missing its file."""
    editor = scene.sequence_editor
    strip = None if editor is None else compat.strip_collection(editor).get(strip_name)
    if strip is not None:
        _check_strip(scene, strip, frame)
        if _shows_no_camera(strip):
            raise _no_camera_error(strip, frame)


def _check_neighbour_shows(strip: Any, channels: Any, frame: int) -> None:
    if strip.mute:
        raise KeyframeMediaError(f"strip '{strip.name}' is muted, so the render of frame {frame} is black")
    if channels[strip.channel].mute:
        raise KeyframeMediaError(
            f"strip '{strip.name}' is on muted channel {strip.channel}, "
            f"so the render of frame {frame} is black"
        )


def shows_at(strip: Any, channels: Any, frame: int) -> bool:
    """Whether `strip` puts a picture into a render of `frame`: there then, with a picture, and
    neither it nor its channel muted."""
    return (
        compat.visible_start(strip) <= frame < compat.visible_end(strip)
        and strip.type not in _NO_PICTURE
        and not strip.mute
        and not channels[strip.channel].mute
    )


def _visible_stack(
    scene: bpy.types.Scene, strips: Any, channels: Any, frame: int, hidden: Collection[str] = ()
) -> list[Any]:
    """The strips a render reads at `frame`, top channel first (none of those in `hidden`)."""
    showing = sorted(
        (strip for strip in strips if shows_at(strip, channels, frame) and strip.name not in hidden),
        key=lambda strip: strip.channel,
        reverse=True,
    )
    stack = []
    for strip in showing:
        stack.append(strip)
        if _covers_frame(scene, strip, frame):
            break
    return stack


def _check_strip(scene: bpy.types.Scene, strip: Any, frame: int, depth: int = 0) -> None:
    if depth > 32:  # effects cannot form cycles in Blender; this only guards against surprises
        return
    missing = _missing_file(scene, strip, frame)
    if missing is not None:
        raise KeyframeMediaError(f"strip '{strip.name}' shows missing media: file '{missing}' does not exist")
    if strip.type == "SCENE" and strip.scene is None:
        raise KeyframeMediaError(
            f"strip '{strip.name}' has no scene to show (it was deleted), so frame {frame} renders as "
            "Blender's magenta missing-media picture"
        )
    if strip.type == "META":
        for inner in _visible_stack(scene, compat.strip_collection(strip), strip.channels, frame):
            _check_strip(scene, inner, frame, depth + 1)
    for source in compat.effect_inputs(strip):
        _check_strip(scene, source, frame, depth + 1)


def _shows_no_camera(strip: Any) -> bool:
    """A scene strip rendering its scene through a camera it does not have: nothing, transparent."""
    return bool(
        strip.type == "SCENE"
        and strip.scene is not None
        and strip.scene_input == "CAMERA"
        and strip.scene_camera is None
        and strip.scene.camera is None
    )


def _no_camera_error(strip: Any, frame: int) -> KeyframeMediaError:
    return KeyframeMediaError(
        f"strip '{strip.name}' shows scene '{strip.scene.name}', which has no camera, "
        f"so the render of frame {frame} is black"
    )


def _missing_file(scene: bpy.types.Scene, strip: Any, frame: int) -> Path | None:
    path = _strip_file(scene, strip, frame)
    return path if path is not None and not path.is_file() else None


def _strip_file(scene: bpy.types.Scene, strip: Any, frame: int) -> Path | None:
    """The file an image or movie strip shows at `frame` (paths relative to the .blend resolved)."""
    if strip.type == "MOVIE":
        raw = strip.filepath
    elif strip.type == "IMAGE":
        element = strip.strip_elem_from_frame(frame)
        if element is None:
            return None
        raw = str(Path(bpy.path.abspath(strip.directory, library=scene.library)) / element.filename)
    else:
        return None
    return Path(bpy.path.abspath(raw, library=scene.library))


def _covers_frame(scene: bpy.types.Scene, strip: Any, frame: int) -> bool:
    """True when nothing below `strip` can show through it (when unsure: False, so more is checked)."""
    if strip.blend_alpha < 1.0 or not _fills_frame(strip):
        return False
    if strip.blend_type == "REPLACE":
        return True
    if strip.blend_type != "ALPHA_OVER":
        return False
    if strip.type in ("COLOR", "MOVIE"):
        return True
    return strip.type == "IMAGE" and not _image_has_alpha(scene, strip, frame)


def _fills_frame(strip: Any) -> bool:
    transform = getattr(strip, "transform", None)
    crop = getattr(strip, "crop", None)
    if transform is not None and (
        transform.offset_x != 0
        or transform.offset_y != 0
        or transform.scale_x < 1
        or transform.scale_y < 1
        or transform.rotation != 0
    ):
        return False
    return crop is None or (crop.min_x, crop.max_x, crop.min_y, crop.max_y) == (0, 0, 0, 0)


def _image_has_alpha(scene: bpy.types.Scene, strip: Any, frame: int) -> bool:
    """From the file's header only; an unreadable file counts as transparent."""
    path = _strip_file(scene, strip, frame)
    if path is None:
        return True
    try:
        with Image.open(path) as image:
            return image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info
    except (OSError, ValueError, Image.DecompressionBombError):
        return True
