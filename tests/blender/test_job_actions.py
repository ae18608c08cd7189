"""The job list's actions and Test Connection, headless against the local server: Retry is a new
paid submission (an identical Generate is reused for free), Copy Task ID puts the id on the
clipboard, Test Connection tells an accepted key from a refused one without submitting."""

from __future__ import annotations

from pathlib import Path

import bpy
import pytest

from tests.blender.conftest import SECRET_KEY
from tests.blender.vse_helpers import BLUE, RED, TimelineBuilder
from veo_addon.blender import connection_check, jobstore
from veo_addon.core.job import Charge, Job, JobState

GENERATE = {"left_strip": "Left", "right_strip": "Right", "prompt": "red to blue", "duration": "4", "seed": 5}


@pytest.fixture
def generated(veo, timeline: TimelineBuilder, tmp_path: Path):  # type: ignore[no-untyped-def]
    """Two shots at 25 fps with a gap, saved, and one job that filled it."""
    timeline.scene.render.fps = 25
    timeline.color("Left", 1, 1, 50, RED)
    timeline.color("Right", 1, 101, 50, BLUE)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))
    assert bpy.ops.veo.generate_transition(**GENERATE) == {"FINISHED"}
    [job] = jobstore.scene_jobs(timeline.scene)
    assert job.state is JobState.INSERTED and veo.submit_count == 1
    return job


def test_retry_pays_again_where_an_identical_generate_is_reused(veo, generated, timeline) -> None:  # type: ignore[no-untyped-def]
    assert bpy.ops.veo.generate_transition(**GENERATE) == {"FINISHED"}
    assert veo.submit_count == 1  # the same request again: the earlier clip, no charge

    assert bpy.ops.veo.retry_job(job_id=generated.job_id) == {"FINISHED"}

    assert veo.submit_count == 2
    retried = jobstore.scene_jobs(timeline.scene)[-1]
    assert retried.job_id != generated.job_id
    assert retried.charge is Charge.SUBMITTED
    assert retried.parameters["prompt"] == "red to blue" and retried.parameters["seed"] == 5
    assert retried.placement["left_strip"] == "Left" and retried.placement["right_strip"] == "Right"


def test_retry_says_it_pays_in_its_tooltip(veo) -> None:  # type: ignore[no-untyped-def]
    description = bpy.ops.veo.retry_job.get_rna_type().description
    assert "NEW paid submission" in description and "pays again" in description


def test_a_job_without_a_recorded_request_is_not_retried(veo, generated, timeline, capfd) -> None:  # type: ignore[no-untyped-def]
    entry = timeline.scene.veo_jobs[0]
    job = jobstore.load_job(timeline.scene, generated.job_id)
    job.parameters = {}
    jobstore.save_job(timeline.scene, job)
    assert entry.job_id == job.job_id

    with pytest.raises(RuntimeError, match="has no recorded request to retry"):
        bpy.ops.veo.retry_job(job_id=generated.job_id)
    assert veo.submit_count == 1


def test_copy_task_id_reports_the_task_id(veo, generated, capfd) -> None:  # type: ignore[no-untyped-def]
    # Background Blender has no system clipboard; the window test reads the real one.
    capfd.readouterr()
    assert bpy.ops.veo.copy_task_id(job_id=generated.job_id) == {"FINISHED"}
    assert f"Info: Copied task id {generated.task_id}" in capfd.readouterr().out


def test_copy_task_id_of_a_job_without_one_is_refused(veo, generated, timeline) -> None:  # type: ignore[no-untyped-def]
    job = jobstore.load_job(timeline.scene, generated.job_id)
    job.task_id = None
    jobstore.save_job(timeline.scene, job)
    assert bpy.ops.veo.copy_task_id(job_id=generated.job_id) == {"CANCELLED"}


def test_the_job_entry_keeps_progress_eta_and_seed_as_plain_fields(veo, generated, timeline) -> None:  # type: ignore[no-untyped-def]
    entry = timeline.scene.veo_jobs[0]
    assert entry.progress == 100  # the panel draws these without parsing the job's JSON
    assert entry.seed == str(generated.seed) and entry.seed
    assert entry.resumable is False  # inserted: nothing left to fetch


def test_a_failed_job_is_resumable_only_when_the_service_did_not_end_it(veo, timeline) -> None:  # type: ignore[no-untyped-def]
    job = Job.new(task_id="task-1", state=JobState.FAILED, error_code="network_error")
    jobstore.save_job(timeline.scene, job)
    entry = timeline.scene.veo_jobs[0]
    assert entry.resumable is True
    job.error_code = "task_failed"  # the service's own verdict: final
    jobstore.save_job(timeline.scene, job)
    assert entry.resumable is False


# -- Test Connection -----------------------------------------------------------------------------


def test_test_connection_accepts_the_key_without_submitting(veo, capfd) -> None:  # type: ignore[no-untyped-def]
    assert bpy.ops.veo.test_connection() == {"FINISHED"}
    assert connection_check.last_accepted
    assert connection_check.last_line == f"Connected to {veo.base_url}: the API key was accepted"
    assert veo.submit_count == 0 and veo.request_counts["result"] == 1
    output = capfd.readouterr()
    assert SECRET_KEY not in output.out + output.err


@pytest.mark.parametrize("kind", ["401", "403"])
def test_test_connection_says_the_key_was_refused(veo, kind: str, capfd) -> None:  # type: ignore[no-untyped-def]
    veo.faults.add("result", kind=kind)
    with pytest.raises(RuntimeError, match=f"HTTP {kind}"):
        bpy.ops.veo.test_connection()
    assert not connection_check.last_accepted
    assert "API key" in connection_check.last_line
    assert veo.submit_count == 0
    output = capfd.readouterr()
    assert SECRET_KEY not in output.out + output.err + connection_check.last_line


def test_test_connection_names_a_server_that_is_down(veo, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    base_url = veo.base_url
    veo.stop()
    with pytest.raises(RuntimeError, match="Could not reach"):
        bpy.ops.veo.test_connection()
    assert connection_check.last_line.startswith(f"Could not reach {base_url}: ")


def test_test_connection_refuses_when_offline(veo, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("VEO_BASE_URL", "https://api.example.com")
    with pytest.raises(RuntimeError, match="Online access is off"):
        bpy.ops.veo.test_connection()
    assert veo.request_counts["result"] == 0
