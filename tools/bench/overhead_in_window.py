"""Run by tools/bench/overhead_window.py in Debian's Blender 4.3 in a real (Xvfb) window.

Usage: blender --factory-startup ... --python overhead_in_window.py -- RESULT.json FOLDER RUNS

With the extension installed in $HOME and the service at $VEO_BASE_URL: enables it, builds a
1080p edit from FOLDER/left.png and FOLDER/right.png with a 6 s gap, and RUNS times invokes
`veo.generate_transition` as the UI does (INVOKE_DEFAULT over the Sequencer, the prompt given,
no confirmation), which waits modally on real TIMER events while the job manager's timer
pumps. The add-on's own calls are wrapped to stamp the wall clock; RESULT.json gets the stamps.
"""

import importlib
import json
import os
import sys
import threading
import time
import traceback

import bpy

RESULT_PATH, FOLDER, RUNS = sys.argv[sys.argv.index("--") + 1 :][:3]
MODULE = os.environ["VEO_EXTENSION_MODULE"]
GAP = (51, 51 + 6 * 24)  # frames the clip fills: left shot 1-50, right from 195
result: dict = {"errors": [], "runs": [], "done": False}
stamps: dict = {}
spent: dict = {}
lock = threading.Lock()
bpy.context.preferences.view.show_splash = False


def write_result() -> None:
    with open(RESULT_PATH + ".part", "w") as stream:
        json.dump(result, stream, indent=1)
    os.replace(RESULT_PATH + ".part", RESULT_PATH)


def module(name: str):
    # Imported, not looked up: what only a job needs loads with the first job, after set-up.
    return importlib.import_module(f"{MODULE}.{name}")


def around(owner, name: str, before: str, after: str, keep_result: str = "") -> None:
    original = getattr(owner, name)

    def stamped(*args, **kwargs):
        with lock:
            stamps.setdefault(before, time.time())
        started = time.perf_counter()
        try:
            value = original(*args, **kwargs)
            if keep_result:
                stamps[keep_result] = value
            return value
        finally:
            with lock:
                spent[before] = spent.get(before, 0.0) + time.perf_counter() - started
                stamps.setdefault(after, time.time())

    setattr(owner, name, stamped)


def sequencer():
    window = bpy.context.window_manager.windows[0]
    area = next(a for a in window.screen.areas if a.type == "SEQUENCE_EDITOR")
    region = next(r for r in area.regions if r.type == "WINDOW")
    return window, area, region


def set_up() -> None:
    bpy.ops.preferences.addon_enable(module=MODULE)
    bpy.context.preferences.addons[MODULE].preferences.confirm_above = 1000.0
    window = bpy.context.window_manager.windows[0]
    biggest = max(window.screen.areas, key=lambda area: area.width * area.height)
    biggest.type = "SEQUENCE_EDITOR"
    biggest.spaces.active.view_type = "SEQUENCER"
    client = module("core.client").HighwayClient
    around(client, "submit", "submit", "submitted", keep_result="task_id")
    around(client, "download", "download", "downloaded")
    around(module("blender.generation"), "plan_generation", "plan", "captured")
    around(module("core.keyframe_preparation"), "prepare_keyframe", "prepare_keyframe", "keyframe_prepared")
    around(module("blender.finishing"), "finish_insertion", "finish", "finished")
    # After the clip is placed (and plays), the seam check's ticks: reported on their own.
    around(module("blender.finishing"), "step_seam_checks", "seam_step", "seam_stepped")
    manager = module("blender.jobmanager").manager
    around(manager, "insert", "insert", "inserted")


def fresh_edit() -> None:
    """The same two 1080p shots and gap for every run (the last run's clip removed)."""
    scene = bpy.context.scene
    scene.render.resolution_x, scene.render.resolution_y, scene.render.resolution_percentage = 1920, 1080, 100
    scene.render.fps, scene.render.fps_base = 24, 1.0
    editor = scene.sequence_editor_create()
    strips = getattr(editor, "strips", None) or editor.sequences
    for strip in list(strips):
        strips.remove(strip)
    for name, start in (("left", 1), ("right", GAP[1])):
        strip = strips.new_image(
            name=name, filepath=os.path.join(FOLDER, f"{name}.png"), channel=1, frame_start=start
        )
        strip.frame_final_duration = 50
        strip.select = False
    scene.frame_start, scene.frame_end = 1, GAP[1] + 50
    scene.frame_current = GAP[0] + 10


def invoke(seed: int) -> list:
    window, area, region = sequencer()
    with bpy.context.temp_override(window=window, area=area, region=region):
        return sorted(
            bpy.ops.veo.generate_transition(
                "INVOKE_DEFAULT", prompt="a slow dissolve", seed=seed, resolution="720p", duration="6"
            )
        )


def waiting() -> bool:
    return bool(module("blender.modal_wait").waits_under_way())


state = {"run": 0, "started": False}


def step():
    try:
        if not state["started"]:
            if state["run"] >= int(RUNS):
                result["done"] = True
                write_result()
                os._exit(0)
            fresh_edit()
            if state["run"] == 0:
                bpy.ops.wm.save_as_mainfile(filepath=os.path.join(FOLDER, "edit.blend"))
            stamps.clear()
            spent.clear()
            stamps["call"] = time.time()
            outcome = invoke(700 + state["run"])
            stamps["invoked"] = time.time()
            if outcome != ["RUNNING_MODAL"]:
                result["errors"].append(f"run {state['run']}: the operator answered {outcome}")
            state["started"] = True
            return 0.02
        if "inserted" in stamps and not waiting():
            last = module("blender.modal_wait").last_wait_stats
            result["runs"].append(
                {
                    "stamps": {k: v for k, v in stamps.items() if isinstance(v, (int, float))},
                    "task_id": stamps.get("task_id"),
                    "spent": dict(spent),
                    "longest_tick_ms": last.longest_ms,
                    "ticks": last.ticks,
                }
            )
            write_result()
            state["run"] += 1
            state["started"] = False
        return 0.02
    except Exception:
        result["errors"].append(traceback.format_exc())
        write_result()
        os._exit(4)


def begin():
    try:
        set_up()
    except Exception:
        result["errors"].append(traceback.format_exc())
        write_result()
        os._exit(4)
    bpy.app.timers.register(step, first_interval=0.5, persistent=True)


def watchdog():
    result["errors"].append("watchdog: no result in time")
    write_result()
    os._exit(3)


write_result()
bpy.app.timers.register(begin, first_interval=0.5, persistent=True)
bpy.app.timers.register(watchdog, first_interval=60.0 + 30.0 * int(RUNS), persistent=True)
