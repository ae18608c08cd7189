"""The insertion, planned before anything is paid for.

Inserting a clip can fail for reasons the timeline shows long before the clip exists: no free
unlocked channel for the clip, its speed effect and its sound (for every sample), or a locked
strip or channel in the way of "make room". `plan_insertion` runs those checks against the
clip the request will produce (its duration at 24 fps), with the same functions the insertion
itself runs again once the clip has arrived, so a refusal costs nothing and changes nothing.

A failed-for-good job's placeholder in the gap is no content: the new job removes it as it
starts (`placeholder.clear_ended`), so its channel counts as free here. Any other placeholder
(its clip may still come) keeps its channel.
"""

from __future__ import annotations

from dataclasses import dataclass

import bpy

from ..core.timing import (
    CLIP_FPS,
    FitMode,
    clip_frame_count,
    conformed_scene_frames,
    plan_fit,
    sound_stays_in_step,
)
from . import channels, gap_holders
from .channels import TimelineError
from .gaps import Transition, scene_rate


@dataclass(frozen=True)
class InsertionPlan:
    """Where the clip will go: frames [start, end), channels from `lowest_channel` up."""

    start: int
    end: int
    lowest_channel: int
    channels_needed: int
    made_room: int  # frames the strips after the cut will move right (0 for a gap)
    clip_channel: int  # where the live take's clip goes (and the placeholder, until it lands)
    sound_left_out: bool  # asked for, but the retimed picture would leave it out of sync
    playback_rate: float  # clip seconds per scene second (1.0: real time)


def plan_insertion(
    scene: bpy.types.Scene,
    transition: Transition,
    *,
    duration_seconds: int,
    sample_count: int,
    generate_audio: bool,
    fit_mode: FitMode | str,
    make_room: bool,
) -> InsertionPlan:
    """Raise TimelineError (one sentence) if the clip could not be inserted as asked; else the plan."""
    rate = scene_rate(scene)
    clip_frames = clip_frame_count(duration_seconds)
    moving = giving_way(scene, transition)
    if transition.is_adjacent:
        if not make_room:
            raise TimelineError(
                f"Strips '{transition.left_name}' and '{transition.right_name}' touch (no gap at frame "
                f'{transition.last_frame}); turn on "make room" to push the right side along'
            )
        room = conformed_scene_frames(clip_frames, CLIP_FPS, rate)
        to_move, followers = channels.strips_to_move(scene, transition.last_frame)
        channels.check_movable(scene, to_move)
        moving |= {strip.name for strip in (*to_move, *followers)}
        start, end = transition.last_frame, transition.last_frame + room
    else:
        room = 0
        start, end = transition.gap.start, transition.gap.end
    plan = plan_fit(end - start, clip_frames, rate, FitMode(fit_mode), CLIP_FPS)
    # Counted even where this Blender cannot add sound (it then skips it): never too few.
    with_sound = generate_audio and sound_stays_in_step(plan)
    needed = channels.channels_needed([plan] * sample_count, [with_sound] * sample_count)
    allocator = channels.ChannelAllocator(scene, start, end, transition.left_channel, moving)
    channels.check_channels(allocator, needed)
    clip_channel = channels.ChannelAllocator(scene, start, end, transition.left_channel, moving).take()
    return InsertionPlan(
        start=start,
        end=end,
        lowest_channel=transition.left_channel,
        channels_needed=needed,
        made_room=room,
        clip_channel=clip_channel,
        sound_left_out=generate_audio and not with_sound,
        playback_rate=plan.playback_rate,
    )


def gap_clip_channel(scene: bpy.types.Scene, transition: Transition) -> int:
    """The channel the clip of a gap (not "make room") takes: the one `plan_insertion` checked."""
    gap = transition.gap
    ignored = giving_way(scene, transition)
    return channels.ChannelAllocator(scene, gap.start, gap.end, transition.left_channel, ignored).take()


def giving_way(scene: bpy.types.Scene, transition: Transition) -> set[str]:
    """Strips in the gap that a new job removes before anything goes in: the placeholders of
    jobs that failed for good (the same ones `placeholder.clear_ended` takes away)."""
    gap = transition.gap
    return {strip.name for strip in gap_holders.ended_placeholders(scene, gap.start, gap.end)}
