"""Generation jobs: the model, its state machine, and the worker that drives one job.

A user pays for every second generated, so a job is built around two promises:
never lose a clip that was paid for, and never submit the same generation twice
by accident. This module is pure Python (no bpy); the Blender layer keeps a copy
of each job in the scene and applies results on the main thread.

States (`JobState`)::

    captured ──► submitting ──► queued ◄──► processing ──► downloading ──► downloaded ──► inserted
        │             │  └──► unknown_outcome (sent, no answer: never resubmitted by itself)
        │             └─────► failed (refused before a task existed: nothing billed)
        └─► downloaded / queued  (an identical earlier job is reused: nothing submitted)
    queued / processing / downloading ──► failed | stopped
    stopped / failed-with-task-id ──► queued (resume: polls and downloads, never submits)
    inserted ──► downloaded (the file was reopened without the strips: insert the clip again)

An identical request (same fingerprint, same service) never pays twice by itself: it reuses an
earlier job's clip (hard-linked into its own clips folder) or follows its task; and it is not
sent at all, unless `force_new`, when the earlier one may have paid without delivering
(`Job.blocks_identical_submit`: `unknown_outcome`, or its task answered 404 and is gone).
A failure in FINAL_ERROR_KINDS (the service decided, or the task is gone) is never resumed.
`Job.charge` says afterwards whether a job paid (SUBMITTED), reused (REUSED), maybe (UNKNOWN).

`Job.transition()` is the one place a state changes; it refuses impossible moves.

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
            insert event.job.clip_paths, then mark_inserted(journal, event.job)
    # headless: runner.start(); while not runner.wait(0.2): apply(runner.drain_events())
    runner.stop()                             # stop waiting; the task goes on (state `stopped`)
    JobRunner(journal.get(job_id), ...)       # resume: same job, no build_request, never submits
    journal.remove(job_id)                    # forget

On add-on start / file load call `recover_interrupted(journal)` once before resuming:
a `submitting` job without a task id whose process is gone becomes `unknown_outcome`.
Jobs to resume on load: `job.needs_resume` (a task id and an unfinished state).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import queue
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .client import HighwayClient, MediaLink, TaskResult, TaskStatus
from .clipfiles import (
    audio_path,
    clip_path,
    is_complete_mp4,
    lock_for,
    place_file,
    same_folder,
)
from .clipfiles import safe_file_stem as safe_file_stem  # part of this module's API
from .errors import (
    AllSamplesFilteredError,
    Cancelled,
    ClipStorageError,
    EarlierSubmitUnknownError,
    EarlierTaskGoneError,
    NotFoundError,
    ResultExpiredError,
    SubmitOutcomeUnknownError,
    TaskFailedError,
    TaskNotFoundError,
    ValidationError,
    VeoError,
)
from .request import GenerationRequest

if TYPE_CHECKING:
    from .journal import Journal

log = logging.getLogger(__name__)

_BEARER = re.compile(r"(?i)bearer\s+\S+")


class JobState(StrEnum):
    CAPTURED = "captured"
    SUBMITTING = "submitting"
    QUEUED = "queued"
    PROCESSING = "processing"
    DOWNLOADING = "downloading"
    DOWNLOADED = "downloaded"  # clips on disk, waiting for the main thread to insert them
    INSERTED = "inserted"
    FAILED = "failed"
    STOPPED = "stopped"  # the user stopped waiting; the task goes on and can be resumed
    UNKNOWN_OUTCOME = "unknown_outcome"  # submit sent, no answer: the user decides

    @property
    def is_terminal(self) -> bool:
        """No worker is (or should be) running for a job in this state."""
        return self in TERMINAL_STATES

    @property
    def is_in_flight(self) -> bool:
        """A task exists at the service and the job is waiting for or fetching its result."""
        return self in IN_FLIGHT_STATES


IN_FLIGHT_STATES = frozenset({JobState.QUEUED, JobState.PROCESSING, JobState.DOWNLOADING})
TERMINAL_STATES = frozenset(
    {JobState.DOWNLOADED, JobState.INSERTED, JobState.FAILED, JobState.STOPPED, JobState.UNKNOWN_OUTCOME}
)

# Moves that need the job to hold a task id (resuming, adopting a found task).
_RESUMED_STATES = frozenset({JobState.QUEUED, JobState.PROCESSING, JobState.DOWNLOADING})

_TRANSITIONS: dict[JobState, frozenset[JobState]] = {
    JobState.CAPTURED: frozenset(
        {JobState.SUBMITTING, JobState.QUEUED, JobState.PROCESSING, JobState.DOWNLOADED, JobState.FAILED}
    ),
    JobState.SUBMITTING: frozenset(
        {JobState.QUEUED, JobState.PROCESSING, JobState.UNKNOWN_OUTCOME, JobState.FAILED, JobState.STOPPED}
    ),
    JobState.QUEUED: frozenset(
        {JobState.QUEUED, JobState.PROCESSING, JobState.DOWNLOADING, JobState.FAILED, JobState.STOPPED}
    ),
    JobState.PROCESSING: frozenset(
        {JobState.QUEUED, JobState.PROCESSING, JobState.DOWNLOADING, JobState.FAILED, JobState.STOPPED}
    ),
    JobState.DOWNLOADING: frozenset(
        {JobState.DOWNLOADING, JobState.DOWNLOADED, JobState.FAILED, JobState.STOPPED}
    ),
    JobState.DOWNLOADED: frozenset({JobState.DOWNLOADED, JobState.INSERTED}),
    # Back to `downloaded` when the file was reopened without the saved strips: the clip is on
    # disk but no longer on the timeline, so it goes in again (nothing is fetched or paid).
    JobState.INSERTED: frozenset({JobState.INSERTED, JobState.DOWNLOADED}),
    JobState.FAILED: _RESUMED_STATES,
    JobState.STOPPED: _RESUMED_STATES | {JobState.STOPPED, JobState.FAILED},
    # Only when the user found the task id at the service; never by resubmitting.
    JobState.UNKNOWN_OUTCOME: frozenset({JobState.QUEUED}),
}

# A failure the service itself decided: resuming cannot change it. (Identified by the error's
# class name, as `Job.error_kind` records it.) A job that failed this way is never followed by
# an identical request either; a gone task (TaskNotFoundError) makes the next identical request
# refuse to pay again without force_new.
TASK_GONE_KIND = "TaskNotFoundError"
FINAL_ERROR_KINDS = frozenset(
    {"TaskFailedError", "AllSamplesFilteredError", "ValidationError", TASK_GONE_KIND}
)


class Charge(StrEnum):
    """What a job cost at the service, as far as the add-on can know (see `Job.charge`)."""

    NONE = "none"  # nothing was sent (refused or stopped before submitting)
    REUSED = "reused"  # took an identical earlier job's clip or task: no charge
    SUBMITTED = "submitted"  # this job created a task: billed at the service's price
    UNKNOWN = "unknown"  # sent, but no answer came back (or not yet): it may have been billed


class JobStateError(VeoError):
    """An impossible state change was asked for (a bug in the caller, not a user error)."""


class IdenticalSubmitPendingError(VeoError):
    """An identical request was being submitted by another job and did not get a task id in
    time, so this one was not sent. Nothing was billed for this job. (When the other one's
    outcome turns out unknown, this one ends with EarlierSubmitUnknownError instead.)"""


def _now() -> float:
    return time.time()


def _scrub(text: str) -> str:
    """One line, no Authorization header: messages end up in the journal, the .blend and logs."""
    return _BEARER.sub("Bearer ***", " ".join(str(text).split()))


@dataclass
class Job:
    """One transition generation. JSON-safe through `to_dict()` / `from_dict()`; holds no API key."""

    job_id: str
    state: JobState = JobState.CAPTURED
    task_id: str | None = None
    fingerprint: str = ""  # GenerationRequest.fingerprint(), set once the request is built
    parameters: dict[str, Any] = field(default_factory=dict)  # GenerationRequest.parameters()
    keyframe_sources: dict[str, Any] = field(default_factory=dict)  # free-form, for the user
    blend_path: str = ""  # "" while the job belongs to an unsaved file (unclaimed)
    scene_name: str = ""
    frame_start: int = 0  # the gap the clip fills
    frame_end: int = 0
    channel: int = 0  # hint; 0 = any free channel
    # Where the clip goes, as the Blender layer chose it (strip names, keyframe frames, fit);
    # opaque to the core, kept so a resumed job inserts where the user asked.
    placement: dict[str, Any] = field(default_factory=dict)
    clip_paths: list[str] = field(default_factory=list)
    audio_paths: list[str] = field(default_factory=list)
    seed: int | None = None
    filtered_count: int = 0  # videos blocked by safety filters: sample_count - len(videos)
    progress_percent: int | None = None
    eta_seconds: int | None = None
    message: str = ""  # last user-facing line
    error_kind: str = ""  # class name of the error that ended the job
    created_at: float = field(default_factory=_now)
    updated_at: float = field(default_factory=_now)
    base_url: str = ""  # which service the task lives on (never a key)
    reused_from: str = ""  # job id whose clip or task this job reused (nothing paid)
    owner_pid: int | None = None  # process that is submitting; lets other processes leave it alone

    @classmethod
    def new(cls, **fields: Any) -> Job:
        """A captured job with a fresh id; `fields` are any of the dataclass fields."""
        return cls(job_id=uuid.uuid4().hex, **fields)

    # -- state machine -----------------------------------------------------------------------

    def transition(self, new_state: JobState, message: str | None = None, *, error_kind: str = "") -> None:
        """The one place a job changes state. Raises JobStateError for an impossible move."""
        new_state = JobState(new_state)
        allowed = _TRANSITIONS[self.state]
        if new_state not in allowed:
            raise JobStateError(f"Job {self.job_id}: cannot go from {self.state} to {new_state}")
        if self.state in (JobState.FAILED, JobState.STOPPED, JobState.UNKNOWN_OUTCOME) and (
            new_state in _RESUMED_STATES and not self.task_id
        ):
            raise JobStateError(f"Job {self.job_id}: cannot resume without a task id")
        if self.state is JobState.FAILED and self.error_kind in FINAL_ERROR_KINDS:
            raise JobStateError(f"Job {self.job_id}: the service ended this task; it cannot be resumed")
        if new_state in (JobState.QUEUED, JobState.PROCESSING) and not self.task_id:
            raise JobStateError(f"Job {self.job_id}: {new_state} needs a task id")
        if new_state is JobState.DOWNLOADED and not self.clip_paths:
            raise JobStateError(f"Job {self.job_id}: downloaded needs at least one clip")
        self.state = new_state
        # An error kind belongs to the failure that set it; a later state clears it.
        self.error_kind = error_kind if new_state in (JobState.FAILED, JobState.UNKNOWN_OUTCOME) else ""
        if new_state is not JobState.SUBMITTING:
            self.owner_pid = None
        if message is not None:
            self.message = _scrub(message)
        self.updated_at = _now()

    @property
    def is_terminal(self) -> bool:
        return self.state.is_terminal

    @property
    def can_resume(self) -> bool:
        """A runner without build_request can take this job further (poll, download)."""
        if not self.task_id or self.state in (JobState.DOWNLOADED, JobState.INSERTED):
            return False
        if self.state is JobState.FAILED:
            return self.error_kind not in FINAL_ERROR_KINDS
        return self.state is not JobState.CAPTURED

    @property
    def needs_resume(self) -> bool:
        """Unfinished work to pick up on file load without asking: a task is in flight."""
        return bool(self.task_id) and (self.state.is_in_flight or self.state is JobState.SUBMITTING)

    @property
    def needs_insert(self) -> bool:
        return self.state is JobState.DOWNLOADED

    @property
    def blocks_identical_submit(self) -> bool:
        """This job was (or may have been) paid for and cannot deliver: its answer was lost
        (`unknown_outcome`), or its task is gone at the service. Sending the identical request
        again pays again, which only the user may decide (force_new)."""
        if self.state is JobState.UNKNOWN_OUTCOME:
            return not self.task_id
        return self.state is JobState.FAILED and self.error_kind == TASK_GONE_KIND

    @property
    def charge(self) -> Charge:
        """Whether this job paid for a generation: REUSED once it took an identical job's clip
        or task, SUBMITTED once a task id of its own exists (whatever happened to the task
        after), UNKNOWN while or after a submit without an answer, else NONE."""
        if self.reused_from:
            return Charge.REUSED
        if self.task_id:
            return Charge.SUBMITTED
        if self.state in (JobState.SUBMITTING, JobState.UNKNOWN_OUTCOME):
            return Charge.UNKNOWN
        return Charge.NONE

    @property
    def submit_in_progress(self) -> bool:
        """A runner is sending this job right now: `submitting`, no task id yet, and its owner
        process alive (this process counts as alive). An identical request waits for it."""
        return (
            self.state is JobState.SUBMITTING
            and not self.task_id
            and self.owner_pid is not None
            and _process_alive(self.owner_pid)
        )

    def clips_exist(self) -> bool:
        return bool(self.clip_paths) and all(Path(p).is_file() for p in self.clip_paths)

    def recover_after_restart(self) -> bool:
        """Fix up a job whose process ended mid-way. Returns True if the job changed.

        A `submitting` job without task id may or may not have created (and billed) a task:
        it becomes `unknown_outcome` and is never sent again by itself.
        """
        if self.state is JobState.SUBMITTING and not self.task_id:
            self.transition(
                JobState.UNKNOWN_OUTCOME,
                "Blender stopped while this job was being submitted: a task may have been created "
                "and billed. It was not sent again; check your account before generating again.",
                error_kind="SubmitOutcomeUnknownError",
            )
            return True
        if self.state is JobState.SUBMITTING:
            self.transition(JobState.QUEUED, f"Task {self.task_id} was accepted; resume to fetch it.")
            return True
        return False

    # -- serialisation -----------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["state"] = self.state.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Job:
        """Tolerant of unknown keys (a newer add-on version) and missing ones (an older one).
        Raises ValueError when there is no job id or the state is not one this version knows."""
        if not isinstance(data, dict) or not data.get("job_id"):
            raise ValueError("a job needs a job_id")
        known = {f.name: f for f in dataclasses.fields(cls)}
        values: dict[str, Any] = {k: v for k, v in data.items() if k in known}
        values["job_id"] = str(values["job_id"])
        values["state"] = JobState(values.get("state", JobState.CAPTURED.value))
        for name in ("parameters", "keyframe_sources", "placement"):
            if not isinstance(values.get(name, {}), dict):
                values.pop(name)
        for name in ("clip_paths", "audio_paths"):
            if name in values:
                values[name] = [str(p) for p in values[name] or []]
        return cls(**values)

    def copy(self) -> Job:
        return Job.from_dict(self.to_dict())


def mark_inserted(journal: Journal | None, job: Job, message: str | None = None) -> Job:
    """Called on the main thread once the clip is in the timeline; updates the job and the journal."""
    count = len(job.clip_paths)
    job.transition(
        JobState.INSERTED,
        message or f"Inserted {count} clip{'s' if count != 1 else ''} (task {job.task_id}).",
    )
    if journal is not None:
        journal.upsert(job)
    return job


def _process_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    if os.name != "posix":
        # os.kill(pid, 0) would terminate the process on Windows; assume it is gone.
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def recover_interrupted(journal: Journal) -> list[Job]:
    """Apply `Job.recover_after_restart` to journal jobs whose submitting process is gone.

    Jobs this process is running (live JobRunners) and jobs another live process on this
    machine is submitting are left alone. Returns the jobs that changed.
    """
    running = _running_job_ids()

    def stale(job: Job) -> bool:
        if job.state is not JobState.SUBMITTING or job.job_id in running:
            return False
        return job.owner_pid is None or job.owner_pid == os.getpid() or not _process_alive(job.owner_pid)

    return journal.update_where(stale, lambda job: job.recover_after_restart())


# -- the worker ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PollPolicy:
    """How often a task's result is asked for. Adapts to the server's eta and progress."""

    min_interval: float = 2.0
    max_interval: float = 15.0
    # Without an eta, each poll that brings no news waits this much longer than the last.
    backoff_factor: float = 1.5
    # With an eta, ask again after this fraction of it (so the end is not missed by much).
    eta_fraction: float = 0.5

    def next_interval(self, eta_seconds: int | None, polls_without_news: int) -> float:
        if eta_seconds:
            wanted = eta_seconds * self.eta_fraction
        else:
            wanted = self.min_interval * (self.backoff_factor ** max(polls_without_news, 0))
        return min(max(wanted, self.min_interval), self.max_interval)


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


ClientSource = HighwayClient | Callable[[], HighwayClient]

_running: dict[str, JobRunner] = {}
_running_guard = threading.Lock()


def _running_job_ids() -> set[str]:
    with _running_guard:
        return set(_running)


def running_runner(job_id: str) -> JobRunner | None:
    """The live runner of a job in this process, if any (so the UI does not start a second one)."""
    with _running_guard:
        return _running.get(job_id)


# How often a download link that answers as expired right after the task succeeded is replaced
# by a fresh one (by asking for the task result again) before the job fails: a link can expire
# between the poll and the download, or a storage host can answer 404 for a moment.
LINK_REFRESHES = 2

# How long a new job waits for an identical one that is being submitted (a slow upload, a
# rate-limited submit) before giving up without sending, and how often it looks.
IDENTICAL_SUBMIT_WAIT = 300.0
_IDENTICAL_SUBMIT_POLL = 0.25


class _StopRequested(Exception):
    """Internal: the user asked to stop between two steps."""


class JobRunner:
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
        # Whether the journal holds this job (a failure before that is not worth recording).
        self._recorded = job.state is not JobState.CAPTURED

    # -- main-thread API ---------------------------------------------------------------------

    @property
    def job(self) -> Job:
        with self._lock:
            return self._job.copy()

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

    def _prepare(self) -> GenerationRequest | None:
        """Build the request. None: the job ended."""
        assert self._build_request is not None
        try:
            request = self._build_request()
        except ValidationError as error:
            self._fail(error, f"The request is not valid: {error}")
            return None
        except VeoError as error:
            self._fail(error, str(error))
            return None
        except (OSError, ValueError) as error:
            self._fail(error, f"Could not prepare the keyframes: {error}")
            return None
        with self._lock:
            self._job.fingerprint = request.fingerprint()
            self._job.parameters = _json_safe(request.parameters())
        if self._stop.is_set():
            self._fail(Cancelled(""), "Stopped before anything was sent; nothing was billed.")
            return None
        return request

    def _reserve(self) -> bool:
        """Record `submitting` in the journal before sending. True: this runner sends the request.
        False: the job ended, or follows an identical job instead (nothing to pay).

        The journal checks for an identical job and records this one in one locked step, so two
        runners started together never both send. An identical job still being submitted is
        waited for: it gets a task id (followed), or it ends without one (then this one sends),
        or its outcome is unknown (then neither sends again: the user decides)."""
        deadline = time.monotonic() + self._identical_submit_wait
        awaited: Job | None = None
        while True:
            with self._lock:
                candidate = self._job.copy()
            candidate.owner_pid = os.getpid()
            candidate.transition(JobState.SUBMITTING, "Submitting the request…")
            try:
                if self._journal is None:
                    earlier = None
                elif self._force_new:
                    earlier = None
                    candidate = self._journal.upsert(candidate)
                else:
                    earlier = self._journal.reserve_submission(candidate)
            except OSError as error:
                self._fail(error, f"Could not record the job before sending ({error}); nothing was sent.")
                return False
            if earlier is None:
                # The journal now says `submitting`: a crash from here on leaves that trace.
                with self._lock:
                    self._job = candidate
                self._recorded = self._journal is not None
                log.info("job %s: %s", candidate.job_id, candidate.message)
                self._emit(EventKind.STATE_CHANGED)
                return True
            if earlier.blocks_identical_submit:
                self._refuse_because_of(earlier)
                return False
            if not earlier.submit_in_progress:
                self._reuse(earlier)
                return False
            if awaited is None or awaited.job_id != earlier.job_id:
                awaited = earlier
                with self._lock:
                    self._job.message = (
                        f"An identical request (job {earlier.job_id[:8]}) is being submitted; "
                        "waiting for its task instead of paying twice."
                    )
                self._emit(EventKind.PROGRESS)
            if not self._await_submit_of(awaited, deadline):
                return False

    def _await_submit_of(self, awaited: Job, deadline: float) -> bool:
        """Poll the journal until `awaited` is no longer being submitted. False: this job ended
        (stopped, timed out, or the awaited submit's outcome is unknown)."""
        assert self._journal is not None
        while True:
            if self._stop.wait(_IDENTICAL_SUBMIT_POLL):
                self._fail(Cancelled(""), "Stopped before anything was sent; nothing was billed.")
                return False
            try:
                current = self._journal.get(awaited.job_id)
            except OSError as error:
                log.warning("job %s: journal not read: %s", self._job.job_id, error)
                current = awaited
            if current is not None and current.state is JobState.UNKNOWN_OUTCOME:
                self._refuse_because_of(current)
                return False
            if current is None or not current.submit_in_progress:
                return True  # it has a task to follow, or ended without one: look again
            if time.monotonic() >= deadline:
                self._fail(
                    IdenticalSubmitPendingError(""),
                    f"An identical request (job {awaited.job_id[:8]}) is still being submitted, so "
                    "this one was not sent; nothing was billed for it. Try again in a moment.",
                )
                return False

    def _refuse_because_of(self, earlier: Job) -> None:
        """End this job unsent: an identical earlier request may already have been paid for."""
        if earlier.state is JobState.UNKNOWN_OUTCOME:
            # It may have created (and billed) a task: sending it again could pay twice.
            self._fail(
                EarlierSubmitUnknownError(""),
                f"An identical request (job {earlier.job_id[:8]}) was sent earlier but its outcome is "
                "unknown and it may have been charged, so this one was not sent and nothing was "
                "billed; use --new (New Generation) to pay for a new one.",
            )
        else:
            self._fail(
                EarlierTaskGoneError(""),
                f"The task of an identical earlier request ({earlier.task_id}) is gone at the "
                "service, so this one was not sent and nothing was billed; use --new "
                "(New Generation) to pay for a fresh one.",
            )

    def _reuse(self, earlier: Job) -> None:
        """Take over an identical earlier job's clip or task: nothing is submitted."""
        clips: list[str] = []
        audios: list[str] = []
        if earlier.clips_exist():
            try:
                clips, audios = self._bring_clips_here(earlier)
            except OSError as error:
                self._fail(
                    ClipStorageError(str(error)),
                    f"Could not put the clip of an identical earlier request into {self._clips_dir} "
                    f"({_os_reason(error)}); nothing was sent or paid.",
                )
                return
        with self._lock:
            self._job.reused_from = earlier.job_id
            self._job.task_id = earlier.task_id
            self._job.seed = earlier.seed
            self._job.filtered_count = earlier.filtered_count
            if clips:
                self._job.clip_paths = clips
                self._job.audio_paths = audios
        if clips:
            self._set_state(
                JobState.DOWNLOADED,
                f"Reused the clip of an identical earlier request (task {earlier.task_id}); "
                "nothing new was paid for.",
                emit=False,
            )
        else:
            with self._lock:
                self._job.base_url = earlier.base_url or self._job.base_url
            running = earlier.state.is_in_flight or earlier.state is JobState.SUBMITTING
            self._set_state(
                JobState.QUEUED,
                f"An identical request is already running (task {earlier.task_id}); "
                "waiting for it instead of paying again."
                if running
                else f"An identical earlier request has task {earlier.task_id}; "
                "fetching its result instead of paying again.",
                emit=False,
            )
        self._persist()
        self._emit(EventKind.STATE_CHANGED)
        if self._job.task_id:
            self._emit(EventKind.TASK_ACCEPTED)

    def _bring_clips_here(self, earlier: Job) -> tuple[list[str], list[str]]:
        """The earlier job's clips, as files in this job's clips folder: a clip in another
        project's folder is hard-linked (or copied) here under this folder's naming, so that
        moving or deleting that project breaks nothing here."""
        task_id = earlier.task_id or ""
        clips = [
            str(self._local_copy(Path(source), clip_path(self._clips_dir, task_id, index)))
            for index, source in enumerate(earlier.clip_paths)
        ]
        audios = [
            str(self._local_copy(Path(source), self._clips_dir / Path(source).name))
            for source in earlier.audio_paths
            if Path(source).is_file()
        ]
        return clips, audios

    def _local_copy(self, source: Path, dest: Path) -> Path:
        if self._clips_dir.is_dir() and same_folder(source.parent, self._clips_dir):
            return source
        return place_file(source, dest)

    def _submit(self, request: GenerationRequest) -> None:
        """Send the request of a job `_reserve` recorded as `submitting`."""
        try:
            client = self._get_client()
            task_id = client.submit(request)
        except SubmitOutcomeUnknownError as error:
            self._set_state(JobState.UNKNOWN_OUTCOME, str(error), error_kind=type(error).__name__)
            self._persist()
            return
        except Cancelled as error:
            # The client raises Cancelled only before sending or after a refusal: no task exists.
            self._fail(error, "Stopped before the request was accepted; nothing was billed.")
            return
        except VeoError as error:
            self._fail(error, str(error))
            return
        with self._lock:
            self._job.task_id = task_id
        # Nobody hears of the task id before the journal holds it: not even the main thread.
        self._set_state(JobState.QUEUED, f"Task {task_id} accepted; waiting in the queue.", emit=False)
        try:
            self._persist(required=True)
        except OSError as error:
            # The task exists and is paid for: keep going, the main thread stores it in the .blend.
            log.warning(
                "job %s: could not record task %s in the journal: %s", self._job.job_id, task_id, error
            )
        self._emit(EventKind.STATE_CHANGED)
        self._emit(EventKind.TASK_ACCEPTED)

    def _follow_task(self) -> None:
        try:
            result = self._poll_until_done()
            self._download(result)
        except (Cancelled, _StopRequested):
            self._set_state(
                JobState.STOPPED,
                f"Stopped waiting; task {self._job.task_id} goes on at the service. Resume to fetch it.",
            )
            self._persist()
        except TaskNotFoundError as error:
            self._task_gone(error)
        except TaskFailedError as error:
            self._fail(error, str(error))
        except ResultExpiredError as error:
            tried = (
                f", and so did {_links(self._link_refreshes)} asked for again" if self._link_refreshes else ""
            )
            self._fail(
                error,
                f"The download link of task {self._job.task_id} expired before the clip was fetched"
                f"{tried}; resume to ask the service for a fresh link.",
            )
        except VeoError as error:
            self._fail(
                error, f"{error} (task {self._job.task_id} goes on at the service; resume to try again)"
            )
        except OSError as error:
            self._fail(error, f"Could not save the clip of task {self._job.task_id}: {error}")

    def _task_gone(self, error: TaskNotFoundError) -> None:
        asked = self._client.base_url if self._client is not None else ""
        created = self._job.base_url.strip().rstrip("/")
        if asked and created and asked != created:
            # Asked another service than the one that took the task: it may well live there.
            self._fail(
                NotFoundError(str(error), status=404),
                f"Task {self._job.task_id} is not known at {asked}; it was created at {created}: "
                "set that service address and resume.",
            )
            return
        self._fail(error, f"{error} any more; --new (New Generation) pays for a fresh one.")

    def _poll_until_done(self) -> TaskResult:
        client = self._get_client()
        task_id = self._job.task_id
        assert task_id
        polls_without_news = 0
        last_seen: tuple[object, ...] = ()
        while True:
            if self._stop.is_set():
                raise _StopRequested
            result = client.task_result(task_id)
            if result.status.is_terminal:
                return result
            seen = (result.status, result.progress_percent, result.eta_seconds)
            polls_without_news = 0 if seen != last_seen else polls_without_news + 1
            last_seen = seen
            state = JobState.PROCESSING if result.status is TaskStatus.PROCESSING else JobState.QUEUED
            with self._lock:
                self._job.progress_percent = result.progress_percent
                self._job.eta_seconds = result.eta_seconds
            changed = state is not self._job.state
            self._set_state(state, _waiting_message(task_id, result))
            if changed:
                self._persist()
            else:
                self._emit(EventKind.PROGRESS)
            if self._stop.wait(self._policy.next_interval(result.eta_seconds, polls_without_news)):
                raise _StopRequested

    def _download(self, result: TaskResult) -> None:
        task_id = result.task_id or self._job.task_id or ""
        with self._lock:
            self._job.seed = result.seed if result.seed is not None else self._job.seed
            self._job.progress_percent = 100 if result.status is TaskStatus.SUCCEED else None
            self._job.eta_seconds = None
        if result.status is not TaskStatus.SUCCEED:
            raise TaskFailedError(task_id, result.reason, status=result.raw_status or "unknown status")
        requested = int(self._job.parameters.get("sample_count") or len(result.videos) or 1)
        filtered = max(requested - len(result.videos), 0)
        with self._lock:
            self._job.filtered_count = filtered
        if not result.videos:
            raise AllSamplesFilteredError(task_id, requested, status=result.raw_status)
        self._set_state(JobState.DOWNLOADING, f"Downloading {_clips(len(result.videos))} of task {task_id}…")
        self._persist()
        client = self._get_client()
        clip_paths, result = self._fetch_clips(client, result, task_id)
        audio_paths, audio_note = self._fetch_audios(client, result.audios, task_id)
        if self._stop.is_set():
            raise _StopRequested
        with self._lock:
            self._job.clip_paths = clip_paths
            self._job.audio_paths = audio_paths
        message = f"Downloaded {_clips(len(clip_paths))} of task {task_id}"
        if filtered:
            message += f"; {filtered} of {requested} blocked by safety filters"
        self._set_state(JobState.DOWNLOADED, message + "." + audio_note)
        self._persist()

    def _fetch_clips(
        self, client: HighwayClient, result: TaskResult, task_id: str
    ) -> tuple[list[str], TaskResult]:
        """Download every video. A link that answers as expired (403/404/410) is asked for again
        (a fresh task result carries fresh links) up to LINK_REFRESHES times before the job
        fails; clips already on disk are kept. Returns the paths and the result last used."""
        while True:
            try:
                paths = [
                    str(self._fetch(client, link, clip_path(self._clips_dir, task_id, index), task_id, index))
                    for index, link in enumerate(result.videos)
                ]
                return paths, result
            except ResultExpiredError:
                if self._link_refreshes >= LINK_REFRESHES or self._stop.is_set():
                    raise
                self._link_refreshes += 1
                with self._lock:
                    self._job.message = (
                        f"A download link of task {task_id} answered as expired; asking the service "
                        f"for a fresh one ({self._link_refreshes} of {LINK_REFRESHES})…"
                    )
                log.info("job %s: %s", self._job.job_id, self._job.message)
                self._emit(EventKind.PROGRESS)
                fresh = client.task_result(task_id)
                if fresh.status is not TaskStatus.SUCCEED or not fresh.videos:
                    raise
                result = fresh

    def _fetch(self, client: HighwayClient, link: MediaLink, dest: Path, task_id: str, index: int) -> Path:
        with lock_for(dest):
            if is_complete_mp4(dest):
                return dest  # fetched before a crash or by a job sharing this task
            return client.download(link.url, dest, self._download_progress(index), task_id=task_id)

    def _fetch_audios(
        self, client: HighwayClient, links: tuple[MediaLink, ...], task_id: str
    ) -> tuple[list[str], str]:
        """Separate audio tracks are extra (the video may carry its own): a failure is noted, not fatal."""
        paths: list[str] = []
        failures = 0
        for index, link in enumerate(links):
            dest = audio_path(self._clips_dir, task_id, index, link.media_type)
            try:
                with lock_for(dest):
                    if not dest.is_file():
                        client.download(link.url, dest, task_id=task_id, expect_mp4=False)
                paths.append(str(dest))
            except Cancelled:
                raise
            except VeoError as error:
                failures += 1
                log.warning("job %s: separate audio %d not fetched: %s", self._job.job_id, index, error)
        note = f" {failures} separate audio track(s) could not be fetched." if failures else ""
        return paths, note

    def _download_progress(self, index: int) -> Callable[[int, int | None], None]:
        def report(received: int, total: int | None) -> None:
            now = time.monotonic()
            if now - self._last_progress_event < 0.25 and received != total:
                return
            self._last_progress_event = now
            with self._lock:
                self._job.progress_percent = int(received * 100 / total) if total else None
                shown = f"{self._job.progress_percent}%" if total else f"{received // 1024} KB"
                self._job.message = f"Downloading clip {index + 1}: {shown}"
            self._emit(EventKind.PROGRESS)

        return report

    # -- helpers -----------------------------------------------------------------------------

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

    def _set_state(self, state: JobState, message: str, *, error_kind: str = "", emit: bool = True) -> None:
        with self._lock:
            before = self._job.state
            self._job.transition(state, message, error_kind=error_kind)
        log.info("job %s: %s", self._job.job_id, self._job.message)
        if emit:
            self._emit(EventKind.STATE_CHANGED if state is not before else EventKind.PROGRESS)

    def _fail(self, error: BaseException, message: str) -> None:
        self._set_state(JobState.FAILED, message, error_kind=type(error).__name__)
        self._persist()

    def _end_with_error(self, error: BaseException) -> None:
        text = f"Internal error ({type(error).__name__}): {error}"
        if self._job.task_id:
            text += f"; task {self._job.task_id} can be resumed"
        try:
            with self._lock:
                if self._job.state is JobState.SUBMITTING and not self._job.task_id:
                    self._job.transition(JobState.UNKNOWN_OUTCOME, text, error_kind=type(error).__name__)
                elif JobState.FAILED in _TRANSITIONS[self._job.state]:
                    self._job.transition(JobState.FAILED, text, error_kind=type(error).__name__)
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


def _os_reason(error: OSError) -> str:
    """The reason and the file, without Python's "[Errno 28]" prefix."""
    if error.strerror and error.filename:
        return f"{error.strerror}: {error.filename}"
    return error.strerror or str(error)


def _waiting_message(task_id: str, result: TaskResult) -> str:
    where = "processing" if result.status is TaskStatus.PROCESSING else "queued"
    parts = [f"Task {task_id} {where}"]
    if result.progress_percent:
        parts.append(f"{result.progress_percent}%")
    if result.eta_seconds:
        parts.append(f"about {result.eta_seconds} s left")
    return ", ".join(parts)


def _links(count: int) -> str:
    return "the fresh link" if count == 1 else f"{count} fresh links"


def _clips(count: int) -> str:
    return f"{count} clip{'s' if count != 1 else ''}"


def _json_safe(values: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v if isinstance(v, str | int | float | bool | type(None)) else str(v) for k, v in values.items()
    }
