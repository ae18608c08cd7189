"""What the task-result endpoint answers: the task's status, progress and result links."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .errors import MalformedResponseError

DEFAULT_URL_TTL_SECONDS = 3600


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
