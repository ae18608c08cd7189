"""A generation job: what it asked for, where it stands, and the moves it may make.

A user pays for every second generated, so a job is built around two promises:
never lose a clip that was paid for, and never submit the same generation twice
by accident. `Job` is plain data (JSON-safe, no API key); the journal keeps the
durable copy, the Blender layer a copy in the scene, and a `JobRunner`
(core/runner.py) drives one job through its states in a worker thread.

States (`JobState`)::

    captured ──► submitting ──► queued ◄──► processing ──► downloading ──► downloaded ──► inserted
        │             │  └──► unknown_outcome (sent, no answer: never resubmitted by itself)
        │             └─────► failed (refused before a task existed: nothing billed)
        └─► downloaded / queued  (an identical earlier job is reused: nothing submitted)
    queued / processing / downloading ──► failed | stopped
    stopped / failed-with-task-id ──► queued (resume: polls and downloads, never submits)
    inserted ──► downloaded (the file was reopened without the strips: insert the clip again)

`Job.transition()` is the one place a state changes; it refuses impossible moves.
A failure whose error is `final` (the service decided, or the task is gone) is never resumed;
`Job.error_code` names that error by its stable code (errors.py), never by its class name.
An identical request is not sent, unless `force_new`, while an earlier one may have paid
without delivering (`Job.blocks_identical_submit`). `Job.charge` says afterwards whether a
job paid (SUBMITTED), reused (REUSED), or maybe did (UNKNOWN).
"""

from __future__ import annotations

import dataclasses
import os
import time
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from .errors import (
    JobStateError,
    SubmitOutcomeUnknownError,
    TaskNotFoundError,
    code_from_class_name,
    is_final_code,
    scrub,
)


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
    # Back to `queued` when resumed after the process died mid-download: it polls for fresh links.
    JobState.DOWNLOADING: frozenset(
        {JobState.QUEUED, JobState.DOWNLOADING, JobState.DOWNLOADED, JobState.FAILED, JobState.STOPPED}
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


class Charge(StrEnum):
    """What a job cost at the service, as far as the add-on can know (see `Job.charge`)."""

    NONE = "none"  # nothing was sent (refused or stopped before submitting)
    REUSED = "reused"  # took an identical earlier job's clip or task: no charge
    SUBMITTED = "submitted"  # this job created a task: billed at the service's price
    UNKNOWN = "unknown"  # sent, but no answer came back (or not yet): it may have been billed


def _now() -> float:
    return time.time()


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
    error_code: str = ""  # stable code of the error that ended the job (errors.py `code`)
    created_at: float = field(default_factory=_now)
    updated_at: float = field(default_factory=_now)
    base_url: str = ""  # which service the task lives on (never a key)
    reused_from: str = ""  # job id whose clip or task this job reused (nothing paid)
    owner_pid: int | None = None  # process that is submitting; lets other processes leave it alone
    # The seam check after insertion, best take first: {"take": 1-based, "in": .., "out": ..}
    # (core/seams.py: 0 = identical); empty when not measured.
    seams: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def new(cls, **fields: Any) -> Job:
        """A captured job with a fresh id; `fields` are any of the dataclass fields."""
        return cls(job_id=uuid.uuid4().hex, **fields)

    # -- state machine -----------------------------------------------------------------------

    def transition(self, new_state: JobState, message: str | None = None, *, error_code: str = "") -> None:
        """The one place a job changes state. Raises JobStateError for an impossible move."""
        new_state = JobState(new_state)
        allowed = _TRANSITIONS[self.state]
        if new_state not in allowed:
            raise JobStateError(f"Job {self.job_id}: cannot go from {self.state} to {new_state}")
        if self.state in (JobState.FAILED, JobState.STOPPED, JobState.UNKNOWN_OUTCOME) and (
            new_state in _RESUMED_STATES and not self.task_id
        ):
            raise JobStateError(f"Job {self.job_id}: cannot resume without a task id")
        if self.failed_finally:
            raise JobStateError(f"Job {self.job_id}: the service ended this task; it cannot be resumed")
        if new_state in (JobState.QUEUED, JobState.PROCESSING) and not self.task_id:
            raise JobStateError(f"Job {self.job_id}: {new_state} needs a task id")
        if new_state is JobState.DOWNLOADED and not self.clip_paths:
            raise JobStateError(f"Job {self.job_id}: downloaded needs at least one clip")
        self.state = new_state
        # An error code belongs to the failure that set it; a later state clears it.
        self.error_code = error_code if new_state in (JobState.FAILED, JobState.UNKNOWN_OUTCOME) else ""
        if new_state is not JobState.SUBMITTING:
            self.owner_pid = None
        if message is not None:
            self.message = scrub(message)
        self.updated_at = _now()

    def can_transition_to(self, new_state: JobState) -> bool:
        """Whether the state machine has this move from the current state (the other rules of
        `transition()`, such as needing a task id, still apply)."""
        return JobState(new_state) in _TRANSITIONS[self.state]

    @property
    def is_terminal(self) -> bool:
        return self.state.is_terminal

    @property
    def can_resume(self) -> bool:
        """A runner without build_request can take this job further (poll, download)."""
        if not self.task_id or self.state in (JobState.DOWNLOADED, JobState.INSERTED):
            return False
        if self.state is JobState.FAILED:
            return not self.failed_finally
        return self.state is not JobState.CAPTURED

    @property
    def needs_resume(self) -> bool:
        """Unfinished work to pick up on file load without asking: a task is in flight."""
        return bool(self.task_id) and (self.state.is_in_flight or self.state is JobState.SUBMITTING)

    @property
    def failed_finally(self) -> bool:
        """Failed in a way the service decided (or the task is gone): resuming cannot change it,
        and an identical request does not follow this job either."""
        return self.state is JobState.FAILED and is_final_code(self.error_code)

    @property
    def task_gone(self) -> bool:
        """Failed because the service no longer knows the task (404): its clip cannot be had."""
        return self.state is JobState.FAILED and self.error_code == TaskNotFoundError.code

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
        return self.task_gone

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
            and process_alive(self.owner_pid)
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
                error_code=SubmitOutcomeUnknownError.code,
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
        if "error_code" not in data and data.get("error_kind"):
            # Written before error codes: the field held the error's class name.
            values["error_code"] = code_from_class_name(str(data["error_kind"]))
        for name in ("parameters", "keyframe_sources", "placement"):
            if not isinstance(values.get(name, {}), dict):
                values.pop(name)
        if not isinstance(values.get("seams", []), list):
            values.pop("seams")
        for name in ("clip_paths", "audio_paths"):
            if name in values:
                values[name] = [str(p) for p in values[name] or []]
        return cls(**values)

    def copy(self) -> Job:
        return Job.from_dict(self.to_dict())


def process_alive(pid: int) -> bool:
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
