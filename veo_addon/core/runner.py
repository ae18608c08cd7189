"""`JobRunner`: drives one job in a worker thread, from captured request to clips on disk.

Using it from the Blender layer::

    job = Job.new(scene_name=..., frame_start=..., frame_end=..., channel=..., blend_path=...,
                  keyframe_sources={...}, base_url=client_base_url)
    runner = JobRunner(job, client_factory=lambda: HighwayClient(key, base_url), journal=journal,
                       clips_dir=clips_dir, build_request=lambda: encode_and_build(...))
    runner.start()
    # main thread, e.g. a bpy.app.timers callback:
    for event in runner.drain_events():      # JobEvent(kind, job snapshot)
        store event.job in the scene          # TASK_ACCEPTED: do it now, the task is paid for
        if event.kind is EventKind.FINISHED and event.job.state is JobState.DOWNLOADED:
            insert event.job.clip_paths, then mark_inserted(journal, event.job)   # journal.py
    # headless: runner.start(); while not runner.wait(0.2): apply(runner.drain_events())
    runner.stop()                             # stop waiting; the task goes on (state `stopped`)
    JobRunner(journal.get(job_id), ...)       # resume: same job, no build_request, never submits
    journal.remove(job_id)                    # forget

On add-on start / file load call `recover_interrupted(journal)` once before resuming:
a `submitting` job without a task id whose process is gone becomes `unknown_outcome`.
Jobs to resume on load: `job.needs_resume` (a task id and an unfinished state).

The steps live beside this file: submission.py (a new job up to its task id), delivery.py
(a task id down to clips on disk), runner_base.py (what both share).
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable
from pathlib import Path

from .client import HighwayClient
from .delivery import DeliverySteps, PollPolicy
from .errors import JobStateError
from .job import Job, JobState, process_alive
from .journal import Journal
from .request import GenerationRequest
from .runner_base import ClientSource, EventKind, JobEvent
from .submission import IDENTICAL_SUBMIT_WAIT, SubmissionSteps

log = logging.getLogger(__name__)

# The runners alive in this process, by job id.
_running: dict[str, JobRunner] = {}
_running_guard = threading.Lock()


def _running_job_ids() -> set[str]:
    with _running_guard:
        return set(_running)


def running_runner(job_id: str) -> JobRunner | None:
    """The live runner of a job in this process, if any (so the UI does not start a second one)."""
    with _running_guard:
        return _running.get(job_id)


def recover_interrupted(journal: Journal) -> list[Job]:
    """Apply `Job.recover_after_restart` to journal jobs whose submitting process is gone.

    Jobs this process is running (live JobRunners) and jobs another live process on this
    machine is submitting are left alone. Returns the jobs that changed.
    """
    running = _running_job_ids()

    def stale(job: Job) -> bool:
        if job.state is not JobState.SUBMITTING or job.job_id in running:
            return False
        return job.owner_pid is None or job.owner_pid == os.getpid() or not process_alive(job.owner_pid)

    return journal.update_where(stale, lambda job: job.recover_after_restart())


class JobRunner(SubmissionSteps, DeliverySteps):
    """Drives one job in a worker thread: every network call and image encode happens there.

    - New job (no task id): pass `build_request`. The worker builds the request, then in one
      journal transaction (`Journal.reserve_submission`) either finds an identical job to reuse
      or records this one `submitting` BEFORE sending (`force_new` skips the search); it
      submits once and records the task id durably the moment it arrives. An identical job
      another runner is submitting right now is waited for (up to `identical_submit_wait`
      seconds; `stop()` ends the wait) and then followed, never paid for twice.
    - Resumed job (has a task id): polls and downloads only; it never submits.
    - A job without task id and without `build_request` is never submitted: the runner ends
      at once (an `unknown_outcome` job stays so until the user decides).

    Thread hand-off: `drain_events()` returns the events since the last call (job snapshots);
    `wait(timeout)` / `done` serve the blocking headless path; `job` is a snapshot.
    """

    def __init__(
        self,
        job: Job,
        client_factory: ClientSource,
        journal: Journal | None,
        clips_dir: Path | str,
        build_request: Callable[[], GenerationRequest] | None = None,
        *,
        force_new: bool = False,
        poll_policy: PollPolicy | None = None,
        identical_submit_wait: float = IDENTICAL_SUBMIT_WAIT,
    ) -> None:
        self._job = job.copy()
        self._client_source = client_factory
        self._journal = journal
        self._clips_dir = Path(clips_dir)
        self._build_request = build_request
        self._force_new = force_new
        self._policy = poll_policy or PollPolicy()
        self._identical_submit_wait = identical_submit_wait
        self._lock = threading.Lock()
        self._events: queue.Queue[JobEvent] = queue.Queue()
        self._stop = threading.Event()
        self._done = threading.Event()
        self._client: HighwayClient | None = None
        self._thread: threading.Thread | None = None
        self._last_progress_event = 0.0
        self._link_refreshes = 0
        self._recorded = job.state is not JobState.CAPTURED

    # -- main-thread API ---------------------------------------------------------------------

    @property
    def job_id(self) -> str:
        return self._job.job_id

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def start(self) -> JobRunner:
        """Run in a daemon thread (Blender quitting must not wait for a poll; the journal is safe)."""
        with _running_guard:
            other = _running.get(self._job.job_id)
            if other is not None and other is not self and not other.done:
                raise JobStateError(f"Job {self._job.job_id} is already running")
            _running[self._job.job_id] = self
        self._thread = threading.Thread(target=self.run, name=f"veo-job-{self._job.job_id[:8]}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop waiting. The task goes on at the service; the job becomes `stopped` (resumable)."""
        self._stop.set()
        with self._lock:
            client = self._client
        if client is not None:
            client.cancel()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the worker ended (True) or the timeout passed (False)."""
        return self._done.wait(timeout)

    def drain_events(self) -> list[JobEvent]:
        events: list[JobEvent] = []
        while True:
            try:
                events.append(self._events.get_nowait())
            except queue.Empty:
                return events

    # -- worker ------------------------------------------------------------------------------

    def run(self) -> None:
        """The worker body; call it directly to run in the current thread."""
        with _running_guard:
            _running.setdefault(self._job.job_id, self)
        try:
            self._emit(EventKind.STARTED)
            self._run_job()
        except Exception as error:  # a bug must still end the job in a terminal state
            log.exception("job %s: unexpected error", self._job.job_id)
            self._end_with_error(error)
        finally:
            client = self._client
            if client is not None and client is not self._client_source:
                client.close()
            with _running_guard:
                if _running.get(self._job.job_id) is self:
                    del _running[self._job.job_id]
            self._adopt_recorded_blend_path()
            self._emit(EventKind.FINISHED)
            self._done.set()

    def _run_job(self) -> None:
        job = self._job
        if job.state in (JobState.DOWNLOADED, JobState.INSERTED):
            return
        if job.task_id:
            if not job.can_resume:
                return
            self._set_state(JobState.QUEUED, f"Resuming task {job.task_id}…")
            self._persist()
        elif self._build_request is None or job.state is not JobState.CAPTURED:
            # Never submit a job that may already have been sent (unknown_outcome, submitting).
            return
        else:
            request = self._prepare()
            if request is None or not self._reserve():
                if self._job.state.is_in_flight:  # follows an identical task
                    self._follow_task()
                return
            self._submit(request)
            if self._job.state.is_terminal:
                return
        self._follow_task()
