"""The placeholder: a strip that holds the gap while Veo works.

When a job starts, a META strip goes where the clip will go (the channel `plan_insertion`
chose, exactly the gap's frames). Inside it the two keyframes crossfade, so the edit plays and
renders meanwhile. The editor may move or re-time it like any strip; when the clip lands it
takes the placeholder's place and length (`claim`). The strip is found by its job id, never by
its name: the name shows the job's state ("Veo 40 % (1a2b3c)") and changes as the job goes.

What the placeholder's absence means:
- the job records no placeholder (`PLACEHOLDER` missing from `Job.placement`): started with
  the preference off, or strips that touched ("make room": the gap does not exist yet);
- the scene records that it held the placeholder (`PROP_HELD`) but the strip is gone: the
  editor deleted it, which means "do not insert" (`PlaceholderDeleted`), until the clip is
  inserted from the job list;
- the scene has no such record (undone past the start, a file saved before the start and
  reopened after a crash, or a job adopted into another file): nobody deleted it. While the
  job's clip may still come, it is made again at its recorded spot (`restore`, when the file's
  job list gains the job); at insertion the clip goes to the recorded frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import bpy

from ..core.job import Job, JobState
from . import compat, gap_holders, placeholder_images
from .channels import TimelineError
from .insertion_plan import gap_clip_channel
from .provenance import PROP_JOB_ID

if TYPE_CHECKING:
    from .generation import GenerationPlan

PROP_PLACEHOLDER = gap_holders.PROP_PLACEHOLDER
PROP_REASON = "veo_reason"  # why a failed or stopped job's clip will not come
# On the scene: the jobs whose placeholder this file has held (saved and undone with it).
PROP_HELD = "veo_placeholder_jobs"

# Keys in Job.placement.
PLACEHOLDER = "placeholder"  # the name the placeholder was given when the job started
PLACEHOLDER_SPOT = "placeholder_spot"  # [start, end, channel] it was made at
PLACEHOLDER_IMAGES = "placeholder_images"  # its two picture files ("" for a URL keyframe)
INSERT_ANYWAY = "insert_without_placeholder"  # the editor asked for the clip after deleting it

_GREY = (0.5, 0.5, 0.5)
_ENDED = (JobState.FAILED, JobState.STOPPED, JobState.UNKNOWN_OUTCOME)
_STATE_WORDS = {
    JobState.CAPTURED: "⋯ sending",
    JobState.SUBMITTING: "⋯ sending",
    JobState.QUEUED: "⋯ queued",
    JobState.PROCESSING: "⋯ generating",
    JobState.DOWNLOADING: "⋯ downloading",
    JobState.DOWNLOADED: "⋯ downloaded",
    JobState.INSERTED: "inserted",
    JobState.FAILED: "failed",
    JobState.STOPPED: "stopped",
    JobState.UNKNOWN_OUTCOME: "? outcome unknown",
}

# Jobs whose placeholder still waits for its pictures to be written.
_waiting_for_pictures: dict[str, list[Path]] = {}


class PlaceholderDeleted(TimelineError):
    code = "placeholder_deleted"


@dataclass(frozen=True)
class Spot:
    start: int
    end: int  # exclusive
    channel: int


def label(job: Job) -> str:
    """The placeholder's name: the job's state, and which job (names must be unique)."""
    if job.state is JobState.PROCESSING and job.progress_percent is not None:
        words = f"{job.progress_percent} %"
    else:
        words = _STATE_WORDS.get(job.state, job.state.value)
    return f"Veo {words} ({job.job_id[:6]})"


is_placeholder = gap_holders.is_placeholder


def find(scene: bpy.types.Scene, job_id: str) -> Any | None:
    for strip in compat.top_level_strips(scene):
        if strip.get(PROP_PLACEHOLDER) and strip.get(PROP_JOB_ID) == job_id:
            return strip
    return None


def reserve(scene: bpy.types.Scene, job: Job, plan: GenerationPlan) -> bool:
    """Put the job's placeholder in its gap and record it on the job; False for strips that
    touch (the room is made when the clip lands)."""
    transition = plan.transition
    if transition.is_adjacent:
        return False
    gap = transition.gap
    spot = Spot(gap.start, gap.end, gap_clip_channel(scene, transition))
    sides = (("first", plan.first.data), ("last", plan.last.data))
    job.placement[PLACEHOLDER_SPOT] = [spot.start, spot.end, spot.channel]
    job.placement[PLACEHOLDER_IMAGES] = [
        str(placeholder_images.image_path(plan.clips_folder, job.job_id, side)) if data is not None else ""
        for side, data in sides
    ]
    # The strip first: an image strip made for a file already on disk decodes it (~70 ms at 1080p).
    strip = _build(scene, job, spot)
    job.placement[PLACEHOLDER] = strip.name
    placeholder_images.write_in_background(plan.clips_folder, job.job_id, dict(sides))
    return True


def _build(scene: bpy.types.Scene, job: Job, spot: Spot) -> Any:
    editor = compat.sequence_editor(scene, create=True)
    collection = compat.strip_collection(editor)
    meta = collection.new_meta(name=label(job), channel=spot.channel, frame_start=spot.start)
    try:
        inner = compat.strip_collection(meta)
        length = spot.end - spot.start
        paths = [str(path) for path in job.placement.get(PLACEHOLDER_IMAGES, ["", ""])]
        first, last = (
            _picture(inner, f"Veo {job.job_id[:6]} {side}", path, channel, spot.start, length)
            for side, path, channel in (("first", paths[0], 1), ("last", paths[1], 2))
        )
        compat.new_effect(
            inner,
            name=f"Veo {job.job_id[:6]} crossfade",
            effect_type="CROSS",
            channel=3,
            frame_start=spot.start,
            length=length,
            input1=first,
            input2=last,
        )
        # Strips added through the API leave the meta one frame long until it is sized.
        compat.set_visible_duration(meta, length)
        meta[PROP_PLACEHOLDER] = True
        meta[PROP_JOB_ID] = job.job_id
        # New strips come selected: the placeholder must not join the editor's selection
        # (a selected pair of shots is how a gap is chosen).
        meta.select = False
        _record_held(scene, job.job_id)
    except BaseException:
        collection.remove(meta)
        raise
    waiting = [Path(path) for path in paths if path]
    if waiting:
        _waiting_for_pictures[job.job_id] = waiting
    return meta


def _record_held(scene: bpy.types.Scene, job_id: str) -> None:
    owner: Any = scene  # custom properties: not in the stubs
    if PROP_HELD not in owner:
        owner[PROP_HELD] = {}
    owner[PROP_HELD][job_id] = 1


def _held_here(scene: bpy.types.Scene, job_id: str) -> bool:
    owner: Any = scene
    return job_id in owner.get(PROP_HELD, {})


def _picture(inner: Any, name: str, path: str, channel: int, start: int, length: int) -> Any:
    if path:
        strip = inner.new_image(
            name=name, filepath=_path_for_blend(path), channel=channel, frame_start=start, fit_method="FIT"
        )
        compat.set_visible_duration(strip, length)
        return strip
    # A URL keyframe: the service fetches it, nothing of it is on disk to show.
    colour: Any = compat.new_effect(
        inner, name=name, effect_type="COLOR", channel=channel, frame_start=start, length=length
    )
    colour.color = _GREY
    return colour


def _path_for_blend(path: str) -> str:
    """Relative to the .blend when it is saved (so the project can move), absolute otherwise."""
    return bpy.path.relpath(path) if bpy.data.filepath else path


def pick_up_pictures() -> None:
    """Make placeholders read pictures written since they were made (main thread, each pump)."""
    for job_id, paths in list(_waiting_for_pictures.items()):
        if not placeholder_images.finished(paths):
            continue
        del _waiting_for_pictures[job_id]
        for scene in bpy.data.scenes:
            strip = find(scene, job_id)
            if strip is None:
                continue
            for inner in compat.strip_collection(strip):
                if inner.type == "IMAGE" and len(inner.elements):
                    # Re-assigning the file name drops what the sequencer cached for the missing file.
                    inner.elements[0].filename = inner.elements[0].filename
                    _fit_to_frame(scene, inner)


def _fit_to_frame(scene: bpy.types.Scene, strip: Any) -> None:
    """Scale a picture written after its strip was made to fill the frame: Blender fits an image
    strip (`fit_method="FIT"`) only when it is made, and the file did not exist then."""
    path = Path(bpy.path.abspath(strip.directory)) / strip.elements[0].filename
    try:
        with path.open("rb") as stream:
            head = stream.read(24)
    except OSError:
        return
    if head[:8] != b"\x89PNG\r\n\x1a\n":
        return
    width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    if width and height:
        scale = min(scene.render.resolution_x / width, scene.render.resolution_y / height)
        strip.transform.scale_x = strip.transform.scale_y = scale


def show_state(scene: bpy.types.Scene, job: Job) -> None:
    """Name the job's placeholder after its state; a failed or stopped one keeps the reason.

    A job that failed before the service created a task (a keyframe that cannot be decoded,
    a refused key, a request the service turned down) paid nothing and will never bring a
    clip: like a request refused before sending, it leaves nothing on the timeline; the job
    list keeps the reason."""
    strip = find(scene, job.job_id)
    if strip is None:
        return
    if job.state is JobState.FAILED and not job.task_id:
        _remove(scene, strip)
        return
    wanted = label(job)
    if strip.name != wanted:
        strip.name = wanted
    if job.state in _ENDED:
        if strip.get(PROP_REASON) != job.message:
            strip[PROP_REASON] = job.message
    elif PROP_REASON in strip:
        del strip[PROP_REASON]


def claim(scene: bpy.types.Scene, job: Job) -> Spot | None:
    """Take the placeholder off the timeline for the clip; where it was. None when the job has
    no placeholder to replace (never had one, this file never held it, or the editor asked for
    the clip after deleting it).

    Raises PlaceholderDeleted when the editor deleted it: the clip is not inserted."""
    if PLACEHOLDER not in job.placement:
        return None
    strip = find(scene, job.job_id)
    if strip is None:
        if job.placement.get(INSERT_ANYWAY) or not _held_here(scene, job.job_id):
            return None
        raise PlaceholderDeleted(
            "its placeholder was deleted from the timeline, so the clip was not inserted; "
            "it is kept on disk: insert it from the job list (Insert Clip) if you want it"
        )
    spot = Spot(compat.visible_start(strip), compat.visible_end(strip), strip.channel)
    _remove(scene, strip)
    return spot


def clear_ended(scene: bpy.types.Scene, start: int, end: int) -> bool:
    """Remove the placeholders of jobs that failed for good from frames [start, end), where a new
    job is starting: the gap is open again (gap_holders). A lock does not keep one: it is the
    add-on's stand-in, which a landing clip takes off a locked channel too (and in Blender 5.0 a
    strip reads as locked whenever its channel is). True if any was removed."""
    if end <= start:
        return False  # strips that touch: no gap, nothing in it
    ended = gap_holders.ended_placeholders(scene, start, end)
    for strip in ended:
        _remove(scene, strip)
    return bool(ended)


def put_back(scene: bpy.types.Scene, job: Job, spot: Spot) -> None:
    """The clip did not go in after all: the placeholder holds the gap again, as it was."""
    _build(scene, job, spot)


def remove(scene: bpy.types.Scene, job_id: str) -> None:
    strip = find(scene, job_id)
    if strip is not None:
        _remove(scene, strip)


def _remove(scene: bpy.types.Scene, strip: Any) -> None:
    _waiting_for_pictures.pop(str(strip.get(PROP_JOB_ID, "")), None)
    compat.strip_collection(scene.sequence_editor).remove(strip)  # its inner strips go with it


def restore(scene: bpy.types.Scene, job: Job) -> bool:
    """Make the placeholder again at its recorded spot, for a job not inserted (its clip may
    still come, or it ended and says why) in a file that never held the job (see the module's
    docstring). True if it was made."""
    recorded = job.placement.get(PLACEHOLDER_SPOT)
    if PLACEHOLDER not in job.placement or not isinstance(recorded, list | tuple) or len(recorded) != 3:
        return False
    if job.state is JobState.INSERTED or find(scene, job.job_id) is not None:
        return False
    start, end, channel = (int(value) for value in recorded)
    if not gap_holders.has_ended(job):
        clear_ended(scene, start, end)  # undone past the start: the failed one came back with it
    _build(scene, job, Spot(start, end, channel))
    show_state(scene, job)
    return True
