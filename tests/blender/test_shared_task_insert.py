"""Two jobs that follow one task for one gap put one clip on the timeline.

A run fails while polling (the task goes on at the service), the identical request again
follows that task and inserts its clip, then the first job is resumed: it must not insert
the same clip a second time. Whichever inserts first finishes the other one too.
"""

from __future__ import annotations

from pathlib import Path

import bpy
import pytest

from tests.blender.vse_helpers import BLUE, RED, TimelineBuilder
from veo_addon.blender import compat, jobstore
from veo_addon.blender.gaps import choose_transition
from veo_addon.blender.generation import plan_generation
from veo_addon.blender.generation_options import GenerationOptions
from veo_addon.blender.jobmanager import manager
from veo_addon.blender.preferences import service_settings
from veo_addon.core.job import Job, JobState

PROMPT = "the red room dissolves into the blue room"
GENERATE = {"left_strip": "Left", "right_strip": "Right", "prompt": PROMPT, "duration": "4", "seed": 42}


def two_shots(timeline: TimelineBuilder, tmp_path: Path) -> None:
    timeline.scene.render.fps = 25
    timeline.color("Left", 1, 1, 50, RED)
    timeline.color("Right", 1, 101, 50, BLUE)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))


def movie_strips(scene: bpy.types.Scene) -> list[bpy.types.Strip]:
    return [strip for strip in compat.strips_all(scene) if strip.type == "MOVIE"]


def jobs_by_id() -> dict[str, Job]:
    return {job.job_id: job for job in jobstore.scene_jobs(bpy.context.scene)}


def fail_while_polling(veo) -> Job:  # type: ignore[no-untyped-def]
    """The first run: the task is accepted (and paid), then every poll fails."""
    veo.faults.add("result", kind="500")
    with pytest.raises(RuntimeError, match="unavailable"):
        bpy.ops.veo.generate_transition(**GENERATE)
    veo.faults.clear()
    [failed] = jobstore.scene_jobs(bpy.context.scene)
    assert failed.state is JobState.FAILED and failed.task_id
    return failed


def assert_shared(first: Job, second: Job) -> None:
    """Both jobs are inserted, in the file and in the journal, and the one that did not insert
    names the one that did."""
    assert first.task_id == second.task_id
    for job in (first, second):
        assert job.state is JobState.INSERTED, job.message
        recorded = manager.journal.get(job.job_id)
        assert recorded is not None and recorded.state is JobState.INSERTED, recorded
    sharer = first if first.placement.get("inserted_by") else second
    inserter = second if sharer is first else first
    assert sharer.placement["inserted_by"] == inserter.job_id
    assert inserter.job_id[:8] in sharer.message
    strip_names = {strip.name for strip in compat.strips_all(bpy.context.scene) if strip.get("veo_job_id")}
    assert set(sharer.placement["strips"]) <= strip_names and sharer.placement["strips"]


def test_a_failed_poll_then_the_identical_request_then_resume_insert_one_clip(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    two_shots(timeline, tmp_path)
    first = fail_while_polling(veo)

    assert bpy.ops.veo.generate_transition(**GENERATE) == {"FINISHED"}  # follows the paid task
    assert bpy.ops.veo.resume_jobs() == {"FINISHED"}

    assert veo.submit_count == 1
    [clip] = movie_strips(bpy.context.scene)
    assert (clip.frame_final_start, clip.frame_final_end) == (51, 101)
    jobs = jobs_by_id()
    [second_id] = set(jobs) - {first.job_id}
    assert_shared(jobs[first.job_id], jobs[second_id])
    # The second job inserted, so it finished the first one: resuming it had nothing left to do.
    assert jobs[first.job_id].placement["inserted_by"] == second_id


def test_both_jobs_running_together_still_insert_one_clip(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    two_shots(timeline, tmp_path)
    first = fail_while_polling(veo)
    veo.gen_seconds = 1

    options = GenerationOptions(prompt=PROMPT, duration="4", seed=42)
    scene = bpy.context.scene
    second = manager.start(
        plan_generation(scene, choose_transition(scene, "Left", "Right"), options, service_settings())
    )
    assert manager.resume(first, service_settings())  # the UI resumes the first one meanwhile
    manager.wait_for([first.job_id, second.job_id])

    assert veo.submit_count == 1
    assert len(movie_strips(scene)) == 1
    jobs = jobs_by_id()
    assert_shared(jobs[first.job_id], jobs[second.job_id])


def test_a_clip_already_inserted_before_the_request_still_gets_a_second_take(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    """Asking again for a gap that already shows the clip is a deliberate second take (reuse)."""
    two_shots(timeline, tmp_path)
    bpy.ops.veo.generate_transition(**GENERATE)
    bpy.ops.veo.generate_transition(**GENERATE)

    assert veo.submit_count == 1
    assert len(movie_strips(bpy.context.scene)) == 2
    assert all(not job.placement.get("inserted_by") for job in jobs_by_id().values())


def test_a_twin_still_downloading_when_the_clip_goes_in_is_stopped_and_stays_shared(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    two_shots(timeline, tmp_path)
    first = fail_while_polling(veo)
    veo.faults.add("download", nth=2, kind="latency", seconds=3)  # whichever job fetches second is slow

    options = GenerationOptions(prompt=PROMPT, duration="4", seed=42)
    scene = bpy.context.scene
    second = manager.start(
        plan_generation(scene, choose_transition(scene, "Left", "Right"), options, service_settings())
    )
    manager.resume(first, service_settings())
    manager.wait_for([first.job_id, second.job_id])

    assert len(movie_strips(scene)) == 1
    jobs = jobs_by_id()
    # The slow one was stopped when the other inserted; its worker's last word did not undo that.
    assert_shared(jobs[first.job_id], jobs[second.job_id])
