"""Which keyframes a transition takes, and everything about them that can be known before
anything is rendered: a file or URL that is not there, missing media, a muted or empty picture.

The capture (`capture`) runs these checks before it renders either keyframe, so a mistake in
the second costs no render; the operators run them before any dialog shows a cost
(`presubmit.keyframe_refusal`). A Render keyframe leaves out the strips that will play over the
clip as well (`overlays`), and its check does too: a missing logo above the gap refuses nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import bpy

from ..core.errors import VeoError
from ..core.images import check_image_path
from ..core.urls import is_http_url
from . import compat, keyframe_media, overlays
from .gaps import Transition
from .keyframe_sources import KeyframeSource, SourceKind

if TYPE_CHECKING:
    from bpy.types import Scene


class CaptureError(VeoError):
    """A keyframe could not be captured; the scene's settings are as they were."""

    code = "capture_failed"


class KeyframeSide(NamedTuple):
    side: str  # "First" or "Last"
    frame: int
    strip_name: str  # the neighbour on that side
    source: KeyframeSource
    hidden: tuple[str, ...]  # what a render leaves out (`overlays`)


def transition_sides(
    scene: Scene, transition: Transition, first: KeyframeSource, last: KeyframeSource
) -> tuple[KeyframeSide, KeyframeSide]:
    """Both keyframes of `transition` as the capture and its checks take them."""

    def side(name: str, frame: int, strip_name: str, source: KeyframeSource) -> KeyframeSide:
        rendered = source.kind is SourceKind.RENDER
        hidden = overlays.over_clip(scene, transition, frame) if rendered else ()
        return KeyframeSide(name, frame, strip_name, source, hidden)

    return (
        side("First", transition.first_frame, transition.left_name, first),
        side("Last", transition.last_frame, transition.right_name, last),
    )


def check_keyframe(
    scene: Scene,
    frame: int,
    source: KeyframeSource,
    strip_name: str | None = None,
    side: str = "",
    hidden: tuple[str, ...] = (),
) -> None:
    """Everything that can be known about a keyframe without rendering it; `side` ("First" or
    "Last") names the setting a missing file or URL belongs to, and a render leaves `hidden` out."""
    setting = f" ({side} Frame File)" if side else ""
    if source.kind is SourceKind.FILE:
        if not source.path.strip():
            raise CaptureError(f"no file chosen{setting}")
        check_image_path(bpy.path.abspath(source.path))
    if source.kind is SourceKind.URL:
        if not source.url.strip():
            raise CaptureError(f"no URL given ({side} Frame URL)" if side else "no URL given")
        if not is_http_url(source.url):
            raise CaptureError(f"Keyframe URL must be an http(s) address, got '{source.url}'")
    try:
        if source.kind is SourceKind.RENDER:
            keyframe_media.check_render_keyframe(scene, frame, strip_name, hidden)
        elif source.kind is SourceKind.STRIP:
            if strip_name is None:
                raise CaptureError("A strip keyframe needs the strip to take it from")
            editor = scene.sequence_editor
            if editor is None or compat.strip_collection(editor).get(strip_name) is None:
                raise CaptureError(f"Strip '{strip_name}' is not on the timeline")
            keyframe_media.check_strip_keyframe(scene, frame, strip_name)
    except keyframe_media.KeyframeMediaError as error:
        raise CaptureError(str(error)) from error
