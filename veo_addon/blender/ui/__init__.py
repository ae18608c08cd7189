"""The Sequencer's interactive side: sidebar panel, job list, hotkey, menus, prompt presets.

`register()` / `unregister()` add and remove everything here; the classes, keymap item and
menu entries are Blender's to keep only while the add-on is enabled.
"""

from __future__ import annotations


def _modules() -> tuple:
    from . import job_list, keymap, menus, panel, presets, takes_panel

    return (presets, panel, takes_panel, job_list, menus, keymap)  # a panel before its children


def register() -> None:
    for module in _modules():
        module.register()


def unregister() -> None:
    for module in reversed(_modules()):
        module.unregister()
