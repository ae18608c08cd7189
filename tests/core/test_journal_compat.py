"""A journal written before error codes still reads as it did then.

`fixtures/journal_class_name_kinds.json` was written by the add-on as it was before errors
had codes (commit 6fc21d4): its jobs were driven through `Job.transition` the way the runner
drives them and stored with `Journal.upsert`, so each failure names its error by class name in
`error_kind`. Clip paths start with `/veo-fixture-clips`, replaced here by a real folder.

The table below is what that version concluded from the file, computed with it: whether each
job can be resumed, whether it blocks an identical request, what it cost, and what happens to
a new identical request (sent, refused unsent, or reusing the job's clip or task).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from veo_addon.core.errors import JobStateError, is_final_code
from veo_addon.core.job import Job, JobState
from veo_addon.core.journal import Journal

FIXTURE = Path(__file__).parent / "fixtures" / "journal_class_name_kinds.json"
FIXTURE_CLIPS = "/veo-fixture-clips"

# job name: (can_resume, blocks_identical_submit, charge, a new identical request)
CONCLUDED_BEFORE_CODES = {
    "task_failed": (False, False, "submitted", "send"),
    "all_filtered": (False, False, "submitted", "send"),
    "task_gone": (False, True, "submitted", "refuse"),
    "network": (True, False, "submitted", "reuse"),
    "expired": (True, False, "submitted", "reuse"),
    "unavailable": (True, False, "submitted", "reuse"),
    "wrong_service": (True, False, "submitted", "reuse"),
    "auth": (True, False, "submitted", "reuse"),
    "rate_limited": (True, False, "submitted", "reuse"),
    "malformed": (True, False, "submitted", "reuse"),
    "invalid_media": (True, False, "submitted", "reuse"),
    "disk": (True, False, "submitted", "reuse"),
    "internal": (True, False, "submitted", "reuse"),
    "validation": (False, False, "none", "send"),
    "bad_request": (False, False, "none", "send"),
    "balance": (False, False, "none", "send"),
    "cancelled": (False, False, "none", "send"),
    "pending": (False, False, "none", "send"),
    "earlier_unknown": (False, False, "none", "send"),
    "earlier_gone": (False, False, "none", "send"),
    "clip_storage": (False, False, "none", "send"),
    "offline": (False, False, "none", "send"),
    "unknown_outcome": (False, True, "unknown", "refuse"),
    "crashed_submit": (False, True, "unknown", "refuse"),
    "stopped": (True, False, "submitted", "reuse"),
    "in_flight": (True, False, "submitted", "reuse"),
    "downloaded": (False, False, "submitted", "reuse"),
    "downloaded_gone": (False, False, "submitted", "reuse"),
    "inserted": (False, False, "submitted", "reuse"),
    "reused": (False, False, "reused", "reuse"),
}

# The code each recorded class name now reads as.
CODES = {
    "task_failed": "task_failed",
    "all_filtered": "all_samples_filtered",
    "task_gone": "task_not_found",
    "network": "network_error",
    "expired": "result_expired",
    "unavailable": "service_unavailable",
    "wrong_service": "not_found",
    "auth": "authentication_failed",
    "rate_limited": "rate_limited",
    "malformed": "malformed_response",
    "invalid_media": "invalid_media",
    "disk": "os_error",  # PermissionError
    "internal": "internal_error",  # KeyError
    "validation": "invalid_input",
    "bad_request": "bad_request",
    "balance": "insufficient_balance",
    "cancelled": "cancelled",
    "pending": "identical_submit_pending",
    "earlier_unknown": "earlier_submit_unknown",
    "earlier_gone": "earlier_task_gone",
    "clip_storage": "clip_storage_failed",
    "offline": "online_access_off",
    "unknown_outcome": "submit_outcome_unknown",
    "crashed_submit": "submit_outcome_unknown",
}


@pytest.fixture
def old_journal(tmp_path: Path) -> Journal:
    clips = tmp_path / "clips"
    clips.mkdir()
    for task in (
        "task-downloaded",
        "task-inserted",
    ):  # the clips of `downloaded_gone` are gone
        (clips / f"{task}_0.mp4").write_bytes(b"\0\0\0\x18ftypisom" + bytes(20))
    path = tmp_path / "journal.json"
    path.write_text(
        FIXTURE.read_text(encoding="utf-8").replace(FIXTURE_CLIPS, str(clips)),
        encoding="utf-8",
    )
    return Journal(path)


def _name(job: Job) -> str:
    return job.job_id.removeprefix("job-")


def test_every_job_of_an_old_journal_is_read(old_journal: Journal) -> None:
    assert sorted(_name(job) for job in old_journal.all()) == sorted(CONCLUDED_BEFORE_CODES)


def test_recorded_class_names_read_as_codes(old_journal: Journal) -> None:
    read = {_name(job): job.error_code for job in old_journal.all() if job.error_code}
    assert read == CODES
    assert {name for name, code in read.items() if is_final_code(code)} == {
        "task_failed",
        "all_filtered",
        "task_gone",
        "validation",
    }


def test_an_old_journal_is_resumed_and_reused_as_before(old_journal: Journal) -> None:
    concluded = {}
    for job in old_journal.all():
        probe = Job.new(fingerprint=job.fingerprint, base_url=job.base_url, owner_pid=1)
        probe.transition(JobState.SUBMITTING, "Submitting the request…")
        earlier = old_journal.reserve_submission(probe)
        if earlier is None:
            outcome = "send"
            old_journal.remove(probe.job_id)
        else:
            assert earlier.job_id == job.job_id
            outcome = "refuse" if earlier.blocks_identical_submit else "reuse"
        concluded[_name(job)] = (
            job.can_resume,
            job.blocks_identical_submit,
            job.charge.value,
            outcome,
        )
    assert concluded == CONCLUDED_BEFORE_CODES


def test_a_final_failure_of_an_old_journal_cannot_be_resumed(
    old_journal: Journal,
) -> None:
    for name in ("task_failed", "all_filtered", "task_gone"):
        job = old_journal.get(f"job-{name}")
        assert job is not None and job.task_id and not job.can_resume
        with pytest.raises(JobStateError, match="cannot be resumed"):
            job.transition(JobState.QUEUED, "resume")


def test_a_job_read_from_an_old_journal_is_written_back_with_its_code(
    old_journal: Journal,
) -> None:
    job = old_journal.get("job-task_gone")
    assert job is not None
    old_journal.upsert(job)
    text = old_journal.path.read_text(encoding="utf-8")
    stored = old_journal.get("job-task_gone")
    assert stored is not None and stored.error_code == "task_not_found" and stored.task_gone
    assert '"error_code": "task_not_found"' in text
