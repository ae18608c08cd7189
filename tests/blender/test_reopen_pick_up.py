"""Picking up a reopened file's jobs after the load: what the one-shot timer does.

The load handler only adopts the journal's records (a file handler must never run
operators); the insertion comes later from a timer, which may run more than once (a load,
and the add-on's enable-time pick-up). In background mode timers never fire, so these tests
call the timer's functions themselves. The crash itself needs a real window:
tests/window/test_reopen_unsaved_clip.py.
"""

from __future__ import annotations

from pathlib import Path

import bpy

from tests.blender.vse_helpers import BLUE, RED, TimelineBuilder
from veo_addon.blender import compat, handlers, jobstore
from veo_addon.blender.gaps import choose_transition
from veo_addon.blender.generation import plan_generation
from veo_addon.blender.generation_options import GenerationOptions
from veo_addon.blender.jobmanager import manager
from veo_addon.blender.preferences import service_settings
from veo_addon.core.job import JobState


def movie_strips() -> list[bpy.types.Strip]:
    return [strip for strip in compat.strips_all(bpy.context.scene) if strip.type == "MOVIE"]


def reopen_a_file_whose_clip_was_never_saved(timeline: TimelineBuilder, tmp_path: Path) -> None:
    """Insert a clip, then open the file as saved before the insertion (quit without saving)."""
    timeline.scene.render.fps = 25
    timeline.color("Left", 1, 1, 50, RED)
    timeline.color("Right", 1, 101, 50, BLUE)
    blend = tmp_path / "edit.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend))
    options = GenerationOptions(prompt="red dissolves into blue", duration="4", seed=42)
    transition = choose_transition(timeline.scene, "Left", "Right")
    job = manager.start(plan_generation(timeline.scene, transition, options, service_settings()))
    [done] = manager.wait_for([job.job_id])
    assert done.state is JobState.INSERTED and len(movie_strips()) == 1
    bpy.ops.wm.open_mainfile(filepath=str(blend))


def test_the_load_adopts_the_job_and_leaves_the_insertion_to_the_timer(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    reopen_a_file_whose_clip_was_never_saved(timeline, tmp_path)
    [adopted] = jobstore.scene_jobs(bpy.context.scene)
    assert adopted.state is JobState.DOWNLOADED and movie_strips() == []

    handlers.continue_open_file_jobs()
    assert len(movie_strips()) == 1
    handlers.continue_open_file_jobs()  # the timer again
    handlers.pick_up_open_file()  # the add-on's enable-time pick-up
    assert len(movie_strips()) == 1
    assert [job.state for job in jobstore.scene_jobs(bpy.context.scene)] == [JobState.INSERTED]
    assert veo.submit_count == 1


def test_continuing_a_job_whose_clip_is_already_in_inserts_nothing(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    reopen_a_file_whose_clip_was_never_saved(timeline, tmp_path)
    scene = bpy.context.scene
    # Two callers, each holding its own copy of the record, read before either inserted it.
    [first] = jobstore.scene_jobs(scene)
    [second] = jobstore.scene_jobs(scene)
    manager.continue_job(scene, first, service_settings())
    manager.continue_job(scene, second, service_settings())
    assert len(movie_strips()) == 1
    # The job list says it went in, not "downloaded, but not inserted" from a second attempt.
    [job] = jobstore.scene_jobs(scene)
    assert job.state is JobState.INSERTED, job.message
