"""Finding the transition: the gap between two picture strips, and the frames either side of it.

A refusal is a `TimelineError` with one line for the user; nothing here changes the timeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from ..core.timing import Gap, frame_rate
from . import compat, gap_holders
from .channels import TimelineError, strip_label

if TYPE_CHECKING:
    from bpy.types import Scene, Strip


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


def _is_shot(strip: Any) -> bool:
    """Strips that bound or cover a gap: pictures, but no placeholder (a stand-in for a clip to
    come, or one that failed: see gap_holders)."""
    return _is_picture(strip) and not gap_holders.is_placeholder(strip)


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
    """The gap under `frame` (the playhead by default), bounded by strips on any channel; refused
    when a placeholder whose clip may still come shows any frame of it."""
    playhead = scene.frame_current if frame is None else frame
    transition = _transition_at(scene, playhead)
    gap_holders.check_not_held(scene, transition.gap.start, transition.gap.end)
    return transition


def _transition_at(scene: Scene, playhead: int) -> Transition:
    strips = compat.top_level_strips(scene)
    pictures = [strip for strip in strips if _is_shot(strip)]
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
    """Two selected strips, or, with none selected, the gap under the playhead. A selected
    placeholder (clicked to see its job) is no shot and does not count."""
    chosen = [
        strip
        for strip in compat.top_level_strips(scene)
        if strip.select and (_is_shot(strip) or not _is_picture(strip))
    ]
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


def _missing_strips_error(scene: Scene, names: Sequence[str]) -> TimelineError:
    """Names not on the main timeline: inside a meta strip (say which), or not in the scene."""
    for strip in compat.strips_all(scene):
        meta = strip.parent_meta() if strip.name in names else None
        if meta is not None:
            return TimelineError(
                f"Strip '{strip.name}' is inside meta strip '{meta.name}': only gaps on the main "
                "timeline can be filled, so ungroup it first (UnMeta, Ctrl+Alt+G)"
            )
    return TimelineError(f"No strip named {', '.join(repr(name) for name in names)} in this scene")


def _open_meta_error(scene: Scene) -> TimelineError | None:
    """The editor is showing the inside of a meta strip (Tab): its selection and gaps are not the
    main timeline's, which is all the extension reads."""
    editor = scene.sequence_editor
    stack = list(editor.meta_stack) if editor is not None else []
    if not stack:
        return None
    return TimelineError(
        f"The Sequencer shows the inside of meta strip '{stack[-1].name}': only gaps on the main "
        "timeline can be filled, so leave it (Tab) and ungroup it (UnMeta, Ctrl+Alt+G)"
    )


def choose_transition(scene: Scene, left_name: str = "", right_name: str = "") -> Transition:
    """Named strips if given, else two selected strips, else the gap under the playhead."""
    if left_name or right_name:
        if not (left_name and right_name):
            raise TimelineError("Name both strips around the gap (left_strip and right_strip), or neither")
        editor = scene.sequence_editor
        strips = compat.strip_collection(editor) if editor is not None else {}
        missing = [name for name in (left_name, right_name) if strips.get(name) is None]
        if missing:
            raise _missing_strips_error(scene, missing)
        return find_transition(scene, strips[left_name], strips[right_name])
    inside_meta = _open_meta_error(scene)
    if inside_meta is not None:
        raise inside_meta
    return find_transition_from_selection(scene)


def find_all_transitions(scene: Scene) -> list[Transition]:
    """Every gap on the timeline (frames no picture strip covers, between two strips), the gaps
    under placeholders included: `presubmit.plan_fill` skips those still held, saying by which job."""
    spans = sorted(
        (compat.visible_start(strip), compat.visible_end(strip))
        for strip in compat.top_level_strips(scene)
        if _is_shot(strip)
    )
    holes: list[int] = []
    covered_until: int | None = None
    for start, end in spans:
        if covered_until is not None and start > covered_until:
            holes.append(covered_until)
        covered_until = end if covered_until is None else max(covered_until, end)
    return [_transition_at(scene, frame) for frame in holes]
