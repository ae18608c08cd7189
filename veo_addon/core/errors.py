"""Typed errors of the add-on.

Every error's `str()` is one line a user can act on. None of them ever holds the
API key: the client never passes it into an error, and `VeoError.__init__` scrubs
anything that looks like an Authorization header as a second line of defence.
"""

from __future__ import annotations

import re
from typing import Any

_BEARER = re.compile(r"(?i)bearer\s+\S+")


class VeoError(Exception):
    """Base of every error the add-on raises on purpose."""

    def __init__(self, message: str) -> None:
        message = _BEARER.sub("Bearer ***", " ".join(str(message).split()))
        super().__init__(message)
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class ValidationError(VeoError, ValueError):
    """A request field (or an input file) was refused before anything was sent."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class ApiError(VeoError):
    """The service answered with an error status."""

    def __init__(self, message: str, *, status: int | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class AuthenticationError(ApiError):
    """401/403 for the key: missing, wrong, or without access."""


def missing_key_error() -> AuthenticationError:
    return AuthenticationError(
        "No API key: set it in the add-on preferences or the VEO_API_KEY environment variable."
    )


class InsufficientBalanceError(ApiError):
    """403 NOT_ENOUGH_BALANCE: the account has no credit left."""


class BadRequestError(ApiError):
    """400: the service refused the request's parameters; `server_message` says why."""

    def __init__(self, server_message: str, *, status: int = 400, reason: str = "") -> None:
        super().__init__(f"The service refused the request: {server_message}", status=status, reason=reason)
        self.server_message = server_message


class NotFoundError(ApiError):
    """404: wrong path or unknown task id."""


class TaskNotFoundError(NotFoundError):
    """404 from the task-result endpoint: the service no longer knows this task. Final for the
    task: asking again cannot bring its clip back."""

    def __init__(self, task_id: str) -> None:
        super().__init__(
            f"Task {task_id} is no longer known to the service (HTTP 404): its clip cannot be fetched",
            status=404,
            reason="TASK_NOT_FOUND",
        )
        self.task_id = task_id


class RateLimitedError(ApiError):
    """429 after the retries allowed; `retry_after` is the server's hint in seconds, if any."""

    def __init__(self, message: str, *, retry_after: float | None = None, reason: str = "") -> None:
        super().__init__(message, status=429, reason=reason)
        self.retry_after = retry_after


class ServiceUnavailableError(ApiError):
    """5xx after the retries allowed."""


class NetworkError(VeoError):
    """The service could not be reached, or the connection broke, after the retries allowed."""


class SubmitOutcomeUnknownError(VeoError):
    """A submit was sent but no answer came back: a task may or may not exist (and be billed).

    The request is kept so the user can decide whether to send it again.
    """

    def __init__(self, message: str, *, request: Any) -> None:
        super().__init__(message)
        self.request = request


class MalformedResponseError(ApiError):
    """The service answered 200 with a body that is not what the protocol says."""


class TaskFailedError(VeoError):
    """The task ended in a failed (or unknown terminal) state; `reason` is the server's text."""

    def __init__(self, task_id: str, reason: str, *, status: str = "TASK_STATUS_FAILED") -> None:
        shown = reason or "no reason given"
        super().__init__(f"Task {task_id} failed ({status}): {shown}")
        self.task_id = task_id
        self.reason = reason
        self.status = status


class AllSamplesFilteredError(TaskFailedError):
    """The task ended `TASK_STATUS_SUCCEED` but the service's safety filters removed every sample."""

    def __init__(self, task_id: str, requested: int, *, status: str = "TASK_STATUS_SUCCEED") -> None:
        VeoError.__init__(
            self,
            f"The service's safety filters blocked every sample of task {task_id} "
            f"({requested} of {requested}); nothing was downloaded.",
        )
        self.task_id = task_id
        self.reason = "every sample was blocked by safety filters"
        self.status = status


class EarlierSubmitUnknownError(VeoError):
    """An identical request was sent earlier without an answer (`unknown_outcome`): it may have
    been billed, so this one is not sent unless the user asks for a new generation."""


class EarlierTaskGoneError(VeoError):
    """An identical request's task is gone at the service (404): this one is not sent unless the
    user asks for a new generation, which pays again."""


class ClipStorageError(VeoError):
    """A clip could not be written into the clips folder (unwritable, disk full)."""


class ResultExpiredError(VeoError):
    """A result URL answered 403/404: its time to live has passed."""

    def __init__(self, message: str, *, task_id: str = "") -> None:
        super().__init__(message)
        self.task_id = task_id


class InvalidMediaError(VeoError):
    """A download finished but is not an MP4 file."""


class OnlineAccessError(VeoError):
    """Blender's online access is off and the request would leave this machine."""


class Cancelled(VeoError):
    """The user stopped waiting (the task itself goes on at the service)."""
