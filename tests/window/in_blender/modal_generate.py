"""Run by test_modal_generate.py in Debian's Blender 4.3 in a real (Xvfb) window.

Usage: blender --factory-startup ... --python modal_generate.py -- RESULT.json EDIT.blend

With the extension installed in $HOME and the service at $VEO_BASE_URL: enables it, opens
EDIT.blend (make_edit.py's two shots and gap), adds two more shots (so there are three more
gaps), turns the biggest area into the Sequencer, then in steps, each waiting for the last:

1. the prompt in the scene's request, the playhead in gap 1: `veo.generate_transition` is
   invoked as the UI invokes it; while it waits, a Right Arrow press must still move the
   playhead (events pass through); wait until its job is inserted and the operator ended;
2. the playhead in gap 2: invoked again; once the job is being processed, Esc (simulated over
   the Sequencer) must stop waiting and leave the job stopped;
3. `veo.resume_jobs` invoked: the stopped job completes;
4. an empty prompt with the playhead on a strip: refused before any dialog; then in gap 3:
   the prompt dialog opens (RUNNING_MODAL) and no job starts; Esc closes it; with the
   confirmation threshold at 0 and a prompt, the confirmation opens and nothing starts (also
   for Fill All Gaps);
5. the file saved, a third job started in gap 3, and the file opened again while it is
   processed: the wait ends (its timer removed), and the job manager still inserts the clip.

Writes RESULT.json after every step; a watchdog ends a hung run.
"""

import json
import os
import sys
import time
import traceback

import bpy

RESULT_PATH, EDIT_PATH = sys.argv[sys.argv.index("--") + 1 :][:2]
MODULE = os.environ["VEO_EXTENSION_MODULE"]
WATCHDOG_SECONDS = float(os.environ.get("VEO_WINDOW_WATCHDOG", "280"))
STEP_SECONDS = 0.25
GAP_FRAMES = {"gap1": 100, "gap2": 260, "gap3": 420, "on_strip": 30}

bpy.context.preferences.view.show_splash = False
result: dict = {"started_wall": time.time(), "background": bpy.app.background, "errors": [], "steps": []}


def write_result() -> None:
    partial = RESULT_PATH + ".part"
    with open(partial, "w") as stream:
        json.dump(result, stream, indent=1)
    os.replace(partial, RESULT_PATH)


def addon(name: str):
    return sys.modules[f"{MODULE}.blender.{name}"]


def sequencer():
    window = bpy.context.window_manager.windows[0]
    area = next(a for a in window.screen.areas if a.type == "SEQUENCE_EDITOR")
    region = next(r for r in area.regions if r.type == "WINDOW")
    return window, area, region


def invoke(operator, **arguments):
    window, area, region = sequencer()
    with bpy.context.temp_override(window=window, area=area, region=region):
        return sorted(operator("INVOKE_DEFAULT", **arguments))


def simulate(event_type: str, **modifiers: bool) -> None:
    window, _, region = sequencer()
    x, y = region.x + region.width // 2, region.y + region.height // 2
    window.event_simulate(type="MOUSEMOVE", value="NOTHING", x=x, y=y)
    window.event_simulate(type=event_type, value="PRESS", x=x, y=y, **modifiers)
    window.event_simulate(type=event_type, value="RELEASE", x=x, y=y, **modifiers)


def jobs():
    return addon("jobstore").scene_jobs(bpy.context.scene)


def job_states():
    return [job.state.value for job in jobs()]


def movie_strips():
    editor = bpy.context.scene.sequence_editor
    every = getattr(editor, "strips_all", None) or editor.sequences_all
    return sorted([s.frame_final_start, s.frame_final_end] for s in every if s.type == "MOVIE")


def waiting() -> bool:
    return bool(addon("modal_wait").waits_under_way())


def stats():
    last = addon("modal_wait").last_wait_stats
    return {
        "ticks": last.ticks,
        "longest_ms": last.longest_ms,
        "mean_ms": last.total_ms / last.ticks if last.ticks else 0.0,
        "status_changes": last.status_changes,
        "final_ms": last.final_ms,
        "last_status": last.last_status,
    }


# -- steps: each returns True when done (the next one starts), False to be called again ----------


def enable_and_open() -> bool:
    result["enable"] = sorted(bpy.ops.preferences.addon_enable(module=MODULE))
    bpy.ops.wm.open_mainfile(filepath=EDIT_PATH)
    return True


