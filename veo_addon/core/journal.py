"""Durable record of jobs: one JSON file per user, shared by every Blender process.

The journal is what makes a paid task id survive a crash, a quit without saving, or
a .blend that never learned about its job. The Blender layer opens it at
`bpy.utils.extension_path_user(__package__, create=True)/journal.json`; the worker
writes to it the moment a task id exists, before anything else happens.

File format::

    {"version": 1, "jobs": {"<job_id>": {...Job.to_dict()...}, ...}}

Guarantees:
- Atomic: every write goes to a temporary file in the same folder, is fsync'd, then
  `os.replace`d over the journal (and the folder fsync'd), so a crash leaves the old
  or the new file, never half of one.
- Shared: a thread lock and an inter-process lock (`fcntl.flock`, or `msvcrt.locking`
  on Windows, on the sibling `journal.json.lock`) around every read-modify-write, so
  two processes never drop each other's jobs. No state is cached between calls.
- Forgiving: a file that cannot be read as a journal is kept as
  `journal.json.corrupt-<time>` and a fresh journal starts (warning in the log).
  An entry this version cannot parse is skipped on read but kept in the file.
- No secrets: a Job has no key field; messages are scrubbed of Authorization headers.

API: `upsert(job) -> Job`, `get(job_id)`, `remove(job_id)`, `all()`, `for_blend(path)`,
`unclaimed()`, `find_reusable(fingerprint)`, `reserve_submission(job) -> Job | None`,
`claim(job_id, blend_path)`, `update_where(predicate, mutate)`; and `mark_inserted(journal, job)`
for the main thread once a job's clip is on the timeline.

`blend_path` belongs to the journal: the first write of a job records it, afterwards only
`claim()` changes it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .job import Job, JobState

log = logging.getLogger(__name__)

JOURNAL_VERSION = 1
LOCK_SUFFIX = ".lock"

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

try:
    import msvcrt
except ImportError:  # POSIX
    msvcrt = None  # type: ignore[assignment]


def normalise_blend_path(path: str | os.PathLike[str]) -> str:
    """Comparable form of a .blend path ("" stays "": an unsaved file)."""
    text = os.fspath(path)
    if not text:
        return ""
    return os.path.normcase(os.path.normpath(os.path.abspath(os.path.expanduser(text))))


@contextlib.contextmanager
def _interprocess_lock(lock_path: Path) -> Iterator[None]:
    with open(lock_path, "a+b") as handle:
        if fcntl is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        elif msvcrt is not None:
            handle.seek(0)
            while True:
                try:
                    msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
                    break
                except OSError:  # LK_LOCK gives up after ~10 s; keep waiting
                    continue
            try:
                yield
            finally:
                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            yield


def _fsync_directory(folder: Path) -> None:
    if os.name != "posix":
        return  # directories cannot be opened for fsync on Windows
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Journal:
    """The jobs file. Every method is safe across threads and processes."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + LOCK_SUFFIX)
        self._thread_lock = threading.RLock()

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r})"

    # -- reading -----------------------------------------------------------------------------

    def all(self) -> list[Job]:
        """Every job, oldest first."""
        with self._locked() as raw:
            jobs = _parse_jobs(raw)
        return sorted(jobs, key=lambda job: job.created_at)

    def get(self, job_id: str) -> Job | None:
        with self._locked() as raw:
            entry = raw["jobs"].get(job_id)
        return _parse_job(job_id, entry) if entry is not None else None

    def for_blend(self, blend_path: str | os.PathLike[str]) -> list[Job]:
        """Jobs recorded for this .blend (paths compared normalised)."""
        wanted = normalise_blend_path(blend_path)
        if not wanted:
            return self.unclaimed()
        return [job for job in self.all() if normalise_blend_path(job.blend_path) == wanted]

    def unclaimed(self) -> list[Job]:
        """Jobs started in a file that was never saved (blend_path "")."""
        return [job for job in self.all() if not job.blend_path]

    def find_reusable(
        self,
        fingerprint: str,
        *,
        base_url: str | None = None,
        exclude_job_id: str | None = None,
    ) -> Job | None:
        """An earlier job for the identical request that spares paying again: first one whose
        clips are still on disk, else one whose task can still be followed on `base_url` (when
        given): in flight, stopped, failed in a way resuming can fix, or downloaded with its
        clips gone. None if there is none. A job still being submitted is not returned here
        (it has no task to follow yet); `reserve_submission` waits for it."""
        return _reusable(self.all(), fingerprint, base_url=base_url, exclude_job_id=exclude_job_id)

    # -- writing -----------------------------------------------------------------------------

    def upsert(self, job: Job) -> Job:
        """Record the job (replacing its earlier record). Returns the job as stored.

        The journal owns `blend_path`: once a job is recorded only `claim()` changes it, so a
        worker's snapshot (taken before a Save As or an adoption) never undoes a claim."""
        stored = job.copy()
        with self._locked(write=True) as raw:
            _store(raw, stored)
        return stored

    def reserve_submission(self, job: Job) -> Job | None:
        """Before paying for `job` (state `submitting`): in one locked step, either return an
        identical job to follow instead, or record `job` and return None (then send it).

        The identical job returned is, in order of preference: one whose clips are on disk,
        one whose task can be followed (see `find_reusable`), or one another runner is
        submitting right now (`Job.submit_in_progress`: no task id yet, owner process alive).
        Checking and recording in one step is what keeps two runners started together from
        both paying: the second one sees the first one's `submitting` record.

        Failing those, an identical job that may have been paid for without delivering
        (`Job.blocks_identical_submit`: its submit's answer was lost, or its task is gone at the
        service) is returned too, and the caller must not send: only force_new pays again."""
        if job.state is not JobState.SUBMITTING:
            raise ValueError(f"reserve_submission needs a submitting job, not {job.state}")
        with self._locked(write=True) as raw:
            jobs = _parse_jobs(raw)
            base_url = job.base_url or None
            earlier = _reusable(jobs, job.fingerprint, base_url=base_url, exclude_job_id=job.job_id)
            if earlier is None and job.fingerprint:
                identical = [
                    other
                    for other in sorted(jobs, key=lambda j: j.created_at, reverse=True)
                    if other.fingerprint == job.fingerprint
                    and other.job_id != job.job_id
                    and not (base_url and other.base_url and other.base_url != base_url)
                ]
                earlier = next((other for other in identical if other.submit_in_progress), None)
                if earlier is None:
                    earlier = next((other for other in identical if other.blocks_identical_submit), None)
            if earlier is not None:
                return earlier
            _store(raw, job.copy())
            return None

    def remove(self, job_id: str) -> bool:
        """Forget a job (its clip files stay: strips may use them). True if it was there."""
        with self._locked(write=True) as raw:
            return raw["jobs"].pop(job_id, None) is not None

    def claim(self, job_id: str, blend_path: str | os.PathLike[str]) -> Job | None:
        """Give an unclaimed (or any) job to a .blend; returns the updated job or None."""
        with self._locked(write=True) as raw:
            entry = raw["jobs"].get(job_id)
            job = _parse_job(job_id, entry) if entry is not None else None
            if job is None:
                return None
            job.blend_path = os.fspath(blend_path)
            job.updated_at = time.time()
            raw["jobs"][job_id] = job.to_dict()
            return job

    def update_where(self, predicate: Callable[[Job], bool], mutate: Callable[[Job], object]) -> list[Job]:
        """Read-modify-write in one locked step: `mutate` every job `predicate` accepts and
        store it if `mutate` returns a true value. Returns the jobs stored."""
        changed: list[Job] = []
        with self._locked(write=True) as raw:
            for job in _parse_jobs(raw):
                if predicate(job) and mutate(job):
                    raw["jobs"][job.job_id] = job.to_dict()
                    changed.append(job)
        return changed

    # -- file handling -----------------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self, *, write: bool = False) -> Iterator[dict[str, Any]]:
        """Hold both locks; yield the file's content; write it back atomically if `write`."""
        with self._thread_lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with _interprocess_lock(self.lock_path):
                raw = self._read()
                yield raw
                if write:
                    self._write(raw)

    def _read(self) -> dict[str, Any]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return _empty()
        try:
            raw = json.loads(text)
            if not isinstance(raw, dict) or not isinstance(raw.get("jobs"), dict):
                raise ValueError("not a journal (no 'jobs' object)")
        except ValueError as error:
            self._set_aside(error)
            return _empty()
        return raw

    def _set_aside(self, error: Exception) -> None:
        """Keep the unreadable file for a person to look at, and start a fresh journal."""
        stamp = time.strftime("%Y%m%d-%H%M%S")
        backup = self.path.with_name(f"{self.path.name}.corrupt-{stamp}")
        counter = 1
        while backup.exists():
            backup = self.path.with_name(f"{self.path.name}.corrupt-{stamp}-{counter}")
            counter += 1
        os.replace(self.path, backup)
        log.warning(
            "The jobs journal %s could not be read (%s); kept it as %s and started a new one",
            self.path,
            error,
            backup.name,
        )
        self._write(_empty())

    def _write(self, raw: dict[str, Any]) -> None:
        raw["version"] = JOURNAL_VERSION
        data = json.dumps(raw, indent=1, sort_keys=True, ensure_ascii=False).encode("utf-8")
        fd, temp_name = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp_name, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temp_name)
            raise
        _fsync_directory(self.path.parent)


