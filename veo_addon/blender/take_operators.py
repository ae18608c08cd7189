"""Operators over the takes of an inserted clip, for the panel and a hotkey: show a take, keep
one (removing the others), step to the next or previous take.

Each names a strip of the take (`strip`; empty means the active strip). Next / previous take
are bound to Ctrl+Shift+Page Up / Page Down over the Sequencer (ui/keymap.py; plain and Alt+
Page Up/Down already jump between strips).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import bpy

from ..core.errors import VeoError
from ..core.lazy_import import lazy_module

if TYPE_CHECKING:
    from . import channels, takes
else:
    channels = lazy_module(f"{__package__}.channels")
    takes = lazy_module(f"{__package__}.takes")

OperatorResult = set[Literal["RUNNING_MODAL", "CANCELLED", "FINISHED", "PASS_THROUGH", "INTERFACE"]]


def _scene(context: bpy.types.Context) -> bpy.types.Scene:
    if context.scene is None:
        raise VeoError("There is no scene in this context")
    return context.scene


def _strip_name(operator: Any, context: bpy.types.Context) -> str:
    if operator.strip:
        return str(operator.strip)
    editor = _scene(context).sequence_editor
    active = editor.active_strip if editor is not None else None
    if active is None:
        raise channels.TimelineError("No strip given and no active strip: choose a take's strip")
    return str(active.name)


class _TakeOperator:
    strip: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Strip", description="A strip of the take (clip, speed or sound); empty: the active strip"
    )

    def run(self, context: bpy.types.Context) -> str:
        raise NotImplementedError

    def execute(self, context: bpy.types.Context) -> OperatorResult:
        try:
            message = self.run(context)
        except VeoError as error:
            self.report({"ERROR"}, str(error))  # type: ignore[attr-defined]
            return {"CANCELLED"}
        self.report({"INFO"}, message)  # type: ignore[attr-defined]
        return {"FINISHED"}


class VEO_OT_show_take(_TakeOperator, bpy.types.Operator):
    """Make this take the one that plays; the other takes stay, muted"""

    bl_idname = "veo.show_take"
    bl_label = "Show Take"
    bl_options = {"REGISTER", "UNDO"}  # a take shown, kept or stepped to is an edit to undo

    def run(self, context: bpy.types.Context) -> str:
        group, index = takes.take_of(_scene(context), _strip_name(self, context))
        takes.set_live_take(_scene(context), group, index)
        return f"Take {index + 1} plays"


class VEO_OT_keep_take(_TakeOperator, bpy.types.Operator):
    """Keep this take and remove the other takes of the clip"""

    bl_idname = "veo.keep_take"
    bl_label = "Keep This Take"
    bl_options = {"REGISTER", "UNDO"}  # a take shown, kept or stepped to is an edit to undo

    def run(self, context: bpy.types.Context) -> str:
        group, index = takes.take_of(_scene(context), _strip_name(self, context))
        removed = takes.keep_take(_scene(context), group, index)
        return f"Kept take {index + 1}; removed {len(removed)} strips of the other takes"


class _StepTake(_TakeOperator):
    step = 1  # through the takes in the panel's order (best seams first), wrapping around

    def run(self, context: bpy.types.Context) -> str:
        group, _ = takes.take_of(_scene(context), _strip_name(self, context))
        index = takes.step_take(_scene(context), group, self.step)
        return f"Take {index + 1} plays"


class VEO_OT_next_take(_StepTake, bpy.types.Operator):
    """Play the next take of this clip (in the order of their seams, best first)"""

    bl_idname = "veo.next_take"
    bl_label = "Next Take"
    bl_options = {"REGISTER", "UNDO"}  # a take shown, kept or stepped to is an edit to undo
    step = 1


class VEO_OT_previous_take(_StepTake, bpy.types.Operator):
    """Play the previous take of this clip"""

    bl_idname = "veo.previous_take"
    bl_label = "Previous Take"
    bl_options = {"REGISTER", "UNDO"}  # a take shown, kept or stepped to is an edit to undo
    step = -1


classes = (VEO_OT_show_take, VEO_OT_keep_take, VEO_OT_next_take, VEO_OT_previous_take)
