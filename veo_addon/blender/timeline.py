"""Read and write the sequencer: find the transition, make room, insert the clip and its takes.

Everything here runs on Blender's main thread and talks to the data API only (no operators),
so it works the same in the UI and in background mode. A refusal is a `TimelineError` with one
line for the user, raised before anything changes; if something fails half-way, what was done
is undone before the error propagates, so the timeline is never left half-edited.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import bpy

from ..core import mp4
from ..core.errors import VeoError
from ..core.mp4 import ClipInfo
from ..core.timing import (
    FitMode,
    FitPlan,
    Gap,
    SpeedControl,
    conformed_scene_frames,
    frame_rate,
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
    strip_label,
    strips_to_move,
)

if TYPE_CHECKING:
    from bpy.types import Scene, Strip


# Custom property names on every strip the add-on inserts.
PROP_PREFIX = "veo_"
PROP_TASK_ID = "veo_task_id"
PROP_PROMPT = "veo_prompt"
PROP_NEGATIVE_PROMPT = "veo_negative_prompt"
PROP_SEED = "veo_seed"
PROP_REQUEST = "veo_request"
PROP_FIRST_KEYFRAME = "veo_first_keyframe"
PROP_LAST_KEYFRAME = "veo_last_keyframe"
PROP_TAKE_GROUP = "veo_take_group"
PROP_TAKE_INDEX = "veo_take_index"
PROP_TAKE_COUNT = "veo_take_count"
PROP_ROLE = "veo_role"
PROP_FIT_MODE = "veo_fit_mode"

ROLE_CLIP = "clip"
ROLE_SPEED = "speed"
ROLE_SOUND = "sound"

# ID properties hold C ints; Veo seeds go up to 2**32 - 1, so larger numbers are kept as text.
_ID_PROPERTY_INT_MAX = 2**31 - 1


# --- finding the transition ------------------------------------------------------------------------


@dataclass(frozen=True)
class Transition:
    """The frames between two strips. Keyframe A is `first_frame`, keyframe B is `last_frame`."""

    left_name: str
    right_name: str
    left_channel: int
    right_channel: int
    # The left strip's last visible frame and the right strip's first visible frame.
    first_frame: int
    last_frame: int
    rate: Fraction

    @property
    def gap(self) -> Gap:
        return Gap(start=self.first_frame + 1, end=self.last_frame, rate=self.rate)

    @property
    def gap_frames(self) -> int:
        return self.gap.frames

    @property
    def gap_seconds(self) -> float:
        return self.gap.seconds

    @property
    def is_adjacent(self) -> bool:
        return self.gap_frames == 0


def scene_rate(scene: Scene) -> Fraction:
    return frame_rate(scene.render.fps, scene.render.fps_base)


def _is_picture(strip: Any) -> bool:
    """Strips that show something; sound strips (a music bed under the cut) never bound a gap."""
    return bool(strip.type != "SOUND")


def find_transition(scene: Scene, first: Strip, second: Strip) -> Transition:
    """The transition between two strips, whichever order they are given in."""
    if first.name == second.name:
        raise TimelineError(f"Pick two different strips; both are {strip_label(first)}")
    sounds = [strip for strip in (first, second) if not _is_picture(strip)]
    if sounds:
        raise TimelineError(
            f"{_sound_strips_phrase(sounds)} no picture to take a keyframe from; "
            "pick the picture strips on either side of the gap"
        )
    left, right = sorted(
        (first, second), key=lambda strip: (compat.visible_start(strip), compat.visible_end(strip))
    )
    overlap = compat.visible_end(left) - compat.visible_start(right)
    if overlap > 0:
        raise TimelineError(
            f"Strips {strip_label(left)} and {strip_label(right)} overlap by {overlap} frames; "
            "there is no gap between them"
        )
    return Transition(
        left_name=left.name,
        right_name=right.name,
        left_channel=left.channel,
        right_channel=right.channel,
        first_frame=compat.visible_end(left) - 1,
        last_frame=compat.visible_start(right),
        rate=scene_rate(scene),
    )


def _sound_strips_phrase(strips: Sequence[Any]) -> str:
    """ "Strip 'a' is a sound strip, which has" / "Strips 'a', 'b' are sound strips, which have"."""
    names = ", ".join(f"'{strip.name}'" for strip in strips)
    if len(strips) == 1:
        return f"Strip {names} is a sound strip, which has"
    return f"Strips {names} are sound strips, which have"


def _no_picture_side(playhead: int, after: bool, sounds: Sequence[Any]) -> TimelineError:
    """Nothing to take a keyframe from on one side of the playhead; say so when sound strips are there."""
    if sounds:
        names = ", ".join(f"'{strip.name}'" for strip in sounds)
        side = "start after" if after else "end at or before"
        return TimelineError(
            f"Only sound strips ({names}) {side} frame {playhead}, and sound strips have no picture; "
            "put the playhead in a gap between two picture strips"
        )
    side = "starts after" if after else "ends at or before"
    return TimelineError(f"No strip {side} frame {playhead}; put the playhead in a gap between two strips")


def find_transition_at_frame(scene: Scene, frame: int | None = None) -> Transition:
    """The gap under `frame` (the playhead by default), bounded by strips on any channel."""
    playhead = scene.frame_current if frame is None else frame
    strips = compat.top_level_strips(scene)
    pictures = [strip for strip in strips if _is_picture(strip)]
    sounds = [strip for strip in strips if not _is_picture(strip)]
    covering = [s for s in pictures if compat.visible_start(s) <= playhead < compat.visible_end(s)]
    if covering:
        top = max(covering, key=lambda strip: strip.channel)
        raise TimelineError(f"Frame {playhead} is not in a gap: strip {strip_label(top)} covers it")
    before = [s for s in pictures if compat.visible_end(s) <= playhead]
    after = [s for s in pictures if compat.visible_start(s) > playhead]
    if not before:
        raise _no_picture_side(playhead, False, [s for s in sounds if compat.visible_start(s) <= playhead])
    if not after:
        raise _no_picture_side(playhead, True, [s for s in sounds if compat.visible_end(s) > playhead])
    # Ties go to the top channel: that is the picture the preview shows.
    left = max(before, key=lambda strip: (compat.visible_end(strip), strip.channel))
    right = min(after, key=lambda strip: (compat.visible_start(strip), -strip.channel))
    return find_transition(scene, left, right)


def find_transition_from_selection(scene: Scene) -> Transition:
    """Two selected strips, or, with none selected, the gap under the playhead."""
    chosen = [strip for strip in compat.top_level_strips(scene) if strip.select]
    selected = [strip for strip in chosen if _is_picture(strip)]
    selected_sounds = [strip for strip in chosen if not _is_picture(strip)]
    if not chosen:
        return find_transition_at_frame(scene)
    if len(selected) != 2:
        if selected_sounds and not selected:
            raise TimelineError(
                f"{_sound_strips_phrase(selected_sounds)} no picture to take a keyframe from; select "
                "the two picture strips around the gap (or none, to use the gap under the playhead)"
            )
        names = ", ".join(f"'{strip.name}'" for strip in selected)
        sound_names = ", ".join(f"'{strip.name}'" for strip in selected_sounds)
        sound_note = f" (and sound strips, which have no picture: {sound_names})" if selected_sounds else ""
        raise TimelineError(
            "Select exactly two strips (or none, to use the gap under the playhead); "
            f"selected: {names}{sound_note}"
        )
    return find_transition(scene, selected[0], selected[1])


def _strip_named(scene: Scene, name: str) -> Any:
    editor = scene.sequence_editor
    strip = None if editor is None else compat.strip_collection(editor).get(name)
    if strip is None:
        raise TimelineError(f"Strip '{name}' is no longer on the timeline")
    return strip


def refresh_transition(scene: Scene, transition: Transition) -> Transition:
    """The transition between the same two strips as they are now (they may have been moved)."""
    return find_transition(
        scene, _strip_named(scene, transition.left_name), _strip_named(scene, transition.right_name)
    )


# --- the clip file ---------------------------------------------------------------------------------


def probe_clip(path: str | Path) -> ClipInfo:
    """The clip's header (see core.mp4); a refusal is a TimelineError like every other here."""
    try:
        return mp4.probe_clip(path)
    except mp4.ClipFileError as error:
        raise TimelineError(str(error)) from error


