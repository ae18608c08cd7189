"""Following a job's task at the service to its clips on disk: poll the task result at an
adaptive pace, download every clip (and separate audio), and refresh a download link that
expired on the way.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from .client import HighwayClient, MediaLink, TaskResult, TaskStatus
from .clipfiles import audio_path, clip_path, lock_for
from .errors import (
    AllSamplesFilteredError,
    Cancelled,
    NotFoundError,
    ResultExpiredError,
    TaskFailedError,
    TaskNotFoundError,
    VeoError,
)
from .job import JobState
from .mp4 import is_mp4_file
from .polling import PollPolicy
from .runner_base import EventKind, RunnerBase

log = logging.getLogger(__name__)

# How often a download link that answers as expired right after the task succeeded is replaced
# by a fresh one (by asking for the task result again) before the job fails: a link can expire
# between the poll and the download, or a storage host can answer 404 for a moment.
LINK_REFRESHES = 2


class StopRequested(Exception):
    """The user asked to stop between two steps."""


class DeliverySteps(RunnerBase):
    """The steps of `JobRunner` that take a job with a task id to its clips on disk."""

    _policy: PollPolicy
    _link_refreshes: int
    _last_progress_event: float
    # When this runner's own submit was accepted (monotonic); None when it follows an existing task.
    _submitted_at: float | None = None

    def _follow_task(self) -> None:
        try:
            result = self._poll_until_done()
            self._download(result)
        except (Cancelled, StopRequested):
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
        pacer = self._policy.pacer()
        last_seen: tuple[object, ...] = ()
        if self._submitted_at is not None:
            # A task accepted a moment ago is not done yet: asking at once would spend a request
            # of the service's per-minute allowance (shared by every job) to learn nothing.
            first_wait = self._submitted_at + self._policy.min_interval - time.monotonic()
            if first_wait > 0 and self._stop.wait(first_wait):
                raise StopRequested
        while True:
            if self._stop.is_set():
                raise StopRequested
            asked_at = time.monotonic()
            result = client.task_result(task_id)
            answered_at = time.monotonic()
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
            wait = pacer.wait_after(answered_at, result.eta_seconds, polls_without_news, asked_at)
            if self._stop.wait(wait):
                raise StopRequested

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
            raise StopRequested
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
            if is_mp4_file(dest):
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
