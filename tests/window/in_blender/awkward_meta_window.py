"""Run by test_awkward_meta_window.py in Debian's Blender 4.3 in a real (Xvfb) window.

Usage: blender --factory-startup ... --python awkward_meta_window.py -- RESULT.json EDIT.blend

A user groups the two shots into a meta strip (Ctrl+G), opens it (Tab), selects the two shots
inside and asks for a transition: the panel and the operator must both name the open meta strip.
Then the user leaves it (Tab) and ungroups it (Ctrl+Alt+G): the panel is ready again.
RESULT.json is rewritten after every step; a watchdog ends a hung run.
"""

import importlib
import json
import os
import sys
import time
import traceback

import bpy

RESULT_PATH, BLEND_PATH = sys.argv[sys.argv.index("--") + 1 :][:2]
MODULE = os.environ["VEO_EXTENSION_MODULE"]
WATCHDOG_SECONDS = float(os.environ.get("VEO_WINDOW_WATCHDOG", "240"))

bpy.context.preferences.view.show_splash = False
result: dict = {"background": bpy.app.background, "errors": [], "states": {}}


def write_result() -> None:
    partial = RESULT_PATH + ".part"
    with open(partial, "w") as stream:
        json.dump(result, stream, indent=1)
    os.replace(partial, RESULT_PATH)


def sequencer_override():
    window = bpy.context.window_manager.windows[0]
    area = next(a for a in window.screen.areas if a.type == "SEQUENCE_EDITOR")
    region = next(r for r in area.regions if r.type == "WINDOW")
    return bpy.context.temp_override(window=window, area=area, region=region)


def readiness_reason() -> str:
    readiness = importlib.import_module(MODULE + ".blender.ui.readiness")
    return readiness.readiness(bpy.context).reason


def generate() -> str:
    """The operator as the Generate button runs it; its refusal, or "" when it started."""
    try:
        with sequencer_override():
            bpy.ops.veo.generate_transition("EXEC_DEFAULT", prompt="a dissolve", duration="4")
    except RuntimeError as error:
        return str(error).strip()
    return ""


def record(state: str) -> None:
    editor = bpy.context.scene.sequence_editor
    result["states"][state] = {
        "reason": readiness_reason(),
        "meta_stack": [meta.name for meta in editor.meta_stack],
        "selected_top_level": [s.name for s in editor.sequences if s.select],
    }
    write_result()


def scenario():
    result["enabled"] = sorted(bpy.ops.preferences.addon_enable(module=MODULE))
    window = bpy.context.window_manager.windows[0]
    biggest = max(window.screen.areas, key=lambda a: a.width * a.height)
    biggest.type = "SEQUENCE_EDITOR"
    biggest.spaces.active.view_type = "SEQUENCER"
    yield 0.5
    bpy.ops.wm.open_mainfile(filepath=BLEND_PATH, load_ui=False)
    yield 0.5
    strips = bpy.context.scene.sequence_editor.sequences
    for strip in strips:
        strip.select = strip.name in ("Left", "Right")
    with sequencer_override():
        result["meta_make"] = sorted(bpy.ops.sequencer.meta_make())  # Ctrl+G
        result["meta_toggle_in"] = sorted(bpy.ops.sequencer.meta_toggle())  # Tab
    yield 0.3
    for strip in bpy.context.scene.sequence_editor.sequences_all:
        strip.select = strip.name in ("Left", "Right")
    bpy.context.scene.frame_current = 100  # in the gap between them, inside the meta
    record("inside_meta_two_selected")
    result["states"]["inside_meta_two_selected"]["operator"] = generate()
    write_result()
    yield 0.3
    with sequencer_override():
        result["meta_toggle_out"] = sorted(bpy.ops.sequencer.meta_toggle())  # Tab
        result["meta_separate"] = sorted(bpy.ops.sequencer.meta_separate())  # Ctrl+Alt+G
    yield 0.3
    for strip in bpy.context.scene.sequence_editor.sequences_all:
        strip.select = False
    record("ungrouped_nothing_selected")


def run():
    steps = scenario()

    def tick():
        try:
            delay = next(steps)
        except StopIteration:
            result["done"] = True
            write_result()
            bpy.ops.wm.quit_blender()
            return None
        except Exception:
            result["errors"].append(traceback.format_exc())
            write_result()
            bpy.ops.wm.quit_blender()
            return None
        return delay

    return tick


def watchdog():
    result["watchdog"] = f"no result after {WATCHDOG_SECONDS:.0f} s"
    write_result()
    os._exit(3)


result["started_wall"] = time.time()
write_result()
bpy.app.timers.register(run(), first_interval=1.0, persistent=True)
bpy.app.timers.register(watchdog, first_interval=WATCHDOG_SECONDS, persistent=True)
