"""Run by test_installed_extension.py in Debian's Blender 4.3 in a real (Xvfb) window.

Usage: blender --factory-startup ... --python installed_window.py -- RESULT.json

With the extension installed in the user folder ($HOME) but --factory-startup (so not
enabled), once the window is up: records whether its operator exists, enables it as the
Preferences checkbox does (`preferences.addon_enable`), records the operator again and where
httpx and Pillow import from, then quits. A watchdog ends a hung run.
"""

import json
import os
import sys
import time
import traceback

import bpy

RESULT_PATH = sys.argv[sys.argv.index("--") + 1]
MODULE = os.environ["VEO_EXTENSION_MODULE"]
WATCHDOG_SECONDS = float(os.environ.get("VEO_WINDOW_WATCHDOG", "240"))

bpy.context.preferences.view.show_splash = False
result: dict = {"started_wall": time.time(), "background": bpy.app.background, "errors": []}


def write_result() -> None:
    partial = RESULT_PATH + ".part"
    with open(partial, "w") as stream:
        json.dump(result, stream, indent=1)
    os.replace(partial, RESULT_PATH)


def operator_registered() -> bool:
    # `hasattr(bpy.ops.veo, "generate_transition")` is true for any name (bpy.ops makes up
    # submodules and operators on request); the RNA type exists only once it is registered.
    try:
        bpy.ops.veo.generate_transition.get_rna_type()
    except (AttributeError, KeyError, RuntimeError):
        return False
    return True


def in_window():
    try:
        result["first_timer_wall"] = time.time()
        result["windows"] = len(bpy.context.window_manager.windows)
        result["operator_before_enable"] = operator_registered()
        result["enable_report"] = sorted(bpy.ops.preferences.addon_enable(module=MODULE))
        result["enabled"] = MODULE in bpy.context.preferences.addons
        result["operator_after_enable"] = operator_registered()
        result["module_file"] = sys.modules[MODULE].__file__
        import httpx
        import PIL

        result["httpx_file"] = httpx.__file__
        result["pil_file"] = PIL.__file__
    except Exception:
        result["errors"].append(traceback.format_exc())
    result["done"] = True
    write_result()
    bpy.ops.wm.quit_blender()


def watchdog():
    result["watchdog"] = f"no result after {WATCHDOG_SECONDS:.0f} s"
    write_result()
    os._exit(3)


write_result()
bpy.app.timers.register(in_window, first_interval=0.5)
bpy.app.timers.register(watchdog, first_interval=WATCHDOG_SECONDS, persistent=True)
