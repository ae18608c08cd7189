"""Inserting a clip into the timeline: make room, add the movie, its speed effect and sound for
each take, and mark every strip with what made it.

Everything here runs on Blender's main thread and talks to the data API only (no operators),
so it works the same in the UI and in background mode. A refusal is a `TimelineError` with one
line for the user, raised before anything changes; if something fails half-way, what was done
is undone before the error propagates, so the timeline is never left half-edited.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import bpy

from ..core import mp4
from ..core.errors import VeoError
from ..core.mp4 import ClipInfo
from ..core.timing import (
    FitMode,
    FitPlan,
    SpeedControl,
    conformed_scene_frames,
    plan_fit,
    sound_stays_in_step,
)
from . import compat
from .channels import (
    ChannelAllocator,
    TimelineError,
    channels_needed,
    check_channels,
    check_movable,
    strips_to_move,
)
from .gaps import Transition, refresh_transition, scene_rate
from .provenance import ROLE_CLIP, ROLE_SOUND, ROLE_SPEED, ClipProvenance, write_provenance

if TYPE_CHECKING:
    from bpy.types import Scene


def probe_clip(path: str | Path) -> ClipInfo:
    """The clip's header (see core.mp4); a refusal is a TimelineError like every other here."""
    try:
        return mp4.probe_clip(path)
    except mp4.ClipFileError as error:
        raise TimelineError(str(error)) from error


@dataclass(frozen=True)
class InsertedTake:
    index: int
    clip_name: str
    clip_channel: int
    speed_name: str | None
    sound_name: str | None
    plan: FitPlan


@dataclass(frozen=True)
class InsertedTransition:
    group: str
    start: int
    end: int  # exclusive
    takes: tuple[InsertedTake, ...]
    made_room: int  # frames everything after the cut was moved right by (0 when not needed)
    warnings: tuple[str, ...] = ()

    @property
    def live(self) -> InsertedTake:
        return self.takes[0]


def sound_left_out_warning(plan: FitPlan) -> str:
    return (
        f"The clip's sound was left out: the picture is retimed to {plan.playback_rate:.2f}x to fill "
        "the gap and the sound cannot follow it, so it would drift out of sync (a gap as long as the "
        "clip, Trim, or make room keeps the sound)."
    )


class _Undo:
    """Steps to take back, newest first, if the insertion fails half-way."""

    def __init__(self) -> None:
        self._steps: list[tuple[str, Any]] = []

    def add(self, description: str, step: Any) -> None:
        self._steps.append((description, step))

    def run(self) -> None:
        for _description, step in reversed(self._steps):
            # Best effort: one failed undo step must not hide the original error or stop the rest.
            with contextlib.suppress(Exception):
                step()


def _make_room(scene: Scene, cut: int, frames: int, strips: list[Any], undo: _Undo) -> None:
    """Move `strips`, the markers from `cut` on, and a scene end past the cut, right by `frames`."""
    # Right-most first: each strip moves into space already vacated, so Blender never sees an
    # overlap (it would "shuffle" the strip to another channel).
    for strip in sorted(strips, key=compat.visible_start, reverse=True):
        compat.move_strip(strip, frames)
        undo.add(f"move {strip.name} back", lambda moved=strip: compat.move_strip(moved, -frames))
    for marker in scene.timeline_markers:
        if marker.frame >= cut:
            marker.frame += frames
            undo.add("move marker back", lambda moved=marker: setattr(moved, "frame", moved.frame - frames))
    if scene.frame_end >= cut:
        scene.frame_end += frames
        undo.add("restore scene end", lambda: setattr(scene, "frame_end", scene.frame_end - frames))


def _clip_path_for_blend(path: Path) -> str:
    """Relative to the .blend when it is saved (so the project can move), absolute otherwise."""
    absolute = str(path.resolve())
    if bpy.data.filepath:
        return bpy.path.relpath(absolute)
    return absolute


