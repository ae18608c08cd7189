"""What happens right after a job's clip is on the timeline: the seam check, the best take made
the one that plays, short fades on the generated sound, and what the user should hear about it.

One call from the job manager (`finish_insertion`) right after the clip is placed, on the main
thread: cost and fades at once, the seam check (four thumbnail renders for one take) spread over
the manager's next ticks (`step_seam_checks`), so the insertion's own tick is short and the clip
plays meanwhile. Nothing here may undo the insertion: a seam check that cannot render says so
and leaves the takes as inserted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import bpy

from ..core.job import Job, JobState
from ..core.pricing import CostEstimate, PriceRates, estimate_cost
from . import compat, jobstore, seams, sound_fades
from .cost_report import Estimate
from .insert import InsertedTransition
from .preferences import finishing_settings, price_rates
from .provenance import PROP_COST_ESTIMATE, PROP_SOUND_CHANNEL
from .takes import live_take, set_live_take

if TYPE_CHECKING:
    from bpy.types import Scene

log = logging.getLogger(__name__)

# In the job's message while its seam check runs; the check's own sentences replace it.
SEAMS_PENDING = "Checking the seams…"

# Called when a seam check left to later ticks ended: (scene, job id, the job or None).
SeamsChecked = Callable[["Scene | None", str, "Job | None"], None]


def finish_insertion(
    scene: Scene,
    job: Job,
    inserted: InsertedTransition,
    estimate: Estimate | None = None,
    on_line: Callable[[str], None] | None = None,
    on_seams: SeamsChecked | None = None,
) -> str:
    """Seams, best take, fades, cost on the strips; returns sentences to add to the job's message
    (each warning also goes to `on_line`) and fills `job.seams`. Never raises: the clip is in,
    and a job left `downloaded` with its clip on the timeline would be inserted again.

    With `on_seams`, the seam check is left to later ticks (`step_seam_checks`, one render each):
    the sentences returned say it is under way, and once it ends `on_seams` gets the job as saved
    in the scene, with its scores and the check's sentences in place of that one (None if the job
    left the file meanwhile: forgotten, undone, another file opened)."""
    try:
        return _finish(scene, job, inserted, estimate, on_line, on_seams)
    except Exception as error:
        log.exception("Veo job %s: finishing the insertion failed", job.job_id[:8])
        return f"The seam check and sound fades could not be applied: {str(error).strip()}"


def _finish(
    scene: Scene,
    job: Job,
    inserted: InsertedTransition,
    estimate: Estimate | None,
    on_line: Callable[[str], None] | None,
    on_seams: SeamsChecked | None,
) -> str:
    warn_above, fade_frames = finishing_settings()
    _record_cost(scene, inserted, estimate.cost if estimate is not None else list_price_estimate(job))
    notes: list[str]
    if on_seams is None:
        try:
            outcome: seams.SeamCheck | Exception = seams.measure(scene, inserted)
        except Exception as error:  # the clip stays in; only its check is missing
            log.exception("Veo job %s: the seam check failed", job.job_id[:8])
            outcome = error
        notes = _seam_notes(scene, job, inserted, outcome, warn_above, on_line)
    else:
        try:
            measurement = seams.SeamMeasurement(scene, inserted)
        except Exception as error:
            log.exception("Veo job %s: the seam check failed", job.job_id[:8])
            notes = _seam_notes(scene, job, inserted, error, warn_above, on_line)
        else:
            _pending.append(_PendingCheck(scene.name, job.job_id, measurement, warn_above, on_line, on_seams))
            notes = [SEAMS_PENDING]
    notes.extend(_finish_sound(scene, inserted, fade_frames))
    return " ".join(notes)


@dataclass
class _PendingCheck:
    """A seam check under way: the clip is in and plays; its thumbnails come one per tick."""

    scene_name: str
    job_id: str
    measurement: seams.SeamMeasurement
    warn_above: float
    on_line: Callable[[str], None] | None
    on_seams: SeamsChecked
    # Set once a tick has passed since the check was queued: the insertion's tick renders nothing.
    waited_a_tick: bool = False


_pending: list[_PendingCheck] = []  # oldest first


class ClipLeftTimeline(Exception):
    """A take's strips were deleted (or undone) while its seam check ran."""


def seam_check_pending(job_id: str | None = None) -> bool:
    """Whether a seam check (of this job, or of any) is still under way."""
    return any(job_id is None or check.job_id == job_id for check in _pending)


