"""Typed errors of the add-on, and the stable codes that name them in stored jobs.

Every error's `str()` is one line a user can act on. None of them ever holds the
API key: the client never passes it into an error, and `VeoError.__init__` scrubs
anything that looks like an Authorization header as a second line of defence.

Every class carries a `code` (short snake_case, never changed once released: journals
and .blend files store it) and a `final` flag (the service decided; resuming the task
cannot change the outcome). A stored code is read back through `is_final_code()`, never by
matching class names, so renaming a class changes nothing a user already has.
"""

from __future__ import annotations

import builtins
import re
from typing import Any, ClassVar

_BEARER = re.compile(r"(?i)bearer\s+\S+")


def scrub(text: object) -> str:
    """One line, no Authorization header: messages end up in errors, the journal, the .blend
    and logs."""
    return _BEARER.sub("Bearer ***", " ".join(str(text).split()))


# code -> error class; filled as each class is defined (see VeoError.__init_subclass__).
_CLASS_OF_CODE: dict[str, type[VeoError]] = {}

# Codes of failures that are not VeoErrors: a file that could not be written or read, and a bug.
OS_ERROR_CODE = "os_error"
INTERNAL_ERROR_CODE = "internal_error"


class VeoError(Exception):
    """Base of every error the add-on raises on purpose."""

    code: ClassVar[str] = "error"
    final: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # A subclass without a code of its own is recorded under its parent's code.
        super().__init_subclass__(**kwargs)
        code = cls.__dict__.get("code")
        if code is None:
            return
        if code in _CLASS_OF_CODE:
            raise TypeError(f"{cls.__name__}: code {code!r} is already {_CLASS_OF_CODE[code].__name__}'s")
        _CLASS_OF_CODE[code] = cls

    def __init__(self, message: str) -> None:
        message = scrub(message)
        super().__init__(message)
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


_CLASS_OF_CODE[VeoError.code] = VeoError


# The classes below repeat one shape on purpose: a class per stable code, so that callers catch
# by type and stored jobs name the code.


