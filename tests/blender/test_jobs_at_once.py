"""The `concurrency` preference ("Jobs at Once"): new jobs beyond it wait in the job manager, in
order, and are sent as one ends; a waiting job stopped is never sent."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import bpy

from tests.blender.vse_helpers import BLUE, RED, TimelineBuilder
from veo_addon.blender import gaps, jobstore
from veo_addon.blender.generation import plan_generation
from veo_addon.blender.generation_options import GenerationOptions
from veo_addon.blender.jobmanager import manager
from veo_addon.blender.preferences import service_settings
from veo_addon.core.job import Job, JobState


def three_shots_two_gaps(timeline: TimelineBuilder, tmp_path: Path) -> list[gaps.Transition]:
    timeline.scene.render.fps = 25
    timeline.color("Left", 1, 1, 50, RED)
    timeline.color("Middle", 1, 101, 50, BLUE)
    timeline.color("Right", 1, 201, 50, RED)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))
    return gaps.find_all_transitions(timeline.scene)


def start_all(scene: bpy.types.Scene, transitions: list[gaps.Transition], jobs_at_once: int) -> list[Job]:
    settings = dataclasses.replace(service_settings(), jobs_at_once=jobs_at_once)
    options = GenerationOptions(prompt="a dissolve", duration="4")
    return [
        manager.start(plan_generation(scene, transition, options, settings)) for transition in transitions
    ]


def pump_until_done(job_ids: list[str]) -> int:
    """Drive the manager as the UI's timer does; returns the most jobs that ran at once."""
    most = 0
    deadline = time.monotonic() + 60
    while any(manager.is_running(job_id) for job_id in job_ids) and time.monotonic() < deadline:
        manager.pump()
        most = max(most, len([job_id for job_id in manager.running_job_ids() if job_id in job_ids]))
        time.sleep(0.02)
    manager.pump()
    return most


def test_jobs_beyond_the_limit_wait_and_are_sent_in_order(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    transitions = three_shots_two_gaps(timeline, tmp_path)
    first, second = start_all(timeline.scene, transitions, jobs_at_once=1)

    waiting = manager.progress(second.job_id)
    assert waiting is not None and waiting.pending and waiting.state is JobState.CAPTURED
    assert waiting.message == "Waiting to be sent: at most 1 at once (Jobs at Once preference)"
    assert manager.is_running(second.job_id)

    most_at_once = pump_until_done([first.job_id, second.job_id])

    assert most_at_once == 1
    assert [job.state for job in jobstore.scene_jobs(timeline.scene)] == [JobState.INSERTED] * 2
    assert veo.submit_count == 2


def test_without_a_limit_both_are_sent_at_once(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    transitions = three_shots_two_gaps(timeline, tmp_path)
    jobs = start_all(timeline.scene, transitions, jobs_at_once=0)

    assert pump_until_done([job.job_id for job in jobs]) == 2
    assert veo.submit_count == 2


def test_a_waiting_job_stopped_is_never_sent(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    transitions = three_shots_two_gaps(timeline, tmp_path)
    first, second = start_all(timeline.scene, transitions, jobs_at_once=1)

    assert bpy.ops.veo.stop_job(job_id=second.job_id) == {"FINISHED"}
    pump_until_done([first.job_id, second.job_id])

    states = {job.job_id: job for job in jobstore.scene_jobs(timeline.scene)}
    assert states[first.job_id].state is JobState.INSERTED
    assert states[second.job_id].state is JobState.FAILED
    assert states[second.job_id].message == "Stopped before anything was sent; nothing was billed."
    assert manager.journal.get(second.job_id) is not None  # recorded like any job that ended
    assert veo.submit_count == 1
