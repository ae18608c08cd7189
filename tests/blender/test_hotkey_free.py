"""The add-on's hotkey is a combination this Blender's default keymap leaves free over the
Sequencer's timeline (read from the keymap data Blender ships: blender_default.py). The real
window test checks the same in Blender 4.3's live keyconfig and presses it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import bpy

from veo_addon.blender.ui import keymap

# Keymaps active over the timeline besides the Sequencer editor's own (every keymap of space
# SEQUENCE_EDITOR: "SequencerCommon" in 4.2 is "Video Sequence Editor" in 5.0).
GENERAL = {
    "Window", "Screen", "Screen Editing", "Frames", "User Interface", "View2D", "View2D Buttons List",
    "Markers", "Time Scrub", "Animation",
}  # fmt: skip
MODIFIERS = ("ctrl", "shift", "alt", "oskey")


def default_keymaps() -> list:
    scripts = Path(bpy.utils.system_resource("SCRIPTS"))
    path = scripts / "presets" / "keyconfig" / "keymap_data" / "blender_default.py"
    spec = importlib.util.spec_from_file_location("veo_test_blender_default", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.generate_keymaps(module.Params()))


def test_the_hotkey_is_unbound_over_the_timeline_in_the_default_keymap() -> None:
    wanted = {name: keymap.MODIFIERS.get(name, False) for name in MODIFIERS}
    keymaps = default_keymaps()
    assert {"Sequencer", "Window", "Screen"} <= {name for name, _, _ in keymaps}
    clashes = []
    for name, area, data in keymaps:
        if area.get("space_type") != "SEQUENCE_EDITOR" and name not in GENERAL:
            continue
        for idname, event, _ in data["items"]:
            if event.get("type") != keymap.KEY:
                continue
            if event.get("any") or all(bool(event.get(m, False)) == wanted[m] for m in MODIFIERS):
                clashes.append((name, idname))
    assert clashes == [], f"Ctrl+Shift+{keymap.KEY} is taken in {bpy.app.version_string}: {clashes}"


def test_ctrl_g_is_taken_so_the_check_sees_the_sequencer_keymap() -> None:
    taken = [
        idname
        for name, _, data in default_keymaps()
        if name == "Sequencer"
        for idname, event, _ in data["items"]
        if event.get("type") == "G" and event.get("ctrl") and not event.get("shift") and not event.get("alt")
    ]
    assert taken == ["sequencer.meta_make"]
