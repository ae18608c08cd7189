"""HTTP client for the Highway API's Veo 3.1 first/last-frame endpoint (see docs and spec).

Retry rules, because a submit costs money:
- task-result polls and downloads retry network failures, 429 and 5xx with
  exponential backoff and jitter, honouring Retry-After;
- a submit is retried only when it certainly did not reach the server (connect
  failure) or the server refused it outright (429, 503). Anything that may have
  created a task (a timeout or broken connection after sending, 500/502/504, a
  200 without a task id) raises SubmitOutcomeUnknownError carrying the request.

The API key is sent only to the configured base URL, never to the hosts that
serve result files, and never appears in an error, a repr or a log line.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import random
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC
from email.utils import parsedate_to_datetime
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from .errors import (
    ApiError,
    AuthenticationError,
    BadRequestError,
    Cancelled,
    InsufficientBalanceError,
    InvalidMediaError,
    MalformedResponseError,
    NetworkError,
    NotFoundError,
    RateLimitedError,
    ResultExpiredError,
    ServiceUnavailableError,
    SubmitOutcomeUnknownError,
    TaskNotFoundError,
    ValidationError,
    VeoError,
    missing_key_error,
)
from .ratelimit import RateLimiter, shared_rate_limiter
from .request import Base64Form, GenerationRequest

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.highwayapi.ai"
SUBMIT_PATH = "/v3/async/veo-3.1-generate-firstlastframe"
RESULT_PATH = "/v3/async/task-result"
DEFAULT_URL_TTL_SECONDS = 3600
USER_AGENT = "veo-transitions-blender/0.1"


class TaskStatus(StrEnum):
    QUEUED = "TASK_STATUS_QUEUED"
    PROCESSING = "TASK_STATUS_PROCESSING"
    SUCCEED = "TASK_STATUS_SUCCEED"
    FAILED = "TASK_STATUS_FAILED"
    UNKNOWN = "UNKNOWN"  # any other value: terminal, shown as it came

    @property
    def is_terminal(self) -> bool:
        return self in (TaskStatus.SUCCEED, TaskStatus.FAILED, TaskStatus.UNKNOWN)


@dataclass(frozen=True)
class MediaLink:
    url: str
    ttl_seconds: int
    media_type: str


@dataclass(frozen=True)
class TaskResult:
    task_id: str
    status: TaskStatus
    raw_status: str
    progress_percent: int | None = None
    eta_seconds: int | None = None
    reason: str = ""
    videos: tuple[MediaLink, ...] = ()
    audios: tuple[MediaLink, ...] = ()
    seed: int | None = None

    @classmethod
    def from_payload(cls, payload: Any, task_id: str) -> TaskResult:
        if not isinstance(payload, dict) or not isinstance(payload.get("task"), dict):
            raise MalformedResponseError(f"The task result for {task_id} has no 'task' object")
        task = payload["task"]
        raw_status = str(task.get("status") or "")
        try:
            status = TaskStatus(raw_status)
        except ValueError:
            status = TaskStatus.UNKNOWN
        extra = payload.get("extra")
        seed = extra.get("seed") if isinstance(extra, dict) else None
        return cls(
            task_id=str(task.get("task_id") or task_id),
            status=status,
            raw_status=raw_status,
            progress_percent=_optional_int(task.get("progress_percent")),
            eta_seconds=_optional_int(task.get("eta")),
            reason=str(task.get("reason") or ""),
            videos=_media_links(payload.get("videos"), "video"),
            audios=_media_links(payload.get("audios"), "audio"),
            seed=_optional_int(seed),
        )


def _optional_int(value: Any) -> int | None:
    """The service sends numbers as ints or as strings; 0 and missing both mean 'unknown' to callers."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return None


def _media_links(items: Any, kind: str) -> tuple[MediaLink, ...]:
    links = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict) and item.get(f"{kind}_url"):
            ttl = _optional_int(item.get(f"{kind}_url_ttl"))
            links.append(
                MediaLink(
                    url=str(item[f"{kind}_url"]),
                    ttl_seconds=DEFAULT_URL_TTL_SECONDS if ttl is None else ttl,
                    media_type=str(item.get(f"{kind}_type") or ""),
                )
            )
    return tuple(links)


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    base_delay: float = 1.0
    max_delay: float = 30.0
    jitter: float = 0.25  # +/- this fraction of the delay, so many clients do not retry in step
    max_retry_after: float = 120.0

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        backoff = min(self.base_delay * (2 ** (attempt - 1)), self.max_delay)
        return max(0.0, backoff * random.uniform(1 - self.jitter, 1 + self.jitter))


