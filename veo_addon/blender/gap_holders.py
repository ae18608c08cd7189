"""Placeholders and the gaps under them: which still hold their gap, and which no longer do.

A placeholder is never a shot: no gap is bounded by one and no keyframe is taken from one.
Whether it counts as the gap's content depends on its job:

- a job that can still bring a clip (sending, queued, generating, downloaded and waiting to go
  in, stopped or failed with a task Resume can fetch at no new charge, or a submit whose outcome
  is unknown and may have been billed) holds its gap: "fill all gaps" skips that gap and says
  which job holds it, and the playhead there is refused with the same sentence; naming the two
  strips still asks for the gap on purpose (an identical request then follows the job's task);
- a job that failed for good (nothing can bring its clip) leaves an ended placeholder: the gap
  is open again, its channel counts as free before paying (`insertion_plan.giving_way`), and
  the next job for it removes the placeholder (`placeholder.clear_ended`).

A placeholder whose job is in no job list of this file holds its gap too, until it is deleted:
nothing else knows whether its clip may still come.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

from ..core.job import Job, JobState
from . import compat, jobstore
from .channels import TimelineError
from .provenance import PROP_JOB_ID

if TYPE_CHECKING:
    from bpy.types import Scene

PROP_PLACEHOLDER = "veo_placeholder"


def is_placeholder(strip: Any) -> bool:
    return bool(strip.get(PROP_PLACEHOLDER))


def placeholder_job(scene: Scene, strip: Any) -> Job | None:
    """The job the placeholder holds its gap for, as this file's job list records it."""
    try:
        return jobstore.load_job(scene, str(strip.get(PROP_JOB_ID, "")))
    except AttributeError:  # the job list is not registered (the add-on is off): nothing known
        return None


def has_ended(job: Job | None) -> bool:
    """Nothing can bring this job's clip any more: it failed, and no task is left to resume."""
    return job is not None and job.state is JobState.FAILED and not job.can_resume


def placeholders_over(scene: Scene, start: int, end: int) -> list[Any]:
    """Placeholders showing any frame of [start, end)."""
    if end <= start:
        return []
    return [
        strip
        for strip in compat.top_level_strips(scene)
        if is_placeholder(strip) and compat.visible_start(strip) < end and compat.visible_end(strip) > start
    ]


def ended_placeholders(scene: Scene, start: int, end: int) -> list[Any]:
    held = placeholders_over(scene, start, end)
    return [strip for strip in held if has_ended(placeholder_job(scene, strip))]


def check_not_held(scene: Scene, start: int, end: int) -> None:
    """Refuse (TimelineError) when a placeholder whose clip may still come shows a frame of [start, end)."""
    for strip in placeholders_over(scene, start, end):
        job = placeholder_job(scene, strip)
        if not has_ended(job):
            _refuse_held(strip, job)


def _refuse_held(strip: Any, job: Job | None) -> NoReturn:
    """One sentence per case, each a literal, so docs/troubleshooting.md lists them (tools/messages.py)."""
    name, first, last = strip.name, compat.visible_start(strip), compat.visible_end(strip) - 1
    if job is None:
        raise TimelineError(
            f"Placeholder '{name}' holds frames {first}–{last}, and no job in this file's list owns it: "
            "delete that strip to generate there"
        )
    which = job.job_id[:6]
    if job.state is JobState.UNKNOWN_OUTCOME:
        raise TimelineError(
            f"Placeholder '{name}' holds frames {first}–{last}: job {which} was sent and may have been "
            "billed, but no answer came; check your account, then Forget that job (Veo job list) to "
            "generate there again"
        )
    if job.state is JobState.DOWNLOADED:
        raise TimelineError(
            f"Placeholder '{name}' holds frames {first}–{last}: job {which}'s clip is downloaded and "
            "waiting to go in; Resume it (--resume headless), or Forget that job"
        )
    if job.state in (JobState.STOPPED, JobState.FAILED):
        raise TimelineError(
            f"Placeholder '{name}' holds frames {first}–{last}: job {which} is {job.state.value}, but its "
            "task can still be fetched at no new charge; Resume it (--resume headless), or Forget that "
            "job (Veo job list) to generate there again"
        )
    raise TimelineError(
        f"Placeholder '{name}' holds frames {first}–{last}: job {which} is still generating a clip for "
        "it; let it finish (in a reopened file: Resume Jobs, or --resume headless), or Stop and Forget "
        "that job (Veo job list) to generate there again"
    )
