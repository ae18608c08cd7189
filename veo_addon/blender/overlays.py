"""Strips that will play over the clip as well, and so are left out of Render keyframes.

A title, a logo or an adjustment strip stacked above a gap is drawn over whatever fills the gap,
the generated clip included. Rendered into a keyframe as well, Veo would paint its own copy of it
into the clip, which then plays under the real one: a doubled title, a grade applied twice, and
seams that cannot match. So a Render keyframe leaves out each strip above the clip's channel
that shows at the keyframe's frame and carries on into the gap. What ends at the cut (a title
over the last seconds of a shot) stays in the keyframe: it will not play over the clip.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from . import compat
from .channels import TimelineError
from .gaps import Transition
from .insertion_plan import gap_clip_channel
from .keyframe_media import shows_at

if TYPE_CHECKING:
    from bpy.types import Scene


def over_clip(scene: Scene, transition: Transition, frame: int) -> tuple[str, ...]:
    """The strips showing at `frame` that will also play over the gap's clip, lowest channel first."""
    gap = transition.gap
    editor = scene.sequence_editor
    if editor is None or gap.frames <= 0:
        return ()  # "Make Room" with touching strips: nothing plays over a gap yet
    try:
        clip_channel = gap_clip_channel(scene, transition)
    except TimelineError:
        return ()  # no channel for the clip: the channel check refuses the job in its own words
    over = [
        strip
        for strip in compat.top_level_strips(scene)
        if strip.channel > clip_channel
        and shows_at(strip, editor.channels, frame)
        and compat.visible_start(strip) < gap.end
        and compat.visible_end(strip) > gap.start
    ]
    return tuple(strip.name for strip in sorted(over, key=lambda strip: strip.channel))


def left_out_line(side: str, names: Sequence[str]) -> str:
    """What the user reads when a keyframe left strips out ("First" or "Last")."""
    listed = ", ".join(f"'{name}'" for name in names)
    them = "it plays" if len(names) == 1 else "they play"
    return f"{side} keyframe rendered without {listed}: {them} over the clip as well"