@dataclass(frozen=True)
class ClientSettings:
    base64_form: Base64Form = Base64Form.DATA_URI
    # A 400 creates no task, so one more submit in the other Base64 form is safe.
    retry_other_base64_form: bool = True
    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    write_timeout: float = 60.0
    download_read_timeout: float = 60.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    submit_retry: RetryPolicy = field(default_factory=lambda: RetryPolicy(max_attempts=4))


def is_loopback_url(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_base_url(base_url: str) -> str:
    """HTTPS is required, except for loopback addresses (the local test server)."""
    url = base_url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("base_url", f"{base_url!r} is not an http(s) URL")
    if parts.scheme != "https" and not is_loopback_url(url):
        raise ValidationError("base_url", f"must use https:// (http only on loopback): {url}")
    return url


def _retry_after_seconds(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    from datetime import datetime

    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _error_body(response: httpx.Response) -> tuple[str, str]:
    """(reason, message) from the provider's error body, tolerating no body or non-JSON."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        text = response.text.strip().splitlines()[0][:200] if response.text.strip() else ""
        return "", text
    if not isinstance(body, dict):
        return "", ""
    return str(body.get("reason") or ""), str(body.get("message") or "")


def error_from_response(response: httpx.Response) -> ApiError:
    status = response.status_code
    reason, message = _error_body(response)
    detail = f": {message}" if message else ""
    if status == 400:
        return BadRequestError(message or reason or "invalid request", reason=reason)
    if status == 401:
        return AuthenticationError(
            f"The API key was refused (HTTP 401 {reason or 'FAILED_TO_AUTH'}){detail}. "
            "Check the key in the add-on preferences or VEO_API_KEY.",
            status=status,
            reason=reason,
        )
    if status == 403 and reason == "NOT_ENOUGH_BALANCE":
        return InsufficientBalanceError(
            f"The account has no balance left (HTTP 403 NOT_ENOUGH_BALANCE){detail}. Top it up, then retry.",
            status=status,
            reason=reason,
        )
    if status == 403:
        return AuthenticationError(
            f"The API key has no access (HTTP 403 {reason or 'forbidden'}){detail}. "
            "Check the key in the add-on preferences or VEO_API_KEY.",
            status=status,
            reason=reason,
        )
    if status == 404:
        return NotFoundError(f"Not found (HTTP 404){detail}", status=status, reason=reason)
    if status == 429:
        return RateLimitedError(
            f"The service is rate limiting requests (HTTP 429){detail}",
            retry_after=_retry_after_seconds(response),
            reason=reason,
        )
    if status >= 500:
        return ServiceUnavailableError(
            f"The service is unavailable (HTTP {status} {reason}){detail}".replace(" )", ")"),
            status=status,
            reason=reason,
        )
    return ApiError(f"Unexpected HTTP {status}{detail}", status=status, reason=reason)


class HighwayClient:
    """One client per job; requests of all clients share the process-wide rate limiter."""

    def __init__(
        self,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        *,
        settings: ClientSettings | None = None,
        rate_limiter: RateLimiter | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = check_base_url(base_url)
        if not api_key or not api_key.strip():
            raise missing_key_error()
        key = api_key.strip()
        if not _is_header_safe_key(key):
            # httpx would fail later with a text that quotes the header (the key) or a
            # UnicodeEncodeError; neither may reach the user, a log or the journal.
            raise AuthenticationError(
                "The API key contains spaces, line breaks or non-ASCII characters; paste it again."
            )
        self.settings = settings or ClientSettings()
        self.base64_form = self.settings.base64_form
        self._limiter = rate_limiter or shared_rate_limiter()
        self._stop = threading.Event()
        timeout = httpx.Timeout(
            connect=self.settings.connect_timeout,
            read=self.settings.read_timeout,
            write=self.settings.write_timeout,
            pool=self.settings.connect_timeout,
        )
        self._api = httpx.Client(
            base_url=self.base_url,
            headers={
                "Authorization": f"Bearer {key}",
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
            },
            timeout=timeout,
            transport=transport,
        )
        # Result files live on other hosts (signed URLs): no key goes there.
        self._files = httpx.Client(
            headers={"User-Agent": USER_AGENT},
            timeout=httpx.Timeout(
                connect=self.settings.connect_timeout,
                read=self.settings.download_read_timeout,
                write=self.settings.write_timeout,
                pool=self.settings.connect_timeout,
            ),
            follow_redirects=True,
            transport=transport,
        )

    def __repr__(self) -> str:
        return f"HighwayClient(base_url={self.base_url!r})"

    def __enter__(self) -> HighwayClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._api.close()
        self._files.close()

    def cancel(self) -> None:
        """Interrupt any wait (rate limit, backoff) in this client; calls then raise Cancelled."""
        self._stop.set()

    # -- endpoints ---------------------------------------------------------------------------

    def submit(self, request: GenerationRequest) -> str:
        """Send one generation; returns the task id. Never sends the same request twice by itself
        unless the first attempt certainly created no task."""
        form = self.base64_form
        inline_images = request.image.data is not None or request.last_image.data is not None
        try:
            response = self._send_submit(request, form)
        except BadRequestError:
            if not (inline_images and self.settings.retry_other_base64_form):
                raise
            log.info("submit refused with HTTP 400; trying once more with %s Base64", form.other().value)
            response = self._send_submit(request, form.other())
            self.base64_form = form.other()
        task_id = self._task_id_from(response, request)
        log.info("submitted: task %s", task_id)
        return task_id

    def task_result(self, task_id: str) -> TaskResult:
        """The task's status and, once it succeeded, its result links. Raises TaskNotFoundError
        when the service answers 404: the submit path worked on this base URL, so the path is
        right and the task itself is unknown (expired, deleted, or never this account's)."""
        try:
            result: TaskResult = self._with_retries(
                lambda: self._api.get(RESULT_PATH, params={"task_id": task_id}),
                describe=f"task {task_id}",
                parse=lambda r: TaskResult.from_payload(_json_or_malformed(r, task_id), task_id),
            )
        except NotFoundError as error:
            raise TaskNotFoundError(task_id) from error
        return result

    def download(
        self,
        url: str,
        dest: Path | str,
        on_progress: Callable[[int, int | None], None] | None = None,
        *,
        task_id: str = "",
        expect_mp4: bool = True,
    ) -> Path:
        """Stream `url` to `dest`: through a temporary file renamed into place only when the
        whole file arrived (Content-Length checked, dropped transfers resumed with Range) and,
        for videos, starts with an MP4 `ftyp` box. Nothing is left behind on failure."""
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        # A name of its own: another process (or thread) may be fetching the same file right
        # now, and a shared name would let one truncate or rename the other's bytes.
        partial = _new_partial_file(dest)
        policy = self.settings.retry
        label = f"the result of task {task_id}" if task_id else "the result file"
        received = 0
        attempt = 0
        try:
            while True:
                attempt += 1
                self._wait_for_slot()
                failure: VeoError
                retry_after: float | None = None
                try:
                    received, total = self._download_once(url, partial, received, on_progress, label, task_id)
                    if total is None or received == total:
                        break
                    failure = NetworkError(f"Download of {label} stopped at {received} of {total} bytes")
                    if received > total:
                        received = 0  # the server sent more than it announced: start over
                except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
                    failure = NetworkError(f"Could not reach the file host for {label}: {_describe(error)}")
                except httpx.TransportError as error:
                    received = partial.stat().st_size if partial.exists() else 0
                    failure = NetworkError(
                        f"Download of {label} broke off at {received} bytes: {_describe(error)}"
                    )
                except (RateLimitedError, ServiceUnavailableError) as error:
                    failure = error
                    retry_after = error.retry_after if isinstance(error, RateLimitedError) else None
                if attempt >= policy.max_attempts:
                    raise failure
                self._pause(policy.delay(attempt, retry_after), failure)
            if expect_mp4:
                _check_mp4(partial, label)
            os.replace(partial, dest)
        finally:
            partial.unlink(missing_ok=True)
        log.info("downloaded %s (%d bytes)", dest.name, dest.stat().st_size)
        return dest

    # -- internals ---------------------------------------------------------------------------

    def _send_submit(self, request: GenerationRequest, form: Base64Form) -> httpx.Response:
        body = request.to_body(form)
        policy = self.settings.submit_retry
        attempt = 0
        while True:
            attempt += 1
            self._wait_for_slot()
            try:
                response = self._api.post(SUBMIT_PATH, json=body)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
                # The request never left: safe to try again.
                failure: VeoError = NetworkError(f"Could not reach {self.base_url}: {_describe(error)}")
                retry_after = None
            except httpx.TransportError as error:
                raise SubmitOutcomeUnknownError(
                    "The submit was sent but no answer came back "
                    f"({_describe(error)}): a task may have been created and billed. "
                    "It was not sent again; check your account before generating again.",
                    request=request,
                ) from error
            else:
                if response.status_code < 400:
                    return response
                failure = error_from_response(response)
                if response.status_code in (500, 502, 504):
                    raise SubmitOutcomeUnknownError(
                        f"{failure} while taking the submit: a task may have been created. "
                        "It was not sent again; check your account before generating again.",
                        request=request,
                    ) from failure
                if response.status_code not in (429, 503):
                    raise failure
                retry_after = failure.retry_after if isinstance(failure, RateLimitedError) else None
                retry_after = retry_after if retry_after is not None else _retry_after_seconds(response)
            if attempt >= policy.max_attempts:
                raise failure
            self._pause(policy.delay(attempt, retry_after), failure)

    def _task_id_from(self, response: httpx.Response, request: GenerationRequest) -> str:
        try:
            payload = response.json()
            task_id = payload["task_id"] if isinstance(payload, dict) else None
        except (ValueError, KeyError):
            task_id = None
        if not isinstance(task_id, str) or not task_id.strip():
            raise SubmitOutcomeUnknownError(
                "The service accepted the submit but its answer has no task id, so the clip cannot be "
                "fetched. It was not sent again; check your account before generating again.",
                request=request,
            )
        return task_id.strip()

    def _with_retries(
        self,
        send: Callable[[], httpx.Response],
        *,
        describe: str,
        parse: Callable[[httpx.Response], Any],
    ) -> Any:
        policy = self.settings.retry
        attempt = 0
        while True:
            attempt += 1
            self._wait_for_slot()
            retry_after: float | None = None
            failure: VeoError
            try:
                response = send()
            except httpx.TransportError as error:
                failure = NetworkError(f"Could not get {describe} from {self.base_url}: {_describe(error)}")
            else:
                if response.status_code < 400:
                    try:
                        return parse(response)
                    except MalformedResponseError as error:
                        failure = error
                else:
                    failure = error_from_response(response)
                    if response.status_code != 429 and response.status_code < 500:
                        raise failure
                    if isinstance(failure, RateLimitedError):
                        retry_after = failure.retry_after
            if attempt >= policy.max_attempts:
                raise failure
            self._pause(policy.delay(attempt, retry_after), failure)

    def _download_once(
        self,
        url: str,
        partial: Path,
        received: int,
        on_progress: Callable[[int, int | None], None] | None,
        label: str,
        task_id: str,
    ) -> tuple[int, int | None]:
        headers = {"Range": f"bytes={received}-"} if received else {}
        with self._files.stream("GET", url, headers=headers) as response:
            status = response.status_code
            if status in (403, 404, 410):
                raise ResultExpiredError(
                    f"The download link for {label} has expired (HTTP {status}); "
                    "the clip can no longer be fetched from the service.",
                    task_id=task_id,
                )
            if status == 416 and received:
                return received, received  # we already hold every byte
            if status >= 400:
                response.read()  # a streamed answer must be read before its error body is parsed
                failure = error_from_response(response)
                if isinstance(failure, RateLimitedError | ServiceUnavailableError):
                    raise failure
                raise NetworkError(f"Download of {label} failed: {failure}")
            if status == 206 and received:
                start = _content_range_start(response.headers.get("Content-Range"))
                if start != received:
                    received = 0  # not the range we asked for: start over
            else:
                received = 0  # a full answer (the host ignored Range)
            length = response.headers.get("Content-Length")
            total = received + int(length) if length and length.isdigit() else None
            with open(partial, "r+b" if received else "wb") as out:
                out.seek(received)
                out.truncate()
                for chunk in response.iter_bytes(chunk_size=1 << 16):
                    out.write(chunk)
                    received += len(chunk)
                    if on_progress is not None:
                        on_progress(received, total)
                    if self._stop.is_set():
                        raise Cancelled("Download stopped")
            return received, total

    def _wait_for_slot(self) -> None:
        self._limiter.acquire(self._stop.is_set)
        if self._stop.is_set():
            raise Cancelled("Stopped while waiting for the service")

    def _pause(self, seconds: float, because: VeoError) -> None:
        log.info("retrying in %.1f s: %s", seconds, because)
        if self._stop.wait(seconds):
            raise Cancelled("Stopped while waiting to retry")


def _json_or_malformed(response: httpx.Response, task_id: str) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        raise MalformedResponseError(
            f"The service sent an unreadable answer for task {task_id} (not JSON)",
            status=response.status_code,
        ) from None


def _content_range_start(value: str | None) -> int | None:
    # "bytes 100-999/1000"
    if not value or not value.startswith("bytes "):
        return None
    try:
        return int(value[6:].split("-", 1)[0])
    except ValueError:
        return None


def _check_mp4(path: Path, label: str) -> None:
    with open(path, "rb") as handle:
        head = handle.read(12)
    if len(head) < 12 or head[4:8] != b"ftyp":
        raise InvalidMediaError(f"The download of {label} is not an MP4 file")


def _new_partial_file(dest: Path) -> Path:
    """Create an empty `<dest name>.<random>.part` beside `dest`, unique to this download.

    Not tempfile.mkstemp: its 0600 mode would end up on the clip; this one follows the umask
    like any other file the user saves."""
    while True:
        partial = dest.with_name(f"{dest.name}.{secrets.token_hex(6)}.part")
        try:
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return partial


def _is_header_safe_key(key: str) -> bool:
    """Printable ASCII without whitespace: what an Authorization header can carry as typed."""
    return all("!" <= char <= "~" for char in key)


def _describe(error: Exception) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
