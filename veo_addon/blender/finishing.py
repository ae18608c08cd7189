"""What happens right after a job's clip is on the timeline: the seam check, the best take made
the one that plays, short fades on the generated sound, and what the user should hear about it.

One call from the job manager (`finish_insertion`), on the main thread. Nothing here may undo
the insertion: a seam check that cannot render says so and leaves the takes as inserted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..core.job import Job
from ..core.pricing import CostEstimate, PriceRates, estimate_cost
from . import compat, seams, sound_fades
from .cost_report import Estimate
from .insert import InsertedTransition
from .preferences import finishing_settings, price_rates
from .provenance import PROP_COST_ESTIMATE, PROP_SOUND_CHANNEL
from .takes import set_live_take

if TYPE_CHECKING:
    from bpy.types import Scene

log = logging.getLogger(__name__)


def finish_insertion(
    scene: Scene,
    job: Job,
    inserted: InsertedTransition,
    estimate: Estimate | None = None,
    on_line: Callable[[str], None] | None = None,
) -> str:
    """Seams, best take, fades, cost on the strips; returns sentences to add to the job's message
    (each warning also goes to `on_line`) and fills `job.seams`. Never raises: the clip is in,
    and a job left `downloaded` with its clip on the timeline would be inserted again."""
    try:
        return _finish(scene, job, inserted, estimate, on_line)
    except Exception as error:
        log.exception("Veo job %s: finishing the insertion failed", job.job_id[:8])
        return f"The seam check and sound fades could not be applied: {str(error).strip()}"


def _finish(
    scene: Scene,
    job: Job,
    inserted: InsertedTransition,
    estimate: Estimate | None,
    on_line: Callable[[str], None] | None,
) -> str:
    warn_above, fade_frames = finishing_settings()
    notes: list[str] = []
    _record_cost(scene, inserted, estimate.cost if estimate is not None else list_price_estimate(job))
    try:
        check = seams.record(scene, inserted, seams.measure(scene, inserted), warn_above)
    except Exception as error:  # the clip stays in; only its check is missing
        log.exception("Veo job %s: the seam check failed", job.job_id[:8])
        notes.append(f"The seam check could not run: {str(error).strip()}")
    else:
        job.seams = [
            {"take": index + 1, "in": round(score.cut_in, 2), "out": round(score.cut_out, 2)}
            for index in check.ranking
            if (score := check.scores.get(index)) is not None
        ]
        if check.not_measured:
            notes.append(f"Seams: {check.not_measured}.")
        elif len(inserted.takes) > 1:
            best = check.best
            set_live_take(scene, inserted.group, best)
            best_score = check.scores[best]
            assert best_score is not None
            notes.append(f"Take {best + 1} plays: its seams are the closest ({best_score.label()}).")
        elif (score := check.scores.get(inserted.live.index)) is not None:
            notes.append(f"Seams {score.label()}.")
        for warning in check.warnings:
            if on_line is not None:
                on_line(f"[veo] job {job.job_id[:8]} SEAM WARNING: {warning}")
            notes.append(f"SEAM WARNING: {warning}")
    notes.extend(_finish_sound(scene, inserted, fade_frames))
    return " ".join(notes)


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