def _empty() -> dict[str, Any]:
    return {"version": JOURNAL_VERSION, "jobs": {}}


def _parse_job(job_id: str, entry: Any) -> Job | None:
    try:
        return Job.from_dict(entry)
    except (ValueError, TypeError) as error:
        log.warning("journal entry %s skipped (this version cannot read it): %s", job_id, error)
        return None


def _store(raw: dict[str, Any], job: Job) -> None:
    """Put `job` into the raw journal; a job already recorded keeps its recorded blend_path
    (only `claim()` changes that). `job` is updated to what was stored."""
    earlier = raw["jobs"].get(job.job_id)
    if isinstance(earlier, dict):
        job.blend_path = str(earlier.get("blend_path") or "")
    raw["jobs"][job.job_id] = job.to_dict()


def _reusable(
    jobs: list[Job], fingerprint: str, *, base_url: str | None, exclude_job_id: str | None
) -> Job | None:
    if not fingerprint:
        return None
    candidates = sorted(
        (job for job in jobs if job.fingerprint == fingerprint and job.job_id != exclude_job_id),
        key=lambda job: job.created_at,
        reverse=True,  # newest first
    )
    for job in candidates:
        if job.state in (JobState.DOWNLOADED, JobState.INSERTED) and job.clips_exist():
            return job
    # A task the service no longer knows cannot be fetched through any job that holds it.
    gone = {job.task_id for job in jobs if job.task_gone}
    for job in candidates:
        if not job.task_id or job.task_id in gone or (base_url and job.base_url and job.base_url != base_url):
            continue
        if job.state.is_in_flight or job.state in (JobState.SUBMITTING, JobState.STOPPED):
            return job
        if job.state is JobState.FAILED and not job.failed_finally:
            # The task most likely finished at the service (the poll or the download broke):
            # fetching its result costs nothing, sending the request again costs a clip.
            return job
        if job.state in (JobState.DOWNLOADED, JobState.INSERTED):
            return job  # clips gone, task id known: its result can be fetched again
    return None


def _parse_jobs(raw: dict[str, Any]) -> list[Job]:
    return [job for job_id, entry in raw["jobs"].items() if (job := _parse_job(job_id, entry)) is not None]


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
