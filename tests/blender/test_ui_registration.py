"""The add-on's entries in Blender's menus and its prompt presets (headless: background Blender
has no add-on keyconfig, so the hotkey is checked in the real window, tests/window/test_panel.py)."""

from __future__ import annotations

from pathlib import Path

import bpy
import pytest

from veo_addon.blender.generation_properties import scene_request
from veo_addon.blender.ui import menus, presets


def menu_functions(name: str) -> list:
    return list(getattr(getattr(bpy.types, name).draw, "_draw_funcs", ()))


@pytest.mark.parametrize("menu", ["SEQUENCER_MT_strip", "SEQUENCER_MT_context_menu"])
def test_generate_transition_is_in_the_strip_menus(veo, menu: str) -> None:  # type: ignore[no-untyped-def]
    assert menus.draw_entry in menu_functions(menu)


def test_a_prompt_preset_is_saved_in_the_user_scripts_folder_and_brings_the_prompt_back(veo) -> None:  # type: ignore[no-untyped-def]
    request = scene_request(bpy.context.scene)
    request.prompt, request.negative_prompt = "a whip pan to the right", "text, logos"
    user_presets = Path(bpy.utils.user_resource("SCRIPTS", path="presets")) / presets.PRESET_SUBDIR
    preset = user_presets / "Whip_Pan_Test.py"
    try:
        assert bpy.ops.veo.prompt_preset_add(name="Whip Pan Test") == {"FINISHED"}
        assert preset.is_file(), sorted(p.name for p in user_presets.glob("*"))
        addon_folder = Path(presets.__file__).resolve().parents[2]
        assert not preset.resolve().is_relative_to(addon_folder)

        request.prompt, request.negative_prompt = "", ""
        assert bpy.ops.script.execute_preset(
            filepath=str(preset), menu_idname=presets.VEO_MT_prompt_presets.__name__
        ) == {"FINISHED"}
        assert (request.prompt, request.negative_prompt) == ("a whip pan to the right", "text, logos")
    finally:
        preset.unlink(missing_ok=True)