# --- provenance ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ClipProvenance:
    """What made a clip; stored on each inserted strip as custom properties."""

    task_id: str
    prompt: str
    negative_prompt: str = ""
    seed: int | None = None
    # Every request parameter (resolution, aspect ratio, duration, ...); images are left out.
    request_params: Mapping[str, Any] = field(default_factory=dict)
    first_keyframe_source: str = ""
    last_keyframe_source: str = ""


def _id_property_value(value: Any) -> Any:
    """`value` as something an ID property can hold, or None to leave it out."""
    if value is None or isinstance(value, bytes | bytearray):
        return None
    if isinstance(value, Enum):
        return _id_property_value(value.value)
    if isinstance(value, bool | float | str):
        return value
    if isinstance(value, int):
        return value if -_ID_PROPERTY_INT_MAX - 1 <= value <= _ID_PROPERTY_INT_MAX else str(value)
    if isinstance(value, Mapping):
        converted = {str(key): _id_property_value(item) for key, item in value.items()}
        return {key: item for key, item in converted.items() if item is not None}
    if isinstance(value, list | tuple):
        items = [_id_property_value(item) for item in value]
        # ID property arrays must be of one type; mixed ones are kept as text.
        kept = [item for item in items if item is not None]
        if len({type(item) for item in kept}) > 1:
            return [str(item) for item in kept]
        return kept
    return str(value)


