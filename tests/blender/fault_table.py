"""The fault matrix's rows: each fault, injected through the local server or the environment,
with the end state and the words the user must read. Driven by test_fault_matrix.py.

`how` names the way the row is driven and set up (test_fault_matrix.DRIVERS): most go through
the Generate Transition operator as a user would; the others need the environment changed or
something done while the job runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

INSERTED = "inserted"
DOWNLOADED = "downloaded"  # the clip is on disk and listed, not on the timeline
FAILED = "failed"
UNKNOWN = "unknown_outcome"
REFUSED = "refused before sending"  # no job: the operator said no before anything was paid


@dataclass(frozen=True)
class Row:
    name: str
    state: str
    code: str = ""  # the job's (or the refusal's) error code; "" when it ended well
    words: str = ""  # what the user-facing message must say (case-insensitive)
    faults: tuple[dict[str, Any], ...] = ()  # keyword arguments of server.faults.add
    billed: int = 1  # tasks the server created (paid); never more than one per job
    answer_lost: bool = False  # a task was created but its id never reached the add-on
    options: dict[str, Any] = field(default_factory=dict)  # extra operator arguments
    how: str = "operator"


def fault(endpoint: str, kind: str, nth: int | None = None, **params: Any) -> dict[str, Any]:
    return {"endpoint": endpoint, "kind": kind, "nth": nth, **params}


ROWS: tuple[Row, ...] = (
    Row("submit answered 401", FAILED, "authentication_failed", "API key", (fault("submit", "401"),), 0),
    Row(
        "submit answered 403, bad key",
        FAILED,
        "authentication_failed",
        "API key",
        (fault("submit", "403"),),
        0,
    ),
    Row(
        "submit answered 403, no balance",
        FAILED,
        "insufficient_balance",
        "no balance left",
        (fault("submit", "no_balance"),),
        0,
    ),
    Row(
        "submit answered 400 with a message",
        FAILED,
        "bad_request",
        "prompt: contains blocked words",
        (fault("submit", "400", message="prompt: contains blocked words"),),
        0,
    ),
    Row(
        "submit answered 429 with Retry-After: 1, once",
        INSERTED,
        faults=(fault("submit", "429", nth=1, retry_after=1),),
    ),
    Row(
        "submit answered 429 without Retry-After, every time",
        FAILED,
        "rate_limited",
        "rate limiting",
        (fault("submit", "429", retry_after="none"),),
        0,
    ),
    Row(
        "submit answered 500 (no task created)",
        UNKNOWN,
        "submit_outcome_unknown",
        "not sent again",
        (fault("submit", "500"),),
        0,
    ),
    Row(
        "submit answered 500 after creating the task",
        UNKNOWN,
        "submit_outcome_unknown",
        "not sent again",
        (fault("submit", "500", after_create=True),),
        answer_lost=True,
    ),
    Row(
        "submit answered 503, every time",
        FAILED,
        "service_unavailable",
        "unavailable",
        (fault("submit", "503"),),
        0,
    ),
    Row("task result answered 503, once", INSERTED, faults=(fault("result", "503", nth=1),)),
    Row(
        "task result answered 500, every time",
        FAILED,
        "service_unavailable",
        "resume to try again",
        (fault("result", "500"),),
    ),
    Row("connection refused", FAILED, "network_error", "Could not reach", billed=0, how="refused_port"),
    Row(
        "connection reset during submit, before the request was read",
        UNKNOWN,
        "submit_outcome_unknown",
        "not sent again",
        (fault("submit", "reset", at="request"),),
        0,
    ),
    Row(
        "connection reset during submit, after the request was sent",
        UNKNOWN,
        "submit_outcome_unknown",
        "may have been created",
        (fault("submit", "reset", at="start"),),
        answer_lost=True,
    ),
    Row(
        "read timeout after the submit was sent",
        UNKNOWN,
        "submit_outcome_unknown",
        "may have been created",
        (fault("submit", "latency", seconds=2.5),),
        answer_lost=True,
        how="read_timeout",
    ),
    Row(
        "submit answered 200 with malformed JSON",
        UNKNOWN,
        "submit_outcome_unknown",
        "no task id",
        (fault("submit", "malformed"),),
        answer_lost=True,
    ),
    Row(
        "task result answered malformed JSON, every time",
        FAILED,
        "malformed_response",
        "unreadable",
        (fault("result", "malformed"),),
    ),
    Row(
        "task result answered an HTML error page (502), every time",
        FAILED,
        "service_unavailable",
        "unavailable",
        (fault("result", "html"),),
    ),
    Row(
        "submit answered an HTML error page (502)",
        UNKNOWN,
        "submit_outcome_unknown",
        "not sent again",
        (fault("submit", "html"),),
        0,
    ),
    Row(
        "task ended in an unknown status",
        FAILED,
        "task_failed",
        "TASK_STATUS_CANCELED",
        (fault("submit", "unknown_status"),),
    ),
    Row(
        "task failed with a safety reason",
        FAILED,
        "task_failed",
        "Support codes",
        (fault("submit", "safety"),),
    ),
    Row(
        "fewer samples than asked (1 of 2)",
        INSERTED,
        words="1 blocked by safety filters",
        faults=(fault("submit", "filtered", keep=1),),
        options={"sample_count": 2},
    ),
    Row(
        "every sample filtered",
        FAILED,
        "all_samples_filtered",
        "",
        (fault("submit", "filtered", keep=0),),
    ),
    Row(
        "task forgotten by the service (404)", FAILED, "task_not_found", "", (fault("result", "gone", nth=2),)
    ),
    Row("video URL expired once", INSERTED, faults=(fault("download", "expired", nth=1),)),
    Row(
        "video URL expired, every time", FAILED, "result_expired", "expired", (fault("download", "expired"),)
    ),
    Row("download truncated once", INSERTED, faults=(fault("download", "truncate", nth=1),)),
    Row(
        "download truncated, every time",
        FAILED,
        "network_error",
        "resume to try again",
        (fault("download", "truncate"),),
    ),
    Row(
        "download reset three times",
        INSERTED,
        faults=tuple(fault("download", "reset", nth=n, at="body") for n in (1, 2, 3)),
    ),
    Row(
        "download body is not an MP4",
        FAILED,
        "invalid_media",
        "not an MP4",
        (fault("download", "malformed"),),
    ),
    Row("disk full while writing the clip", FAILED, "os_error", "No space left", how="disk_full"),
    Row(
        "clips folder not writable",
        REFUSED,
        "clips_folder_unusable",
        "Cannot write clips",
        billed=0,
        how="read_only",
    ),
    Row(
        "online access off", REFUSED, "online_access_off", "Online access is off", billed=0, how="online_off"
    ),
    Row("file closed and reopened mid-job", INSERTED, how="reopen"),
    Row("strips around the gap deleted mid-job", INSERTED, how="strips_deleted"),
    Row(
        "the placeholder deleted mid-job",
        DOWNLOADED,
        words="placeholder was deleted",
        how="placeholder_deleted",
    ),
    Row("Blender killed during the download", INSERTED, how="killed"),
)
