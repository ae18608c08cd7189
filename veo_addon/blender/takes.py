"""The takes of one insertion: several samples of a clip, one playing, the others muted above it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import compat
from .channels import TimelineError
from .provenance import PROP_ROLE, PROP_TAKE_GROUP, PROP_TAKE_INDEX, ROLE_CLIP

if TYPE_CHECKING:
    from bpy.types import Scene


def take_group_of(strip: Any) -> str | None:
    value = strip.get(PROP_TAKE_GROUP)
    return str(value) if value else None


def take_strips(scene: Scene, group: str) -> dict[int, list[Any]]:
    """The strips of each take of one insertion, by take index."""
    takes: dict[int, list[Any]] = {}
    for strip in compat.top_level_strips(scene):
        if strip.get(PROP_TAKE_GROUP) == group:
            takes.setdefault(int(strip[PROP_TAKE_INDEX]), []).append(strip)
    return dict(sorted(takes.items()))


def live_take(scene: Scene, group: str) -> int | None:
    """The index of the take that plays (its clip is not muted), or None if all are muted."""
    for index, strips in take_strips(scene, group).items():
        if any(strip.get(PROP_ROLE) == ROLE_CLIP and not strip.mute for strip in strips):
            return index
    return None


def set_live_take(scene: Scene, group: str, take_index: int) -> None:
    """Make take `take_index` the one that plays; every other take of the group is muted."""
    takes = take_strips(scene, group)
    if not takes:
        raise TimelineError("Those takes are no longer on the timeline")
    if take_index not in takes:
        available = ", ".join(str(index + 1) for index in takes)
        raise TimelineError(f"There is no take {take_index + 1}; the takes are {available}")
    for index, strips in takes.items():
        for strip in strips:
            strip.mute = index != take_index
