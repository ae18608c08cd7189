"""Where an insertion's strips can go, shared by the insertion and its plan before paying:
free unlocked channels over a frame range, and the strips "make room" moves (and may move).

A refusal is a `TimelineError`, one line, raised before anything changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..core.errors import VeoError
from ..core.timing import FitPlan
from . import compat

if TYPE_CHECKING:
    from bpy.types import Scene


class TimelineError(VeoError):
    """The timeline cannot take the transition as asked; nothing was changed."""

    code = "timeline_refused"


def strip_label(strip: Any) -> str:
    first, last = compat.visible_start(strip), compat.visible_end(strip) - 1
    return f"'{strip.name}' (channel {strip.channel}, frames {first}–{last})"


class ChannelAllocator:
    """Hands out free, unlocked channels over one frame range, each above the last one handed out."""

    def __init__(self, scene: Scene, start: int, end: int, lowest: int, ignored: set[str]) -> None:
        editor = scene.sequence_editor
        assert editor is not None
        self._locked = {index for index in range(1, compat.MAX_CHANNEL + 1) if editor.channels[index].lock}
        self._occupied = {
            strip.channel
            for strip in compat.top_level_strips(scene)
            if strip.name not in ignored
            and compat.visible_start(strip) < end
            and compat.visible_end(strip) > start
        }
        self._next = lowest
        self.lowest = lowest
        self.start = start
        self.end = end

    def is_free(self, channel: int) -> bool:
        return channel not in self._locked and channel not in self._occupied

    def take(self) -> int:
        channel = self._next
        while channel <= compat.MAX_CHANNEL and not self.is_free(channel):
            channel += 1
        if channel > compat.MAX_CHANNEL:
            raise TimelineError(
                f"No free unlocked channel at or above channel {self.lowest} "
                f"for frames {self.start}–{self.end - 1}"
            )
        self._occupied.add(channel)
        self._next = channel + 1
        return channel

    def give_back(self, channel: int) -> None:
        """Return the channel last taken when nothing was put on it, so the next strip can use it."""
        self._occupied.discard(channel)
        self._next = min(self._next, channel)

    def count_available(self) -> int:
        return sum(1 for channel in range(self._next, compat.MAX_CHANNEL + 1) if self.is_free(channel))


def channels_needed(plans: Sequence[FitPlan], with_sound: Sequence[bool]) -> int:
    """Channels the takes take: each a movie strip, a speed effect if retimed, a sound strip if kept."""
    return sum(1 + plan.needs_speed_effect + sound for plan, sound in zip(plans, with_sound, strict=True))


def check_channels(allocator: ChannelAllocator, needed: int) -> None:
    """Refuse, before anything is added, when the takes would not all find a channel."""
    available = allocator.count_available()
    if available < needed:
        raise TimelineError(
            f"No free unlocked channel at or above channel {allocator.lowest} "
            f"for frames {allocator.start}–{allocator.end - 1}: {needed} needed, {available} free"
        )


def strips_to_move(scene: Scene, cut: int) -> tuple[list[Any], list[Any]]:
    """Strips from the cut onward, and the effects that will follow them (Blender moves an effect
    with its inputs, so moving it too would move it twice)."""
    strips = compat.top_level_strips(scene)
    moved = [s for s in strips if compat.visible_start(s) >= cut and not compat.effect_inputs(s)]
    moved_names = {strip.name for strip in moved}
    followers = [
        strip
        for strip in strips
        if compat.effect_inputs(strip)
        and all(source.name in moved_names for source in compat.effect_inputs(strip))
    ]
    return moved, followers


def check_movable(scene: Scene, strips: Iterable[Any]) -> None:
    editor = scene.sequence_editor
    assert editor is not None
    for strip in strips:
        if strip.lock:
            raise TimelineError(f"Cannot make room: strip {strip_label(strip)} is locked")
        if editor.channels[strip.channel].lock:
            raise TimelineError(f"Cannot make room: strip {strip_label(strip)} is on a locked channel")
