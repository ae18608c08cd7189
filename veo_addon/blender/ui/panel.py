"""The Veo tab of the Sequencer's sidebar: the transition the selection names (or why there is
none), the request, the cost estimate and the Generate button.

draw() stays cheap: it reads the scene, the preferences and the job entries' plain fields;
nothing here touches the network or a file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import bpy

from ...core.lazy_import import lazy_module
from ..generation_properties import RANDOM_SEED, scene_request
from . import presets
from .request_actions import classes as request_action_classes
from .text import wrapped_label

# What the panel says about the gap loads with its first draw (never, in background mode).
if TYPE_CHECKING:
    from . import readiness
else:
    readiness = lazy_module(f"{__package__}.readiness")

CATEGORY = "Veo"


class VEO_PT_transition(bpy.types.Panel):
    bl_space_type = "SEQUENCE_EDITOR"
    bl_region_type = "UI"
    bl_category = CATEGORY
    bl_label = "Veo Transition"

    def draw(self, context: Any) -> None:
        layout: Any = self.layout
        state = readiness.readiness(context)
        if state.transition is None:
            wrapped_label(layout, context, state.reason, icon="INFO")
        else:
            transition = state.transition
            column = layout.column(align=True)
            column.label(text=f"Left: {transition.left_name}", icon="SEQ_STRIP_DUPLICATE")
            column.label(text=f"Right: {transition.right_name}", icon="SEQ_STRIP_DUPLICATE")
            column.label(text=f"Gap: {transition.gap_frames} frames ({transition.gap_seconds:.2f} s)")
            column.label(text=f"Asks for a {state.duration_seconds} s clip")
            wrapped_label(column, context, state.fit_line)
            if state.estimate is not None:
                wrapped_label(layout, context, f"Estimate: {state.estimate.cost.label()}")
        row = layout.row()
        row.scale_y = 1.6
        row.enabled = state.transition is not None
        row.operator_context = "INVOKE_DEFAULT"
        row.operator("veo.generate_transition", icon="SEQ_STRIP_META")
        row = layout.row()
        row.operator_context = "INVOKE_DEFAULT"
        row.operator("veo.fill_gaps", icon="SEQ_SEQUENCER")


class VEO_PT_request(bpy.types.Panel):
    bl_space_type = "SEQUENCE_EDITOR"
    bl_region_type = "UI"
    bl_category = CATEGORY
    bl_label = "Request"
    bl_parent_id = "VEO_PT_transition"

    def draw(self, context: Any) -> None:
        layout: Any = self.layout
        if context.scene is None:
            return
        request = scene_request(context.scene)
        presets.draw_preset_row(layout)
        row = layout.row(align=True)
        row.prop(request, "prompt", text="", placeholder="Prompt: what happens between the shots")
        row.operator("veo.edit_prompt", text="", icon="GREASEPENCIL")
        layout.prop(request, "negative_prompt", text="", placeholder="Negative prompt: what to avoid")
        layout.use_property_split = True
        layout.use_property_decorate = False
        column = layout.column()
        column.prop(request, "duration")
        column.prop(request, "resolution")
        column.prop(request, "aspect_ratio")
        column.prop(request, "sample_count")
        column.prop(request, "generate_audio")
        column.prop(request, "person_generation")
        self.draw_seed(layout, context, request)
        column = layout.column()
        column.prop(request, "fit_mode")
        column.prop(request, "make_room")

    def draw_seed(self, layout: Any, context: Any, request: Any) -> None:
        row = layout.row(align=True, heading="Seed")
        random_seed = request.seed == RANDOM_SEED
        row.prop(request, "seed", text="Random (-1)" if random_seed else "")
        last = last_seed(context.scene)
        if last:
            row = layout.row(align=True)
            row.label(text=f"Last used seed: {last}")
            row.operator("veo.reuse_seed", text="", icon="LOOP_BACK").seed = last


def last_seed(scene: bpy.types.Scene | None) -> str:
    """The seed of the newest job that reported one ("" if none): what "reuse" would set."""
    if scene is None:
        return ""
    for entry in reversed(scene.veo_jobs):  # type: ignore[attr-defined]
        if entry.seed:
            return str(entry.seed)
    return ""


class VEO_PT_keyframes(bpy.types.Panel):
    bl_space_type = "SEQUENCE_EDITOR"
    bl_region_type = "UI"
    bl_category = CATEGORY
    bl_label = "Keyframes"
    bl_parent_id = "VEO_PT_transition"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context: Any) -> None:
        layout: Any = self.layout
        if context.scene is None:
            return
        request = scene_request(context.scene)
        layout.use_property_split = True
        layout.use_property_decorate = False
        for side in ("first", "last"):
            column = layout.column()
            column.prop(request, f"{side}_source")
            source = getattr(request, f"{side}_source")
            if source == "file":
                column.prop(request, f"{side}_path", text="File")
            elif source == "url":
                column.prop(request, f"{side}_url", text="URL")
        layout.prop(request, "fit_method")


classes = (*request_action_classes, VEO_PT_transition, VEO_PT_request, VEO_PT_keyframes)


def register() -> None:
    for cls in classes:
        bpy.utils.register_class(cls)


def unregister() -> None:
    for cls in reversed(classes):
        bpy.utils.unregister_class(cls)
