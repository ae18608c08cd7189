"""The Veo tab, the hotkey and the job list in a real Blender window (Debian's 4.3 under Xvfb),
with the zip from `make build` installed as a user installs it.

One window run (in_blender/panel_window.py) walks the panel through its states: idle, nothing
selected, strips touching, request filled in, job running, clip inserted, a failed retry. The
panels must be drawn again in each state, and Blender's whole output must hold no Python
traceback (an exception in draw() only prints one; the panel just goes blank). Ctrl+Shift+G
over the timeline must reach `veo.generate_transition` and nothing else. The screenshots it
takes are what docs/images/ shows: VEO_UPDATE_DOC_IMAGES=1 copies them there.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from PIL import Image

from localserver import LocalHighway
from tests.window import installed
from tools import window_env

REPOSITORY = Path(__file__).resolve().parents[2]
IN_BLENDER = Path(__file__).resolve().parent / "in_blender"
DOC_IMAGES = REPOSITORY / "docs" / "images"
GAP = [61, 157]  # frame_final_start / frame_final_end of the gap make_edit.py leaves
WINDOW_TIMEOUT = 330  # the first Vulkan run compiles shaders for 30-60 s
SCREENSHOTS = ("panel-request.png", "panel-running.png", "panel-inserted.png", "panel-failed.png")


def test_panel_hotkey_and_job_list_in_a_real_window(tmp_path: Path) -> None:
    # Long enough to see the job running (and take its picture), short enough for the suite.
    with LocalHighway(gen_seconds=8.0) as server:
        extension = installed.install(tmp_path)
        env = extension.env | {
            "VEO_BASE_URL": server.base_url,
            "VEO_API_KEY": "window-panel-key",
            "VEO_USER_DIR": str(tmp_path / "user"),
        }
        edit = tmp_path / "edit.blend"
        installed.make_edit(extension, env, edit)

        shots = tmp_path / "shots"
        shots.mkdir()
        result_path = tmp_path / "panel-result.json"
        script = extension.stage(IN_BLENDER / "panel_window.py")
        started = time.monotonic()
        completed = window_env.run(
            window_env.window_command(script, str(result_path), str(edit), str(shots)),
            binds=extension.binds,
            env=env,
            timeout=WINDOW_TIMEOUT,
            capture=True,
        )
        wall = time.monotonic() - started
        submits = server.submit_count
        base_url = server.base_url

    output = f"{completed.stdout}\n{completed.stderr}"
    assert result_path.is_file(), (
        f"the window Blender wrote no result (exit {completed.returncode}):\n{installed.tail(output)}"
    )
    result = json.loads(result_path.read_text())
    seen = f"exit {completed.returncode}; result {json.dumps(result, indent=1)}\n{installed.tail(output)}"
    print(f"window run: {wall:.1f} s wall, scenario {result.get('seconds')} s after the first timer")
    print(f"slowest draw() per panel, ms: {result.get('slowest_draw_ms')}")

    assert completed.returncode == 0, f"Blender did not exit cleanly (139 is a segfault): {seen}"
    assert not result["errors"] and result.get("done"), seen
    assert result["background"] is False
    assert "Traceback" not in output, (
        f"Python raised inside Blender (a draw() error blanks the panel): {seen}"
    )
    assert result["sidebar_category"] == "Veo", seen

    states = result["states"]
    assert list(states) == [
        "idle",
        "nothing_selected",
        "touching",
        "request_filled",
        "running",
        "done",
        "failed",
    ]
    for name, state in states.items():
        assert all(count > 0 for count in state["draws"].values()), f"{name}: a panel was not drawn: {seen}"
    assert states["idle"]["reason"] == "This scene has no strips yet: add two shots with a gap between them."
    assert states["nothing_selected"]["reason"].startswith("Frame 20 is not in a gap: strip 'Left'"), seen
    assert states["touching"]["reason"].startswith("Strips 'Left' and 'Right' touch (no gap)"), seen
    assert states["request_filled"]["reason"] == "", seen
    assert states["running"]["jobs"][0][0] == "processing" and states["running"]["jobs"][0][1] >= 30, seen
    assert states["done"]["jobs"][0][0] == "inserted", seen
    assert [state for state, _, _ in states["failed"]["jobs"]] == ["inserted", "failed"], seen

    # The hotkey: bound to the add-on's operator only, and pressing it over the timeline runs it.
    # The add-on keyconfig's item, and its copy in the user keyconfig (what Blender merges and runs).
    assert {idname for _, _, idname in result["hotkey_items"]} == {"veo.generate_transition"}, seen
    assert ["Blender addon", "Sequencer", "veo.generate_transition"] in result["hotkey_items"], seen
    assert result["hotkey_calls"], f"Ctrl+Shift+G did not reach veo.generate_transition: {seen}"

    assert result["edit_prompt"] == ["RUNNING_MODAL"], seen  # a dialog: Blender waits for the user
    # No prompt dialog and no cost for a request the capture would refuse: one sentence instead.
    assert result["missing_file_invoke"] == (
        "Error: Last keyframe: keyframe file '/nowhere/gone.png' does not exist"
    ), seen
    assert len(result["menu_entries_enabled"]) == 2, seen
    assert result["hotkey_items_disabled"] == [] and result["menu_entries_disabled"] == [], seen
    assert result["preference_draws"] > 0, seen
    assert result["test_connection"] == ["RUNNING_MODAL"], seen  # the main thread never waits
    assert result["test_connection_line_at_start"] == "Testing the connection…", seen
    assert result["test_connection_line"] == f"Connected to {base_url}: the API key was accepted", seen
    assert "window-panel-key" not in output

    assert [clip[2:] for clip in result["movie_strips"]] == [GAP], seen
    assert result["clipboard"] == result["task_id"] != "", seen
    assert result["retry"] == ["FINISHED"], seen
    # The generation, and the retry that pays again; the hotkey with an empty prompt paid nothing.
    assert submits == 2, seen

    for name in SCREENSHOTS:
        image = Image.open(shots / name).convert("L")
        low, high = image.getextrema()
        assert image.size[0] >= 1280 and high - low > 100, f"{name} looks blank: {image.size} {low}-{high}"
    if os.environ.get("VEO_UPDATE_DOC_IMAGES") == "1":
        DOC_IMAGES.mkdir(exist_ok=True)
        for name in SCREENSHOTS:
            shutil.copy2(shots / name, DOC_IMAGES / name)
