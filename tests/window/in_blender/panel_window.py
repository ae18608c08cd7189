"""Run by test_panel.py in Debian's Blender 4.3 in a real (Xvfb) window, with the built zip installed.

Usage: blender --factory-startup ... --python panel_window.py -- RESULT.json EDIT.blend SHOTS_DIR

Enables the installed extension, opens the Sequencer full-window with its sidebar on the Veo
tab, and walks the panel through its states as a user meets them: idle (no strips), nothing
selected, strips touching, the hotkey pressed through simulated events, Test Connection, the
request filled in (screenshot), the wide prompt editor, a job running against the local server
(screenshot), the clip inserted (screenshot), Copy Task ID, a failed retry (screenshot), the
add-on's preferences, and disabling the add-on. In each state it waits until the panels were
drawn again; the test reads Blender's output for tracebacks. RESULT.json is rewritten after
every step; a watchdog ends a hung run.
"""

import importlib
import json
import os
import sys
import time
import traceback
import urllib.request

import bpy

RESULT_PATH, BLEND_PATH, SHOTS = sys.argv[sys.argv.index("--") + 1 :][:3]
MODULE = os.environ["VEO_EXTENSION_MODULE"]
SERVER = os.environ["VEO_BASE_URL"]
WATCHDOG_SECONDS = float(os.environ.get("VEO_WINDOW_WATCHDOG", "280"))
PROMPT = "A slow dissolve: the red wall turns to blue sky as the camera drifts right"
PANELS = ("VEO_PT_transition", "VEO_PT_request", "VEO_PT_jobs")

bpy.context.preferences.view.show_splash = False
T0 = time.monotonic()
result: dict = {"started_wall": time.time(), "background": bpy.app.background, "errors": [], "states": {}}
draws = dict.fromkeys(PANELS, 0)


def write_result() -> None:
    partial = RESULT_PATH + ".part"
    with open(partial, "w") as stream:
        json.dump(result, stream, indent=1)
    os.replace(partial, RESULT_PATH)


def seconds() -> float:
    return round(time.monotonic() - T0, 2)


def count_draws(module_name: str, class_name: str) -> None:
    """Wrap a registered panel's draw(): Blender looks the method up on each call."""
    cls = getattr(importlib.import_module(module_name), class_name)
    original = cls.draw

    def counted(self, context):
        draws[class_name] += 1
        started = time.perf_counter()
        try:
            return original(self, context)
        finally:
            slowest = result.setdefault("slowest_draw_ms", {})
            slowest[class_name] = round(
                max(slowest.get(class_name, 0.0), (time.perf_counter() - started) * 1000), 2
            )

    cls.draw = counted


def sequencer():
    window = bpy.context.window_manager.windows[0]
    area = next(a for a in window.screen.areas if a.type == "SEQUENCE_EDITOR")
    regions = {region.type: region for region in area.regions}
    return window, area, regions["WINDOW"], regions["UI"]


def strips():
    return bpy.context.scene.sequence_editor.sequences


def select(*names):
    for strip in strips():
        strip.select = strip.name in names


def redraw_all() -> None:
    for area in bpy.context.window_manager.windows[0].screen.areas:
        area.tag_redraw()


def panel_drawn(state: str, **extra):
    """Generator step: redraw until every Veo panel was drawn again, then record the state."""
    before = dict(draws)
    started = time.monotonic()
    while any(draws[name] <= before[name] for name in PANELS):
        if time.monotonic() - started > 10:
            raise AssertionError(f"{state}: the panels were not drawn again ({draws} after {before})")
        redraw_all()
        yield 0.1
    scene = bpy.context.scene
    result["states"][state] = {
        "seconds": seconds(),
        "draws": {name: draws[name] - before[name] for name in PANELS},
        "jobs": [[entry.state, entry.progress, entry.task_id] for entry in getattr(scene, "veo_jobs", ())],
        **extra,
    }
    write_result()


def screenshot(name: str):
    window = bpy.context.window_manager.windows[0]
    path = os.path.join(SHOTS, name)
    with bpy.context.temp_override(window=window):
        bpy.ops.screen.screenshot(filepath=path, check_existing=False)
    result.setdefault("screenshots", []).append(path)
    yield 0.2


