"""What the service shows of one task: its task-result body, and the file a download URL names.

Pure functions of a `Task` and the clock: the service (`service.py`) holds the tasks and settings
and decides when to answer; this module decides what the answer says, as docs/protocol.md lays out.
"""

from __future__ import annotations

from typing import Any

from .task import PROCESSING, QUEUED, SUCCEED, Task

MODEL = "veo-3.1-generate-firstlastframe"


def result_body(task: Task, now: float, ttl: str | int, files_url: str) -> dict[str, Any]:
    """The task-result JSON at monotonic time `now`; file URLs start with `files_url`, and list
    `ttl` as their `*_url_ttl` (a string or a number: the service's setting)."""
    status, progress, eta, reason = task.status_at(now)
    videos: list[dict[str, Any]] = []
    audios: list[dict[str, Any]] = []
    if status == SUCCEED:
        for index in range(min(task.video_count, len(task.videos))):
            url = f"{files_url}{task.token}/{task.task_id}_{index}.mp4"
            videos.append({"video_url": url, "video_url_ttl": ttl, "video_type": "mp4"})
        for index in range(min(task.video_count, len(task.audios))):
            url = f"{files_url}{task.token}/{task.task_id}_{index}.wav"
            audios.append({"audio_url": url, "audio_url_ttl": ttl, "audio_type": "wav"})
    completed = task.completed_at()
    execute_ms = task.submit_time_ms + int(task.queue_seconds * 1000) if status != QUEUED else 0
    complete_ms = 0
    if status not in (QUEUED, PROCESSING) and completed is not None:
        complete_ms = task.submit_time_ms + int((completed - task.created_at) * 1000)
    debug_info: dict[str, Any] = {
        "submit_time_ms": str(task.submit_time_ms),
        "execute_time_ms": str(execute_ms),
        "complete_time_ms": str(complete_ms),
        "requested_samples": str(task.params.sample_count),
    }
    if task.video_count < task.params.sample_count and status == SUCCEED:
        debug_info["filtered_samples"] = str(task.params.sample_count - task.video_count)
    if task.params.ignored_fields:
        debug_info["ignored_fields"] = task.params.ignored_fields
    return {
        "task": {
            "task_id": task.task_id,
            "status": status,
            "reason": reason,
            "task_type": MODEL,
            "eta": eta,
            "progress_percent": progress,
        },
        "videos": videos,
        "images": [],
        "audios": audios,
        "extra": {"seed": str(task.seed), "debug_info": debug_info},
    }


def task_file(task: Task | None, name: str) -> tuple[bytes, str] | None:
    """(bytes, content type) of `<task_id>_<n>.mp4` or `.wav`, or None when the task has no such file."""
    if task is None or task.gone or task.status != SUCCEED:
        return None
    stem, dot, extension = name.rpartition(".")
    prefix = f"{task.task_id}_"
    if not dot or not stem.startswith(prefix) or not stem[len(prefix) :].isdigit():
        return None
    index = int(stem[len(prefix) :])
    if index >= task.video_count:
        return None
    if extension == "mp4" and index < len(task.videos):
        return task.videos[index], "video/mp4"
    if extension == "wav" and index < len(task.audios):
        return task.audios[index], "audio/wav"
    return None
