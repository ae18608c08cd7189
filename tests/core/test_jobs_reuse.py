"""An identical request never pays again by accident, and what it reuses is its own: the clip
of another project is linked into this job's folder; `Job.charge` tells what a job cost."""

from __future__ import annotations

import errno
import json
import multiprocessing
import os
import shutil
from pathlib import Path

import pytest

from localserver import LocalHighway
from tests.core.jobs_helpers import (
    RunJob,
    assert_one_line,
    make_request,
    new_job,
    run_identical_request_in_process,
)
from veo_addon.core import clipfiles
from veo_addon.core.clipfiles import clip_path
from veo_addon.core.job import Charge, Job, JobState
from veo_addon.core.journal import Journal

# -- an unknown outcome, then the identical request again ------------------------------------------


def test_an_identical_request_after_an_unknown_outcome_is_sent_only_when_asked_for_anew(
    highway: LocalHighway, journal: Journal, run_job: RunJob
) -> None:
    highway.faults.add("submit", nth=1, kind="500", after_create=True)  # billed, answer lost
    lost, _ = run_job()
    assert lost.state is JobState.UNKNOWN_OUTCOME and lost.charge is Charge.UNKNOWN
    assert highway.submit_count == 1

    again, _ = run_job()
    assert again.state is JobState.FAILED and again.error_code == "earlier_submit_unknown"
    assert "may have been charged" in again.message and lost.job_id[:8] in again.message
    assert "--new" in again.message and "New Generation" in again.message
    assert "nothing was billed" in again.message
    assert_one_line(again.message)
    assert highway.request_counts["submit"] == 1 and highway.submit_count == 1
    assert again.charge is Charge.NONE and journal.get(again.job_id) is None

    new, _ = run_job(force_new=True)
    assert new.state is JobState.DOWNLOADED and new.charge is Charge.SUBMITTED
    assert highway.submit_count == 2
    reused, _ = run_job()  # the paid one now answers for the identical request
    assert reused.reused_from == new.job_id and reused.charge is Charge.REUSED
    assert highway.submit_count == 2


def test_an_unknown_outcome_on_another_service_does_not_hold_back_this_one(
    highway: LocalHighway, journal: Journal, run_job: RunJob
) -> None:
    elsewhere = new_job(
        state=JobState.UNKNOWN_OUTCOME,
        fingerprint=make_request().fingerprint(),
        base_url="https://api.example.invalid",
    )
    journal.upsert(elsewhere)
    job, _ = run_job(new_job(base_url=highway.base_url))
    assert job.state is JobState.DOWNLOADED and highway.submit_count == 1


def test_another_process_does_not_send_a_request_whose_identical_twin_has_an_unknown_outcome(
    highway: LocalHighway, journal: Journal, clips_dir: Path, tmp_path: Path
) -> None:
    prompt = "one request, two Blender processes"
    lost = new_job(state=JobState.UNKNOWN_OUTCOME, fingerprint=make_request(prompt).fingerprint())
    journal.upsert(lost)
    report = tmp_path / "child-job.json"
    child = multiprocessing.get_context("spawn").Process(
        target=run_identical_request_in_process,
        args=(str(journal.path), str(clips_dir), highway.base_url, prompt, str(report)),
    )
    child.start()
    child.join(60)
    assert child.exitcode == 0
    ended = Job.from_dict(json.loads(report.read_text()))
    assert ended.state is JobState.FAILED and ended.error_code == "earlier_submit_unknown"
    assert highway.request_counts["submit"] == 0


# -- a reused clip lives in this job's folder -------------------------------------------------------


