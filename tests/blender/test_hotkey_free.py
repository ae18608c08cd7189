"""The add-on's hotkeys are combinations this Blender's default keymap leaves free over the
Sequencer's timeline (read from the keymap data Blender ships: blender_default.py). The real
window test checks the same in Blender 4.3's live keyconfig and presses them."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import bpy
import pytest

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


def bound_over_the_timeline(key: str, modifiers: dict[str, bool]) -> list[tuple[str, str]]:
    """(keymap, operator) of every default item that KEY with exactly MODIFIERS would trigger."""
    wanted = {name: modifiers.get(name, False) for name in MODIFIERS}
    found = []
    for name, area, data in default_keymaps():
        if area.get("space_type") != "SEQUENCE_EDITOR" and name not in GENERAL:
            continue
        for idname, event, _ in data["items"]:
            if event.get("type") != key:
                continue
            if event.get("any") or all(bool(event.get(m, False)) == wanted[m] for m in MODIFIERS):
                found.append((name, idname))
    return found


def test_the_add_on_binds_generate_and_next_and_previous_take() -> None:
    assert [operator for operator, _, _ in keymap.ITEMS] == [
        "veo.generate_transition",
        "veo.next_take",
        "veo.previous_take",
    ]


@pytest.mark.parametrize("item", keymap.ITEMS, ids=[operator for operator, _, _ in keymap.ITEMS])
def test_each_hotkey_is_unbound_over_the_timeline_in_the_default_keymap(item: tuple) -> None:
    operator, key, modifiers = item
    assert {"Sequencer", "Window", "Screen"} <= {name for name, _, _ in default_keymaps()}
    clashes = bound_over_the_timeline(key, modifiers)
    assert clashes == [], f"{modifiers}+{key} for {operator} is taken in {bpy.app.version_string}: {clashes}"


def test_the_check_sees_what_blender_binds_next_to_the_hotkeys() -> None:
    # Without these, an empty list of clashes above would prove nothing.
    assert bound_over_the_timeline("G", {"ctrl": True}) == [("Sequencer", "sequencer.meta_make")]
    assert bound_over_the_timeline("PAGE_UP", {"alt": True}) == [("Sequencer", "sequencer.strip_jump")]
    assert ("Sequencer", "sequencer.strip_jump") in bound_over_the_timeline("PAGE_DOWN", {})
    assert bound_over_the_timeline("PAGE_DOWN", {"ctrl": True}) == [("Screen", "screen.workspace_cycle")]
