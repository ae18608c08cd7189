"""The generated sound fades in and out, so it does not click against the neighbours' sound.

Fades are keyframes on the sound strip's `volume`, set through the data API (the way
Blender's own Fade operator sets them: silent at the strip's first frame and at its end,
full volume `frames` inside), so this works from a timer and in background mode alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import compat
from .provenance import PROP_TAKE_GROUP

if TYPE_CHECKING:
    from bpy.types import Scene


def add_fades(strip: Any, frames: int) -> int:
    """Fade `strip`'s volume in over its first `frames` frames and out over its last; returns the
    fade length used (at most half the strip, 0 for none)."""
    start, end = compat.visible_start(strip), compat.visible_end(strip)
    length = min(frames, (end - start) // 2)
    if length <= 0:
        return 0
    volume = strip.volume
    for frame, value in ((start, 0.0), (start + length, volume), (end - length, volume), (end, 0.0)):
        strip.volume = value
        strip.keyframe_insert(data_path="volume", frame=frame)
    strip.volume = volume
    return length


def neighbour_sound_channels(scene: Scene, start: int, end: int, own_group: str) -> list[int]:
    """Channels of other sound strips that play right before `start` or at `end` (exclusive end)."""
    channels = set()
    for strip in compat.top_level_strips(scene):
        if strip.type != "SOUND" or strip.get(PROP_TAKE_GROUP) == own_group:
            continue
        first, last = compat.visible_start(strip), compat.visible_end(strip)
        if first <= start - 1 < last or first <= end < last:
            channels.add(strip.channel)
    return sorted(channels)


def sound_channel_note(sound_channel: int, neighbour_channels: list[int]) -> str:
    """What the user needs to know when the neighbours' sound is on other channels, else ""."""
    below = [channel for channel in neighbour_channels if channel < sound_channel]
    if not below:
        return ""
    listed = ", ".join(str(channel) for channel in below)
    plural = "s" if len(below) > 1 else ""
    return (
        f"Its sound went to channel {sound_channel}, above the neighbours' sound on channel{plural} {listed}."
    )
