"""Fetching a result file: streamed to disk through a `.part` file of its own, resumed with Range
when the connection drops, renamed into place only when every byte arrived.

The file is never held in memory: each network read is written as it arrives. Retries go through
the client's retry loop (retry.py) with the download rule; the caller passes that loop in, so the
API key and the rate limiter stay the client's business: result files come from storage hosts.
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import Cancelled, InvalidMediaError, NetworkError, ResultExpiredError
from .http_errors import describe_error, failed_status
from .job import process_alive
from .lazy_import import lazy_module
from .mp4 import is_mp4_file
from .retry import INCOMPLETE, NOT_SENT, Failed, Verdict, download_rule, transport_event

if TYPE_CHECKING:
    import httpx
else:
    httpx = lazy_module("httpx")

log = logging.getLogger(__name__)

# Progress is reported on the first bytes, then once per this many and at the end: a call for
# every network read (64 KiB) cost a few percent of a loopback download's throughput.
PROGRESS_STEP_BYTES = 1 << 20

ProgressCallback = Callable[[int, int | None], None]
# Runs one attempt until it gives a value or the download rule gives up (the client's retry loop).
RetryLoop = Callable[[Callable[[], int | Failed]], int]


def download_file(
    files: httpx.Client,
    url: str,
    dest: Path,
    on_progress: ProgressCallback | None,
    *,
    retry: RetryLoop,
    stop: threading.Event,
    task_id: str = "",
    expect_mp4: bool = True,
) -> Path:
    """Stream `url` to `dest` with `files` (see HighwayClient.download); `stop` cancels mid-transfer."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    # A name of its own: another process (or thread) may be fetching the same file right
    # now, and a shared name would let one truncate or rename the other's bytes.
    partial = _new_partial_file(dest)
    label = f"the result of task {task_id}" if task_id else "the result file"
    received = 0

    def attempt() -> int | Failed:
        nonlocal received
        try:
            outcome = _download_once(files, url, partial, received, on_progress, label, task_id, stop)
        except _OtherRange as other:
            # None of it was written (curl, too, refuses such a resume). Asked again from byte 0,
            # the host sends the whole file: one more passing fault of the download.
            asked = f"bytes from {received} on were" if received else "the whole file was"
            received = 0
            text = f"The file host sent {label} {other.where} when {asked} asked for"
            return Failed(INCOMPLETE, NetworkError(text))
        except httpx.TransportError as error:
            event = transport_event(error)
            if event == NOT_SENT:
                text = f"Could not reach the file host for {label}: {describe_error(error)}"
            else:
                received = partial.stat().st_size if partial.exists() else 0
                text = f"Download of {label} broke off at {received} bytes: {describe_error(error)}"
            return Failed(event, NetworkError(text), cause=error)
        if isinstance(outcome, Failed):
            return outcome
        received, total = outcome
        if total is None or received == total:
            return received
        stopped = NetworkError(f"Download of {label} stopped at {received} of {total} bytes")
        if received > total:
            received = 0  # the server sent more than it announced: start over
        return Failed(INCOMPLETE, stopped)

    try:
        retry(attempt)
        if expect_mp4 and not is_mp4_file(partial):
            raise InvalidMediaError(f"The download of {label} is not an MP4 file")
        os.replace(partial, dest)
    finally:
        partial.unlink(missing_ok=True)
    log.info("downloaded %s (%d bytes)", dest.name, dest.stat().st_size)
    return dest