def scroll_sidebar_down() -> None:
    """Show the job list and its actions: at this size they sit below the sidebar's fold."""
    window, area, _, sidebar = sequencer()
    with bpy.context.temp_override(window=window, area=area, region=sidebar):
        for _ in range(4):
            bpy.ops.view2d.scroll_down(page=True)


def readiness_reason() -> str:
    readiness = importlib.import_module(MODULE + ".blender.ui.readiness")
    return readiness.readiness(bpy.context).reason


def wait_for_job(index: int, states: set, limit: float = 60.0, min_progress: int = -1):
    started = time.monotonic()
    while True:
        jobs = bpy.context.scene.veo_jobs
        if len(jobs) > index and jobs[index].state in states and jobs[index].progress >= min_progress:
            return
        if time.monotonic() - started > limit:
            found = [[e.state, e.progress, e.message] for e in jobs]
            raise AssertionError(f"job {index} never reached {states}: {found}")
        yield 0.1


# Keymaps that are active over the Sequencer's timeline besides its own (space SEQUENCE_EDITOR).
GENERAL_KEYMAPS = {
    "Window",
    "Screen",
    "Screen Editing",
    "Frames",
    "User Interface",
    "View2D",
    "Markers",
    "Time Scrub",
    "Animation",
    "View2D Buttons List",
}


HOTKEY = ("G", True, True, False, False)  # type, ctrl, shift, alt, oskey


def hotkey_items() -> list:
    """Every active item bound to Ctrl+Shift+G (no Alt) in the keymaps used over the timeline."""
    found = []
    keyconfigs = bpy.context.window_manager.keyconfigs
    for keyconfig in (keyconfigs.user, keyconfigs.addon):
        for keymap in keyconfig.keymaps:
            if keymap.space_type != "SEQUENCE_EDITOR" and keymap.name not in GENERAL_KEYMAPS:
                continue
            for item in keymap.keymap_items:
                keys = (item.type, item.ctrl, item.shift, item.alt, item.oskey)
                if keys == HOTKEY and item.active and item.value in ("PRESS", "ANY", "CLICK"):
                    found.append([keyconfig.name, keymap.name, item.idname])
    return found


def press_hotkey():
    """Ctrl+Shift+G over the timeline, the scene's prompt empty: nothing can be paid for."""
    bpy.context.scene.veo_request.prompt = ""
    operator = importlib.import_module(MODULE + ".blender.generate_operators").VEO_OT_generate_transition
    calls = []
    # Blender passes as many arguments as the function declares: the wrappers spell them out.
    if hasattr(operator, "invoke"):
        original_invoke = operator.invoke

        def invoke(self, context, event):
            calls.append("invoke")
            return original_invoke(self, context, event)

        operator.invoke = invoke
    original_execute = operator.execute

    def execute(self, context):
        calls.append("execute")
        return original_execute(self, context)

    operator.execute = execute
    result["hotkey_items"] = hotkey_items()
    window, _, region, _ = sequencer()
    x, y = region.x + region.width // 3, region.y + region.height // 2
    window.event_simulate(type="MOUSEMOVE", value="NOTHING", x=x, y=y)
    yield 0.2
    window.event_simulate(type="G", value="PRESS", ctrl=True, shift=True, x=x, y=y)
    window.event_simulate(type="G", value="RELEASE", ctrl=True, shift=True, x=x, y=y)
    started = time.monotonic()
    while not calls and time.monotonic() - started < 5:
        yield 0.1
    result["hotkey_calls"] = list(calls)
    # A dialog the operator may have opened is closed again: the request goes in from the panel.
    window.event_simulate(type="ESC", value="PRESS", x=x, y=y)
    window.event_simulate(type="ESC", value="RELEASE", x=x, y=y)
    yield 0.3
    operator.execute = original_execute
    if hasattr(operator, "invoke"):
        operator.invoke = original_invoke
    write_result()


def menu_entries() -> list:
    return [
        [menu, function.__module__]
        for menu in ("SEQUENCER_MT_strip", "SEQUENCER_MT_context_menu")
        for function in getattr(getattr(bpy.types, menu).draw, "_draw_funcs", ())
        if function.__module__.startswith(MODULE)
    ]


