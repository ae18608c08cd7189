"""Jobs: the state machine, and the worker against the real local server (real HTTP, real MP4s)."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import av
import pytest

from localserver import LocalHighway
from tests.core.jobs_helpers import (
    FAKE_API_KEY,
    FAST_POLL,
    RunJob,
    assert_clean,
    assert_one_line,
    client_factory,
    make_request,
    new_job,
    run_job_in_process,
    start_runner,
    wait_until,
)
from veo_addon.core.clipfiles import clip_path, safe_file_stem
from veo_addon.core.delivery import LINK_REFRESHES, PollPolicy
from veo_addon.core.errors import JobStateError, ValidationError
from veo_addon.core.job import Job, JobState
from veo_addon.core.journal import Journal, mark_inserted
from veo_addon.core.pricing import PriceRates, estimate_cost
from veo_addon.core.request import GenerationRequest
from veo_addon.core.runner import JobRunner, recover_interrupted
from veo_addon.core.runner_base import EventKind

# -- state machine (no server) -------------------------------------------------------------------


def test_happy_path_transitions_and_refusals() -> None:
    job = new_job()
    assert job.state is JobState.CAPTURED and len(job.job_id) == 32
    with pytest.raises(JobStateError):
        job.transition(JobState.QUEUED, "no task id yet")
    with pytest.raises(JobStateError):
        job.transition(JobState.INSERTED)
    job.transition(JobState.SUBMITTING, "Submitting")
    job.task_id = "task-1"
    for state in (JobState.QUEUED, JobState.PROCESSING, JobState.PROCESSING, JobState.DOWNLOADING):
        job.transition(state)
    with pytest.raises(JobStateError):
        job.transition(JobState.DOWNLOADED)  # no clip yet
    job.clip_paths = ["/clips/task-1_0.mp4"]
    job.transition(JobState.DOWNLOADED, "Downloaded 1 clip")
    with pytest.raises(JobStateError):
        job.transition(JobState.SUBMITTING)
    job.transition(JobState.INSERTED)
    assert job.is_terminal and not job.can_resume and not job.needs_resume


def test_stopped_and_failed_jobs_resume_only_with_a_task_id_and_never_resubmit() -> None:
    job = new_job(state=JobState.SUBMITTING)
    job.transition(JobState.FAILED, "refused", error_code="bad_request")
    assert not job.can_resume
    with pytest.raises(JobStateError):
        job.transition(JobState.QUEUED)
    with pytest.raises(JobStateError):
        job.transition(JobState.SUBMITTING)

    stopped = new_job(state=JobState.PROCESSING, task_id="t1")
    stopped.transition(JobState.STOPPED, "Stopped waiting")
    assert stopped.can_resume and not stopped.needs_resume and stopped.task_id == "t1"
    stopped.transition(JobState.QUEUED, "Resuming")
    assert stopped.needs_resume

    network = new_job(state=JobState.PROCESSING, task_id="t2")
    network.transition(JobState.FAILED, "offline", error_code="network_error")
    assert network.can_resume and network.error_code == "network_error"
    network.transition(JobState.QUEUED)
    assert network.error_code == ""

    refused = new_job(state=JobState.PROCESSING, task_id="t3")
    refused.transition(JobState.FAILED, "safety", error_code="task_failed")
    assert not refused.can_resume
    with pytest.raises(JobStateError):
        refused.transition(JobState.QUEUED)

    unknown = new_job(state=JobState.SUBMITTING)
    unknown.transition(JobState.UNKNOWN_OUTCOME, "no answer", error_code="submit_outcome_unknown")
    for state in (JobState.SUBMITTING, JobState.QUEUED, JobState.FAILED):
        with pytest.raises(JobStateError):
            unknown.transition(state)
    unknown.task_id = "found-by-the-user"
    unknown.transition(JobState.QUEUED)


def test_an_inserted_job_goes_back_to_downloaded_only_with_its_clips() -> None:
    # The file was reopened without the saved strips: the clip is on disk, not on the timeline.
    job = new_job(state=JobState.INSERTED, task_id="t1")
    with pytest.raises(JobStateError):
        job.transition(JobState.DOWNLOADED, "no clip to insert again")
    job.clip_paths = ["/clips/t1_0.mp4"]
    job.transition(JobState.DOWNLOADED, "The clip goes in again")
    assert job.needs_insert and not job.can_resume
    for state in (JobState.SUBMITTING, JobState.QUEUED, JobState.FAILED):
        with pytest.raises(JobStateError):
            new_job(state=JobState.INSERTED, task_id="t1", clip_paths=["/c.mp4"]).transition(state)


def test_poll_policy_stays_between_its_bounds_and_follows_the_eta() -> None:
    policy = PollPolicy()
    assert policy.next_interval(None, 0) == 2.0
    assert policy.next_interval(1, 0) == 2.0  # never faster than 2 s
    assert policy.next_interval(12, 0) == 6.0
    assert policy.next_interval(360, 0) == 15.0  # never slower than 15 s
    assert policy.next_interval(None, 3) == pytest.approx(6.75)
    assert policy.next_interval(None, 50) == 15.0


def test_clip_file_names_come_from_the_task_id_only() -> None:
    assert clip_path(Path("/c"), "0b9f-77aa", 1) == Path("/c/0b9f-77aa_1.mp4")
    stem = safe_file_stem("../../etc/passwd?x=1")
    assert "/" not in stem and ".." not in stem and stem != safe_file_stem("../../etc/passwd?x=2")
    assert safe_file_stem("").startswith("task")


def test_cost_estimate_at_list_price() -> None:
    estimate = estimate_cost(8, 2, generate_audio=False)
    assert estimate.amount == pytest.approx(3.2)
    assert "estimate at list price" in estimate.label() and "USD 3.20" in estimate.label()
    assert estimate_cost(4, 1, generate_audio=True).amount == pytest.approx(1.6)
    assert estimate_cost(6, 1, True, PriceRates(with_audio_per_second=1.0)).amount == pytest.approx(6.0)


# -- the worker against the local server -------------------------------------------------------------


def test_whole_job_end_to_end(
    highway: LocalHighway, journal: Journal, clips_dir: Path, run_job: RunJob
) -> None:
    job, events = run_job()
    assert job.state is JobState.DOWNLOADED, job.message
    assert highway.submit_count == 1
    assert job.task_id and job.fingerprint and job.parameters["duration_seconds"] == 4
    assert job.base_url == highway.base_url and job.seed is not None and job.filtered_count == 0
    [clip] = job.clip_paths
    assert Path(clip) == clip_path(clips_dir, job.task_id, 0)
    with av.open(clip) as container:
        stream = container.streams.video[0]
        assert (stream.width, stream.height) == (1280, 720)
        assert 3.5 <= float(container.duration or 0) / av.time_base <= 4.5
    kinds = [event.kind for event in events]
    assert kinds[0] is EventKind.STARTED and kinds[-1] is EventKind.FINISHED
    accepted = [event.job for event in events if event.kind is EventKind.TASK_ACCEPTED]
    assert [snapshot.task_id for snapshot in accepted] == [job.task_id]
    assert {JobState.SUBMITTING, JobState.QUEUED, JobState.DOWNLOADING} <= {e.job.state for e in events}
    stored = journal.get(job.job_id)
    assert stored is not None and stored.state is JobState.DOWNLOADED and stored.clip_paths == [clip]
    assert stored.needs_insert
    mark_inserted(journal, job)
    assert journal.get(job.job_id).state is JobState.INSERTED  # type: ignore[union-attr]
    assert_clean(clips_dir)


class SlowJournal(Journal):
    """A journal on a slow disk: a task id that escapes before the write is easy to catch."""

    def upsert(self, job: Job) -> Job:
        time.sleep(0.3)
        return super().upsert(job)


def test_no_event_tells_of_a_task_id_before_the_journal_holds_it(
    highway: LocalHighway, tmp_path: Path, clips_dir: Path
) -> None:
    highway.gen_seconds = 3.0
    journal = SlowJournal(tmp_path / "slow.json")
    runner = JobRunner(
        new_job(), client_factory(highway.base_url), journal, clips_dir, make_request, poll_policy=FAST_POLL
    )
    runner.start()
    seen_task_id = False
    try:
        deadline = time.monotonic() + 30
        while not seen_task_id and time.monotonic() < deadline:
            for event in runner.drain_events():
                if event.job.task_id:
                    # The main thread may save the .blend or report now: the journal must agree.
                    stored = Journal(tmp_path / "slow.json").get(runner.job_id)
                    assert stored is not None and stored.task_id == event.job.task_id, event.kind
                    seen_task_id = True
            time.sleep(0.005)
        assert seen_task_id
    finally:
        runner.stop()
        runner.wait(10)


def test_identical_request_reuses_the_clip_unless_forced(highway: LocalHighway, run_job: RunJob) -> None:
    first, _ = run_job()
    second, events = run_job()
    assert highway.submit_count == 1
    assert second.state is JobState.DOWNLOADED and second.clip_paths == first.clip_paths
    assert second.reused_from == first.job_id and second.task_id == first.task_id
    assert "nothing new was paid" in second.message
    assert any(event.kind is EventKind.TASK_ACCEPTED for event in events)
    third, _ = run_job(force_new=True)
    assert highway.submit_count == 2 and third.task_id != first.task_id
    assert third.state is JobState.DOWNLOADED
    different, _ = run_job(build=lambda: make_request("another prompt"))
    assert highway.submit_count == 3 and different.reused_from == ""


def test_identical_request_follows_a_task_still_in_flight(
    highway: LocalHighway, journal: Journal, clips_dir: Path, run_job: RunJob
) -> None:
    highway.gen_seconds = 2.0
    runner = JobRunner(
        new_job(), client_factory(highway.base_url), journal, clips_dir, make_request, poll_policy=FAST_POLL
    ).start()
    wait_until(lambda: (journal.get(runner.job_id) or new_job()).task_id)
    follower, _ = run_job()
    assert runner.wait(30)
    first = runner.job
    assert highway.submit_count == 1
    assert follower.state is JobState.DOWNLOADED and first.state is JobState.DOWNLOADED
    assert follower.task_id == first.task_id and follower.clip_paths == first.clip_paths
    assert_clean(clips_dir)


def test_two_identical_requests_started_together_pay_once(
    highway: LocalHighway, journal: Journal, clips_dir: Path
) -> None:
    # A slow upload: the second press comes while the first is still being submitted.
    highway.faults.add("submit", nth=1, kind="latency", seconds=1.0)
    first = start_runner(highway, journal, clips_dir)
    second = start_runner(highway, journal, clips_dir)
    assert first.wait(60) and second.wait(60)
    # Whichever reserved first sends; the other waits for its task.
    sender, follower = sorted((first, second), key=lambda runner: bool(runner.job.reused_from))
    events = follower.drain_events()
    a, b = sender.job, follower.job
    assert highway.submit_count == 1 and highway.request_counts["submit"] == 1
    assert a.state is JobState.DOWNLOADED and b.state is JobState.DOWNLOADED, (a.message, b.message)
    assert b.reused_from == a.job_id and b.task_id == a.task_id and b.clip_paths == a.clip_paths
    assert any("being submitted" in event.job.message for event in events)
    assert [e.job.task_id for e in events if e.kind is EventKind.TASK_ACCEPTED] == [a.task_id]
    assert_clean(clips_dir)


def test_an_identical_request_sends_once_the_submit_it_waited_for_was_refused(
    highway: LocalHighway, journal: Journal, clips_dir: Path
) -> None:
    highway.faults.add("submit", nth=1, kind="latency", seconds=1.0)
    highway.faults.add("submit", nth=1, kind="no_balance")  # refused: no task, nothing billed
    first = start_runner(highway, journal, clips_dir)
    second = start_runner(highway, journal, clips_dir)
    assert first.wait(60) and second.wait(60)
    refused, sent = sorted((first.job, second.job), key=lambda job: job.state is JobState.DOWNLOADED)
    assert refused.state is JobState.FAILED and refused.error_code == "insufficient_balance"
    assert sent.state is JobState.DOWNLOADED and sent.reused_from == ""
    assert highway.submit_count == 1


def test_an_identical_request_is_not_sent_when_the_one_it_waited_for_has_an_unknown_outcome(
    highway: LocalHighway, journal: Journal, clips_dir: Path
) -> None:
    highway.faults.add("submit", nth=1, kind="latency", seconds=1.0)
    highway.faults.add("submit", nth=1, kind="500")
    first = start_runner(highway, journal, clips_dir)
    second = start_runner(highway, journal, clips_dir)
    assert first.wait(60) and second.wait(60)
    # Whichever reserved first sent the request; the other waited for it.
    sender, later = sorted((first.job, second.job), key=lambda job: job.state is JobState.FAILED)
    assert sender.state is JobState.UNKNOWN_OUTCOME
    assert later.state is JobState.FAILED and later.error_code == "earlier_submit_unknown"
    assert "outcome is unknown" in later.message and "nothing was billed" in later.message
    assert highway.request_counts["submit"] == 1
    assert journal.get(later.job_id) is None  # never sent, nothing to keep


def test_waiting_for_an_identical_submit_can_be_stopped_and_is_bounded(
    highway: LocalHighway, journal: Journal, clips_dir: Path
) -> None:
    # Another runner of this process is sending the identical request and has no answer yet.
    busy = new_job(fingerprint=make_request().fingerprint(), owner_pid=os.getpid())
    busy.transition(JobState.SUBMITTING, "Submitting the request…")
    journal.upsert(busy)

    waiting = start_runner(highway, journal, clips_dir)
    wait_until(lambda: "being submitted" in waiting.job.message)
    stopped_at = time.monotonic()
    waiting.stop()
    assert waiting.wait(5) and time.monotonic() - stopped_at < 2
    assert waiting.job.state is JobState.FAILED and waiting.job.error_code == "cancelled"
    assert "nothing was billed" in waiting.job.message

    impatient = start_runner(highway, journal, clips_dir, identical_submit_wait=0.5)
    assert impatient.wait(10)
    assert impatient.job.state is JobState.FAILED
    assert impatient.job.error_code == "identical_submit_pending"
    assert "still being submitted" in impatient.job.message
    assert highway.request_counts["submit"] == 0

    # Its process is gone: not in flight any more (recover_interrupted will mark it), so a new
    # identical request is sent.
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True)

    def owner_gone(job: Job) -> bool:
        job.owner_pid = int(child.stdout)  # that process has ended
        return True

    journal.update_where(lambda job: job.job_id == busy.job_id, owner_gone)
    sent = start_runner(highway, journal, clips_dir)
    assert sent.wait(60) and sent.job.state is JobState.DOWNLOADED
    assert highway.submit_count == 1


def test_an_identical_request_after_a_broken_poll_fetches_that_task(
    highway: LocalHighway, clips_dir: Path, run_job: RunJob
) -> None:
    highway.faults.add("result", kind="503")
    first, _ = run_job()
    assert first.state is JobState.FAILED and first.error_code == "service_unavailable"
    assert first.task_id and first.can_resume
    highway.faults.clear()
    second, events = run_job()
    assert highway.submit_count == 1
    assert second.state is JobState.DOWNLOADED and second.task_id == first.task_id
    assert second.reused_from == first.job_id
    assert any("fetching its result instead of paying again" in e.job.message for e in events)
    assert_clean(clips_dir)


class ClaimingJournal(Journal):
    """Save As lands right after the worker wrote `downloaded`: the last write it makes."""

    claim_to = "/projects/saved_as_at_the_end.blend"

    def upsert(self, job: Job) -> Job:
        stored = super().upsert(job)
        if job.state is JobState.DOWNLOADED:
            self.claim(job.job_id, self.claim_to)
        return stored


def test_a_claim_made_while_the_job_runs_is_kept_and_reaches_the_finished_event(
    highway: LocalHighway, tmp_path: Path, clips_dir: Path
) -> None:
    highway.gen_seconds = 1.5
    journal = Journal(tmp_path / "journal.json")
    runner = start_runner(highway, journal, clips_dir)
    wait_until(lambda: (journal.get(runner.job_id) or new_job()).task_id)
    journal.claim(runner.job_id, "/projects/edit_v2.blend")  # File > Save As mid-poll
    assert runner.wait(30)
    assert runner.job.state is JobState.DOWNLOADED
    assert journal.get(runner.job_id).blend_path == "/projects/edit_v2.blend"  # type: ignore[union-attr]
    [finished] = [e.job for e in runner.drain_events() if e.kind is EventKind.FINISHED]
    assert finished.blend_path == "/projects/edit_v2.blend"

    late = ClaimingJournal(tmp_path / "late.json")
    runner = start_runner(highway, late, clips_dir, force_new=True)
    assert runner.wait(30)
    [finished] = [e.job for e in runner.drain_events() if e.kind is EventKind.FINISHED]
    assert finished.state is JobState.DOWNLOADED
    assert finished.blend_path == ClaimingJournal.claim_to
    assert late.get(runner.job_id).blend_path == ClaimingJournal.claim_to  # type: ignore[union-attr]


def test_stop_then_resume_keeps_the_task(
    highway: LocalHighway, journal: Journal, clips_dir: Path, run_job: RunJob
) -> None:
    highway.gen_seconds = 3.0
    runner = JobRunner(
        new_job(), client_factory(highway.base_url), journal, clips_dir, make_request, poll_policy=FAST_POLL
    ).start()
    wait_until(lambda: runner.job.state in (JobState.QUEUED, JobState.PROCESSING))
    runner.stop()
    assert runner.wait(10)
    stopped = runner.job
    assert stopped.state is JobState.STOPPED and stopped.task_id and stopped.can_resume
    assert "goes on at the service" in stopped.message
    stored = journal.get(stopped.job_id)
    assert stored is not None and stored.state is JobState.STOPPED and stored.task_id == stopped.task_id

    resumed, _ = run_job(stored, build=None)
    assert resumed.state is JobState.DOWNLOADED and resumed.task_id == stopped.task_id
    assert highway.submit_count == 1
    # Forget: the journal no longer lists it.
    assert journal.remove(resumed.job_id) and journal.get(resumed.job_id) is None


def test_a_killed_process_mid_poll_is_finished_from_the_journal(
    highway: LocalHighway, journal: Journal, clips_dir: Path, run_job: RunJob
) -> None:
    highway.gen_seconds = 8.0
    job_id = "crashjob0000000000000000000000ab"
    child = multiprocessing.get_context("spawn").Process(
        target=run_job_in_process,
        args=(str(journal.path), str(clips_dir), highway.base_url, job_id, "a crash mid-poll"),
    )
    child.start()
    try:
        wait_until(lambda: highway.request_counts.get("result", 0) >= 2, timeout=60)
        assert child.pid is not None
        os.kill(child.pid, signal.SIGKILL)
        child.join(10)
    finally:
        if child.is_alive():
            child.kill()
    assert child.exitcode == -signal.SIGKILL
    assert recover_interrupted(journal) == []  # it had a task id: nothing to fix
    stored = journal.get(job_id)
    assert stored is not None and stored.task_id and stored.needs_resume
    highway.gen_seconds = 0.5
    finished, _ = run_job(stored, build=None)
    assert finished.state is JobState.DOWNLOADED and finished.task_id == stored.task_id
    assert highway.submit_count == 1
    assert_clean(clips_dir)


def test_jobs_that_may_have_been_sent_are_never_submitted_again(
    highway: LocalHighway, journal: Journal, run_job: RunJob
) -> None:
    abandoned = new_job(state=JobState.SUBMITTING)
    journal.upsert(abandoned)
    [recovered] = recover_interrupted(journal)
    assert recovered.state is JobState.UNKNOWN_OUTCOME
    after, _ = run_job(recovered)  # even with a build_request at hand
    assert after.state is JobState.UNKNOWN_OUTCOME
    still_submitting, _ = run_job(new_job(state=JobState.SUBMITTING))
    assert still_submitting.state is JobState.SUBMITTING
    assert highway.submit_count == 0


def test_invalid_request_fails_before_anything_is_sent(
    highway: LocalHighway, journal: Journal, run_job: RunJob
) -> None:
    job, _ = run_job(build=lambda: make_request(resolution="1080p", duration_seconds=4))
    assert job.state is JobState.FAILED and job.error_code == "invalid_input"
    assert "1080p" in job.message and "not valid" in job.message
    assert highway.submit_count == 0 and journal.all() == []

    def broken() -> GenerationRequest:
        raise ValidationError("image", "must be a PNG or JPEG image")

    job, _ = run_job(build=broken)
    assert job.state is JobState.FAILED and "PNG or JPEG" in job.message


# -- server faults -------------------------------------------------------------------------------------


def test_filtered_videos_are_counted_not_an_error(highway: LocalHighway, run_job: RunJob) -> None:
    highway.faults.add("submit", nth=1, kind="filtered", keep=1)
    job, _ = run_job(build=lambda: make_request(sample_count=2))
    assert job.state is JobState.DOWNLOADED and len(job.clip_paths) == 1
    assert job.filtered_count == 1 and "1 of 2 blocked by safety filters" in job.message


@pytest.mark.parametrize(
    ("endpoint", "kind", "params"),
    [
        ("submit", "429", {"retry_after": 1}),
        ("submit", "503", {}),
        ("result", "429", {"retry_after": 1}),
        ("result", "500", {}),
        ("result", "503", {}),
        ("result", "reset", {}),
        ("result", "malformed", {}),
        ("download", "reset", {}),
        ("download", "truncate", {}),
        ("download", "500", {}),
        ("download", "429", {"retry_after": 0}),
    ],
)
def test_a_passing_fault_is_retried_and_the_job_completes(
    highway: LocalHighway, clips_dir: Path, run_job: RunJob, endpoint: str, kind: str, params: dict[str, Any]
) -> None:
    fault = highway.faults.add(endpoint, nth=1, kind=kind, **params)
    job, _ = run_job()
    assert fault.hits == 1
    assert job.state is JobState.DOWNLOADED, job.message
    assert highway.submit_count == 1
    assert_clean(clips_dir)


@pytest.mark.parametrize(
    ("endpoint", "kind", "state", "error_code", "words", "submits"),
    [
        ("submit", "401", JobState.FAILED, "authentication_failed", "API key", 0),
        ("submit", "403", JobState.FAILED, "authentication_failed", "API key", 0),
        ("submit", "no_balance", JobState.FAILED, "insufficient_balance", "no balance", 0),
        ("submit", "429", JobState.FAILED, "rate_limited", "rate limiting", 0),
        ("submit", "500", JobState.UNKNOWN_OUTCOME, "submit_outcome_unknown", "not sent again", 0),
        ("submit", "reset", JobState.UNKNOWN_OUTCOME, "submit_outcome_unknown", "not sent again", 1),
        ("submit", "malformed", JobState.UNKNOWN_OUTCOME, "submit_outcome_unknown", "no task id", 1),
        ("submit", "safety", JobState.FAILED, "task_failed", "Support codes", 1),
        ("result", "safety", JobState.FAILED, "task_failed", "Support codes", 1),
        ("result", "unknown_status", JobState.FAILED, "task_failed", "TASK_STATUS_CANCELED", 1),
        ("result", "503", JobState.FAILED, "service_unavailable", "resume to try again", 1),
        ("result", "malformed", JobState.FAILED, "malformed_response", "resume to try again", 1),
        ("result", "401", JobState.FAILED, "authentication_failed", "API key", 1),
        ("download", "truncate", JobState.FAILED, "network_error", "resume to try again", 1),
        ("download", "expired", JobState.FAILED, "result_expired", "expired", 1),
    ],
)
def test_a_lasting_fault_ends_the_job_with_a_clear_message(
    highway: LocalHighway,
    journal: Journal,
    clips_dir: Path,
    run_job: RunJob,
    endpoint: str,
    kind: str,
    state: JobState,
    error_code: str,
    words: str,
    submits: int,
) -> None:
    highway.faults.add(endpoint, kind=kind)  # every request to that endpoint
    job, _ = run_job()
    assert job.state is state, job.message
    assert job.error_code == error_code
    assert words.lower() in job.message.lower()
    assert_one_line(job.message)
    assert highway.submit_count == submits
    if job.task_id:
        assert job.task_id in job.message
        stored = journal.get(job.job_id)
        assert stored is not None and stored.task_id == job.task_id and stored.state is state
    assert_clean(clips_dir)
    assert not clips_dir.exists() or list(clips_dir.iterdir()) == []


def test_an_expired_link_names_the_task_and_resume_fetches_a_fresh_one(
    highway: LocalHighway, clips_dir: Path, run_job: RunJob
) -> None:
    # The first link and every fresh one asked for right away expire too (a fresh link that
    # works is the job's own business: see test_jobs_results.py).
    for nth in range(1, LINK_REFRESHES + 2):
        highway.faults.add("download", nth=nth, kind="expired")
    job, _ = run_job()
    assert job.state is JobState.FAILED and job.error_code == "result_expired"
    assert job.task_id and job.task_id in job.message and job.can_resume
    resumed, _ = run_job(job, build=None)
    assert resumed.state is JobState.DOWNLOADED and highway.submit_count == 1
    assert_clean(clips_dir)


# -- no key anywhere -----------------------------------------------------------------------------------


@pytest.fixture
def keyed_highway() -> Iterator[LocalHighway]:
    server = LocalHighway(gen_seconds=0.5, api_key=FAKE_API_KEY)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_the_api_key_appears_in_no_journal_message_or_log(
    keyed_highway: LocalHighway, journal: Journal, clips_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    messages: list[str] = []
    for build in (make_request, lambda: make_request("second")):
        runner = JobRunner(
            new_job(),
            client_factory(keyed_highway.base_url),
            journal,
            clips_dir,
            build,
            poll_policy=FAST_POLL,
        ).start()
        assert runner.wait(60)
        messages += [event.job.message for event in runner.drain_events()]
        assert runner.job.state is JobState.DOWNLOADED, runner.job.message
    # A wrong key ends the job with a message about the key, not with the key.
    wrong = JobRunner(
        new_job(),
        client_factory(keyed_highway.base_url, api_key="sk-WRONG-key-0000"),
        journal,
        clips_dir,
        lambda: make_request("third"),
        poll_policy=FAST_POLL,
    ).start()
    assert wrong.wait(60)
    assert wrong.job.state is JobState.FAILED and wrong.job.error_code == "authentication_failed"
    messages.append(wrong.job.message)
    assert keyed_highway.submit_count == 2
    for text in (journal.path.read_text(), caplog.text, *messages):
        assert FAKE_API_KEY not in text and "sk-WRONG" not in text


# -- stopping early, runner bookkeeping, separate audio ------------------------------------------------


def test_stop_while_the_keyframes_are_encoded_sends_nothing(
    highway: LocalHighway, journal: Journal, clips_dir: Path
) -> None:
    started = threading.Event()
    release = threading.Event()

    def slow_build() -> GenerationRequest:
        started.set()
        release.wait(10)
        return make_request()

    runner = JobRunner(
        new_job(), client_factory(highway.base_url), journal, clips_dir, slow_build, poll_policy=FAST_POLL
    ).start()
    assert started.wait(10)
    runner.stop()
    release.set()
    assert runner.wait(10)
    job = runner.job
    assert job.state is JobState.FAILED and job.error_code == "cancelled"
    assert "nothing was billed" in job.message
    assert highway.submit_count == 0 and journal.all() == []


def test_one_runner_per_job_and_a_given_client_is_used_as_is(
    highway: LocalHighway, journal: Journal, clips_dir: Path
) -> None:
    highway.gen_seconds = 1.0
    client = client_factory(highway.base_url)()
    job = new_job()
    runner = JobRunner(job, client, journal, clips_dir, make_request, poll_policy=FAST_POLL).start()
    with pytest.raises(JobStateError):
        JobRunner(job, client, journal, clips_dir, poll_policy=FAST_POLL).start()
    assert runner.wait(30) and runner.job.state is JobState.DOWNLOADED
    # Not closed by the runner: the caller owns a client it passed in.
    assert client.task_result(runner.job.task_id or "").status.is_terminal
    client.close()


def test_separate_audio_entries_never_cost_the_video(journal: Journal, clips_dir: Path) -> None:
    with LocalHighway(gen_seconds=0.3, audio_entries=True) as server:
        runner = JobRunner(
            new_job(),
            client_factory(server.base_url),
            journal,
            clips_dir,
            lambda: make_request(generate_audio=True),
            poll_policy=FAST_POLL,
        ).start()
        assert runner.wait(60)
    job = runner.job
    assert job.state is JobState.DOWNLOADED and len(job.clip_paths) == 1, job.message
    assert len(job.audio_paths) == 1 and Path(job.audio_paths[0]).read_bytes()[:4] == b"RIFF"
    assert_clean(clips_dir)
