"""Making a scene the one the headless script's operators work on, without a Python context
override.

An operator called inside `bpy.context.temp_override(...)` reads the override's dictionary as it
runs. Blender 4.2 to 5.0 (Python 3.11) lets go of Python's lock while an operator runs, and
decides whether to take it back before reading that dictionary by asking whether *any* thread
holds it. So while a worker thread holds it (encoding a keyframe, reading an answer), Blender
reads the dictionary without the lock, and both threads write Python's memory at once: a
segmentation fault, about one headless run in ten when a keyframe was prepared beside the render
of the next one. Showing the scene in the window instead makes it the context's scene with no
dictionary at all. Blender's own UI never sets one, so only scripts meet this.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import bpy

# (window, the scene it showed) while `operating_on` has it show another.
_shown_before: list[tuple[Any, Any]] = []


@contextlib.contextmanager
def operating_on(scene: bpy.types.Scene) -> Iterator[None]:
    """Within the block, `bpy.context.scene` is `scene` for every operator called."""
    if bpy.context.scene == scene:
        yield
        return
    window = bpy.context.window or next(iter(bpy.context.window_manager.windows), None)
    if window is None:
        # A file with no window to show it in: the override is the only way left.
        with bpy.context.temp_override(scene=scene):
            yield
        return
    _shown_before.append((window, window.scene))
    window.scene = scene
    try:
        yield
    finally:
        window_again, shown = _shown_before.pop()
        window_again.scene = shown


@contextlib.contextmanager
def as_opened() -> Iterator[None]:
    """Within the block (saving the file), the window shows the scene it showed when the file
    was opened, so the saved file opens on the same scene as before."""
    operated = [(window, window.scene) for window, _ in _shown_before]
    for window, shown in _shown_before:
        window.scene = shown
    try:
        yield
    finally:
        for window, scene in operated:
            window.scene = scene