def edit_prompt_dialog():
    """The wide prompt editor opens (its draw() runs) and closes with Esc."""
    window, area, region, _ = sequencer()
    x, y = region.x + region.width // 2, region.y + region.height // 2
    with bpy.context.temp_override(window=window, area=area, region=region):
        result["edit_prompt"] = sorted(bpy.ops.veo.edit_prompt("INVOKE_DEFAULT"))
    yield 0.5
    yield from screenshot("edit-prompt-dialog.png")
    window.event_simulate(type="ESC", value="PRESS", x=x, y=y)
    window.event_simulate(type="ESC", value="RELEASE", x=x, y=y)
    yield 0.3


def missing_keyframe_file():
    """Generate with no prompt and a last keyframe file that is not there: refused at once, in the
    capture's words, before the prompt dialog (and its cost) is shown."""
    window, area, region, _ = sequencer()
    x, y = region.x + region.width // 2, region.y + region.height // 2
    with bpy.context.temp_override(window=window, area=area, region=region):
        try:
            called = bpy.ops.veo.generate_transition(
                "INVOKE_DEFAULT",
                left_strip="Left",
                right_strip="Right",
                prompt="",
                last_source="file",
                last_path="/nowhere/gone.png",
            )
            result["missing_file_invoke"] = sorted(called)
        except RuntimeError as error:
            result["missing_file_invoke"] = str(error).strip()
    yield 0.3
    # A dialog the old code opened is closed again, so the rest of the walk starts clean.
    window.event_simulate(type="ESC", value="PRESS", x=x, y=y)
    window.event_simulate(type="ESC", value="RELEASE", x=x, y=y)
    yield 0.3


def test_connection():
    """Test Connection as the preferences' button runs it: modal, on window-manager timer events,
    the answer read from a worker thread. (Its INFO report also replaces the hotkey's error in
    the report banner, which would otherwise show in the screenshots.)"""
    connection_check = importlib.import_module(MODULE + ".blender.connection_check")
    window, area, region, _ = sequencer()
    with bpy.context.temp_override(window=window, area=area, region=region):
        result["test_connection"] = sorted(bpy.ops.veo.test_connection())
    result["test_connection_line_at_start"] = connection_check.last_line
    started = time.monotonic()
    while connection_check.last_line == connection_check.TESTING_LINE and time.monotonic() - started < 20:
        yield 0.1
    result["test_connection_seconds"] = round(time.monotonic() - started, 2)
    result["test_connection_line"] = connection_check.last_line


