"""Enabling, disabling and enabling the add-on again leaves Blender as one enabling would.

In a fresh process (this venv's bpy wheel), so that the test session's own registration is not
disturbed: a snapshot of everything the add-on can add to Blender - classes, Scene properties,
application handlers, timers, keymap items, menu entries - before register(), after it, after
unregister(), after register() again.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SNAPSHOTS = """
import json
import bpy
import veo_addon
from veo_addon.blender import handlers, jobmanager

ADDON_CLASSES = veo_addon._classes()

TIMERS = (handlers.pick_up_open_file, handlers.continue_open_file_jobs, jobmanager._pump_timer)

def ours(function):
    return "veo_addon" in (getattr(function, "__module__", "") or "")

def snapshot():
    wm = bpy.context.window_manager
    keyconfig = wm.keyconfigs.addon if wm is not None else None
    keymap_items = [
        item.idname for keymap in (keyconfig.keymaps if keyconfig else ()) for item in keymap.keymap_items
        if item.idname.startswith("veo.")
    ]
    menu_entries = []
    for name in dir(bpy.types):
        draw = getattr(getattr(bpy.types, name), "draw", None)
        menu_entries += [name for function in getattr(draw, "_draw_funcs", ()) if ours(function)]
    return {
        "addon_classes": [cls.__name__ for cls in ADDON_CLASSES if cls.is_registered],
        "classes": sorted(
            name for name in dir(bpy.types)
            if name.lower().startswith("veo") or "_OT_veo" in name or name.startswith("VEO")
        ),
        "scene_properties": sorted(
            key for key in bpy.types.Scene.bl_rna.properties.keys() if key.startswith("veo")
        ),
        "handlers": {
            name: [function.__name__ for function in getattr(bpy.app.handlers, name) if ours(function)]
            for name in dir(bpy.app.handlers)
            if isinstance(getattr(bpy.app.handlers, name), list)
        },
        "timers": [timer.__name__ for timer in TIMERS if bpy.app.timers.is_registered(timer)],
        "keymap_items": sorted(keymap_items),
        "menu_entries": sorted(menu_entries),
    }

steps = {"before": snapshot()}
veo_addon.register()
steps["registered"] = snapshot()
veo_addon.unregister()
steps["unregistered"] = snapshot()
veo_addon.register()
steps["registered_again"] = snapshot()
veo_addon.unregister()  # the 4.2 wheel crashes on exit with the add-on still registered
print("SNAPSHOTS" + json.dumps(steps), flush=True)
"""


def test_register_unregister_register_leaves_no_duplicate_or_leftover() -> None:
    finished = subprocess.run(
        [sys.executable, "-c", SNAPSHOTS], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    line = next(line for line in finished.stdout.splitlines() if line.startswith("SNAPSHOTS"))
    steps = json.loads(line.removeprefix("SNAPSHOTS"))

    registered = steps["registered"]
    # The snapshot sees what the add-on adds (else the comparisons below prove nothing).
    assert registered["classes"] and registered["scene_properties"]
    assert "VeoPreferences" in registered["addon_classes"]
    assert registered["handlers"]["load_post"] == ["on_load_post"]
    assert registered["handlers"]["save_post"] == ["on_save_post"]
    # The hotkeys: Generate Transition and next / previous take (ui/keymap.py).
    assert registered["keymap_items"] == ["veo.generate_transition", "veo.next_take", "veo.previous_take"]

    assert steps["unregistered"] == steps["before"]
    assert steps["registered_again"] == registered


ENABLE_THEN_FIRST_JOB = """
import sys
import bpy
shipped = ("httpx", "PIL")
assert not [name for name in shipped if name in sys.modules], "bpy itself imported them"
import veo_addon
veo_addon.register()
at_enable = [name for name in shipped if name in sys.modules]
from veo_addon.core.worker_imports import import_worker_modules
import_worker_modules()  # what the first job does on the main thread before its worker starts
at_first_job = [name for name in shipped if name in sys.modules]
veo_addon.unregister()
print("IMPORTED", at_enable, at_first_job, flush=True)
"""


def test_enabling_imports_neither_httpx_nor_pillow_until_the_first_job() -> None:
    finished = subprocess.run(
        [sys.executable, "-c", ENABLE_THEN_FIRST_JOB],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 0, finished.stdout + finished.stderr
    line = next(line for line in finished.stdout.splitlines() if line.startswith("IMPORTED"))
    assert line == "IMPORTED [] ['httpx', 'PIL']"
