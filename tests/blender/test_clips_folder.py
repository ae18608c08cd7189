"""The clips folder that cannot be made or written to is refused before anything is paid for,
with one sentence that says what is wrong and where (not a traceback)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import bpy
import pytest

from tests.blender.vse_helpers import BLUE, RED, TimelineBuilder, timeline_snapshot
from veo_addon.blender import clips_folder, jobstore
from veo_addon.blender.gaps import choose_transition
from veo_addon.blender.generation import plan_generation
from veo_addon.blender.generation_options import GenerationOptions
from veo_addon.blender.jobmanager import manager
from veo_addon.blender.preferences import service_settings
from veo_addon.core.job import JobState

GENERATE = {"left_strip": "Left", "right_strip": "Right", "prompt": "red to blue", "duration": "4", "seed": 3}


def two_shots(timeline: TimelineBuilder, tmp_path: Path) -> Path:
    timeline.scene.render.fps = 25
    timeline.color("Left", 1, 1, 50, RED)
    timeline.color("Right", 1, 101, 50, BLUE)
    blend = tmp_path / "edit.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    return blend


def test_a_file_named_like_the_clips_folder_is_refused_before_paying(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    two_shots(timeline, tmp_path)
    (tmp_path / "veo_clips").write_text("not a folder")
    before = timeline_snapshot(timeline.scene)

    with pytest.raises(RuntimeError) as refused:
        bpy.ops.veo.generate_transition(**GENERATE)

    message = str(refused.value)
    assert f"{tmp_path / 'veo_clips'} is a file, not a folder" in message
    assert "Traceback" not in message and message.count("\n") <= 1
    assert veo.request_counts["submit"] == 0
    assert jobstore.scene_jobs(timeline.scene) == []
    assert timeline_snapshot(timeline.scene) == before


def test_a_clips_folder_that_cannot_be_written_is_refused_before_paying(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # These tests run as root, whom a read-only folder does not stop: the refusal is simulated.
    def refuse(*_args: object, **_kwargs: object) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied")

    two_shots(timeline, tmp_path)
    monkeypatch.setattr(clips_folder.tempfile, "mkstemp", refuse)

    with pytest.raises(
        RuntimeError, match=f"Cannot write clips into {tmp_path / 'veo_clips'}: permission denied"
    ):
        bpy.ops.veo.generate_transition(**GENERATE)
    assert veo.request_counts["submit"] == 0
    assert jobstore.scene_jobs(timeline.scene) == []


def test_resume_says_what_is_wrong_with_the_clips_folder_and_keeps_the_task(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    veo.gen_seconds = 2
    scene = timeline.scene
    two_shots(timeline, tmp_path)
    options = GenerationOptions(prompt="red to blue", duration="4", seed=3)
    job = manager.start(
        plan_generation(scene, choose_transition(scene, "Left", "Right"), options, service_settings())
    )
    deadline = time.monotonic() + 30
    while not (manager.current_job(job.job_id) or job).task_id and time.monotonic() < deadline:
        manager.pump()
        time.sleep(0.05)
    manager.stop(job.job_id)
    manager.wait_for([job.job_id])
    # Nothing downloaded yet (only the placeholder's pictures): a file takes the folder's name.
    shutil.rmtree(tmp_path / "veo_clips")
    (tmp_path / "veo_clips").write_text("in the way")

    with pytest.raises(RuntimeError, match="is a file, not a folder"):
        bpy.ops.veo.resume_jobs()
    [stopped] = jobstore.scene_jobs(scene)
    assert stopped.state is JobState.STOPPED and stopped.task_id

    (tmp_path / "veo_clips").unlink()
    assert bpy.ops.veo.resume_jobs() == {"FINISHED"}
    assert jobstore.scene_jobs(scene)[0].state is JobState.INSERTED
    assert veo.submit_count == 1
