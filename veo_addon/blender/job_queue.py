"""The Jobs at Once preference (`concurrency`): new jobs beyond it wait here, in the order they
were started, with nothing sent, until a running job ends and frees a slot."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..core.job import Job

if TYPE_CHECKING:
    from .generation import GenerationPlan

PREPARING_MESSAGE = "Keyframes captured; preparing the request."


def slots_full(jobs_at_once: int, running: int) -> bool:
    """0 means no limit."""
    return jobs_at_once > 0 and running >= jobs_at_once


@dataclass
class QueuedJob:
    """A new job waiting for a free slot: nothing sent yet."""

    job: Job
    plan: GenerationPlan
    file_generation: int  # the file it was started in: its clip goes there, not into a later one


class JobQueue:
    def __init__(self) -> None:
        self._waiting: list[QueuedJob] = []  # in the order they were started

    def __bool__(self) -> bool:
        return bool(self._waiting)

    def __contains__(self, job_id: str) -> bool:
        return any(waiting.job.job_id == job_id for waiting in self._waiting)

    def job_ids(self) -> list[str]:
        return [waiting.job.job_id for waiting in self._waiting]

    def add(self, job: Job, plan: GenerationPlan, file_generation: int) -> None:
        limit = plan.settings.jobs_at_once
        job.message = f"Waiting to be sent: at most {limit} at once (Jobs at Once preference)"
        self._waiting.append(QueuedJob(job, plan, file_generation))

    def next_ready(self, running: int) -> QueuedJob | None:
        """The first waiting job, taken out of the queue, if `running` jobs leave it a slot."""
        if not self._waiting or slots_full(self._waiting[0].plan.settings.jobs_at_once, running):
            return None
        ready = self._waiting.pop(0)
        ready.job.message = PREPARING_MESSAGE
        return ready

    def take(self, job_id: str) -> QueuedJob | None:
        """Take a waiting job out of the queue (it will never be sent); None if it is not waiting."""
        for index, waiting in enumerate(self._waiting):
            if waiting.job.job_id == job_id:
                return self._waiting.pop(index)
        return None
