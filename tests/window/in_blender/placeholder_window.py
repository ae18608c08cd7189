"""Run by test_placeholder_window.py in Debian's Blender 4.3 in a real (Xvfb) window, with the
built zip installed.

Usage: blender --factory-startup ... --python placeholder_window.py -- RESULT.json EDIT.blend SHOTS_DIR

Enables the installed extension, opens the Sequencer (preview above the timeline) with its sidebar
on the Veo tab, and:
1. starts a generation as the panel's button does (`veo.generate_transition`, INVOKE_DEFAULT, the
   prompt in scene.veo_request) and records the placeholder right after the operator returns and
   on the next app timer; renders the gap's first, middle and last frames through the sequencer
   (SHOTS_DIR/gap_*.png, read by the test); waits for the clip to replace the placeholder;
2. a second gap with two samples: a screenshot of the placeholder in its gap (active, so the
   Placeholder panel shows), then, once inserted, the Takes panel (screenshot), Ctrl+Shift+Page
   Up / Page Down over the timeline (next / previous take), Show Take and Keep This Take;
3. disables the add-on (its hotkeys must go).
RESULT.json is rewritten after every step; a watchdog ends a hung run.
"""

import importlib
import json
import os
import sys
import time
import traceback

import bpy

RESULT_PATH, BLEND_PATH, SHOTS = sys.argv[sys.argv.index("--") + 1 :][:3]
MODULE = os.environ["VEO_EXTENSION_MODULE"]
WATCHDOG_SECONDS = float(os.environ.get("VEO_WINDOW_WATCHDOG", "280"))
PROMPT = "The red wall dissolves into blue sky as the camera drifts right"
TAKE_KEYS = {"PAGE_UP": "veo.next_take", "PAGE_DOWN": "veo.previous_take"}

bpy.context.preferences.view.show_splash = False
T0 = time.monotonic()
result: dict = {"background": bpy.app.background, "errors": [], "draws": {}}


def write_result() -> None:
    partial = RESULT_PATH + ".part"
    with open(partial, "w") as stream:
        json.dump(result, stream, indent=1)
    os.replace(partial, RESULT_PATH)


def count_draws(module_name: str, class_name: str) -> None:
    cls = getattr(importlib.import_module(module_name), class_name)
    original = cls.draw

    def counted(self, context):
        result["draws"][class_name] = result["draws"].get(class_name, 0) + 1
        started = time.perf_counter()
        try:
            return original(self, context)
        finally:
            slowest = result.setdefault("slowest_draw_ms", {})
            elapsed = (time.perf_counter() - started) * 1000
            slowest[class_name] = round(max(slowest.get(class_name, 0.0), elapsed), 2)

    cls.draw = counted


def sequencer():
    window = bpy.context.window_manager.windows[0]
    area = next(a for a in window.screen.areas if a.type == "SEQUENCE_EDITOR")
    regions = {region.type: region for region in area.regions}
    return window, area, regions["WINDOW"], regions["UI"]


def strips():
    return bpy.context.scene.sequence_editor.sequences


def placeholders() -> list:
    return [
        [s.name, s.channel, s.frame_final_start, s.frame_final_end]
        for s in strips()
        if s.get("veo_placeholder")
    ]


def movies() -> list:
    return [
        [s.name, s.channel, s.frame_final_start, s.frame_final_end, s.mute]
        for s in strips()
        if s.type == "MOVIE"
    ]


def select(*names):
    for strip in strips():
        strip.select = strip.name in names


def redraw_all() -> None:
    for area in bpy.context.window_manager.windows[0].screen.areas:
        area.tag_redraw()


def drawn_again(*panels: str):
    before = {name: result["draws"].get(name, 0) for name in panels}
    started = time.monotonic()
    while any(result["draws"].get(name, 0) <= before[name] for name in panels):
        if time.monotonic() - started > 10:
            raise AssertionError(f"{panels} were not drawn again: {result['draws']}")
        redraw_all()
        yield 0.1


def scroll_sidebar_down() -> None:
    """The active strip's panel sits below the request: scroll the sidebar to it."""
    window, area, _, sidebar = sequencer()
    with bpy.context.temp_override(window=window, area=area, region=sidebar):
        for _ in range(3):
            bpy.ops.view2d.scroll_down(page=True)


def screenshot(name: str):
    window = bpy.context.window_manager.windows[0]
    with bpy.context.temp_override(window=window):
        bpy.ops.screen.screenshot(filepath=os.path.join(SHOTS, name), check_existing=False)
    yield 0.2


