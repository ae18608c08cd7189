"""The journal: durable, atomic, shared by threads and processes, forgiving of a broken file."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.core.jobs_helpers import FAKE_API_KEY, new_job, write_jobs_in_process
from veo_addon.core.job import Job, JobState
from veo_addon.core.journal import Journal, normalise_blend_path
from veo_addon.core.runner import recover_interrupted


@pytest.fixture
def journal(tmp_path: Path) -> Journal:
    return Journal(tmp_path / "user" / "journal.json")


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_upsert_get_all_remove_round_trip(journal: Journal) -> None:
    job = new_job(state=JobState.QUEUED, task_id="task-1", parameters={"prompt": "p", "seed": None})
    journal.upsert(job)
    stored = journal.get(job.job_id)
    assert stored == job
    assert [j.job_id for j in journal.all()] == [job.job_id]
    job.transition(JobState.PROCESSING, "Task task-1 processing, 40%")
    journal.upsert(job)
    assert journal.get(job.job_id).state is JobState.PROCESSING  # type: ignore[union-attr]
    assert journal.remove(job.job_id) is True
    assert journal.remove(job.job_id) is False
    assert journal.get(job.job_id) is None and journal.all() == []


def test_file_is_plain_json_and_no_temporary_files_remain(journal: Journal) -> None:
    for index in range(5):
        journal.upsert(new_job(task_id=f"t{index}", state=JobState.QUEUED))
    content = json.loads(journal.path.read_text())
    assert content["version"] == 1 and len(content["jobs"]) == 5
    assert leftovers(journal.path.parent) == []


def test_job_dict_is_tolerant_of_unknown_and_missing_keys() -> None:
    job = new_job(task_id="abc", state=JobState.QUEUED, clip_paths=["/c/a.mp4"])
    data = job.to_dict()
    assert json.loads(json.dumps(data)) == data
    data["added_by_a_future_version"] = {"x": 1}
    assert Job.from_dict(data) == job
    minimal = Job.from_dict({"job_id": "j1"})
    assert minimal.state is JobState.CAPTURED and minimal.task_id is None and minimal.clip_paths == []
    with pytest.raises(ValueError):
        Job.from_dict({"state": "queued"})
    with pytest.raises(ValueError):
        Job.from_dict({"job_id": "j2", "state": "teleported"})


def test_unreadable_entry_is_skipped_on_read_but_kept_in_the_file(journal: Journal) -> None:
    journal.upsert(new_job(task_id="t1", state=JobState.QUEUED))
    raw = json.loads(journal.path.read_text())
    raw["jobs"]["from-the-future"] = {"job_id": "from-the-future", "state": "teleported", "task_id": "t9"}
    journal.path.write_text(json.dumps(raw))
    assert len(journal.all()) == 1
    journal.upsert(new_job(task_id="t2", state=JobState.QUEUED))
    kept = json.loads(journal.path.read_text())["jobs"]
    assert kept["from-the-future"]["task_id"] == "t9" and len(kept) == 3


def test_for_blend_compares_normalised_paths_and_unclaimed_lists_unsaved_jobs(
    journal: Journal, tmp_path: Path
) -> None:
    saved = new_job(blend_path=str(tmp_path / "shots" / "edit.blend"))
    other = new_job(blend_path=str(tmp_path / "other.blend"))
    unsaved = new_job(blend_path="")
    for job in (saved, other, unsaved):
        journal.upsert(job)
    same_file = f"{tmp_path}/shots/../shots/./edit.blend"
    assert [j.job_id for j in journal.for_blend(same_file)] == [saved.job_id]
    assert [j.job_id for j in journal.unclaimed()] == [unsaved.job_id]
    assert normalise_blend_path("") == ""


def test_claim_gives_a_job_to_a_file_and_a_worker_snapshot_does_not_undo_it(journal: Journal) -> None:
    job = new_job(blend_path="", state=JobState.QUEUED, task_id="t1")
    journal.upsert(job)
    claimed = journal.claim(job.job_id, "/projects/new.blend")
    assert claimed is not None and claimed.blend_path == "/projects/new.blend"
    assert journal.unclaimed() == []
    # The worker still holds its own copy with blend_path "" and writes it back.
    job.transition(JobState.PROCESSING, "processing")
    stored = journal.upsert(job)
    assert stored.blend_path == "/projects/new.blend"
    assert journal.get(job.job_id).blend_path == "/projects/new.blend"  # type: ignore[union-attr]
    assert journal.claim("no-such-job", "/x.blend") is None


def test_only_claim_changes_a_recorded_blend_path(journal: Journal) -> None:
    job = new_job(blend_path="/projects/edit.blend", state=JobState.QUEUED, task_id="t1")
    journal.upsert(job)
    journal.claim(job.job_id, "/projects/edit_v2.blend")  # File > Save As while the job runs
    # The worker's snapshot still names the old file.
    job.transition(JobState.PROCESSING, "processing")
    stored = journal.upsert(job)
    assert stored.blend_path == "/projects/edit_v2.blend" and stored.state is JobState.PROCESSING
    assert journal.get(job.job_id).blend_path == "/projects/edit_v2.blend"  # type: ignore[union-attr]
    assert job.blend_path == "/projects/edit.blend"  # the caller's object is left as it was


def submitting(fingerprint: str, **fields: object) -> Job:
    job = new_job(fingerprint=fingerprint, **fields)
    job.owner_pid = os.getpid()
    job.transition(JobState.SUBMITTING, "Submitting the request…")
    return job


def test_reserve_submission_records_the_first_and_points_the_next_to_it(journal: Journal) -> None:
    first = submitting("fp")
    assert journal.reserve_submission(first) is None
    assert journal.get(first.job_id).state is JobState.SUBMITTING  # type: ignore[union-attr]
    second = submitting("fp")
    earlier = journal.reserve_submission(second)
    assert earlier is not None and earlier.job_id == first.job_id and earlier.submit_in_progress
    assert journal.get(second.job_id) is None  # not recorded: it must not be sent
    assert journal.reserve_submission(submitting("other")) is None
    # Once the first has a task id, the next one follows that task.
    first.task_id = "task-1"
    first.transition(JobState.QUEUED, "accepted")
    journal.upsert(first)
    earlier = journal.reserve_submission(second)
    assert earlier is not None and earlier.task_id == "task-1" and not earlier.submit_in_progress
    with pytest.raises(ValueError):
        journal.reserve_submission(new_job(fingerprint="fp"))


def test_reserve_submission_ignores_a_submit_whose_process_is_gone(journal: Journal) -> None:
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)
    abandoned = submitting("fp")
    abandoned.owner_pid = int(child.stdout)  # that process has ended
    journal.upsert(abandoned)
    ownerless = submitting("fp")
    ownerless.owner_pid = None  # recorded by an older version
    journal.upsert(ownerless)
    assert not abandoned.submit_in_progress and not ownerless.submit_in_progress
    assert journal.reserve_submission(submitting("fp")) is None


def test_reserve_submission_lets_exactly_one_of_many_racers_send(journal: Journal) -> None:
    # Each thread has its own Journal object: only the file lock keeps them apart, as between
    # two Blender processes.
    barrier = threading.Barrier(8)
    outcomes: list[Job | None] = []

    def racer() -> None:
        candidate = submitting("fp")
        mine = Journal(journal.path)
        barrier.wait()
        outcomes.append(mine.reserve_submission(candidate))

    threads = [threading.Thread(target=racer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count(None) == 1
    [recorded] = journal.all()
    assert {earlier.job_id for earlier in outcomes if earlier is not None} == {recorded.job_id}


def test_find_reusable_prefers_clips_on_disk_then_a_task_in_flight(journal: Journal, tmp_path: Path) -> None:
    clip = tmp_path / "task-a_0.mp4"
    clip.write_bytes(b"\0\0\0\x18ftypmp42")
    done = new_job(
        fingerprint="fp", task_id="task-a", state=JobState.DOWNLOADING, base_url="http://127.0.0.1:1"
    )
    done.clip_paths = [str(clip)]
    done.transition(JobState.DOWNLOADED, "downloaded")
    flying = new_job(
        fingerprint="fp2", task_id="task-b", state=JobState.PROCESSING, base_url="http://127.0.0.1:1"
    )
    failed = new_job(fingerprint="fp3", task_id="task-c", state=JobState.FAILED, error_code="task_failed")
    lost = new_job(fingerprint="fp4", state=JobState.UNKNOWN_OUTCOME)
    # The poll broke off: the task most likely finished at the service, fetching it is free.
    broken_poll = new_job(
        fingerprint="fp5", task_id="task-e", state=JobState.FAILED, error_code="network_error"
    )
    refused = new_job(fingerprint="fp6", state=JobState.FAILED, error_code="bad_request")
    for job in (done, flying, failed, lost, broken_poll, refused):
        journal.upsert(job)

    assert journal.find_reusable("fp").job_id == done.job_id  # type: ignore[union-attr]
    assert journal.find_reusable("fp2").job_id == flying.job_id  # type: ignore[union-attr]
    assert journal.find_reusable("fp2", base_url="https://elsewhere") is None
    assert journal.find_reusable("fp2", exclude_job_id=flying.job_id) is None
    assert journal.find_reusable("fp3") is None  # the service failed it: not worth reusing
    assert journal.find_reusable("fp4") is None  # no task id to follow
    assert journal.find_reusable("fp5").job_id == broken_poll.job_id  # type: ignore[union-attr]
    assert journal.find_reusable("fp6") is None  # refused before a task existed
    assert journal.find_reusable("") is None
    clip.unlink()
    # Clips gone: the task id is still known, so its result can be fetched again.
    assert journal.find_reusable("fp").job_id == done.job_id  # type: ignore[union-attr]


def test_concurrent_threads_lose_no_job(journal: Journal) -> None:
    def writer(prefix: str) -> None:
        for index in range(20):
            journal.upsert(new_job(task_id=f"{prefix}-{index}", state=JobState.QUEUED))

    threads = [threading.Thread(target=writer, args=(f"w{n}",)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(journal.all()) == 120
    assert leftovers(journal.path.parent) == []


def test_concurrent_processes_lose_no_job(journal: Journal) -> None:
    journal.upsert(new_job(task_id="parent-0", state=JobState.QUEUED))
    context = multiprocessing.get_context("spawn")
    children = [
        context.Process(target=write_jobs_in_process, args=(str(journal.path), f"p{n}", 15)) for n in range(3)
    ]
    for child in children:
        child.start()
    # This process writes at the same time, from two threads.
    threads = [
        threading.Thread(
            target=lambda p=prefix: [
                journal.upsert(new_job(task_id=f"{p}-{i}", state=JobState.QUEUED)) for i in range(15)
            ]
        )
        for prefix in ("t0", "t1")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for child in children:
        child.join(60)
        assert child.exitcode == 0
    task_ids = {job.task_id for job in journal.all()}
    assert len(task_ids) == 1 + 3 * 15 + 2 * 15
    assert leftovers(journal.path.parent) == []


@pytest.mark.parametrize("garbage", ['{"jobs": [', "[1, 2, 3]", '{"version": 1}', "\x00\x01binary"])
def test_corrupt_journal_is_kept_aside_and_a_fresh_one_starts(
    journal: Journal, garbage: str, caplog: pytest.LogCaptureFixture
) -> None:
    journal.path.parent.mkdir(parents=True)
    journal.path.write_text(garbage)
    with caplog.at_level(logging.WARNING):
        assert journal.all() == []
    backups = list(journal.path.parent.glob("journal.json.corrupt-*"))
    assert len(backups) == 1 and backups[0].read_text() == garbage
    assert "could not be read" in caplog.text
    job = new_job(task_id="after", state=JobState.QUEUED)
    journal.upsert(job)
    assert journal.get(job.job_id) == job


def test_recover_interrupted_marks_an_abandoned_submit_unknown_and_never_resubmittable(
    journal: Journal,
) -> None:
    abandoned = new_job(state=JobState.SUBMITTING, owner_pid=None)
    accepted = new_job(state=JobState.SUBMITTING, task_id="task-ok")
    # Another live process on this machine is submitting this one right now: leave it alone.
    busy = new_job(state=JobState.SUBMITTING, owner_pid=os.getppid())
    for job in (abandoned, accepted, busy):
        journal.upsert(job)
    changed = {job.job_id for job in recover_interrupted(journal)}
    assert changed == {abandoned.job_id, accepted.job_id}
    recovered = journal.get(abandoned.job_id)
    assert recovered is not None and recovered.state is JobState.UNKNOWN_OUTCOME
    assert recovered.error_code == "submit_outcome_unknown"
    assert "may have been created" in recovered.message
    assert not recovered.can_resume and not recovered.needs_resume
    assert journal.get(accepted.job_id).state is JobState.QUEUED  # type: ignore[union-attr]
    assert journal.get(busy.job_id).state is JobState.SUBMITTING  # type: ignore[union-attr]


def test_messages_never_keep_an_authorization_header(journal: Journal) -> None:
    job = new_job(state=JobState.QUEUED, task_id="t1")
    job.transition(JobState.FAILED, f"echo: Authorization: Bearer {FAKE_API_KEY} refused", error_code="x")
    journal.upsert(job)
    assert FAKE_API_KEY not in journal.path.read_text()


def test_reserve_submission_returns_an_identical_job_that_may_have_paid_without_delivering(
    journal: Journal,
) -> None:
    lost = new_job(fingerprint="fp", state=JobState.SUBMITTING, base_url="http://127.0.0.1:1")
    lost.transition(JobState.UNKNOWN_OUTCOME, "no answer", error_code="submit_outcome_unknown")
    gone = new_job(fingerprint="fp2", task_id="task-gone", state=JobState.PROCESSING)
    gone.transition(JobState.FAILED, "404", error_code="task_not_found")
    for job in (lost, gone):
        journal.upsert(job)
    assert lost.blocks_identical_submit and gone.blocks_identical_submit

    earlier = journal.reserve_submission(submitting("fp", base_url="http://127.0.0.1:1"))
    assert earlier is not None and earlier.job_id == lost.job_id
    earlier = journal.reserve_submission(submitting("fp2"))
    assert earlier is not None and earlier.job_id == gone.job_id
    assert len(journal.all()) == 2  # neither was recorded: neither may be sent
    # Another service, another request: nothing holds them back.
    assert journal.reserve_submission(submitting("fp", base_url="https://elsewhere.example")) is None
    assert journal.reserve_submission(submitting("fp3")) is None


def test_a_task_gone_at_the_service_is_followed_through_no_job(journal: Journal) -> None:
    downloaded = new_job(fingerprint="fp", task_id="task-a", state=JobState.DOWNLOADING)
    downloaded.clip_paths = ["/nowhere/task-a_0.mp4"]  # clips deleted since
    downloaded.transition(JobState.DOWNLOADED, "downloaded")
    follower = new_job(fingerprint="fp", task_id="task-a", state=JobState.PROCESSING, reused_from="x")
    journal.upsert(downloaded)
    assert journal.find_reusable("fp").job_id == downloaded.job_id  # type: ignore[union-attr]
    follower.transition(JobState.FAILED, "404", error_code="task_not_found")
    journal.upsert(follower)
    assert journal.find_reusable("fp") is None
    earlier = journal.reserve_submission(submitting("fp"))
    assert earlier is not None and earlier.job_id == follower.job_id
