"""Prompt presets through Blender's preset system: saved as small Python files under the
user's scripts folder (presets/veo_transitions/prompts), never in the add-on's install folder,
so they survive updates."""

from __future__ import annotations

from typing import Any

import bpy
from bl_operators.presets import AddPresetBase

PRESET_SUBDIR = "veo_transitions/prompts"


class VEO_MT_prompt_presets(bpy.types.Menu):
    bl_label = "Prompt Presets"
    preset_subdir = PRESET_SUBDIR
    preset_operator = "script.execute_preset"
    draw = bpy.types.Menu.draw_preset  # type: ignore[assignment]


class VEO_OT_prompt_preset_add(AddPresetBase, bpy.types.Operator):  # type: ignore[misc]
    """Save the prompt and negative prompt as a preset, or remove the chosen preset"""

    bl_idname = "veo.prompt_preset_add"
    bl_label = "Add Prompt Preset"
    preset_menu = "VEO_MT_prompt_presets"
    preset_subdir = PRESET_SUBDIR
    preset_defines = ["request = bpy.context.scene.veo_request"]
    preset_values = ["request.prompt", "request.negative_prompt"]


def draw_preset_row(layout: Any) -> None:
    row = layout.row(align=True)
    row.menu(VEO_MT_prompt_presets.__name__, text=VEO_MT_prompt_presets.bl_label)
    row.operator(VEO_OT_prompt_preset_add.bl_idname, text="", icon="ADD")
    row.operator(VEO_OT_prompt_preset_add.bl_idname, text="", icon="REMOVE").remove_active = True


classes = (VEO_MT_prompt_presets, VEO_OT_prompt_preset_add)


def register() -> None:
    for cls in classes:
        bpy.utils.register_class(cls)


def unregister() -> None:
    for cls in reversed(classes):
        bpy.utils.unregister_class(cls)
