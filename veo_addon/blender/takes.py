"""The takes of one insertion: several samples of a clip, one playing, the others muted above it.

Which take plays is chosen by the seam check (best first, `seams.PROP_TAKE_RANK`); the editor
can show another one (`set_live_take`), step through them (`step_take`), or keep one and
remove the rest (`keep_take`). Each take's strips keep their provenance (prompt, seed, task id,
sample index, cost estimate) whatever happens to the others.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import bpy

from . import compat
from .channels import TimelineError
from .provenance import (
    PROP_ROLE,
    PROP_TAKE_COUNT,
    PROP_TAKE_GROUP,
    PROP_TAKE_INDEX,
    PROP_TAKE_RANK,
    ROLE_CLIP,
)

if TYPE_CHECKING:
    from bpy.types import Scene


def take_group_of(strip: Any) -> str | None:
    value = strip.get(PROP_TAKE_GROUP)
    return str(value) if value else None


def take_of(scene: Scene, strip_name: str) -> tuple[str, int]:
    """(take group, take index) of the strip named `strip_name`, which any take's strip can be."""
    editor = scene.sequence_editor
    strip = None if editor is None else compat.strip_collection(editor).get(strip_name)
    if strip is None:
        raise TimelineError(f"There is no strip '{strip_name}' on the timeline")
    group = take_group_of(strip)
    if group is None or PROP_TAKE_INDEX not in strip:
        raise TimelineError(f"Strip '{strip_name}' is not a take of a Veo clip")
    return group, int(strip[PROP_TAKE_INDEX])


def take_strips(scene: Scene, group: str) -> dict[int, list[Any]]:
    """The strips of each take of one insertion, by take index."""
    takes: dict[int, list[Any]] = {}
    for strip in compat.top_level_strips(scene):
        if strip.get(PROP_TAKE_GROUP) == group:
            takes.setdefault(int(strip[PROP_TAKE_INDEX]), []).append(strip)
    return dict(sorted(takes.items()))


def clip_strip(strips: list[Any]) -> Any | None:
    return next((strip for strip in strips if strip.get(PROP_ROLE) == ROLE_CLIP), None)


def ordered_takes(scene: Scene, group: str) -> list[int]:
    """Take indices as the panel lists them: by the seam check's rank, else in sample order."""
    takes = take_strips(scene, group)

    def rank(index: int) -> tuple[int, int]:
        clip = clip_strip(takes[index])
        return (int(clip[PROP_TAKE_RANK]) if clip is not None and PROP_TAKE_RANK in clip else index, index)

    return sorted(takes, key=rank)


def live_take(scene: Scene, group: str) -> int | None:
    """The index of the take that plays (its clip is not muted), or None if all are muted."""
    for index, strips in take_strips(scene, group).items():
        if any(strip.get(PROP_ROLE) == ROLE_CLIP and not strip.mute for strip in strips):
            return index
    return None


def _takes_with(scene: Scene, group: str, take_index: int) -> dict[int, list[Any]]:
    takes = take_strips(scene, group)
    if not takes:
        raise TimelineError("Those takes are no longer on the timeline")
    if take_index not in takes:
        available = ", ".join(str(index + 1) for index in takes)
        raise TimelineError(f"There is no take {take_index + 1}; the takes are {available}")
    return takes


def set_live_take(scene: Scene, group: str, take_index: int) -> None:
    """Make take `take_index` the one that plays; every other take of the group is muted."""
    for index, strips in _takes_with(scene, group, take_index).items():
        for strip in strips:
            strip.mute = index != take_index


def step_take(scene: Scene, group: str, step: int) -> int:
    """Make the next (`step` 1) or previous (-1) take in the panel's order the live one, wrapping
    around; returns its index."""
    order = ordered_takes(scene, group)
    if not order:
        raise TimelineError("Those takes are no longer on the timeline")
    current = live_take(scene, group)
    position = order.index(current) if current in order else -step
    chosen = order[(position + step) % len(order)]
    set_live_take(scene, group, chosen)
    return chosen


def keep_take(scene: Scene, group: str, take_index: int) -> list[str]:
    """Keep take `take_index` (it plays) and remove every other take's strips; returns the removed
    names. The kept strips keep their provenance, sample index included; their take count says 1."""
    takes = _takes_with(scene, group, take_index)
    collection = compat.strip_collection(scene.sequence_editor)
    removed: list[str] = []
    # Effects first (highest channel first), so no strip is removed while an effect still uses it.
    others = [strip for index, strips in takes.items() if index != take_index for strip in strips]
    for strip in sorted(others, key=lambda strip: strip.channel, reverse=True):
        name = strip.name
        sound = getattr(strip, "sound", None)
        collection.remove(strip)
        if sound is not None and sound.users == 0:
            bpy.data.sounds.remove(sound)
        removed.append(name)
    for strip in takes[take_index]:
        strip.mute = False
        strip[PROP_TAKE_COUNT] = 1
    return removed
