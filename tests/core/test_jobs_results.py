"""How a job ends when the service's answer is not a plain success: links that expire at once,
a task the service forgot, every sample filtered. Real HTTP against the local server."""

from __future__ import annotations

from pathlib import Path

import pytest

from localserver import LocalHighway
from tests.core.jobs_helpers import RunJob, assert_clean, assert_one_line, make_request, new_job
from veo_addon.core.clipfiles import clip_path
from veo_addon.core.delivery import LINK_REFRESHES
from veo_addon.core.job import Charge, JobState
from veo_addon.core.journal import Journal

# -- download links that answer as expired right after success -----------------------------------


@pytest.mark.parametrize("status", [404, 403])
def test_a_link_refused_right_after_success_is_replaced_by_a_fresh_one(
    highway: LocalHighway, clips_dir: Path, run_job: RunJob, status: int
) -> None:
    fault = highway.faults.add("download", nth=1, kind="expired", status=status)
    job, events = run_job()
    assert fault.hits == 1
    assert job.state is JobState.DOWNLOADED, job.message
    assert job.clip_paths == [str(clip_path(clips_dir, job.task_id or "", 0))]
    assert highway.request_counts["download"] == 2 and highway.submit_count == 1
    assert any("asking the service for a fresh one (1 of" in e.job.message for e in events)
    assert_clean(clips_dir)


def test_links_that_keep_expiring_are_asked_for_a_bounded_number_of_times(
    highway: LocalHighway, clips_dir: Path, run_job: RunJob
) -> None:
    highway.faults.add("download", kind="expired", status=404)
    job, _ = run_job()
    assert job.state is JobState.FAILED and job.error_code == "result_expired"
    assert highway.request_counts["download"] == 1 + LINK_REFRESHES == 3
    assert f"{LINK_REFRESHES} fresh links" in job.message and job.task_id in job.message  # type: ignore[operator]
    assert_one_line(job.message)
    assert job.can_resume and highway.submit_count == 1
    assert_clean(clips_dir)


def test_a_fresh_link_keeps_the_clips_already_fetched(
    highway: LocalHighway, clips_dir: Path, run_job: RunJob
) -> None:
    highway.faults.add("download", nth=2, kind="expired")  # the second sample's link
    job, _ = run_job(build=lambda: make_request(sample_count=2))
    assert job.state is JobState.DOWNLOADED and len(job.clip_paths) == 2, job.message
    # Sample 0 was on disk already: only sample 1 is fetched again.
    assert highway.request_counts["download"] == 3


# -- a task the service no longer knows -------------------------------------------------------------


def test_a_task_the_service_forgot_is_final_and_the_identical_request_is_not_paid_again(
    highway: LocalHighway, journal: Journal, run_job: RunJob
) -> None:
    highway.faults.add("result", kind="gone")
    first, _ = run_job()
    assert first.state is JobState.FAILED and first.error_code == "task_not_found"
    assert first.task_id and first.task_id in first.message
    assert "no longer known to the service" in first.message and "--new" in first.message
    assert "resume" not in first.message.lower() and not first.can_resume
    assert highway.request_counts["result"] == 1  # a 404 is not retried
    assert_one_line(first.message)

    # The identical request neither follows the dead task nor pays again by itself.
    second, _ = run_job()
    assert second.state is JobState.FAILED and second.error_code == "earlier_task_gone"
    assert "gone at the service" in second.message and first.task_id in second.message
    assert "--new" in second.message and "New Generation" in second.message
    assert "nothing was billed" in second.message
    assert highway.submit_count == 1 and highway.request_counts["result"] == 1
    assert second.charge is Charge.NONE and journal.get(second.job_id) is None

    highway.faults.clear()
    fresh, _ = run_job(force_new=True)
    assert fresh.state is JobState.DOWNLOADED and highway.submit_count == 2
    again, _ = run_job()
    assert again.state is JobState.DOWNLOADED and again.reused_from == fresh.job_id
    assert highway.submit_count == 2


def test_a_downloaded_job_whose_clip_and_task_are_gone_is_not_followed_again(
    highway: LocalHighway, run_job: RunJob
) -> None:
    first, _ = run_job()
    assert first.state is JobState.DOWNLOADED
    Path(first.clip_paths[0]).unlink()  # the user cleaned up the clips folder
    highway.faults.add("result", kind="gone")  # and the service forgot the task
    follower, _ = run_job()
    assert follower.reused_from == first.job_id
    assert follower.state is JobState.FAILED and follower.error_code == "task_not_found"
    results = highway.request_counts["result"]
    third, _ = run_job()
    assert third.state is JobState.FAILED and third.error_code == "earlier_task_gone"
    assert highway.request_counts["result"] == results and highway.submit_count == 1


def test_a_task_asked_for_at_another_address_than_its_own_stays_resumable(
    highway: LocalHighway, run_job: RunJob
) -> None:
    # The service address changed in the preferences since the task was created.
    job = new_job(state=JobState.STOPPED, task_id="task-of-another-service", base_url="http://127.0.0.1:9")
    resumed, _ = run_job(job, build=None)
    assert resumed.state is JobState.FAILED and resumed.error_code == "not_found"
    assert "created at http://127.0.0.1:9" in resumed.message and highway.base_url in resumed.message
    assert resumed.can_resume


# -- every sample filtered ----------------------------------------------------------------------------


def test_every_sample_filtered_says_so_plainly(
    highway: LocalHighway, clips_dir: Path, run_job: RunJob
) -> None:
    highway.faults.add("submit", nth=1, kind="filtered", keep=0)
    job, _ = run_job()
    assert job.state is JobState.FAILED and job.error_code == "all_samples_filtered"
    assert "safety filters blocked every sample" in job.message
    assert "nothing was downloaded" in job.message and job.task_id in job.message  # type: ignore[operator]
    assert "TASK_STATUS_SUCCEED" not in job.message and "failed" not in job.message
    assert_one_line(job.message)
    assert not job.can_resume and job.filtered_count == 1
    assert not clips_dir.exists() or list(clips_dir.iterdir()) == []
