"""Sound strips have no picture: naming, selecting, or having only sound strips beside the gap is
refused with a sentence that says so (it used to end in "Cannot render, no camera")."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.blender.vse_helpers import BLUE, RED, solid, timeline_snapshot
from veo_addon.blender import compat, gaps
from veo_addon.blender.channels import TimelineError


@dataclass
class StandInSound:
    """A sound strip for builds without audio support (the 4.2 wheel): what the timeline reads."""

    name: str
    channel: int
    frame_final_start: int
    frame_final_end: int
    type: str = "SOUND"
    select: bool = False
    lock: bool = False


@pytest.fixture
def add_sound(timeline, monkeypatch):
    """Adds a sound strip over frames [start, start + length): real where the build has audio."""
    stand_ins: list[StandInSound] = []
    real_top_level = compat.top_level_strips
    monkeypatch.setattr(compat, "top_level_strips", lambda scene: [*real_top_level(scene), *stand_ins])

    def add(name: str, channel: int, start: int, length: int):
        clip = timeline.clip(name, solid(RED), solid(RED), seconds=length / 24, with_audio=True)
        try:
            strip = timeline.strips.new_sound(
                name=name, filepath=str(clip), channel=channel, frame_start=start
            )
        except RuntimeError:  # Blender built without Audaspace
            strip = StandInSound(name, channel, start, start + length)
            stand_ins.append(strip)
            return strip
        compat.set_visible_duration(strip, length)
        return strip

    return add


def deselect_all(scene):
    for strip in compat.top_level_strips(scene):
        strip.select = False


def test_naming_a_sound_strip_says_it_has_no_picture(scene, timeline, add_sound):
    timeline.color("left", 1, 1, 50, RED)
    right = timeline.color("right", 1, 81, 30, BLUE)
    music = add_sound("music", 3, 1, 48)
    before = timeline_snapshot(scene)
    with pytest.raises(
        TimelineError,
        match=r"^Strip 'music' is a sound strip, which has no picture to take a keyframe from; pick the",
    ):
        gaps.find_transition(scene, music, right)
    if not isinstance(music, StandInSound):  # by name, as --left/--right do it
        with pytest.raises(TimelineError, match="'music' is a sound strip"):
            gaps.choose_transition(scene, "music", "right")
    assert timeline_snapshot(scene) == before


def test_playhead_beside_only_sound_strips_says_they_have_no_picture(scene, timeline, add_sound):
    add_sound("voice", 2, 1, 60)
    timeline.color("right", 1, 81, 30, BLUE)
    with pytest.raises(
        TimelineError,
        match=r"^Only sound strips \('voice'\) end at or before frame 70, and sound strips have no picture; ",
    ):
        gaps.find_transition_at_frame(scene, 70)
    timeline.color("left", 1, 1, 50, RED)
    add_sound("outro", 2, 120, 40)
    with pytest.raises(
        TimelineError, match=r"^Only sound strips \('outro'\) start after frame 115, and sound"
    ):
        gaps.find_transition_at_frame(scene, 115)
    # Without any sound strip the message is the plain one.
    with pytest.raises(TimelineError, match=r"^No strip starts after frame 200; put the playhead"):
        gaps.find_transition_at_frame(scene, 200)


def test_selected_sound_strips_say_they_have_no_picture(scene, timeline, add_sound):
    left = timeline.color("left", 1, 1, 50, RED)
    timeline.color("right", 1, 81, 30, BLUE)
    first, second = add_sound("music", 3, 1, 40), add_sound("voice", 4, 90, 20)
    scene.frame_current = 60  # a gap is under the playhead, but the user selected something else
    deselect_all(scene)
    first.select = second.select = True
    with pytest.raises(
        TimelineError, match=r"^Strips 'music', 'voice' are sound strips, which have no picture to take"
    ):
        gaps.find_transition_from_selection(scene)
    left.select = True
    with pytest.raises(
        TimelineError,
        match=r"selected: 'left' \(and sound strips, which have no picture: 'music', 'voice'\)$",
    ):
        gaps.find_transition_from_selection(scene)
