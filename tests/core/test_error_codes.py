"""Error identity: every error class names itself by a stable code, and finality follows the code."""

from __future__ import annotations

import inspect

import pytest

from veo_addon.core import errors
from veo_addon.core.errors import (
    INTERNAL_ERROR_CODE,
    OS_ERROR_CODE,
    TaskFailedError,
    TaskNotFoundError,
    VeoError,
    code_from_class_name,
    code_of,
    is_final_code,
)
from veo_addon.core.job import Job, JobState

# Journals and .blend files store these codes: one that changes misreads what users already have.
STABLE_CODES = {
    "VeoError": ("error", False),
    "ValidationError": ("invalid_input", True),
    "ApiError": ("api_error", False),
    "AuthenticationError": ("authentication_failed", False),
    "InsufficientBalanceError": ("insufficient_balance", False),
    "BadRequestError": ("bad_request", False),
    "NotFoundError": ("not_found", False),
    "TaskNotFoundError": ("task_not_found", True),
    "RateLimitedError": ("rate_limited", False),
    "ServiceUnavailableError": ("service_unavailable", False),
    "NetworkError": ("network_error", False),
    "SubmitOutcomeUnknownError": ("submit_outcome_unknown", False),
    "MalformedResponseError": ("malformed_response", False),
    "TaskFailedError": ("task_failed", True),
    "AllSamplesFilteredError": ("all_samples_filtered", True),
    "EarlierSubmitUnknownError": ("earlier_submit_unknown", False),
    "EarlierTaskGoneError": ("earlier_task_gone", False),
    "ClipStorageError": ("clip_storage_failed", False),
    "ResultExpiredError": ("result_expired", False),
    "InvalidMediaError": ("invalid_media", False),
    "OnlineAccessError": ("online_access_off", False),
    "Cancelled": ("cancelled", False),
    "JobStateError": ("impossible_state_change", False),
    "IdenticalSubmitPendingError": ("identical_submit_pending", False),
}


def _error_classes() -> dict[str, type[VeoError]]:
    return {
        name: value
        for name, value in vars(errors).items()
        if inspect.isclass(value) and issubclass(value, VeoError) and value.__module__ == errors.__name__
    }


def test_every_error_class_has_its_own_stable_code_and_final_flag() -> None:
    classes = _error_classes()
    assert {name: (cls.code, cls.final) for name, cls in classes.items()} == STABLE_CODES
    assert all("code" in vars(cls) for cls in classes.values())
    for name, (code, final) in STABLE_CODES.items():
        assert is_final_code(code) is final, name


def test_a_second_class_cannot_take_a_code_that_is_already_used() -> None:
    with pytest.raises(TypeError, match="task_failed"):

        class Lookalike(VeoError):
            code = "task_failed"


def test_finality_follows_the_code_not_the_class_name() -> None:
    class RenamedTaskFailure(TaskFailedError):  # a subclass keeps its parent's code and flag
        pass

    job = Job.new(task_id="t1", state=JobState.PROCESSING)
    job.transition(JobState.FAILED, "failed", error_code=code_of(RenamedTaskFailure("t1", "why")))
    assert job.error_code == "task_failed" and job.failed_finally and not job.can_resume
    assert not is_final_code("a_code_of_a_newer_version")


def test_failures_that_are_not_add_on_errors_have_codes_too() -> None:
    assert code_of(PermissionError(13, "denied")) == OS_ERROR_CODE
    assert code_of(KeyError("videos")) == INTERNAL_ERROR_CODE
    assert code_of(TaskNotFoundError("t1")) == "task_not_found"


def test_every_class_name_recorded_before_codes_reads_as_that_class_code() -> None:
    for name, cls in _error_classes().items():
        if cls is not VeoError:
            assert code_from_class_name(name) == cls.code, name
    assert code_from_class_name("FileNotFoundError") == OS_ERROR_CODE
    assert code_from_class_name("ZeroDivisionError") == INTERNAL_ERROR_CODE
    # Errors of other modules, recorded by name too, read as their own codes now.
    assert code_from_class_name("ImageError") == "invalid_image"
    assert code_from_class_name("TimelineError") == "timeline_refused"
    assert code_from_class_name("SomeLaterRemovedError") == VeoError.code  # unknown: the base code
    assert code_from_class_name("") == ""
