"""The placeholder across undo, save and reopen, and a session that ended without saving: the gap
ends with either the placeholder or the clip, never both, never neither, and the clip goes in
exactly once."""

from __future__ import annotations

from pathlib import Path

import bpy

from tests.blender.test_jobs_blender import (
    jobs_in_scene,
    movie_strips,
    save,
    start_job,
    two_shots,
    wait_for_task_id,
)
from tests.blender.test_placeholder import frames, placeholders, pump_until
from tests.blender.vse_helpers import TimelineBuilder
from veo_addon.blender.jobmanager import manager
from veo_addon.core.job import JobState


def assert_clip_alone_in_the_gap(scene: bpy.types.Scene) -> None:
    assert placeholders(scene) == []
    assert [frames(clip) for clip in movie_strips(scene)] == [(51, 101)]


def test_a_file_saved_with_the_placeholder_gets_the_clip_in_its_place_once_on_reopen(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    veo.gen_seconds = 3
    two_shots(timeline)
    blend = save(tmp_path / "edit.blend")
    job = start_job(timeline.scene)
    wait_for_task_id(job.job_id)
    bpy.ops.wm.save_mainfile()  # the placeholder and the job are in the .blend
    manager.stop_all()  # as if Blender quit while the task went on
    manager.wait_for([job.job_id])

    bpy.ops.wm.open_mainfile(filepath=str(blend))
    [held] = placeholders(bpy.context.scene)
    assert held["veo_job_id"] == job.job_id and movie_strips(bpy.context.scene) == []

    assert bpy.ops.veo.resume_jobs() == {"FINISHED"}
    assert_clip_alone_in_the_gap(bpy.context.scene)
    assert bpy.ops.veo.resume_jobs() == {"FINISHED"}  # asked again: nothing more goes in
    assert_clip_alone_in_the_gap(bpy.context.scene)
    assert veo.submit_count == 1


def test_a_file_saved_before_the_start_gets_the_placeholder_back_when_reopened(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    veo.gen_seconds = 3
    two_shots(timeline)
    blend = save(tmp_path / "edit.blend")
    job = start_job(timeline.scene)
    wait_for_task_id(job.job_id)
    manager.stop_all()
    manager.wait_for([job.job_id])

    # Reopened without saving (Blender crashed, or quit): only the journal knew the job.
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    [held] = placeholders(bpy.context.scene)
    assert held["veo_job_id"] == job.job_id and frames(held) == (51, 101)

    assert bpy.ops.veo.resume_jobs() == {"FINISHED"}
    assert_clip_alone_in_the_gap(bpy.context.scene)
    assert jobs_in_scene()[0].state is JobState.INSERTED


def test_a_clip_inserted_after_the_last_save_replaces_the_saved_placeholder_on_reopen(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    veo.gen_seconds = 1
    two_shots(timeline)
    blend = save(tmp_path / "edit.blend")
    job = start_job(timeline.scene)
    wait_for_task_id(job.job_id)
    bpy.ops.wm.save_mainfile()  # saved with the placeholder, while the job was queued
    [done] = manager.wait_for([job.job_id])
    assert done.state is JobState.INSERTED

    bpy.ops.wm.open_mainfile(filepath=str(blend))  # the insert was never saved
    assert len(placeholders(bpy.context.scene)) == 1
    assert bpy.ops.veo.resume_jobs() == {"FINISHED"}

    assert_clip_alone_in_the_gap(bpy.context.scene)
    assert veo.submit_count == 1


def test_undo_past_the_start_brings_the_placeholder_back_and_redo_does_not_double_it(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    veo.gen_seconds = 3
    two_shots(timeline)
    save(tmp_path / "edit.blend")
    bpy.ops.ed.undo_push(message="Before the generation")
    job = start_job(timeline.scene)
    bpy.ops.ed.undo_push(message="Reserve Veo Transition")  # what the UI pushes after the start

    bpy.ops.ed.undo()  # the placeholder and the job's entry are gone from the file; the job runs on
    assert placeholders(bpy.context.scene) == [] and jobs_in_scene() == []
    pump_until(lambda: len(placeholders(bpy.context.scene)) == 1)
    assert [listed.job_id for listed in jobs_in_scene()] == [job.job_id]

    bpy.ops.ed.redo()  # the step's own placeholder comes back in place of the one made again
    assert len(placeholders(bpy.context.scene)) == 1

    [done] = manager.wait_for([job.job_id])
    assert done.state is JobState.INSERTED, done.message
    assert_clip_alone_in_the_gap(bpy.context.scene)
