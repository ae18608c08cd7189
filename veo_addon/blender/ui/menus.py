"""Generate Transition in the Sequencer's Strip menu and the strip context menu."""

from __future__ import annotations

from typing import Any

import bpy

MENUS = ("SEQUENCER_MT_strip", "SEQUENCER_MT_context_menu")


def draw_entry(self: Any, context: bpy.types.Context) -> None:
    layout = self.layout
    layout.separator()
    layout.operator_context = "INVOKE_DEFAULT"
    layout.operator("veo.generate_transition", icon="SEQ_STRIP_META")


def register() -> None:
    for name in MENUS:
        getattr(bpy.types, name).append(draw_entry)


def unregister() -> None:
    for name in MENUS:
        getattr(bpy.types, name).remove(draw_entry)