def insert_clip(
    scene: Scene,
    transition: Transition,
    clip_paths: Sequence[str | Path],
    provenance: ClipProvenance,
    *,
    fit_mode: FitMode | str = FitMode.STRETCH,
    make_room: bool = False,
    with_audio: bool | None = None,
) -> InsertedTransition:
    """Insert the clip (and any extra samples as muted takes) into the transition's gap.

    `clip_paths[0]` becomes the live take; the rest go above it, muted, in sample order.
    `with_audio` None means "if the file has an audio track". Adjacent strips need
    `make_room`, which moves everything from the right strip onward right by the clip's length.
    """
    if not clip_paths:
        raise TimelineError("No clip to insert")
    fit = FitMode(fit_mode)
    current = refresh_transition(scene, transition)
    if current != transition:
        raise TimelineError(
            f"The strips '{transition.left_name}' and '{transition.right_name}' moved since the transition "
            "was chosen; choose it again"
        )
    clips = [probe_clip(path) for path in clip_paths]
    cut = current.last_frame
    to_move: list[Any] = []
    followers: list[Any] = []
    if current.is_adjacent:
        if not make_room:
            raise TimelineError(
                f"Strips '{current.left_name}' and '{current.right_name}' touch (no gap at frame {cut}); "
                'turn on "make room" to push the right side along'
            )
        room = conformed_scene_frames(clips[0].frame_count, clips[0].fps, current.rate)
        to_move, followers = strips_to_move(scene, cut)
        check_movable(scene, to_move)
        start, end = cut, cut + room
    else:
        room = 0
        start, end = current.gap.start, current.gap.end
    return _insert_in_range(
        scene,
        start,
        end,
        current.left_channel,
        clips,
        provenance,
        fit,
        with_audio,
        make_room=(cut, room, to_move, followers) if room else None,
    )


def insert_clip_at_frames(
    scene: Scene,
    start: int,
    end: int,
    clip_paths: Sequence[str | Path],
    provenance: ClipProvenance,
    *,
    lowest_channel: int = 1,
    fit_mode: FitMode | str = FitMode.STRETCH,
    with_audio: bool | None = None,
) -> InsertedTransition:
    """Insert the clip over frames `start`..`end` (exclusive) on the lowest free channel at or
    above `lowest_channel`, whatever strips are around: for a clip whose gap moved or vanished
    since it was asked for. Nothing existing is moved."""
    if not clip_paths:
        raise TimelineError("No clip to insert")
    if end <= start:
        raise TimelineError(f"Frames {start}–{end - 1} are not a range to put a clip in")
    compat.sequence_editor(scene, create=True)
    clips = [probe_clip(path) for path in clip_paths]
    return _insert_in_range(
        scene,
        start,
        end,
        max(1, lowest_channel),
        clips,
        provenance,
        FitMode(fit_mode),
        with_audio,
        make_room=None,
    )


def _insert_in_range(
    scene: Scene,
    start: int,
    end: int,
    lowest_channel: int,
    clips: Sequence[ClipInfo],
    provenance: ClipProvenance,
    fit: FitMode,
    with_audio: bool | None,
    *,
    make_room: tuple[int, int, list[Any], list[Any]] | None,
) -> InsertedTransition:
    rate = scene_rate(scene)
    editor = scene.sequence_editor
    assert editor is not None
    cut, room, to_move, followers = make_room or (start, 0, [], [])
    strip_frames = end - start

    plans = [plan_fit(strip_frames, clip.frame_count, rate, fit, clip.fps) for clip in clips]
    wanted_audio = [clip.has_audio if with_audio is None else with_audio and clip.has_audio for clip in clips]
    audio_flags = [
        wanted and sound_stays_in_step(plan) for wanted, plan in zip(wanted_audio, plans, strict=True)
    ]
    moving_names = {strip.name for strip in (*to_move, *followers)}
    allocator = ChannelAllocator(scene, start, end, lowest_channel, moving_names)
    check_channels(allocator, channels_needed(plans, audio_flags))

    group = uuid.uuid4().hex
    collection = compat.strip_collection(editor)
    undo = _Undo()
    warnings: list[str] = []
    dropped = [
        plan
        for plan, wanted, kept in zip(plans, wanted_audio, audio_flags, strict=True)
        if wanted and not kept
    ]
    if dropped:
        warnings.append(sound_left_out_warning(dropped[0]))
    takes: list[InsertedTake] = []
    try:
        if to_move:
            _make_room(scene, cut, room, to_move, undo)
        for index, (clip, plan, has_audio) in enumerate(zip(clips, plans, audio_flags, strict=True)):
            take, take_warnings = _insert_take(
                scene, collection, allocator, undo, clip, plan, fit, has_audio, start, index, len(clips)
            )
            for strip_name in filter(None, (take.clip_name, take.speed_name, take.sound_name)):
                write_provenance(
                    collection[strip_name], provenance, group, index, len(clips), _role(take, strip_name), fit
                )
            warnings.extend(take_warnings)
            takes.append(take)
    except BaseException as error:
        undo.run()
        if isinstance(error, VeoError):
            raise
        if isinstance(error, Exception):
            raise TimelineError(f"Inserting the clip failed and was undone: {error}") from error
        raise
    return InsertedTransition(
        group=group, start=start, end=end, takes=tuple(takes), made_room=room, warnings=tuple(warnings)
    )


