"""Submitting a new job: build the request, make sure no identical request is paid for twice,
send it once, and record the task id before anyone hears of it.

An identical request (same fingerprint, same service) never pays twice by itself: it reuses an
earlier job's clip (hard-linked into its own clips folder) or follows its task; and it is not
sent at all, unless `force_new`, when the earlier one may have paid without delivering
(`Job.blocks_identical_submit`: `unknown_outcome`, or its task answered 404 and is gone).
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

from .clipfiles import clip_path, place_file, same_folder
from .errors import (
    Cancelled,
    ClipStorageError,
    EarlierSubmitUnknownError,
    EarlierTaskGoneError,
    IdenticalSubmitPendingError,
    SubmitOutcomeUnknownError,
    ValidationError,
    VeoError,
)
from .job import Job, JobState
from .request import GenerationRequest
from .runner_base import EventKind, RunnerBase

log = logging.getLogger(__name__)

# How long a new job waits for an identical one that is being submitted (a slow upload, a
# rate-limited submit) before giving up without sending, and how often it looks.
IDENTICAL_SUBMIT_WAIT = 300.0
_IDENTICAL_SUBMIT_POLL = 0.25


class SubmissionSteps(RunnerBase):
    """The steps of `JobRunner` that take a captured job to a task id (or to an identical job's)."""

    _force_new: bool
    _identical_submit_wait: float
    _submitted_at: float | None  # read by DeliverySteps: the first poll waits a poll interval

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
        # Built once: let go of what it was built from (a capture's pictures, 8 MB a 1080p render,
        # mapped from files that would otherwise be kept, and written back to disk, for as long
        # as the job runs).
        self._build_request = None
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
            self._set_state(JobState.UNKNOWN_OUTCOME, str(error), error_code=error.code)
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
        self._submitted_at = time.monotonic()
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


def _os_reason(error: OSError) -> str:
    """The reason and the file, without Python's "[Errno 28]" prefix."""
    if error.strerror and error.filename:
        return f"{error.strerror}: {error.filename}"
    return error.strerror or str(error)


def _json_safe(values: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v if isinstance(v, str | int | float | bool | type(None)) else str(v) for k, v in values.items()
    }