def step_seam_checks() -> bool:
    """One step of the oldest seam check under way: one thumbnail render, and after the last one
    the scores on the strips, the best take playing and the job's message (`on_seams`). A check
    whose strips were deleted or undone meanwhile is dropped. Returns whether there was work.
    Never raises: it runs in the job manager's tick."""
    check = next((check for check in _pending if check.waited_a_tick), None)
    for waiting in _pending:
        waiting.waited_a_tick = True
    if check is None or _playing_back():
        return False  # a render during playback would make it stutter: the check waits
    try:
        scene = bpy.data.scenes.get(check.scene_name)
        if scene is None:
            _pending.remove(check)  # another file was opened: this one's check went with it
            check.on_seams(None, check.job_id, None)
            return True
        outcome: seams.SeamCheck | Exception
        if not check.measurement.still_on_timeline(scene):
            _pending.remove(check)
            _end_check(scene, check, ClipLeftTimeline("the clip left the timeline before it was measured"))
            return True
        try:
            if not check.measurement.done:  # (nothing to render when nothing plays either side)
                check.measurement.step(scene)
            if not check.measurement.done:
                return True
            outcome = check.measurement.result()
        except Exception as error:  # the clip stays in; only its check is missing
            log.exception("Veo job %s: the seam check failed", check.job_id[:8])
            outcome = error
        _pending.remove(check)
        _end_check(scene, check, outcome)
    except Exception:
        log.exception("Veo job %s: ending the seam check failed", check.job_id[:8])
        if check in _pending:
            _pending.remove(check)
            check.on_seams(None, check.job_id, None)
    return True


def _playing_back() -> bool:
    windows = getattr(bpy.context.window_manager, "windows", ())
    return any(window.screen is not None and window.screen.is_animation_playing for window in windows)


def _end_check(scene: Scene, check: _PendingCheck, outcome: seams.SeamCheck | Exception) -> None:
    job = jobstore.load_job(scene, check.job_id)
    if job is None or job.state is not JobState.INSERTED:
        check.on_seams(scene, check.job_id, None)  # forgotten or undone: the scores belong to no job
        return
    inserted = check.measurement.inserted
    notes = " ".join(_seam_notes(scene, job, inserted, outcome, check.warn_above, check.on_line))
    if SEAMS_PENDING in job.message:
        job.message = job.message.replace(SEAMS_PENDING, notes).strip()
    else:
        job.message = f"{job.message} {notes}".strip()
    check.on_seams(scene, job.job_id, job)


def _seam_notes(
    scene: Scene,
    job: Job,
    inserted: InsertedTransition,
    outcome: seams.SeamCheck | Exception,
    warn_above: float,
    on_line: Callable[[str], None] | None,
) -> list[str]:
    """Scores on the strips and in the job, the best take playing, warnings: the job's sentences."""
    try:
        if isinstance(outcome, Exception):
            raise outcome
        check = seams.record(scene, inserted, outcome, warn_above)
    except Exception as error:
        return [f"The seam check could not run: {str(error).strip()}"]
    notes: list[str] = []
    job.seams = [
        {"take": index + 1, "in": round(score.cut_in, 2), "out": round(score.cut_out, 2)}
        for index in check.ranking
        if (score := check.scores.get(index)) is not None
    ]
    if check.not_measured:
        notes.append(f"Seams: {check.not_measured}.")
    elif len(inserted.takes) > 1:
        best = check.best
        best_score = check.scores[best]
        assert best_score is not None
        if live_take(scene, inserted.group) == inserted.live.index:
            set_live_take(scene, inserted.group, best)
            notes.append(f"Take {best + 1} plays: its seams are the closest ({best_score.label()}).")
        else:  # the editor chose a take while the check ran: theirs stays
            notes.append(f"Take {best + 1} has the closest seams ({best_score.label()}).")
    elif (score := check.scores.get(inserted.live.index)) is not None:
        notes.append(f"Seams {score.label()}.")
    for warning in check.warnings:
        if on_line is not None:
            on_line(f"[veo] job {job.job_id[:8]} SEAM WARNING: {warning}")
        notes.append(f"SEAM WARNING: {warning}")
    return notes


def _finish_sound(scene: Scene, inserted: InsertedTransition, fade_frames: int) -> list[str]:
    collection = compat.strip_collection(scene.sequence_editor)
    neighbours = sound_fades.neighbour_sound_channels(scene, inserted.start, inserted.end, inserted.group)
    notes: list[str] = []
    for take in inserted.takes:
        if take.sound_name is None:
            continue
        sound = collection[take.sound_name]
        sound_fades.add_fades(sound, fade_frames)
        collection[take.clip_name][PROP_SOUND_CHANNEL] = sound.channel
        note = sound_fades.sound_channel_note(sound.channel, neighbours)
        if note and note not in notes:
            notes.append(note)
    return notes


def list_price_estimate(job: Job) -> CostEstimate:
    """For a job resumed in a later session (the session's own estimate is gone): from its
    request, at the preferences' rates."""
    parameters = job.parameters
    with_audio, without_audio = price_rates()
    return estimate_cost(
        int(parameters.get("duration_seconds", 0) or 0),
        int(parameters.get("sample_count", len(job.clip_paths)) or 1),
        bool(parameters.get("generate_audio", False)),
        PriceRates(with_audio_per_second=with_audio, without_audio_per_second=without_audio),
    )


def _record_cost(scene: Scene, inserted: InsertedTransition, cost: CostEstimate) -> None:
    count = max(1, cost.sample_count)
    per_take = f"about {cost.currency} {cost.amount / count:.2f} per take; the task: {cost.label()}"
    collection = compat.strip_collection(scene.sequence_editor)
    for take in inserted.takes:
        for name in filter(None, (take.clip_name, take.speed_name, take.sound_name)):
            collection[name][PROP_COST_ESTIMATE] = per_take