def prepare_timeline() -> bool:
    window = bpy.context.window_manager.windows[0]
    biggest = max(window.screen.areas, key=lambda area: area.width * area.height)
    biggest.type = "SEQUENCE_EDITOR"
    biggest.spaces.active.view_type = "SEQUENCER"
    scene = bpy.context.scene
    editor = scene.sequence_editor
    strips = getattr(editor, "strips", None) or editor.sequences
    # make_edit.py: Left 1-60, gap 61-156, Right 157-216. Gaps 2 and 3 are 96 frames too.
    for name, start in (("Third", 313), ("Fourth", 469)):
        strip = strips.new_effect(name=name, type="COLOR", channel=1, frame_start=start, frame_end=start + 60)
        strip.color = (0.2, 0.7, 0.2)
    scene.frame_end = 528
    for strip in strips:
        strip.select = False
    window, area, region = sequencer()
    with bpy.context.temp_override(window=window, area=area, region=region):
        bpy.ops.sequencer.view_all()
    bpy.ops.wm.save_mainfile()
    return True


def start_first_job() -> bool:
    scene = bpy.context.scene
    scene.veo_request.prompt = "a slow dissolve"
    scene.frame_current = GAP_FRAMES["gap1"]
    # New Generation (pays again) and an ordinary option (the stretch limit), both set explicitly.
    arguments = {"new_generation": True, "max_stretch": 3.0}
    result["first_invoke"] = invoke(bpy.ops.veo.generate_transition, **arguments)
    result["first_invoke_wall"] = time.time()
    return True


def scrub_while_waiting() -> bool:
    if not waiting():
        result["errors"].append("the first job's operator was not waiting when the arrow key was pressed")
        return True
    before = bpy.context.scene.frame_current
    simulate("RIGHT_ARROW")
    result["frame_before_arrow"] = before
    return True


def first_job_done() -> bool:
    result.setdefault("frame_after_arrow", bpy.context.scene.frame_current)
    if waiting() or job_states() != ["inserted"]:
        return False
    result["first_done_wall"] = time.time()
    result["first_wait"] = stats()
    result["first_movie_strips"] = movie_strips()
    return True


def deselect_all() -> None:
    """As a click in an empty part of the timeline does (the inserted clip is selected)."""
    editor = bpy.context.scene.sequence_editor
    for strip in getattr(editor, "strips_all", None) or editor.sequences_all:
        strip.select = False


def start_second_job() -> bool:
    """By a key press, as a user starts it: Blender then starts the operator with the options
    remembered from the last run (a call from Python never does)."""
    bpy.context.scene.frame_current = GAP_FRAMES["gap2"]
    deselect_all()
    # This test's own key (the add-on's hotkey is tested with the keymap): Ctrl+Alt+Y.
    keymap = bpy.context.window_manager.keyconfigs.addon.keymaps.new(
        name="Sequencer", space_type="SEQUENCE_EDITOR"
    )
    keymap.keymap_items.new("veo.generate_transition", "Y", "PRESS", ctrl=True, alt=True)
    simulate("Y", ctrl=True, alt=True)
    return True


def second_job_started() -> bool:
    if len(jobs()) < 2:
        return False
    result["second_started_by_key"] = waiting()
    return True


def press_escape_when_processing() -> bool:
    states = job_states()
    if len(states) < 2 or states[1] not in ("queued", "processing"):
        return False
    active = addon("modal_wait").waits_under_way()
    result["status_while_running"] = active[0].last_status if active else ""
    simulate("ESC")
    result["escape_wall"] = time.time()
    return True


def second_job_stopped() -> bool:
    if waiting() or job_states()[1] != "stopped":
        return False
    result["escape_wait"] = stats()
    # What the second run (given no options) ran with: remembered values, except SKIP_SAVE ones.
    [second_run] = [
        op for op in bpy.context.window_manager.operators if op.bl_idname == "VEO_OT_generate_transition"
    ][-1:]
    result["second_run_options"] = {
        "new_generation": second_run.properties.new_generation,
        "max_stretch": second_run.properties.max_stretch,
    }
    second = jobs()[1]
    result["second_after_escape"] = {"state": second.state.value, "can_resume": second.can_resume}
    result["second_task_id"] = second.task_id
    result["resume_invoke"] = invoke(bpy.ops.veo.resume_jobs)
    return True


