"""Run by the window tests in Debian's Blender 4.3 in a real (Xvfb) window.

Usage: blender --factory-startup --python reopen.py -- RESULT.json EDIT.blend

Registers `veo_addon` from the checkout (httpx and Pillow from $VEO_WINDOW_WHEELS), then,
step by step from timers once the window is up, as a user would:
  1. opens EDIT.blend (whose clip the journal says was inserted, but the file lacks it),
  2. waits for the clip to go in, records the strips and `bpy.data.is_dirty`,
  3. runs the pick-up paths once more and checks nothing is inserted twice,
  4. undoes the insertion and saves the file (the "undid it and saved" case),
  5. opens the file again and waits for the clip to go in again,
  6. disables the add-on, opens the file, enables the add-on: the clip goes in once,
and writes what it saw to RESULT.json after every step. A watchdog ends a hung run.
"""

import json
import os
import sys
import time
import traceback
from pathlib import Path

import bpy

RESULT_PATH, BLEND_PATH = sys.argv[sys.argv.index("--") + 1 :][:2]
REPOSITORY = Path(__file__).resolve().parents[3]
WATCHDOG_SECONDS = float(os.environ.get("VEO_WINDOW_WATCHDOG", "240"))
INSERT_WAIT_SECONDS = 30.0

sys.path[:0] = [str(REPOSITORY), os.environ["VEO_WINDOW_WHEELS"]]
bpy.context.preferences.view.show_splash = False

result: dict = {"started_wall": time.time(), "background": bpy.app.background, "errors": []}


def write_result() -> None:
    partial = RESULT_PATH + ".part"
    with open(partial, "w") as stream:
        json.dump(result, stream, indent=1)
    os.replace(partial, RESULT_PATH)


import httpx  # noqa: E402

import veo_addon  # noqa: E402
from veo_addon.blender import handlers, provenance  # noqa: E402

result["httpx_file"] = httpx.__file__
veo_addon.register()


def clip_strips() -> list:
    found = []
    for scene in bpy.data.scenes:
        editor = scene.sequence_editor
        for strip in editor.sequences_all if editor else ():
            if strip.get(provenance.PROP_JOB_ID) and strip.type == "MOVIE":
                found.append([strip.name, strip.channel, strip.frame_final_start, strip.frame_final_end])
    return found


def job_states() -> list:
    return [entry.state for scene in bpy.data.scenes for entry in getattr(scene, "veo_jobs", ())]


def snapshot(name: str, **extra) -> None:
    result[name] = {
        "clips": clip_strips(),
        "dirty": bpy.data.is_dirty,
        "jobs": job_states(),
        "seconds": round(time.monotonic() - T0, 2),
        **extra,
    }
    write_result()


def window_override() -> dict:
    window = bpy.context.window_manager.windows[0]
    return {"window": window, "screen": window.screen}


def step_first_timer():
    result["first_timer_wall"] = time.time()
    return None


def open_file(name: str):
    def step():
        bpy.ops.wm.open_mainfile(filepath=BLEND_PATH)
        # What the load and its handlers did. (is_dirty is True here whatever happens: Blender
        # clears it only once the load has finished.)
        snapshot(name)

    return step


def wait_for_clip(name: str):
    def step():
        waited = time.monotonic() - state["since"]
        if not clip_strips() and waited < INSERT_WAIT_SECONDS:
            return "retry"
        snapshot(name, waited=round(waited, 2))
        return None

    return step


def step_pick_up_again():
    # The load's one-shot timer ran; run every pick-up path again (as a second load or the
    # add-on's enable-time pick-up would), then let their timers and the pump run.
    for name in ("continue_open_file_jobs", "pick_up_open_file", "schedule_continue_jobs"):
        function = getattr(handlers, name, None)
        if function is not None:
            function()
    result["pick_up_again_ran"] = True


def step_after_pick_up():
    snapshot("after_pick_up_again")


def step_undo():
    with bpy.context.temp_override(**window_override()):
        bpy.ops.ed.undo()
    snapshot("after_undo")


def step_save():
    bpy.ops.wm.save_mainfile()


def step_unregister():
    veo_addon.unregister()


def step_register():
    # Enabling the add-on in an open file: its one-shot pick-up timer does what a load would.
    veo_addon.register()
    state["since"] = time.monotonic()


def step_quit():
    result["done"] = True
    write_result()
    bpy.ops.wm.quit_blender()


def mark(name: str):
    def step():
        state["since"] = time.monotonic()
        return None

    step.__name__ = name
    return step


state = {"since": 0.0}
PLAN = [
    (0.1, step_first_timer),
    (0.5, mark("mark_open")),
    (0.0, open_file("after_load")),
    (0.0, wait_for_clip("inserted")),
    (0.0, step_pick_up_again),
    (1.5, step_after_pick_up),
    (0.2, step_undo),
    (0.2, step_save),
    (0.5, lambda: snapshot("after_save")),
    (0.2, mark("mark_reopen")),
    (0.0, open_file("after_reload")),
    (0.0, wait_for_clip("reinserted")),
    (1.0, lambda: snapshot("final")),
    (0.2, step_unregister),
    (0.2, open_file("opened_without_addon")),
    (0.3, step_register),
    (0.0, wait_for_clip("enabled_in_open_file")),
    (1.0, lambda: snapshot("enabled_settled")),
    (0.2, step_quit),
]


def runner(index: int):
    def tick():
        function = PLAN[index][1]
        try:
            outcome = function()
        except Exception:
            result["errors"].append(traceback.format_exc())
            write_result()
            outcome = None
            if function is not step_quit:
                bpy.app.timers.register(runner(len(PLAN) - 1), first_interval=0.1, persistent=True)
                return None
        if outcome == "retry":
            return 0.1
        if index + 1 < len(PLAN):
            bpy.app.timers.register(runner(index + 1), first_interval=PLAN[index + 1][0], persistent=True)
        return None

    return tick


def watchdog():
    result["watchdog"] = f"no result after {WATCHDOG_SECONDS:.0f} s"
    write_result()
    os._exit(3)


T0 = time.monotonic()
write_result()
bpy.app.timers.register(runner(0), first_interval=PLAN[0][0], persistent=True)
bpy.app.timers.register(watchdog, first_interval=WATCHDOG_SECONDS, persistent=True)
