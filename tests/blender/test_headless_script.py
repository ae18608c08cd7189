"""scripts/veo_generate.py run as a user runs it: a separate process on a saved .blend, against
the local server; and the demo's contact sheet.

Each run is a subprocess with this venv's Python (the bpy wheel), so it is real Blender in
background mode with the add-on registered from the checkout. Saved files are read back in
another subprocess, because this test process shares one Blender state with other tests.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import bpy
import pytest
from PIL import Image

from tests.blender.vse_helpers import BLUE, GREEN, RED, TimelineBuilder, set_frame_rate

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "veo_generate.py"
WORKER_IMPORTS_PROBE = Path(__file__).with_name("worker_imports_probe.py")
DEMO = ROOT / "tools" / "demo.py"
API_KEY = "sk-headless-test-3f9a1c"

# Reads a saved .blend in a fresh process: its strips, and its job list (registered
# properties are readable only with the add-on registered, from Blender 5.0 on).
INSPECT = """
import json, sys
import bpy
import veo_addon
from veo_addon.blender import compat
veo_addon.register()
bpy.ops.wm.open_mainfile(filepath=sys.argv[1])
scene = bpy.context.scene
strips = [
    {"name": s.name, "type": s.type, "channel": s.channel,
     "start": compat.visible_start(s), "end": compat.visible_end(s)}
    for s in compat.top_level_strips(scene)
]
jobs = [{"task_id": entry.task_id, "state": entry.state} for entry in scene.veo_jobs]
movies = {
    other.name: [s.name for s in compat.top_level_strips(other) if s.type == "MOVIE"]
    for other in bpy.data.scenes
}
print("INSPECT" + json.dumps({"strips": strips, "jobs": jobs, "movies_by_scene": movies}), flush=True)
veo_addon.unregister()  # the 4.2 wheel crashes on exit with the add-on still registered
"""


def load_module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def run_script(
    blend: Path,
    base_url: str,
    user_dir: Path,
    *arguments: str,
    timeout: float = 180,
    wrapper: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        "VEO_BASE_URL": base_url,
        "VEO_API_KEY": API_KEY,
        "VEO_USER_DIR": str(user_dir),
    }
    return subprocess.run(
        [
            sys.executable,
            *([str(wrapper)] if wrapper else []),
            str(SCRIPT),
            "--blend",
            str(blend),
            "--",
            *arguments,
        ],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def inspect_blend(blend: Path) -> dict[str, Any]:
    # A journal of its own: opening the file must not adopt or change anything real.
    environment = {**os.environ, "VEO_USER_DIR": str(blend.parent / "inspect_user")}
    finished = subprocess.run(
        [sys.executable, "-c", INSPECT, str(blend)],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    line = next(line for line in finished.stdout.splitlines() if line.startswith("INSPECT"))
    return json.loads(line.removeprefix("INSPECT"))


def movie_strips(blend: Path) -> list[dict[str, Any]]:
    return [strip for strip in inspect_blend(blend)["strips"] if strip["type"] == "MOVIE"]


def save_edit(path: Path) -> Path:
    # copy=True: this process keeps no file path of its own, so later tests start clean.
    bpy.ops.wm.save_as_mainfile(filepath=str(path), copy=True)
    return path


def assert_no_key_anywhere(*places: str | bytes | Path) -> None:
    for place in places:
        data = place.read_bytes() if isinstance(place, Path) else place
        text = data if isinstance(data, bytes) else data.encode()
        assert API_KEY.encode() not in text, (
            f"the API key leaked into {place if isinstance(place, Path) else 'output'}"
        )


def test_fills_the_gap_and_saves(edit, highway, tmp_path):
    user_dir = tmp_path / "user"
    result = run_script(edit, highway.base_url, user_dir, "--prompt", "red to blue", "--seed", "3", "--save")

    assert result.returncode == 0, result.stdout + result.stderr
    summaries = [line for line in result.stdout.splitlines() if line.startswith("[veo] INSERTED job")]
    assert len(summaries) == 1
    assert "frames 21-60" in summaries[0]
    assert highway.submit_count == 1
    [movie] = movie_strips(edit)
    assert (movie["start"], movie["end"]) == (21, 61)
    clips = list((tmp_path / "veo_clips").glob("*.mp4"))
    assert len(clips) == 1 and clips[0].name.startswith(next(iter(highway.tasks)))

    journal_files = [path for path in user_dir.rglob("*") if path.is_file()]
    assert journal_files
    assert_no_key_anywhere(edit, result.stdout, result.stderr, *journal_files)


def test_no_balance_fails_and_leaves_the_file_alone(edit, highway, tmp_path):
    highway.faults.add("submit", kind="no_balance")
    before = edit.read_bytes()

    result = run_script(edit, highway.base_url, tmp_path / "user", "--prompt", "red to blue", "--save")

    assert result.returncode == 1
    assert "balance" in result.stderr.lower()
    assert "[veo] FAILED job" in result.stdout
    assert highway.submit_count == 0
    assert edit.read_bytes() == before
    assert not (tmp_path / "edit.blend1").exists()  # no save happened at all
    assert_no_key_anywhere(result.stdout, result.stderr)


def test_a_failure_after_submit_saves_the_task_id_and_resume_finishes_it(edit, highway, tmp_path):
    user_dir = tmp_path / "user"
    highway.faults.add("result", kind="403")  # the key is refused while polling: the task goes on

    failed = run_script(edit, highway.base_url, user_dir, "--prompt", "red to blue", "--save")

    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert highway.submit_count == 1
    task_id = next(iter(highway.tasks))
    saved = inspect_blend(edit)
    assert [job["task_id"] for job in saved["jobs"]] == [task_id]  # kept in the file itself
    assert not [strip for strip in saved["strips"] if strip["type"] == "MOVIE"]

    highway.faults.clear()
    resumed = run_script(edit, highway.base_url, user_dir, "--resume", "--save")

    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert "[veo] INSERTED job" in resumed.stdout and task_id in resumed.stdout
    assert highway.submit_count == 1  # resuming never pays again
    [movie] = movie_strips(edit)
    assert (movie["start"], movie["end"]) == (21, 61)
    assert_no_key_anywhere(edit, failed.stdout, failed.stderr, resumed.stdout, resumed.stderr)


def test_a_failed_poll_then_the_identical_request_then_resume_insert_one_clip(edit, highway, tmp_path):
    user_dir = tmp_path / "user"
    request = ["--prompt", "red to blue", "--seed", "3", "--save"]
    highway.faults.add("result", kind="403")  # the task is paid for, then polling fails

    failed = run_script(edit, highway.base_url, user_dir, *request)
    highway.faults.clear()
    again = run_script(edit, highway.base_url, user_dir, *request)  # follows the paid task
    resumed = run_script(edit, highway.base_url, user_dir, "--resume", "--save")

    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert again.returncode == 0 and resumed.returncode == 0, again.stderr + resumed.stderr
    assert highway.submit_count == 1
    assert len(movie_strips(edit)) == 1
    assert [job["state"] for job in inspect_blend(edit)["jobs"]] == ["inserted", "inserted"]
    # The second run paid nothing new, and says so instead of repeating the price.
    [cost] = [line for line in again.stdout.splitlines() if "1 × 4 s at 720p" in line]
    assert cost.endswith("reused, no charge") and "USD" not in again.stdout


def three_shots(scene, timeline, tmp_path) -> Path:
    """Three shots at 25 fps with two gaps, 21-40 and 61-90, saved."""
    set_frame_rate(scene, "25")
    timeline.image("a", 1, 1, 20, RED)
    timeline.image("b", 1, 41, 20, GREEN)
    timeline.image("c", 1, 91, 20, BLUE)
    return save_edit(tmp_path / "three.blend")


def test_all_gaps_fills_each_gap(scene, timeline, highway, tmp_path):
    blend = three_shots(scene, timeline, tmp_path)

    result = run_script(blend, highway.base_url, tmp_path / "user", "--prompt", "p", "--all-gaps", "--save")

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("[veo] INSERTED job") == 2
    assert highway.submit_count == 2
    assert sorted((strip["start"], strip["end"]) for strip in movie_strips(blend)) == [(21, 41), (61, 91)]


def test_workers_import_nothing_while_the_main_thread_renders(scene, timeline, highway, tmp_path):
    """A worker importing a module while the main thread renders the next gap's keyframes crashed
    the process (segfault, about one run in three): the main thread imports it all first."""
    blend = three_shots(scene, timeline, tmp_path)

    result = run_script(
        blend,
        highway.base_url,
        tmp_path / "user",
        "--prompt",
        "p",
        "--all-gaps",
        wrapper=WORKER_IMPORTS_PROBE,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    reported = [line for line in result.stdout.splitlines() if line.startswith("WORKER IMPORTS: ")]
    assert len(reported) == 1, result.stdout
    assert json.loads(reported[0].removeprefix("WORKER IMPORTS: ")) == []


def test_all_gaps_on_a_timeline_without_gaps_has_nothing_to_do(scene, timeline, highway, tmp_path):
    set_frame_rate(scene, "25")
    timeline.image("a", 1, 1, 20, RED)
    timeline.image("b", 1, 21, 20, GREEN)
    blend = save_edit(tmp_path / "no_gap.blend")

    result = run_script(blend, highway.base_url, tmp_path / "user", "--prompt", "p", "--all-gaps")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "There is no gap between strips on this timeline; nothing to fill" in result.stdout
    assert highway.submit_count == 0


def test_a_blend_that_does_not_exist_is_a_command_line_mistake(highway, tmp_path):
    result = run_script(tmp_path / "missing.blend", highway.base_url, tmp_path / "user", "--prompt", "p")

    assert result.returncode == 2
    assert result.stderr.strip().endswith("--blend: no such .blend file: " + str(tmp_path / "missing.blend"))


def test_named_strips_that_do_not_exist_fail_clearly(edit, highway, tmp_path):
    result = run_script(
        edit, highway.base_url, tmp_path / "user", "--prompt", "p", "--left", "x", "--right", "y"
    )

    assert result.returncode == 1
    assert "No strip named" in result.stderr
    assert highway.submit_count == 0


@pytest.mark.parametrize(
    "arguments",
    [
        [],  # no --prompt and no --resume
        ["--prompt", "p", "--left", "left"],  # one strip named
        ["--prompt", "p", "--duration", "5"],
        ["--prompt", "p", "--seed", "2147483648"],  # more than Blender's integer property holds
        ["--prompt", "p", "--seed", "seven"],
    ],
)
def test_command_line_mistakes_exit_2(edit, highway, tmp_path, arguments):
    result = run_script(edit, highway.base_url, tmp_path / "user", *arguments)

    assert result.returncode == 2
    assert "usage:" in result.stderr
    assert highway.submit_count == 0


def test_the_seed_reaches_the_service_and_an_omitted_one_is_random(edit, highway, tmp_path):
    user_dir = tmp_path / "user"
    seeded = run_script(edit, highway.base_url, user_dir, "--prompt", "red to blue", "--seed", "2147483647")
    random = run_script(edit, highway.base_url, user_dir, "--prompt", "red to blue", "--new")

    assert seeded.returncode == 0 and random.returncode == 0, seeded.stderr + random.stderr
    assert [body.get("seed") for body in highway.submit_bodies] == [2147483647, None]


def test_a_file_in_place_of_the_clips_folder_fails_in_one_sentence_before_paying(edit, highway, tmp_path):
    (tmp_path / "veo_clips").write_text("in the way")

    result = run_script(edit, highway.base_url, tmp_path / "user", "--prompt", "red to blue", "--save")

    assert result.returncode == 1
    [line] = result.stderr.strip().splitlines()
    assert f"{tmp_path / 'veo_clips'} is a file, not a folder" in line
    assert "Traceback" not in result.stdout + result.stderr
    assert highway.request_counts["submit"] == 0


def two_scenes(
    scene: bpy.types.Scene, timeline: TimelineBuilder, tmp_path: Path, *, gap_in_active: bool
) -> Path:
    """The active scene "Scene" (with or without a gap) and "Other", with a gap at 21-60."""
    set_frame_rate(scene, "25")
    if gap_in_active:
        timeline.image("left", 1, 1, 20, RED)
        timeline.image("right", 1, 61, 20, BLUE)
    else:
        timeline.image("main", 1, 1, 80, RED)
    other = bpy.data.scenes.new("Other")
    set_frame_rate(other, "25")
    other.render.resolution_x, other.render.resolution_y = (
        scene.render.resolution_x,
        scene.render.resolution_y,
    )
    other_timeline = TimelineBuilder(other, tmp_path)
    other_timeline.image("left", 1, 1, 20, RED)
    other_timeline.image("right", 1, 61, 20, BLUE)
    return save_edit(tmp_path / "two_scenes.blend")


def test_an_unknown_scene_is_one_sentence_listing_the_scenes(edit, highway, tmp_path):
    bpy.data.scenes.new("Other")
    blend = save_edit(tmp_path / "two_scenes.blend")

    result = run_script(blend, highway.base_url, tmp_path / "user", "--prompt", "p", "--scene", "Nope")

    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "'Nope'" in line and "'Scene'" in line and "'Other'" in line
    assert highway.request_counts["submit"] == 0


def test_script_arguments_from_blender_and_from_python():
    script = load_module(SCRIPT, "veo_generate_under_test")

    from_python = [str(SCRIPT), "--blend", "e.blend", "--", "--prompt", "a -- b", "--save"]
    assert script.script_arguments(from_python) == ["--blend", "e.blend", "--prompt", "a -- b", "--save"]
    from_blender = ["blender", "-b", "e.blend", "--python", str(SCRIPT), "--", "--prompt", "p"]
    assert script.script_arguments(from_blender) == ["--prompt", "p"]
    assert script.script_arguments(["blender", "-b", "e.blend", "--python", str(SCRIPT)]) == []


def test_contact_sheet_places_labelled_tiles_in_order():
    demo = load_module(DEMO, "veo_demo_under_test")
    colours = [RED, GREEN, BLUE, (250, 250, 250), (10, 10, 10)]
    tiles = [
        demo.Tile(f"frame {index}", Image.new("RGB", (160, 90), colour))
        for index, colour in enumerate(colours)
    ]

    sheet = demo.contact_sheet(tiles, title="t", columns=3, tile_width=160)

    margin, label, title = 16, 34, 56
    assert sheet.size == (margin + 3 * (160 + margin), title + margin + 2 * (90 + label + margin))
    for index, colour in enumerate(colours):
        row, column = divmod(index, 3)
        centre = (margin + column * (160 + margin) + 80, title + margin + row * (90 + label + margin) + 45)
        assert sheet.getpixel(centre) == colour
    assert demo.evenly_spaced(51, 140, 5) == [51, 73, 96, 118, 140]
    assert demo.evenly_spaced(10, 10, 5) == [10]