def scenario():
    result["enabled"] = sorted(bpy.ops.preferences.addon_enable(module=MODULE))
    for module_name, class_name in (
        (MODULE + ".blender.ui.panel", "VEO_PT_transition"),
        (MODULE + ".blender.ui.panel", "VEO_PT_request"),
        (MODULE + ".blender.ui.job_list", "VEO_PT_jobs"),
    ):
        count_draws(module_name, class_name)
    bpy.context.preferences.view.ui_scale = 1.25
    window = bpy.context.window_manager.windows[0]
    biggest = max(window.screen.areas, key=lambda a: a.width * a.height)
    biggest.type = "SEQUENCE_EDITOR"
    biggest.spaces.active.view_type = "SEQUENCER"
    biggest.spaces.active.show_region_ui = True
    with bpy.context.temp_override(window=window, area=biggest):
        bpy.ops.screen.screen_full_area()
    yield 0.5
    # The screenshots show the panel; the status bar would show whichever report came last.
    bpy.context.window_manager.windows[0].screen.show_statusbar = False
    # The sidebar's tabs exist only once it was drawn: retry until the Veo tab can be chosen.
    while True:
        _, _, _, sidebar = sequencer()
        try:
            sidebar.active_panel_category = "Veo"
            break
        except TypeError:
            redraw_all()
            yield 0.1
    result["sidebar_category"] = sequencer()[3].active_panel_category

    # idle: the add-on just enabled, the scene has no strips
    yield from panel_drawn("idle", reason=readiness_reason())

    bpy.ops.wm.open_mainfile(filepath=BLEND_PATH, load_ui=False)
    yield 0.5
    window, area, region, _ = sequencer()
    with bpy.context.temp_override(window=window, area=area, region=region):
        bpy.ops.sequencer.view_all()
    select()
    bpy.context.scene.frame_current = 20
    yield from panel_drawn("nothing_selected", reason=readiness_reason())

    right = strips()["Right"]
    right.frame_start = 61
    select("Left", "Right")
    yield from panel_drawn("touching", reason=readiness_reason())
    right.frame_start = 157
    yield 0.2
    # Before any generation: the operator would otherwise remember that call's prompt and strips.
    yield from press_hotkey()
    yield from test_connection()

    request = bpy.context.scene.veo_request
    request.prompt = PROMPT
    request.duration = "4"
    request.seed = 7
    yield from panel_drawn("request_filled", reason=readiness_reason())
    yield from screenshot("panel-request.png")
    yield from edit_prompt_dialog()
    yield from missing_keyframe_file()

    window, area, region, _ = sequencer()
    with bpy.context.temp_override(window=window, area=area, region=region):
        result["generate"] = sorted(
            bpy.ops.veo.generate_transition(
                "EXEC_DEFAULT", left_strip="Left", right_strip="Right", prompt=PROMPT, duration="4", seed=7
            )
        )
    yield from wait_for_job(0, {"processing"}, min_progress=30)
    scroll_sidebar_down()
    yield from panel_drawn("running")
    yield from screenshot("panel-running.png")

    yield from wait_for_job(0, {"inserted"})
    select()
    scroll_sidebar_down()
    yield from panel_drawn("done")
    yield from screenshot("panel-inserted.png")
    entry = bpy.context.scene.veo_jobs[0]
    movies = [s for s in strips() if s.type == "MOVIE"]
    result["movie_strips"] = [[s.name, s.channel, s.frame_final_start, s.frame_final_end] for s in movies]

    bpy.context.window_manager.clipboard = ""
    with bpy.context.temp_override(window=window):
        bpy.ops.veo.copy_task_id(job_id=entry.job_id)
    result["clipboard"] = bpy.context.window_manager.clipboard
    result["task_id"] = entry.task_id

    # failed: the service's safety filter blocks the retried generation
    fault = json.dumps({"spec": "result=safety"}).encode()
    urllib.request.urlopen(urllib.request.Request(SERVER + "/_control/faults", data=fault, method="POST"))
    with bpy.context.temp_override(window=window, area=area, region=region):
        result["retry"] = sorted(bpy.ops.veo.retry_job("EXEC_DEFAULT", job_id=entry.job_id))
    yield from wait_for_job(1, {"failed"})
    bpy.context.scene.veo_jobs_index = 1
    yield from panel_drawn("failed")
    yield from screenshot("panel-failed.png")

    # The add-on's preferences, drawn in the Preferences editor, and Test Connection run from
    # there: modal, on window-manager timer events, the answer read from a worker thread.
    preferences = importlib.import_module(MODULE + ".blender.preferences")
    preference_draws = []
    original_draw = preferences.VeoPreferences.draw

    def counted_preferences(self, context):
        preference_draws.append(1)
        return original_draw(self, context)

    preferences.VeoPreferences.draw = counted_preferences
    bpy.ops.preferences.addon_expand(module=MODULE)  # what clicking the entry's arrow does
    bpy.context.window_manager.addon_search = "Veo"
    bpy.context.preferences.active_section = "ADDONS"
    area.type = "PREFERENCES"
    bpy.context.window_manager.windows[0].screen.show_statusbar = True
    started = time.monotonic()
    while not preference_draws and time.monotonic() - started < 10:
        redraw_all()
        yield 0.1
    result["preference_draws"] = len(preference_draws)
    yield from screenshot("preferences-test-connection.png")

    # Disabling the add-on takes its hotkey and menu entries with it.
    result["menu_entries_enabled"] = menu_entries()
    bpy.ops.preferences.addon_disable(module=MODULE)
    yield 0.2
    result["hotkey_items_disabled"] = hotkey_items()
    result["menu_entries_disabled"] = menu_entries()


def run():
    steps = scenario()

    def tick():
        try:
            delay = next(steps)
        except StopIteration:
            result["done"] = True
            result["seconds"] = seconds()
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


write_result()
bpy.app.timers.register(run(), first_interval=1.0, persistent=True)
bpy.app.timers.register(watchdog, first_interval=WATCHDOG_SECONDS, persistent=True)
