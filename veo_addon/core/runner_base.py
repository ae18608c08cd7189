"""What every step of a running job shares: the job under a lock, the events for the main
thread, the journal writes and the way a failure is recorded.

`JobRunner` (runner.py) is built from two sets of steps on top of this base: submitting a new
job (submission.py) and following its task to the clips on disk (delivery.py). Only the worker
thread calls the underscore methods; the main thread reads `job` and the event queue.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from .client import HighwayClient
from .errors import code_of
from .job import Job, JobState
from .journal import Journal
from .request import GenerationRequest

log = logging.getLogger(__name__)

ClientSource = HighwayClient | Callable[[], HighwayClient]


class EventKind(StrEnum):
    STARTED = "started"
    TASK_ACCEPTED = "task_accepted"  # a task id exists: store it in the .blend now
    STATE_CHANGED = "state_changed"
    PROGRESS = "progress"  # progress / eta / download bytes (no state change)
    FINISHED = "finished"  # the worker ended; job.state is terminal


@dataclass(frozen=True)
class JobEvent:
    kind: EventKind
    job: Job  # a snapshot: the main thread may keep it


class RunnerBase:
    """State and plumbing of one job's worker; the attributes are set by `JobRunner.__init__`."""

    _job: Job
    _client_source: ClientSource
    _journal: Journal | None
    _clips_dir: Path
    _build_request: Callable[[], GenerationRequest] | None
    _lock: threading.Lock
    _events: queue.Queue[JobEvent]
    _stop: threading.Event
    _client: HighwayClient | None
    # Whether the journal holds this job (a failure before that is not worth recording).
    _recorded: bool

    @property
    def job(self) -> Job:
        """A snapshot of the job: the caller may keep it."""
        with self._lock:
            return self._job.copy()

    def _get_client(self) -> HighwayClient:
        with self._lock:
            if self._client is None:
                source = self._client_source
                self._client = source if isinstance(source, HighwayClient) else source()
                if not self._job.base_url:
                    self._job.base_url = self._client.base_url
            client = self._client
        if self._stop.is_set():
            client.cancel()  # stop() may have run before the client existed
        return client

    def _set_state(self, state: JobState, message: str, *, error_code: str = "", emit: bool = True) -> None:
        with self._lock:
            before = self._job.state
            self._job.transition(state, message, error_code=error_code)
        log.info("job %s: %s", self._job.job_id, self._job.message)
        if emit:
            self._emit(EventKind.STATE_CHANGED if state is not before else EventKind.PROGRESS)

    def _fail(self, error: BaseException, message: str) -> None:
        self._set_state(JobState.FAILED, message, error_code=code_of(error))
        self._persist()

    def _end_with_error(self, error: BaseException) -> None:
        text = f"Internal error ({type(error).__name__}): {error}"
        if self._job.task_id:
            text += f"; task {self._job.task_id} can be resumed"
        try:
            with self._lock:
                if self._job.state is JobState.SUBMITTING and not self._job.task_id:
                    self._job.transition(JobState.UNKNOWN_OUTCOME, text, error_code=code_of(error))
                elif self._job.can_transition_to(JobState.FAILED):
                    self._job.transition(JobState.FAILED, text, error_code=code_of(error))
            self._persist()
        except Exception:
            log.exception("job %s: could not record the failure", self._job.job_id)

    def _persist(self, *, required: bool = False) -> None:
        """Write the job to the journal. Only jobs that reached the service are worth a record,
        but a failure before that is recorded too when the job is already there."""
        if self._journal is None:
            return
        snapshot = self.job
        if not self._recorded and snapshot.state is JobState.FAILED and not snapshot.task_id:
            return  # refused before it reached the service: nothing worth keeping
        try:
            stored = self._journal.upsert(snapshot)
        except OSError as error:
            if required:
                raise
            log.warning("job %s: journal not updated: %s", snapshot.job_id, error)
            return
        self._recorded = True
        with self._lock:
            # The journal owns blend_path: a claim made meanwhile (another thread or process) wins.
            self._job.blend_path = stored.blend_path

    def _adopt_recorded_blend_path(self) -> None:
        """The last word on the job's file is the journal's: a claim made after this runner's
        last write (a Save As, an adoption) must reach the main thread with FINISHED."""
        if self._journal is None or not self._recorded:
            return
        try:
            stored = self._journal.get(self._job.job_id)
        except OSError as error:
            log.warning("job %s: journal not read: %s", self._job.job_id, error)
            return
        if stored is not None:
            with self._lock:
                self._job.blend_path = stored.blend_path

    def _emit(self, kind: EventKind) -> None:
        self._events.put(JobEvent(kind, self.job))