def wait_for_job(index: int, states: set, limit: float = 90.0):
    started = time.monotonic()
    while True:
        jobs = bpy.context.scene.veo_jobs
        if len(jobs) > index and jobs[index].state in states:
            return
        if time.monotonic() - started > limit:
            raise AssertionError(
                f"job {index} never reached {states}: {[[e.state, e.message] for e in jobs]}"
            )
        yield 0.1


def generate_from_panel():
    """What the panel's Generate button does: INVOKE_DEFAULT over the Sequencer."""
    window, area, region, _ = sequencer()
    with bpy.context.temp_override(window=window, area=area, region=region):
        return sorted(bpy.ops.veo.generate_transition("INVOKE_DEFAULT"))


def render_gap(first: int, last: int) -> None:
    """The sequencer's picture at the gap's first, middle and last frames, as PNG files."""
    scene = bpy.context.scene
    render = scene.render
    saved = (render.filepath, render.resolution_percentage, scene.frame_current)
    # Full size: below 100 % Blender draws the placeholder's pictures smaller than the frame.
    render.resolution_percentage = 100
    render.image_settings.file_format = "PNG"
    try:
        for label, frame in (("first", first), ("middle", (first + last) // 2), ("last", last)):
            scene.frame_set(frame)
            render.filepath = os.path.join(SHOTS, f"gap_{label}.png")
            bpy.ops.render.render(write_still=True)
    finally:
        render.filepath, render.resolution_percentage = saved[:2]
        scene.frame_set(saved[2])


def press(key: str, **modifiers):
    window, _, region, _ = sequencer()
    x, y = region.x + region.width // 3, region.y + region.height // 2
    window.event_simulate(type="MOUSEMOVE", value="NOTHING", x=x, y=y)
    yield 0.2
    window.event_simulate(type=key, value="PRESS", x=x, y=y, **modifiers)
    window.event_simulate(type=key, value="RELEASE", x=x, y=y, **modifiers)
    yield 0.5


def take_items() -> list:
    """Active items bound to the take hotkeys, in the user and add-on keyconfigs."""
    found = []
    keyconfigs = bpy.context.window_manager.keyconfigs
    for keyconfig in (keyconfigs.user, keyconfigs.addon):
        for keymap in keyconfig.keymaps:
            for item in keymap.keymap_items:
                if item.idname in TAKE_KEYS.values() and item.active:
                    found.append([keymap.name, item.idname, item.type, item.ctrl, item.shift, item.alt])
    return found


def live_take(group: str):
    for strip in strips():
        if strip.type == "MOVIE" and strip.get("veo_take_group") == group and not strip.mute:
            return int(strip["veo_take_index"])
    return None


def scenario():
    result["enabled"] = sorted(bpy.ops.preferences.addon_enable(module=MODULE))
    bpy.context.preferences.addons[MODULE].preferences.confirm_above = 10.0  # no dialog: not the subject here
    for module_name, class_name in (
        (MODULE + ".blender.ui.panel", "VEO_PT_transition"),
        (MODULE + ".blender.ui.takes_panel", "VEO_PT_takes"),
        (MODULE + ".blender.ui.takes_panel", "VEO_PT_placeholder"),
    ):
        count_draws(module_name, class_name)
    bpy.context.preferences.view.ui_scale = 1.25
    bpy.ops.wm.open_mainfile(filepath=BLEND_PATH, load_ui=False)
    yield 0.5
    window = bpy.context.window_manager.windows[0]
    biggest = max(window.screen.areas, key=lambda a: a.width * a.height)
    biggest.type = "SEQUENCE_EDITOR"
    biggest.spaces.active.view_type = "SEQUENCER_PREVIEW"
    biggest.spaces.active.show_region_ui = True
    with bpy.context.temp_override(window=window, area=biggest):
        bpy.ops.screen.screen_full_area()
    yield 0.5
    window.screen.show_statusbar = False
    while True:
        _, _, _, sidebar = sequencer()
        try:
            sidebar.active_panel_category = "Veo"
            break
        except TypeError:
            redraw_all()
            yield 0.1
    result["sidebar_category"] = sequencer()[3].active_panel_category
    window, area, region, _ = sequencer()
    with bpy.context.temp_override(window=window, area=area, region=region):
        bpy.ops.sequencer.view_all()

    # 1. One sample: the placeholder at once, playing a crossfade, then the clip in its place.
    request = bpy.context.scene.veo_request
    request.prompt, request.duration, request.seed, request.sample_count = PROMPT, "4", 7, 1
    select("Left", "Right")
    started = time.perf_counter()
    result["generate_1"] = generate_from_panel()
    result["generate_1_ms"] = round((time.perf_counter() - started) * 1000, 1)
    result["placeholders_at_return"] = placeholders()
    result["movies_at_return"] = movies()
    yield 0.0  # the next app timer
    result["placeholders_next_timer"] = placeholders()
    write_result()
    images = importlib.import_module(MODULE + ".blender.placeholder_images")
    started = time.monotonic()
    while not images.finished([p for p in _picture_paths() if p]) and time.monotonic() - started < 10:
        yield 0.1
    yield 0.3  # the job manager's next pump makes the placeholder read them
    render_gap(61, 156)
    result["rendered_while"] = [bpy.context.scene.veo_jobs[0].state, placeholders()]
    write_result()
    yield from wait_for_job(0, {"inserted", "failed"})
    result["job_1"] = [bpy.context.scene.veo_jobs[0].state, bpy.context.scene.veo_jobs[0].message]
    result["placeholders_after_1"] = placeholders()
    result["movies_after_1"] = movies()
    write_result()

    # 2. Two samples in a second gap: the placeholder (screenshot), then the takes (screenshot).
    third = strips().new_effect(name="Third", type="COLOR", channel=1, frame_start=313, frame_end=373)
    third.color = (0.2, 0.7, 0.2)
    request.sample_count = 2
    select("Right", "Third")
    result["generate_2"] = generate_from_panel()
    [held] = [s for s in strips() if s.get("veo_placeholder")]
    bpy.context.scene.sequence_editor.active_strip = held
    select("Right", "Third")
    bpy.context.scene.frame_set(265)
    with bpy.context.temp_override(window=window, area=area, region=region):
        bpy.ops.sequencer.view_all()
    yield from drawn_again("VEO_PT_placeholder")
    yield 1.0  # its pictures, and a progress update in its name
    scroll_sidebar_down()
    yield from drawn_again("VEO_PT_placeholder")
    yield from screenshot("placeholder-in-gap.png")
    yield from wait_for_job(1, {"inserted", "failed"})
    job = bpy.context.scene.veo_jobs[1]
    result["job_2"] = [job.state, job.message]
    takes = sorted(
        (s for s in strips() if s.type == "MOVIE" and s.frame_final_start == 217), key=lambda s: s.channel
    )
    result["takes"] = [
        [s.name, s.channel, s.mute, s.get("veo_seam_in"), s.get("veo_seam_out")] for s in takes
    ]
    write_result()
    playing = next(s for s in takes if not s.mute)
    select()
    playing.select = True
    bpy.context.scene.sequence_editor.active_strip = playing
    scroll_sidebar_down()
    yield from drawn_again("VEO_PT_takes")
    yield from screenshot("takes-panel.png")

    group = playing["veo_take_group"]
    result["live_before_keys"] = live_take(group)
    yield from press("PAGE_UP", ctrl=True, shift=True)
    result["live_after_next_key"] = live_take(group)
    yield from press("PAGE_DOWN", ctrl=True, shift=True)
    result["live_after_previous_key"] = live_take(group)
    muted = next(s for s in takes if s.mute)
    with bpy.context.temp_override(window=window, area=area, region=region):
        result["show_take"] = sorted(bpy.ops.veo.show_take(strip=muted.name))
    result["live_after_show"] = live_take(group)
    result["shown_index"] = int(muted["veo_take_index"])
    yield from drawn_again("VEO_PT_takes")
    with bpy.context.temp_override(window=window, area=area, region=region):
        result["keep_take"] = sorted(bpy.ops.veo.keep_take(strip=muted.name))
    result["movies_after_keep"] = movies()
    bpy.context.scene.sequence_editor.active_strip = strips()[muted.name]
    yield from drawn_again("VEO_PT_takes")
    write_result()

    # 3. Disabling the add-on takes the take hotkeys with it.
    result["take_items_enabled"] = take_items()
    bpy.ops.preferences.addon_disable(module=MODULE)
    yield 0.2
    result["take_items_disabled"] = take_items()


def _picture_paths() -> list:
    jobs = importlib.import_module(MODULE + ".blender.jobstore").scene_jobs(bpy.context.scene)
    return [p for job in jobs for p in job.placement.get("placeholder_images", [])]


def run():
    steps = scenario()

    def tick():
        try:
            delay = next(steps)
        except StopIteration:
            result["done"] = True
            result["seconds"] = round(time.monotonic() - T0, 2)
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
