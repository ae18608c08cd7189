"""The one place that knows how Blender's sequencer API differs between versions.

Supported: 4.2 LTS to 5.0 (run in tests here), plus the 5.1 frame-property renames (checked
against stand-in objects, since 5.1 needs Python 3.13). The differences handled:

- Strip collections: 4.2 has `sequences`/`sequences_all`; 4.4 and 4.5 have both those and
  `strips`/`strips_all`; 5.0 has only `strips`/`strips_all`.
- `new_effect`: 4.2 takes `frame_end=`, `seq1=`, `seq2=`; 5.0 takes `length=`, `input1=`, `input2=`.
- Output settings: 5.0 has `image_settings.media_type`, which must be 'IMAGE' before a still
  format like PNG can be chosen (and 'VIDEO' before FFMPEG).
- Colour management: 4.3 added white balance to the view settings (`use_white_balance`...),
  which a capture's output override turns off where it exists.
- 5.1 renames the frame properties: `frame_final_start` -> `left_handle`, `frame_final_end` ->
  `right_handle`, `frame_final_duration` -> `duration`, `frame_start` -> `content_start`,
  `frame_duration` -> `content_duration` (old names deprecated, to go in 6.0).

Each choice is made by asking the object what it has, not by comparing version numbers, so a
point release that back-ports a name simply takes the newer path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import bpy

MAX_CHANNEL = 128


# --- strip collections ---------------------------------------------------------------------------


def strip_collection(owner: Any) -> Any:
    """The collection of strips directly inside `owner` (a SequenceEditor or a meta strip)."""
    strips = getattr(owner, "strips", None)
    if strips is not None:
        return strips
    return owner.sequences


def sequence_editor(scene: bpy.types.Scene, create: bool = False) -> bpy.types.SequenceEditor | None:
    if scene.sequence_editor is None and create:
        scene.sequence_editor_create()
    return scene.sequence_editor


def top_level_strips(scene: bpy.types.Scene) -> list[bpy.types.Strip]:
    """Strips on the main timeline (not inside metas), as the editor sees them."""
    editor = scene.sequence_editor
    if editor is None:
        return []
    return list(strip_collection(editor))


def strips_all(scene: bpy.types.Scene) -> list[bpy.types.Strip]:
    """Every strip of the scene, including those inside meta strips."""
    editor = scene.sequence_editor
    if editor is None:
        return []
    every = getattr(editor, "strips_all", None)
    if every is None:
        every = getattr(editor, "sequences_all")  # noqa: B009 - 4.2 only; absent from the 5.0 stubs
    return list(every)


# --- frame properties (5.1 renames) --------------------------------------------------------------
# One small accessor per renamed property, all of the same shape on purpose: callers name the
# property they mean, and 6.0's removal of the old names changes only this block.


def _uses_handle_names(strip: Any) -> bool:
    return hasattr(strip, "left_handle")


def visible_start(strip: Any) -> int:
    """First visible frame, after trims (inclusive)."""
    return int(strip.left_handle if _uses_handle_names(strip) else strip.frame_final_start)


def visible_end(strip: Any) -> int:
    """One past the last visible frame, after trims (exclusive)."""
    return int(strip.right_handle if _uses_handle_names(strip) else strip.frame_final_end)


def visible_duration(strip: Any) -> int:
    return int(strip.duration if _uses_handle_names(strip) else strip.frame_final_duration)


def set_visible_duration(strip: Any, frames: int) -> None:
    """Move the right handle so the strip shows `frames` frames (past the content it holds the last)."""
    if _uses_handle_names(strip):
        strip.duration = frames
    else:
        strip.frame_final_duration = frames


def content_start(strip: Any) -> float:
    """Where the strip's content begins (before trims); moving this moves the whole strip."""
    return float(strip.content_start if _uses_handle_names(strip) else strip.frame_start)


def set_content_start(strip: Any, frame: float) -> None:
    if _uses_handle_names(strip):
        strip.content_start = frame
    else:
        strip.frame_start = frame


def content_duration(strip: Any) -> int:
    """Length of the strip's content in frames, ignoring trims (a movie's frame count)."""
    return int(strip.content_duration if _uses_handle_names(strip) else strip.frame_duration)


def move_strip(strip: Any, offset: int) -> None:
    set_content_start(strip, content_start(strip) + offset)


# --- effects ---------------------------------------------------------------------------------------


