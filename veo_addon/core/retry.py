"""When a request to the service is tried again: one loop, and one rule per endpoint.

Each attempt ends in a value or a `Failed` naming what happened (an HTTP status, or one of
the transport events below). The endpoint's rule turns that into a `Verdict`; the loop does
the rest the same way everywhere: a rate-limit slot before each attempt, backoff with jitter
(or the server's Retry-After) between attempts, and the last failure raised when the attempts
run out. The rules differ because a submit costs money and a poll or a download does not.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import TYPE_CHECKING, TypeVar

from .errors import VeoError
from .lazy_import import lazy_module

if TYPE_CHECKING:
    import httpx
else:
    httpx = lazy_module("httpx")

T = TypeVar("T")


class Verdict(StrEnum):
    RETRY = "retry"  # after a pause, while attempts remain
    GIVE_UP = "give up"  # raise the failure now
    OUTCOME_UNKNOWN = "outcome unknown"  # the request may have taken effect: never send it again


# What happened to an attempt when there is no HTTP status to name it.
NOT_SENT = "not sent"  # no connection was made: the server saw nothing
NO_ANSWER = "no answer"  # sent, then the connection broke or timed out
UNREADABLE = "unreadable"  # a success status whose body is not what the protocol says
INCOMPLETE = "incomplete"  # a download that ended before the announced length

Event = int | str  # an HTTP status, or one of the events above


def _is_server_error(event: Event) -> bool:
    return isinstance(event, int) and event >= 500


def poll_rule(event: Event) -> Verdict:
    """task-result: asking creates nothing, so every passing fault is retried; any other 4xx is
    final (404: the task is gone)."""
    if event in (NOT_SENT, NO_ANSWER, UNREADABLE, 429) or _is_server_error(event):
        return Verdict.RETRY
    return Verdict.GIVE_UP


def download_rule(event: Event) -> Verdict:
    """Result files: like polls; a 4xx (403/404/410: the signed URL expired) is final."""
    if event in (NOT_SENT, NO_ANSWER, INCOMPLETE, 429) or _is_server_error(event):
        return Verdict.RETRY
    return Verdict.GIVE_UP


def submit_rule(event: Event) -> Verdict:
    """A submit costs money: it is sent again only when it certainly created no task."""
    if event in (NOT_SENT, 429, 503):
        return Verdict.RETRY
    if event in (NO_ANSWER, UNREADABLE, 500, 502, 504):
        return Verdict.OUTCOME_UNKNOWN
    # 400 (the caller may try once more in the other Base64 form), 401, 403, 404, other 5xx.
    return Verdict.GIVE_UP


def transport_event(error: httpx.TransportError) -> str:
    """NOT_SENT when the connection was never made, else NO_ANSWER."""
    if isinstance(error, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return NOT_SENT
    return NO_ANSWER


@dataclass(frozen=True)
class Failed:
    """One attempt that did not succeed: what happened, and the error a user would read."""

    event: Event
    error: VeoError
    retry_after: float | None = None  # the server's Retry-After, in seconds
    cause: BaseException | None = None  # the low-level exception, kept as __cause__


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


def run_with_retries(
    attempt_once: Callable[[], T | Failed],
    rule: Callable[[Event], Verdict],
    policy: RetryPolicy,
    *,
    wait_for_slot: Callable[[], None],
    pause: Callable[[float, VeoError], None],
    outcome_unknown: Callable[[Failed], VeoError] | None = None,
) -> T:
    """Attempt until a value comes back, the rule gives up, or the attempts run out."""
    attempt = 0
    while True:
        attempt += 1
        wait_for_slot()
        outcome = attempt_once()
        if not isinstance(outcome, Failed):
            return outcome
        verdict = rule(outcome.event)
        if verdict is Verdict.OUTCOME_UNKNOWN:
            if outcome_unknown is None:
                raise ValueError(f"no outcome-unknown error for {outcome.event!r}")
            raise outcome_unknown(outcome) from (outcome.cause or outcome.error)
        if verdict is Verdict.GIVE_UP or attempt >= policy.max_attempts:
            raise outcome.error from outcome.cause
        pause(policy.delay(attempt, outcome.retry_after), outcome.error)


def retry_after_seconds(response: httpx.Response) -> float | None:
    """The Retry-After header in seconds (given as seconds or as an HTTP date), or None."""
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
    return max(0.0, (when - datetime.now(UTC)).total_seconds())
