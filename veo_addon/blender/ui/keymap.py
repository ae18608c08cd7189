"""The hotkey: Ctrl+Shift+G over the Sequencer runs Generate Transition.

Ctrl+Shift+G is unbound in every keymap of the Sequencer editor and in those active over it
(Window, Screen, Frames, View2D, Markers, ...) in the default keyconfig of Blender 4.2, 4.3 and
5.0 (tests/blender/test_hotkey_free.py, and the window test for 4.3); G for "generate", beside
Ctrl+G (make meta strip) and Shift+G (select grouped). The item lives in the add-on keyconfig,
so users can change it in Preferences > Keymap, and it goes on unregister.
"""

from __future__ import annotations

from typing import Any

import bpy

KEYMAP_NAME = "Sequencer"
KEY = "G"
MODIFIERS = {"ctrl": True, "shift": True}
OPERATOR = "veo.generate_transition"

_added: list[tuple[Any, Any]] = []


def register() -> None:
    window_manager: Any = bpy.context.window_manager
    keyconfig = window_manager.keyconfigs.addon if window_manager is not None else None
    if keyconfig is None:  # background mode has no add-on keyconfig
        return
    keymap: Any = keyconfig.keymaps.new(name=KEYMAP_NAME, space_type="SEQUENCE_EDITOR")
    item = keymap.keymap_items.new(OPERATOR, KEY, "PRESS", **MODIFIERS)
    _added.append((keymap, item))


def unregister() -> None:
    for keymap, item in _added:
        keymap.keymap_items.remove(item)
    _added.clear()
