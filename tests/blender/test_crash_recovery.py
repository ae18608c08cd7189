"""Blender killed with SIGKILL while a paid task is in flight: a new Blender finishes the job.

Each side is a real Blender process (the bpy wheel's Python running crash_child.py); the
local server runs in the test process and counts submits.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from localserver import LocalHighway

CHILD = Path(__file__).with_name("crash_child.py")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def child_env(highway: LocalHighway, tmp_path: Path) -> dict[str, str]:
    highway.gen_seconds = 8  # long enough that the kill lands while the task is processing
    return {
        **os.environ,
        "VEO_BASE_URL": highway.base_url,
        "VEO_API_KEY": "sk_test_crash_key_0123456789",
        "VEO_USER_DIR": str(tmp_path / "user"),
        "VEO_REQUESTS_PER_MINUTE": "100000",
    }


def start_then_kill(action: str, blend: Path, env: dict[str, str]) -> tuple[str, str]:
    child = subprocess.Popen(
        [sys.executable, str(CHILD), action, str(blend)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert child.stdout is not None
        for line in child.stdout:
            if line.startswith("READY "):
                _, job_id, task_id = line.split()
                break
        else:
            raise AssertionError(f"the child ended without starting a job (exit {child.wait()})")
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=30) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
    return job_id, task_id


def finish(blend: Path, env: dict[str, str], *extra: str) -> tuple[list[str], str]:
    done = subprocess.run(
        [sys.executable, str(CHILD), "finish", str(blend), *extra],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return [line for line in done.stdout.splitlines() if line.startswith("STRIP ")], done.stdout


@pytest.mark.parametrize("action", ["start-saved", "start-unsaved-job"])
def test_a_new_blender_finishes_the_job_of_a_killed_one(
    highway: LocalHighway, child_env: dict[str, str], tmp_path: Path, action: str
) -> None:
    blend = tmp_path / "edit.blend"
    _, task_id = start_then_kill(action, blend, child_env)
    assert highway.task(task_id).status != "TASK_STATUS_SUCCEED"  # killed mid-poll

    strips, output = finish(blend, child_env)

    assert len(strips) == 1 and strips[0].endswith(" 51 101"), output
    assert highway.submit_count == 1
    assert not list((tmp_path / "veo_clips").glob("*.part"))


def test_a_job_of_a_never_saved_file_can_be_inserted_into_another_file(
    highway: LocalHighway, child_env: dict[str, str], tmp_path: Path
) -> None:
    job_id, _ = start_then_kill("start-never-saved", tmp_path / "unused.blend", child_env)
    # The editor rebuilds the edit, saves it, and asks for the unclaimed job to go in.
    target = tmp_path / "rebuilt.blend"
    subprocess.run(
        [sys.executable, "-c", _SAVE_EDIT.format(path=str(target))],
        cwd=ROOT,
        env=child_env,
        check=True,
        timeout=120,
    )

    strips, output = finish(target, child_env, job_id)

    assert len(strips) == 1 and strips[0].endswith(" 51 101"), output
    assert highway.submit_count == 1


_SAVE_EDIT = """
import sys
sys.path.insert(0, "tests/blender")
import bpy, crash_child
crash_child.build_edit()
bpy.ops.wm.save_as_mainfile(filepath={path!r})
"""