def _download_once(
    files: httpx.Client,
    url: str,
    partial: Path,
    received: int,
    on_progress: ProgressCallback | None,
    label: str,
    task_id: str,
    stop: threading.Event,
) -> tuple[int, int | None] | Failed:
    headers = {"Range": f"bytes={received}-"} if received else {}
    with files.stream("GET", url, headers=headers) as response:
        status = response.status_code
        if status in (403, 404, 410):
            expired = ResultExpiredError(
                f"The download link for {label} has expired (HTTP {status}); "
                "the clip can no longer be fetched from the service.",
                task_id=task_id,
            )
            return Failed(status, expired)
        if status == 416 and received:
            return received, received  # we already hold every byte
        if status >= 400:
            response.read()  # a streamed answer must be read before its error body is parsed
            failed = failed_status(response)
            if download_rule(status) is Verdict.RETRY:
                return failed
            return Failed(status, NetworkError(f"Download of {label} failed: {failed.error}"))
        length = response.headers.get("Content-Length")
        size: int | None = None  # the whole file's, as Content-Range gives it
        if status == 206:
            start, size = _content_range(response.headers.get("Content-Range"))
            if start is None and not received:
                start = 0  # no range was asked: a 206 without Content-Range can only be all of it
            # Bytes from 0 go where they belong even when a resume was asked; any other start
            # would put them at the wrong place.
            if start is None or start not in (received, 0):
                raise _OtherRange("without a Content-Range" if start is None else f"from byte {start}")
            received = start
        else:
            received = 0  # a full answer (the host ignored Range)
        # A 206 may hold less than the rest of the file (hosts cap parts): its Content-Length is
        # then only this part, and taking it for the end would deliver a cut clip.
        if size is not None:
            total: int | None = size
        else:
            total = received + int(length) if length and length.isdigit() else None
        # Never opened with "wb" (O_TRUNC), and truncated only when it holds bytes past `received`:
        # after a file is truncated, ext4 writes all of it to disk when it is closed (its
        # auto_da_alloc), which cost a fifth of a loopback download's time.
        with open(partial, "r+b") as out:
            if os.fstat(out.fileno()).st_size > received:
                out.truncate(received)
            out.seek(received)
            # As the bytes arrive, not re-chunked: a re-chunking buffer would lose what it held
            # when the connection breaks, and the resume would start that much earlier.
            reported, next_report = received, received
            for chunk in response.iter_bytes():
                out.write(chunk)
                received += len(chunk)
                if on_progress is not None and (received >= next_report or received == total):
                    on_progress(received, total)
                    reported, next_report = received, received + PROGRESS_STEP_BYTES
                if stop.is_set():
                    raise Cancelled("Download stopped")
            if on_progress is not None and reported != received:
                on_progress(received, total)
        return received, total


class _OtherRange(Exception):
    """A 206 that does not start where the download asked (`where` says where it does)."""

    def __init__(self, where: str) -> None:
        super().__init__(where)
        self.where = where


def _content_range(value: str | None) -> tuple[int | None, int | None]:
    """(first byte, whole file's size) of "bytes 100-999/1000"; None for what it does not give."""
    if not value or not value.startswith("bytes "):
        return None, None
    span, _, size_text = value[6:].partition("/")
    start_text = span.partition("-")[0].strip()
    start = int(start_text) if start_text.isdigit() else None
    size_text = size_text.strip()
    return start, int(size_text) if start is not None and size_text.isdigit() else None


def _new_partial_file(dest: Path) -> Path:
    """Create an empty `<dest name>.<pid>-<random>.part` beside `dest`, unique to this download,
    after removing those a process that died mid-download left behind (Blender killed).

    Not tempfile.mkstemp: its 0600 mode would end up on the clip; this one follows the umask
    like any other file the user saves."""
    _remove_abandoned_partials(dest)
    while True:
        partial = dest.with_name(f"{dest.name}.{os.getpid()}-{secrets.token_hex(6)}.part")
        try:
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return partial


def _remove_abandoned_partials(dest: Path) -> None:
    for partial in dest.parent.glob(f"{glob.escape(dest.name)}.*-*.part"):
        owner = partial.name[len(dest.name) + 1 :].split("-", 1)[0]
        if owner.isdigit() and not process_alive(int(owner)):
            with contextlib.suppress(OSError):  # e.g. still open on Windows: its owner lives
                partial.unlink()
