"""Small helpers for editing the scene's request from the panel: a wide prompt editor and
"use the last seed again"."""

from __future__ import annotations

from typing import Any, Literal

import bpy

from ..generation_properties import SEED_PROPERTY_MAX, scene_request

OperatorResult = set[Literal["RUNNING_MODAL", "CANCELLED", "FINISHED", "PASS_THROUGH", "INTERFACE"]]


class VEO_OT_edit_prompt(bpy.types.Operator):
    """Edit the prompt and negative prompt in a wide dialog (the sidebar is narrow for long prompts)"""

    bl_idname = "veo.edit_prompt"
    bl_label = "Edit Prompt"

    def invoke(self, context: bpy.types.Context, event: bpy.types.Event) -> OperatorResult:
        window_manager: Any = context.window_manager
        result: OperatorResult = window_manager.invoke_props_dialog(self, width=800)
        return result

    def draw(self, context: Any) -> None:
        request = scene_request(context.scene)
        layout: Any = self.layout
        column = layout.column()
        column.label(text="Prompt")
        column.prop(request, "prompt", text="")
        column.label(text="Negative Prompt")
        column.prop(request, "negative_prompt", text="")

    def execute(self, context: bpy.types.Context) -> OperatorResult:
        return {"FINISHED"}


class VEO_OT_reuse_seed(bpy.types.Operator):
    """Use this seed for the next generation (the same seed and keyframes repeat a result)"""

    bl_idname = "veo.reuse_seed"
    bl_label = "Reuse Seed"
    bl_options = {"REGISTER", "UNDO"}

    seed: bpy.props.StringProperty(name="Seed", options={"SKIP_SAVE"})  # type: ignore[valid-type]

    def execute(self, context: Any) -> OperatorResult:
        try:
            seed = int(self.seed)
        except ValueError:
            self.report({"ERROR"}, f"'{self.seed}' is not a seed")
            return {"CANCELLED"}
        if not 0 <= seed <= SEED_PROPERTY_MAX:
            self.report(
                {"ERROR"}, f"Seed {seed} is above {SEED_PROPERTY_MAX}, the largest Blender can hold here"
            )
            return {"CANCELLED"}
        scene_request(context.scene).seed = seed
        return {"FINISHED"}


classes = (VEO_OT_edit_prompt, VEO_OT_reuse_seed)
