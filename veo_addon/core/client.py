"""HTTP client for the Highway API's Veo 3.1 first/last-frame endpoint (see docs and spec).

Every endpoint goes through one retry loop (retry.py); what each does with a failure is its
rule there, because a submit costs money:
- task-result polls and downloads retry network failures, 429 and 5xx with
  exponential backoff and jitter, honouring Retry-After;
- a submit is retried only when it certainly did not reach the server (connect
  failure) or the server refused it outright (429, 503). Anything that may have
  created a task (a timeout or broken connection after sending, 500/502/504, a
  200 without a task id) raises SubmitOutcomeUnknownError carrying the request;
  a 400 is sent once more in the other Base64 form.

The API key is sent only to the configured base URL, never to the hosts that
serve result files (their streaming to disk is download.py), and never appears in an
error, a repr or a log line.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from . import ratelimit
from .download import download_file
from .errors import (
    AuthenticationError,
    BadRequestError,
    Cancelled,
    MalformedResponseError,
    NetworkError,
    NotFoundError,
    SubmitOutcomeUnknownError,
    TaskNotFoundError,
    VeoError,
    missing_key_error,
)
from .http_errors import describe_error, failed_status
from .lazy_import import lazy_module
from .ratelimit import RateLimiter
from .request import Base64Form, GenerationRequest
from .retry import (
    NO_ANSWER,
    NOT_SENT,
    UNREADABLE,
    Event,
    Failed,
    Verdict,
    download_rule,
    poll_rule,
    run_with_retries,
    submit_rule,
    transport_event,
)
from .retry import (
    RetryPolicy as RetryPolicy,
)

# MediaLink, TaskStatus, RetryPolicy and is_loopback_url are imported from here by callers.
from .task_result import MediaLink as MediaLink
from .task_result import TaskResult
from .task_result import TaskStatus as TaskStatus
from .urls import DEFAULT_BASE_URL, check_base_url
from .urls import is_loopback_url as is_loopback_url

if TYPE_CHECKING:
    import httpx
else:
    httpx = lazy_module("httpx")

log = logging.getLogger(__name__)

T = TypeVar("T")

SUBMIT_PATH = "/v3/async/veo-3.1-generate-firstlastframe"
RESULT_PATH = "/v3/async/task-result"
USER_AGENT = "veo-transitions-blender/0.1"


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
    # The process-wide limit every client shares, applied to the shared limiter when a client is
    # made with these settings; None leaves the limit as it is.
    requests_per_minute: int | None = None


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
        if rate_limiter is None and self.settings.requests_per_minute is not None:
            rate_limiter = ratelimit.configure(self.settings.requests_per_minute)
        self._limiter = rate_limiter or ratelimit.shared_rate_limiter()
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
            task_id = self._submit_in_form(request, form)
        except BadRequestError:
            # A 400 creates no task, so one more submit in the other Base64 form costs nothing.
            if not (inline_images and self.settings.retry_other_base64_form):
                raise
            log.info("submit refused with HTTP 400; trying once more with %s Base64", form.other().value)
            task_id = self._submit_in_form(request, form.other())
            self.base64_form = form.other()
        log.info("submitted: task %s", task_id)
        return task_id

    def task_result(self, task_id: str) -> TaskResult:
        """The task's status and, once it succeeded, its result links. Raises TaskNotFoundError
        when the service answers 404: the submit path worked on this base URL, so the path is
        right and the task itself is unknown (expired, deleted, or never this account's)."""

        def attempt() -> TaskResult | Failed:
            try:
                response = self._api.get(RESULT_PATH, params={"task_id": task_id})
            except httpx.TransportError as error:
                failure = NetworkError(
                    f"Could not get task {task_id} from {self.base_url}: {describe_error(error)}"
                )
                return Failed(transport_event(error), failure, cause=error)
            if response.status_code >= 400:
                return failed_status(response)
            try:
                return TaskResult.from_payload(_json_or_malformed(response, task_id), task_id)
            except MalformedResponseError as error:
                return Failed(UNREADABLE, error)

        try:
            return self._retry(
                attempt, poll_rule, self.settings.retry, wait_for_slot=self._wait_for_poll_slot
            )
        except NotFoundError as error:
            raise TaskNotFoundError(task_id) from error

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

        def retry(attempt: Callable[[], int | Failed]) -> int:
            # Result files come from a storage host, outside the service's request limit.
            return self._retry(attempt, download_rule, self.settings.retry, wait_for_slot=self._check_stopped)

        return download_file(
            self._files,
            url,
            Path(dest),
            on_progress,
            retry=retry,
            stop=self._stop,
            task_id=task_id,
            expect_mp4=expect_mp4,
        )

    # -- internals ---------------------------------------------------------------------------

    def _retry(
        self,
        attempt: Callable[[], T | Failed],
        rule: Callable[[Event], Verdict],
        policy: RetryPolicy,
        outcome_unknown: Callable[[Failed], VeoError] | None = None,
        *,
        wait_for_slot: Callable[[], None] | None = None,
    ) -> T:
        return run_with_retries(
            attempt,
            rule,
            policy,
            wait_for_slot=wait_for_slot or self._wait_for_slot,
            pause=self._pause,
            outcome_unknown=outcome_unknown,
        )

    def _submit_in_form(self, request: GenerationRequest, form: Base64Form) -> str:
        body = request.to_body(form)

        def attempt() -> str | Failed:
            try:
                response = self._api.post(SUBMIT_PATH, json=body)
            except httpx.TransportError as error:
                event = transport_event(error)
                if event == NOT_SENT:
                    failure: VeoError = NetworkError(
                        f"Could not reach {self.base_url}: {describe_error(error)}"
                    )
                else:
                    failure = NetworkError(
                        f"The submit was sent but no answer came back ({describe_error(error)})"
                    )
                return Failed(event, failure, cause=error)
            if response.status_code >= 400:
                return failed_status(response)
            task_id = _task_id_in(response)
            if task_id is None:
                return Failed(UNREADABLE, MalformedResponseError("The service accepted the submit"))
            return task_id

        def outcome_unknown(failed: Failed) -> VeoError:
            if failed.event == NO_ANSWER:
                what = f"{failed.error}: a task may have been created and billed."
            elif failed.event == UNREADABLE:
                what = (
                    "The service accepted the submit but its answer has no task id, "
                    "so the clip cannot be fetched."
                )
            else:
                what = f"{failed.error} while taking the submit: a task may have been created."
            return SubmitOutcomeUnknownError(
                f"{what} It was not sent again; check your account before generating again.",
                request=request,
            )

        return self._retry(attempt, submit_rule, self.settings.submit_retry, outcome_unknown)

    def _wait_for_slot(self) -> None:
        self._limiter.acquire(self._stop.is_set)
        self._check_stopped()

    def _wait_for_poll_slot(self) -> None:
        self._limiter.acquire(self._stop.is_set, leave_free=ratelimit.POLL_HEADROOM)
        self._check_stopped()

    def _check_stopped(self) -> None:
        if self._stop.is_set():
            raise Cancelled("Stopped while waiting for the service")

    def _pause(self, seconds: float, because: VeoError) -> None:
        log.info("retrying in %.1f s: %s", seconds, because)
        if self._stop.wait(seconds):
            raise Cancelled("Stopped while waiting to retry")


def _task_id_in(response: httpx.Response) -> str | None:
    try:
        payload = response.json()
    except ValueError:
        return None
    task_id = payload.get("task_id") if isinstance(payload, dict) else None
    return task_id.strip() if isinstance(task_id, str) and task_id.strip() else None


def _json_or_malformed(response: httpx.Response, task_id: str) -> Any:
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        raise MalformedResponseError(
            f"The service sent an unreadable answer for task {task_id} (not JSON)",
            status=response.status_code,
        ) from None


def _is_header_safe_key(key: str) -> bool:
    """Printable ASCII without whitespace: what an Authorization header can carry as typed."""
    return all("!" <= char <= "~" for char in key)