def test_a_clip_reused_from_another_projects_folder_is_linked_into_this_one(
    highway: LocalHighway, journal: Journal, tmp_path: Path, run_job: RunJob
) -> None:
    other_folder = tmp_path / "other" / "veo_clips"
    here = tmp_path / "this" / "veo_clips"
    first, _ = run_job(folder=other_folder)
    reused, _ = run_job(folder=here)
    assert reused.state is JobState.DOWNLOADED and reused.reused_from == first.job_id, reused.message
    assert highway.submit_count == 1
    [local] = reused.clip_paths
    assert Path(local) == clip_path(here, first.task_id or "", 0)
    assert os.stat(local).st_ino == os.stat(first.clip_paths[0]).st_ino  # a hard link: no copy
    assert journal.get(reused.job_id).clip_paths == [local]  # type: ignore[union-attr]

    shutil.rmtree(tmp_path / "other")  # the other project is deleted (or moved)
    assert Path(local).read_bytes()[4:8] == b"ftyp"
    assert reused.clips_exist() and [p.name for p in here.iterdir()] == [Path(local).name]


def test_a_clip_on_another_file_system_is_copied(
    highway: LocalHighway, tmp_path: Path, run_job: RunJob, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, _ = run_job(folder=tmp_path / "other")

    def cross_device(source: object, dest: object) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(clipfiles.os, "link", cross_device)
    reused, _ = run_job(folder=tmp_path / "this")
    [local] = reused.clip_paths
    assert reused.state is JobState.DOWNLOADED and Path(local).parent == tmp_path / "this"
    assert os.stat(local).st_ino != os.stat(first.clip_paths[0]).st_ino
    assert Path(local).read_bytes() == Path(first.clip_paths[0]).read_bytes()


def test_a_clip_that_cannot_be_placed_here_is_a_clear_failure_before_anything_is_paid(
    highway: LocalHighway, tmp_path: Path, run_job: RunJob, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_job(folder=tmp_path / "other")
    blocked = tmp_path / "this" / "veo_clips"
    blocked.parent.mkdir()
    blocked.write_text("a file where the clips folder should be")
    job, _ = run_job(folder=blocked)
    assert job.state is JobState.FAILED and job.error_code == "clip_storage_failed"
    assert str(blocked) in job.message and "nothing was sent or paid" in job.message
    assert_one_line(job.message)
    assert job.charge is Charge.NONE and job.clip_paths == [] and highway.submit_count == 1

    def cross_device(source: object, dest: object) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    def disk_full(source: object, dest: object) -> None:
        Path(str(dest)).write_bytes(b"\0" * 10)  # part of the file got written
        raise OSError(errno.ENOSPC, "No space left on device", str(dest))

    monkeypatch.setattr(clipfiles.os, "link", cross_device)
    monkeypatch.setattr(clipfiles.shutil, "copyfile", disk_full)
    here = tmp_path / "full" / "veo_clips"
    job, _ = run_job(folder=here)
    assert job.state is JobState.FAILED and "No space left on device" in job.message
    assert "Errno" not in job.message and highway.submit_count == 1
    assert list(here.iterdir()) == []  # no partial file left behind


# -- what a job cost -------------------------------------------------------------------------------


def test_charge_follows_what_the_job_did() -> None:
    assert new_job().charge is Charge.NONE
    sending = new_job(state=JobState.SUBMITTING)
    assert sending.charge is Charge.UNKNOWN  # sent, or about to be: it may be billed
    refused = new_job(state=JobState.SUBMITTING)
    refused.transition(JobState.FAILED, "refused", error_code="bad_request")
    assert refused.charge is Charge.NONE
    lost = new_job(state=JobState.SUBMITTING)
    lost.transition(JobState.UNKNOWN_OUTCOME, "no answer", error_code="submit_outcome_unknown")
    assert lost.charge is Charge.UNKNOWN
    lost.task_id = "found-by-the-user"
    lost.transition(JobState.QUEUED)
    assert lost.charge is Charge.SUBMITTED
    failed = new_job(state=JobState.PROCESSING, task_id="t1")
    failed.transition(JobState.FAILED, "safety", error_code="task_failed")
    assert failed.charge is Charge.SUBMITTED  # a task existed; its price is the service's business
    reused = new_job(state=JobState.DOWNLOADED, task_id="t1", reused_from="a" * 32, clip_paths=["/c.mp4"])
    assert reused.charge is Charge.REUSED
    assert Job.from_dict(reused.to_dict()).charge is Charge.REUSED  # survives the .blend and journal
