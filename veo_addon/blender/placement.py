"""Between jobs and the timeline: which gap a job fills, and putting its clips there.

A job records where its clip goes (`Job.placement`: the two strips, the keyframe frames,
the fit). When the clip arrives, possibly in a later session, the strips may have moved
or gone: then the clip goes to the frames the job recorded, on a free channel, and the
job says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import bpy

from ..core.job import Job
from ..core.timing import FitMode, conformed_scene_frames
from . import compat, placeholder
from .channels import TimelineError
from .gaps import Transition, refresh_transition, scene_rate
from .insert import InsertedTransition, insert_clip, insert_clip_at_frames, probe_clip
from .provenance import PROP_JOB_ID, ClipProvenance

# In Job.placement: [start, end) of the frames the clip went into, once it is in.
INSERTED_FRAMES = "inserted_frames"


def job_frames_label(job: Job) -> str:
    """ "frames 51-150": where the clip went, else the gap it was asked for; touching strips
    (no gap yet) give "frame 61 (make room)"."""
    recorded = job.placement.get(INSERTED_FRAMES)
    if isinstance(recorded, list | tuple) and len(recorded) == 2:
        start, end = int(recorded[0]), int(recorded[1])
    else:
        start, end = job.frame_start, job.frame_end
    if end <= start:
        return f"frame {start} (make room)"
    return f"frames {start}-{end - 1}"


@dataclass(frozen=True)
class Placed:
    inserted: InsertedTransition
    summary: str  # one line for the job's message


def job_on_timeline(scene: bpy.types.Scene, job_id: str) -> bool:
    """Whether any strip in the scene was put there by this job (its placeholder is not its clip)."""
    return any(
        strip.get(PROP_JOB_ID) == job_id and not placeholder.is_placeholder(strip)
        for strip in compat.strips_all(scene)
    )


def provenance_for(job: Job) -> ClipProvenance:
    parameters = dict(job.parameters)
    return ClipProvenance(
        task_id=job.task_id or "",
        prompt=str(parameters.get("prompt", "")),
        negative_prompt=str(parameters.get("negative_prompt", "")),
        seed=job.seed if job.seed is not None else parameters.get("seed"),
        request_params=parameters,
        first_keyframe_source=str(job.keyframe_sources.get("first", "")),
        last_keyframe_source=str(job.keyframe_sources.get("last", "")),
    )


def recorded_transition(scene: bpy.types.Scene, job: Job) -> Transition:
    where = job.placement
    return Transition(
        left_name=str(where.get("left_strip", "")),
        right_name=str(where.get("right_strip", "")),
        left_channel=int(where.get("left_channel", job.channel or 1)),
        right_channel=int(where.get("right_channel", job.channel or 1)),
        first_frame=int(where.get("first_frame", job.frame_start - 1)),
        last_frame=int(where.get("last_frame", job.frame_end)),
        rate=scene_rate(scene),
    )


def insert_job_clips(scene: bpy.types.Scene, job: Job) -> Placed:
    """Insert a downloaded job's clips where its placeholder is, else where it was asked for,
    else at its recorded frames. A deleted placeholder means "not inserted" (PlaceholderDeleted)."""
    if not job.clips_exist():
        missing = [path for path in job.clip_paths if not Path(path).is_file()] or ["(none recorded)"]
        raise TimelineError(f"The clip files of task {job.task_id} are missing: {', '.join(missing)}")
    fit_mode = FitMode(job.placement.get("fit_mode", FitMode.STRETCH.value))
    provenance = provenance_for(job)
    spot = placeholder.claim(scene, job)
    if spot is not None:
        try:
            inserted = insert_clip_at_frames(
                scene,
                spot.start,
                spot.end,
                job.clip_paths,
                provenance,
                lowest_channel=spot.channel,
                fit_mode=fit_mode,
            )
        except BaseException:
            placeholder.put_back(scene, job, spot)
            raise
        note = ""
        if (spot.start, spot.end) != (job.frame_start, job.frame_end):
            note = f" It took the place of its placeholder, moved to frames {spot.start}-{spot.end - 1}."
        return _placed(scene, job, inserted, note)
    recorded = recorded_transition(scene, job)
    try:
        unchanged = refresh_transition(scene, recorded) == recorded
    except TimelineError:
        unchanged = False
    if unchanged:
        inserted = insert_clip(
            scene,
            recorded,
            job.clip_paths,
            provenance,
            fit_mode=fit_mode,
            make_room=bool(job.placement.get("make_room", False)),
        )
        note = ""
    else:
        start, end = job.frame_start, job.frame_end
        if end <= start:  # strips that touched ("make room"): the clip needs its own length
            clip = probe_clip(job.clip_paths[0])
            end = start + conformed_scene_frames(clip.frame_count, clip.fps, scene_rate(scene))
        inserted = insert_clip_at_frames(
            scene,
            start,
            end,
            job.clip_paths,
            provenance,
            lowest_channel=job.channel or 1,
            fit_mode=fit_mode,
        )
        note = (
            f" The strips around the gap moved or were deleted, so it went to its recorded frames "
            f"{inserted.start}-{inserted.end - 1} on channel {inserted.live.clip_channel}."
        )
    return _placed(scene, job, inserted, note)


def _placed(scene: bpy.types.Scene, job: Job, inserted: InsertedTransition, note: str) -> Placed:
    # What the summary shows: for strips that touched ("make room") the job's gap is empty.
    job.placement[INSERTED_FRAMES] = [inserted.start, inserted.end]
    strips = compat.strip_collection(scene.sequence_editor)
    for take in inserted.takes:
        for name in filter(None, (take.clip_name, take.speed_name, take.sound_name)):
            strips[name][PROP_JOB_ID] = job.job_id
    count = len(inserted.takes)
    takes = f"{count} takes" if count > 1 else "1 clip"  # which one plays: finishing.py says
    filtered = f" {job.filtered_count} blocked by safety filters." if job.filtered_count else ""
    summary = (
        f"Inserted {takes} (task {job.task_id}) at frames {inserted.start}-{inserted.end - 1}, "
        f"channel {inserted.live.clip_channel}.{note}{filtered}"
    )
    for warning in inserted.warnings:
        summary += f" {warning}"
    return Placed(inserted=inserted, summary=summary)