def resumed_job_done() -> bool:
    if waiting() or job_states() != ["inserted", "inserted"]:
        return False
    result["resume_wait"] = stats()
    result["second_task_id_after"] = jobs()[1].task_id
    result["movie_strips"] = movie_strips()
    return True


def empty_prompt() -> bool:
    scene = bpy.context.scene
    scene.veo_request.prompt = ""
    deselect_all()
    scene.frame_current = GAP_FRAMES["on_strip"]
    try:  # refused with an error report, which bpy.ops raises
        result["empty_prompt_on_strip"] = invoke(bpy.ops.veo.generate_transition)
    except RuntimeError as error:
        result["empty_prompt_on_strip"] = str(error)
    scene.frame_current = GAP_FRAMES["gap3"]
    result["empty_prompt_in_gap"] = invoke(bpy.ops.veo.generate_transition)
    return True


def dialog_started_nothing() -> bool:
    result["jobs_after_dialog"] = len(jobs())
    result["waiting_after_dialog"] = waiting()
    simulate("ESC")  # closes the dialog
    return True


def confirmation_asked() -> bool:
    """Above the preference's threshold (0 here: always) the estimate is confirmed first."""
    preferences = bpy.context.preferences.addons[MODULE].preferences
    preferences.confirm_above = 0.0
    bpy.context.scene.veo_request.prompt = "a quick wipe"
    result["confirm_invoke"] = invoke(bpy.ops.veo.generate_transition)
    return True


def confirmation_started_nothing() -> bool:
    result["jobs_after_confirmation"] = len(jobs())
    result["waiting_after_confirmation"] = waiting()
    simulate("ESC")  # closes the confirmation: not confirmed
    # Fill All Gaps asks the same way for its total.
    result["fill_confirm_invoke"] = invoke(bpy.ops.veo.fill_gaps)
    return True


def fill_confirmation_started_nothing() -> bool:
    result["jobs_after_fill_confirmation"] = len(jobs())
    result["waiting_after_fill_confirmation"] = waiting()
    simulate("ESC")
    bpy.context.preferences.addons[MODULE].preferences.confirm_above = 2.0
    return True


def start_third_job_then_reload() -> bool:
    """A job under way when the file is opened again: the wait ends, the job goes on."""
    bpy.ops.wm.save_mainfile()
    bpy.context.scene.veo_request.prompt = "a quick wipe"
    result["third_invoke"] = invoke(bpy.ops.veo.generate_transition)
    return True


def reload_while_waiting() -> bool:
    if len(jobs()) < 3 or jobs()[2].state.value not in ("queued", "processing"):
        return False
    result["waiting_before_reload"] = waiting()
    bpy.ops.wm.open_mainfile(filepath=EDIT_PATH)
    return True


def after_reload() -> bool:
    result.setdefault("waiting_after_reload", waiting())
    if [strip for strip in movie_strips() if strip[0] == 373] == []:
        return False  # the third clip is not in yet
    result["states_after_reload"] = job_states()
    result["movie_strips_after_reload"] = movie_strips()
    return True


STEPS = [
    enable_and_open,
    prepare_timeline,
    start_first_job,
    scrub_while_waiting,
    first_job_done,
    start_second_job,
    second_job_started,
    press_escape_when_processing,
    second_job_stopped,
    resumed_job_done,
    empty_prompt,
    dialog_started_nothing,
    confirmation_asked,
    confirmation_started_nothing,
    fill_confirmation_started_nothing,
    start_third_job_then_reload,
    reload_while_waiting,
    after_reload,
]


def run_steps():
    step = STEPS[len(result["steps"])]
    try:
        if not step():
            return STEP_SECONDS
        result["steps"].append([step.__name__, round(time.time() - result["started_wall"], 2)])
    except Exception:
        result["errors"].append(f"{step.__name__}: {traceback.format_exc()}")
        result["done"] = True
        write_result()
        os._exit(4)
    write_result()
    if len(result["steps"]) < len(STEPS):
        return STEP_SECONDS
    result["done"] = True
    write_result()
    os._exit(0)  # nothing to save or clean up: the test's folder goes


def watchdog():
    result["watchdog"] = f"no result after {WATCHDOG_SECONDS:.0f} s (steps done: {len(result['steps'])})"
    write_result()
    os._exit(3)


write_result()
# Persistent: the timers must survive the file being opened in the first step.
bpy.app.timers.register(run_steps, first_interval=0.5, persistent=True)
bpy.app.timers.register(watchdog, first_interval=WATCHDOG_SECONDS, persistent=True)