def new_effect(
    collection: Any,
    *,
    name: str,
    effect_type: str,
    channel: int,
    frame_start: int,
    length: int,
    input1: Any = None,
    input2: Any = None,
) -> bpy.types.Strip:
    """`collection.new_effect` with the keyword names of whichever Blender this is."""
    parameter_names = set(collection.bl_rna.functions["new_effect"].parameters.keys())
    arguments: dict[str, Any] = {
        "name": name,
        "type": effect_type,
        "channel": channel,
        "frame_start": frame_start,
    }
    if "length" in parameter_names:
        arguments["length"] = length
        input_names = ("input1", "input2")
    else:
        arguments["frame_end"] = frame_start + length
        input_names = ("seq1", "seq2")
    for keyword, strip in zip(input_names, (input1, input2), strict=True):
        if strip is not None:
            arguments[keyword] = strip
    return collection.new_effect(**arguments)


def effect_inputs(strip: Any) -> list[Any]:
    """The strips an effect reads from (an effect with inputs moves with them)."""
    return [
        found
        for found in (getattr(strip, "input_1", None), getattr(strip, "input_2", None))
        if found is not None
    ]


# --- render output -----------------------------------------------------------------------------------


# The view settings a capture's output leaves out, and their neutral values. Assigned in this order:
# the display decides which views exist, and the view which looks.
_NEUTRAL_DISPLAY = {"display_device": "sRGB"}
_NEUTRAL_VIEW = {
    "view_transform": "Standard",
    "look": "None",
    "exposure": 0.0,
    "gamma": 1.0,
    "use_curve_mapping": False,
    "use_white_balance": False,  # 4.3+
}


@dataclass(frozen=True)
class ImageOutputState:
    """What `set_image_output` and `set_footage_colours` change, to put back afterwards."""

    media_type: str | None
    file_format: str
    color_mode: str
    color_depth: str
    tiff_codec: str
    color_management: str
    # The output's own override settings, put back even while it follows the scene (Blender
    # copies the scene's in whenever it is switched to OVERRIDE, so hidden ones never show).
    override_display: tuple[tuple[str, Any], ...]
    override_view: tuple[tuple[str, Any], ...]


def _present(owner: Any, names: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    return tuple((name, getattr(owner, name)) for name in names if hasattr(owner, name))


def image_output_state(settings: bpy.types.ImageFormatSettings) -> ImageOutputState:
    return ImageOutputState(
        media_type=getattr(settings, "media_type", None),
        file_format=settings.file_format,
        color_mode=settings.color_mode,
        color_depth=settings.color_depth,
        tiff_codec=settings.tiff_codec,
        color_management=settings.color_management,
        override_display=_present(settings.display_settings, _NEUTRAL_DISPLAY),
        override_view=_present(settings.view_settings, _NEUTRAL_VIEW),
    )


def set_image_output(
    settings: bpy.types.ImageFormatSettings,
    file_format: str = "PNG",
    color_mode: str = "RGB",
    tiff_codec: str | None = None,
) -> None:
    """Make the render write one still image of `file_format`, 8-bit `color_mode` (and, for a
    TIFF, compressed with `tiff_codec`; None keeps the user's)."""
    if hasattr(settings, "media_type"):
        # 5.0: a still format is only offered once the media type is IMAGE.
        settings.media_type = "IMAGE"
    settings.file_format = file_format  # type: ignore[assignment]
    settings.color_mode = color_mode  # type: ignore[assignment]
    settings.color_depth = "8"
    if tiff_codec is not None and settings.tiff_codec != tiff_codec:
        settings.tiff_codec = tiff_codec  # type: ignore[assignment]


def set_footage_colours(settings: bpy.types.ImageFormatSettings) -> None:
    """Make the written image the sequencer's own sRGB pixels: no view transform, look, exposure,
    gamma, curves or white balance, whatever the scene's colour management shows."""
    # Switching to OVERRIDE copies the scene's settings in; each is then made neutral.
    settings.color_management = "OVERRIDE"
    for owner, neutral in (
        (settings.display_settings, _NEUTRAL_DISPLAY),
        (settings.view_settings, _NEUTRAL_VIEW),
    ):
        for name, value in neutral.items():
            if hasattr(owner, name) and getattr(owner, name) != value:
                setattr(owner, name, value)


def restore_image_output(settings: bpy.types.ImageFormatSettings, state: ImageOutputState) -> None:
    # Order matters: media type gates the formats, and the format gates modes and depths.
    if state.media_type is not None and hasattr(settings, "media_type"):
        settings.media_type = state.media_type  # type: ignore[assignment]
    settings.file_format = state.file_format  # type: ignore[assignment]
    settings.color_mode = state.color_mode  # type: ignore[assignment]
    settings.color_depth = state.color_depth  # type: ignore[assignment]
    if settings.tiff_codec != state.tiff_codec:
        settings.tiff_codec = state.tiff_codec  # type: ignore[assignment]
    for owner, saved in (
        (settings.display_settings, state.override_display),
        (settings.view_settings, state.override_view),
    ):
        for name, value in saved:
            if getattr(owner, name) != value:
                setattr(owner, name, value)
    settings.color_management = state.color_management  # type: ignore[assignment]