class ValidationError(VeoError, ValueError):
    """A request field (or an input file) was refused before anything was sent."""

    code = "invalid_input"
    final = True

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class ApiError(VeoError):
    """The service answered with an error status."""

    code = "api_error"

    def __init__(self, message: str, *, status: int | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class AuthenticationError(ApiError):
    """401/403 for the key: missing, wrong, or without access."""

    code = "authentication_failed"


def missing_key_error() -> AuthenticationError:
    return AuthenticationError(
        "No API key: set it in the add-on preferences or the VEO_API_KEY environment variable."
    )


class InsufficientBalanceError(ApiError):
    """403 NOT_ENOUGH_BALANCE: the account has no credit left."""

    code = "insufficient_balance"


class BadRequestError(ApiError):
    """400: the service refused the request's parameters; `server_message` says why."""

    code = "bad_request"

    def __init__(self, server_message: str, *, status: int = 400, reason: str = "") -> None:
        super().__init__(f"The service refused the request: {server_message}", status=status, reason=reason)
        self.server_message = server_message


class NotFoundError(ApiError):
    """404: wrong path or unknown task id."""

    code = "not_found"


class TaskNotFoundError(NotFoundError):
    """404 from the task-result endpoint: the service no longer knows this task. Final for the
    task: asking again cannot bring its clip back."""

    code = "task_not_found"
    final = True

    def __init__(self, task_id: str) -> None:
        super().__init__(
            f"Task {task_id} is no longer known to the service (HTTP 404): its clip cannot be fetched",
            status=404,
            reason="TASK_NOT_FOUND",
        )
        self.task_id = task_id


class RateLimitedError(ApiError):
    """429 after the retries allowed; `retry_after` is the server's hint in seconds, if any."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: float | None = None, reason: str = "") -> None:
        super().__init__(message, status=429, reason=reason)
        self.retry_after = retry_after


class ServiceUnavailableError(ApiError):
    """5xx after the retries allowed."""

    code = "service_unavailable"


class NetworkError(VeoError):
    """The service could not be reached, or the connection broke, after the retries allowed."""

    code = "network_error"


class SubmitOutcomeUnknownError(VeoError):
    """A submit was sent but no answer came back: a task may or may not exist (and be billed).

    The request is kept so the user can decide whether to send it again.
    """

    code = "submit_outcome_unknown"

    def __init__(self, message: str, *, request: Any) -> None:
        super().__init__(message)
        self.request = request


class MalformedResponseError(ApiError):
    """The service answered 200 with a body that is not what the protocol says."""

    code = "malformed_response"


class TaskFailedError(VeoError):
    """The task ended in a failed (or unknown terminal) state; `reason` is the server's text."""

    code = "task_failed"
    final = True

    def __init__(self, task_id: str, reason: str, *, status: str = "TASK_STATUS_FAILED") -> None:
        shown = reason or "no reason given"
        super().__init__(f"Task {task_id} failed ({status}): {shown}")
        self.task_id = task_id
        self.reason = reason
        self.status = status


class AllSamplesFilteredError(TaskFailedError):
    """The task ended `TASK_STATUS_SUCCEED` but the service's safety filters removed every sample."""

    code = "all_samples_filtered"
    final = True

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

    code = "earlier_submit_unknown"


class EarlierTaskGoneError(VeoError):
    """An identical request's task is gone at the service (404): this one is not sent unless the
    user asks for a new generation, which pays again."""

    code = "earlier_task_gone"


class ClipStorageError(VeoError):
    """A clip could not be written into the clips folder (unwritable, disk full)."""

    code = "clip_storage_failed"


class ResultExpiredError(VeoError):
    """A result URL answered 403/404: its time to live has passed."""

    code = "result_expired"

    def __init__(self, message: str, *, task_id: str = "") -> None:
        super().__init__(message)
        self.task_id = task_id


class InvalidMediaError(VeoError):
    """A download finished but is not an MP4 file."""

    code = "invalid_media"


class OnlineAccessError(VeoError):
    """Blender's online access is off and the request would leave this machine."""

    code = "online_access_off"


class Cancelled(VeoError):
    """The user stopped waiting (the task itself goes on at the service)."""

    code = "cancelled"


class JobStateError(VeoError):
    """An impossible job state change was asked for (a bug in the caller, not a user error)."""

    code = "impossible_state_change"


class IdenticalSubmitPendingError(VeoError):
    """An identical request was being submitted by another job and did not get a task id in
    time, so this one was not sent. Nothing was billed for this job. (When the other one's
    outcome turns out unknown, this one ends with EarlierSubmitUnknownError instead.)"""

    code = "identical_submit_pending"


def code_of(error: BaseException) -> str:
    """The stable code a job records for the failure that ended it."""
    if isinstance(error, VeoError):
        return error.code
    return OS_ERROR_CODE if isinstance(error, OSError) else INTERNAL_ERROR_CODE


def is_final_code(code: str) -> bool:
    """The failure recorded as `code` was decided by the service (or the task is gone):
    resuming cannot change it. Unknown codes (a newer add-on's) are not final."""
    error_class = _CLASS_OF_CODE.get(code)
    return error_class is not None and error_class.final


# Before error codes, jobs recorded the error's class name (`type(error).__name__`) in a field
# named `error_kind`. Journals and .blend files written then still hold those names; this table
# reads them as codes. It must never change: it describes files already on users' disks.
_CODE_OF_OLD_CLASS_NAME = {
    "ValidationError": "invalid_input",
    "ApiError": "api_error",
    "AuthenticationError": "authentication_failed",
    "InsufficientBalanceError": "insufficient_balance",
    "BadRequestError": "bad_request",
    "NotFoundError": "not_found",
    "TaskNotFoundError": "task_not_found",
    "RateLimitedError": "rate_limited",
    "ServiceUnavailableError": "service_unavailable",
    "NetworkError": "network_error",
    "SubmitOutcomeUnknownError": "submit_outcome_unknown",
    "MalformedResponseError": "malformed_response",
    "TaskFailedError": "task_failed",
    "AllSamplesFilteredError": "all_samples_filtered",
    "EarlierSubmitUnknownError": "earlier_submit_unknown",
    "EarlierTaskGoneError": "earlier_task_gone",
    "ClipStorageError": "clip_storage_failed",
    "ResultExpiredError": "result_expired",
    "InvalidMediaError": "invalid_media",
    "OnlineAccessError": "online_access_off",
    "Cancelled": "cancelled",
    "JobStateError": "impossible_state_change",
    "IdenticalSubmitPendingError": "identical_submit_pending",
    # Error classes of other modules that jobs recorded by name too (none of them final).
    "ImageError": "invalid_image",
    "CaptureError": "capture_failed",
    "TimelineError": "timeline_refused",
    "GapRefused": "gap_refused",
    "ClipsFolderError": "clips_folder_unusable",
    "KeyframeMediaError": "keyframe_shows_nothing",
}


def code_from_class_name(name: str) -> str:
    """The code of an error recorded by class name (see the table above). Python's own OSError
    family becomes `os_error`, another built-in exception `internal_error`, and any other name
    (an error class of the add-on outside this module) the base code `error`."""
    if not name:
        return ""
    if name in _CODE_OF_OLD_CLASS_NAME:
        return _CODE_OF_OLD_CLASS_NAME[name]
    builtin = getattr(builtins, name, None)
    if isinstance(builtin, type) and issubclass(builtin, OSError):
        return OS_ERROR_CODE
    if isinstance(builtin, type):
        return INTERNAL_ERROR_CODE
    return VeoError.code  # an error class of the add-on that had no code of its own then