def _write_provenance(
    strip: Any,
    provenance: ClipProvenance,
    group: str,
    take_index: int,
    take_count: int,
    role: str,
    fit: FitMode,
) -> None:
    strip[PROP_TASK_ID] = provenance.task_id
    strip[PROP_PROMPT] = provenance.prompt
    strip[PROP_NEGATIVE_PROMPT] = provenance.negative_prompt
    # Text, because seeds reach 2**32 - 1 and ID property ints stop at 2**31 - 1.
    strip[PROP_SEED] = "" if provenance.seed is None else str(provenance.seed)
    strip[PROP_REQUEST] = _id_property_value(dict(provenance.request_params)) or {}
    strip[PROP_FIRST_KEYFRAME] = provenance.first_keyframe_source
    strip[PROP_LAST_KEYFRAME] = provenance.last_keyframe_source
    strip[PROP_TAKE_GROUP] = group
    strip[PROP_TAKE_INDEX] = take_index
    strip[PROP_TAKE_COUNT] = take_count
    strip[PROP_ROLE] = role
    strip[PROP_FIT_MODE] = fit.value


def read_provenance(strip: Any) -> dict[str, Any]:
    """The add-on's custom properties of `strip` as plain Python values (empty if it has none)."""
    result: dict[str, Any] = {}
    for key in strip.keys():  # noqa: SIM118 - Blender structs are not iterable like dicts
        if key.startswith(PROP_PREFIX):
            value = strip[key]
            result[key] = value.to_dict() if hasattr(value, "to_dict") else value
    return result


# --- inserting -------------------------------------------------------------------------------------


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
                _write_provenance(
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


# --- takes -----------------------------------------------------------------------------------------


def take_group_of(strip: Any) -> str | None:
    value = strip.get(PROP_TAKE_GROUP)
    return str(value) if value else None


def take_strips(scene: Scene, group: str) -> dict[int, list[Any]]:
    """The strips of each take of one insertion, by take index."""
    takes: dict[int, list[Any]] = {}
    for strip in compat.top_level_strips(scene):
        if strip.get(PROP_TAKE_GROUP) == group:
            takes.setdefault(int(strip[PROP_TAKE_INDEX]), []).append(strip)
    return dict(sorted(takes.items()))


def live_take(scene: Scene, group: str) -> int | None:
    """The index of the take that plays (its clip is not muted), or None if all are muted."""
    for index, strips in take_strips(scene, group).items():
        if any(strip.get(PROP_ROLE) == ROLE_CLIP and not strip.mute for strip in strips):
            return index
    return None


def set_live_take(scene: Scene, group: str, take_index: int) -> None:
    """Make take `take_index` the one that plays; every other take of the group is muted."""
    takes = take_strips(scene, group)
    if not takes:
        raise TimelineError("Those takes are no longer on the timeline")
    if take_index not in takes:
        available = ", ".join(str(index + 1) for index in takes)
        raise TimelineError(f"There is no take {take_index + 1}; the takes are {available}")
    for index, strips in takes.items():
        for strip in strips:
            strip.mute = index != take_index
