"""The hotkeys over the Sequencer: Ctrl+Shift+G runs Generate Transition; Ctrl+Shift+Page Up /
Ctrl+Shift+Page Down play the next / previous take of the active clip.

Each combination is unbound in every keymap of the Sequencer editor and in those active over it
(Window, Screen, Frames, View2D, Markers, ...) in the default keyconfig of Blender 4.2, 4.3 and
5.0 (tests/blender/test_hotkey_free.py, and the window test for 4.3). G for "generate", beside
Ctrl+G (make meta strip) and Shift+G (select grouped). Page Up / Page Down because plain and Alt+
Page Up / Down jump between strips (`sequencer.strip_jump`, Page Up = next), Ctrl+ cycles
workspaces and, in 5.0, Shift+ moves the text cursor in the preview; Ctrl+Shift+ is free, and
matches Ctrl+Shift+G. The items live in the add-on keyconfig, so users can change them
in Preferences > Keymap, and they go on unregister.
"""

from __future__ import annotations

from typing import Any

import bpy

KEYMAP_NAME = "Sequencer"


# (operator, key, modifiers): what `register` binds, and what the hotkey tests check.
ITEMS: tuple[tuple[str, str, dict[str, bool]], ...] = (
    ("veo.generate_transition", "G", {"ctrl": True, "shift": True}),
    ("veo.next_take", "PAGE_UP", {"ctrl": True, "shift": True}),
    ("veo.previous_take", "PAGE_DOWN", {"ctrl": True, "shift": True}),
)

_added: list[tuple[Any, Any]] = []


def register() -> None:
    window_manager: Any = bpy.context.window_manager
    keyconfig = window_manager.keyconfigs.addon if window_manager is not None else None
    if keyconfig is None:  # background mode has no add-on keyconfig
        return
    keymap: Any = keyconfig.keymaps.new(name=KEYMAP_NAME, space_type="SEQUENCE_EDITOR")
    for operator, key, modifiers in ITEMS:
        item = keymap.keymap_items.new(operator, key, "PRESS", **modifiers)
        _added.append((keymap, item))


def unregister() -> None:
    for keymap, item in _added:
        keymap.keymap_items.remove(item)
    _added.clear()