def _role(take: InsertedTake, strip_name: str) -> str:
    if strip_name == take.speed_name:
        return ROLE_SPEED
    if strip_name == take.sound_name:
        return ROLE_SOUND
    return ROLE_CLIP


def _remove_strip(collection: Any, name: str) -> None:
    strip = collection.get(name)
    if strip is None:
        return
    sound = getattr(strip, "sound", None)
    collection.remove(strip)
    # A sound strip brings a Sound datablock; leaving it would be an orphan from a failed insert.
    if sound is not None and sound.users == 0:
        bpy.data.sounds.remove(sound)


def _insert_take(
    scene: Scene,
    collection: Any,
    allocator: ChannelAllocator,
    undo: _Undo,
    clip: ClipInfo,
    plan: FitPlan,
    fit: FitMode,
    has_audio: bool,
    start: int,
    index: int,
    take_count: int,
) -> tuple[InsertedTake, list[str]]:
    base_name = f"Veo take {index + 1}" if take_count > 1 else "Veo clip"
    filepath = _clip_path_for_blend(clip.path)
    warnings: list[str] = []

    # FIT: a 1280x720 clip fills a 1920x1080 (or 320x180) output the way the keyframes did.
    movie = collection.new_movie(
        name=base_name, filepath=filepath, channel=allocator.take(), frame_start=start, fit_method="FIT"
    )
    movie_name = movie.name
    undo.add(f"remove {movie_name}", lambda: _remove_strip(collection, movie_name))
    if compat.content_duration(movie) < 2:
        # Blender makes a one-frame placeholder when it cannot decode the file.
        raise TimelineError(f"Blender cannot read the clip '{clip.path}' as a movie")
    # Right away, before anything else: until trimmed, the strip may run over the right strip.
    compat.set_visible_duration(movie, plan.strip_frames)
    if compat.content_duration(movie) != clip.frame_count:
        # Retiming is computed from the file's frame count; follow what Blender actually reads.
        plan = plan_fit(plan.strip_frames, compat.content_duration(movie), scene_rate(scene), fit, clip.fps)
        if has_audio and not sound_stays_in_step(plan):
            warnings.append(sound_left_out_warning(plan))
            has_audio = False

    speed_name = None
    if plan.needs_speed_effect:
        speed: Any = compat.new_effect(
            collection,
            name=f"{base_name} speed",
            effect_type="SPEED",
            channel=allocator.take(),
            frame_start=start,
            length=plan.strip_frames,
            input1=movie,
        )
        speed_name = speed.name
        undo.add(f"remove {speed_name}", lambda: _remove_strip(collection, speed_name))
        speed.speed_control = plan.speed_control.value
        if plan.speed_control is SpeedControl.MULTIPLY:
            speed.speed_factor = plan.speed_factor

    sound_name = None
    if has_audio:
        sound_channel = allocator.take()
        try:
            sound = collection.new_sound(
                name=f"{base_name} sound", filepath=filepath, channel=sound_channel, frame_start=start
            )
        except RuntimeError as error:
            # Builds without audio support (the 4.2 bpy wheel) refuse; the picture is still wanted.
            warnings.append(f"The clip's sound was not added: {str(error).strip()}")
            allocator.give_back(sound_channel)
        else:
            sound_name = sound.name
            undo.add(f"remove {sound_name}", lambda: _remove_strip(collection, sound_name))
            compat.set_visible_duration(sound, plan.strip_frames)

    if index > 0:
        for name in filter(None, (movie_name, speed_name, sound_name)):
            collection[name].mute = True
    take = InsertedTake(
        index=index,
        clip_name=movie_name,
        clip_channel=movie.channel,
        speed_name=speed_name,
        sound_name=sound_name,
        plan=plan,
    )
    return take, warnings
