"""Finding the transition: two strips, or the gap under the playhead; refusals for the rest."""

from __future__ import annotations

from fractions import Fraction

import pytest

from tests.blender.vse_helpers import BLUE, GREEN, RED, set_frame_rate, solid, timeline_snapshot
from veo_addon.blender import compat, gaps
from veo_addon.blender.channels import TimelineError
from veo_addon.blender.gaps import find_transition, find_transition_at_frame


def test_between_two_strips_in_either_order(scene, timeline):
    left = timeline.color("left", 1, 1, 50, RED)
    right = timeline.color("right", 2, 71, 30, BLUE)
    for first, second in ((left, right), (right, left)):
        transition = find_transition(scene, first, second)
        assert (transition.left_name, transition.right_name) == ("left", "right")
        assert (transition.first_frame, transition.last_frame) == (50, 71)
        assert (transition.gap.start, transition.gap.end, transition.gap_frames) == (51, 71, 20)
        assert (transition.left_channel, transition.right_channel) == (1, 2)


def test_visible_frames_follow_trims(scene, timeline):
    left = timeline.color("left", 1, 1, 50, RED)
    clip = timeline.clip("shot", solid(RED), solid(BLUE), seconds=2.0)
    right = timeline.movie("right", 1, 61, clip)
    left.frame_final_end = 41  # trimmed: the last visible frame is now 40
    right.frame_final_start = 66  # trimmed: the first visible frame is now 66
    assert compat.content_start(right) == 61
    transition = find_transition(scene, left, right)
    assert (transition.first_frame, transition.last_frame, transition.gap_frames) == (40, 66, 25)


@pytest.mark.parametrize(
    ("rate", "gap_frames", "seconds", "auto"),
    [
        ("24", 96, 4.0, 4),
        ("25", 100, 4.0, 4),
        ("30", 150, 5.0, 6),
        ("60", 480, 8.0, 8),
        ("23.976", 96, 4.004, 4),  # the 4 s clip is 96 frames: it fits frame for frame
        ("23.976", 97, 4.0457, 6),
        ("23.976", 95, 3.9623, 4),
    ],
)
def test_gap_seconds_and_auto_duration(scene, timeline, rate, gap_frames, seconds, auto):
    set_frame_rate(scene, rate)
    left = timeline.color("left", 1, 1, 50, RED)
    right = timeline.color("right", 1, 51 + gap_frames, 30, BLUE)
    transition = find_transition(scene, left, right)
    assert transition.gap_frames == gap_frames
    assert transition.gap_seconds == pytest.approx(seconds, abs=1e-3)
    assert transition.gap.auto_duration_seconds("720p") == auto
    assert transition.gap.auto_duration_seconds("1080p") == 8
    if rate == "23.976":
        assert transition.rate == Fraction(24000, 1001)


def test_adjacent_strips_have_a_zero_gap(scene, timeline):
    left = timeline.color("left", 1, 1, 50, RED)
    right = timeline.color("right", 1, 51, 50, BLUE)
    transition = find_transition(scene, left, right)
    assert transition.is_adjacent
    assert transition.gap_frames == 0


def test_playhead_gap_on_any_channel(scene, timeline):
    timeline.color("early", 3, 1, 20, GREEN)
    timeline.color("left", 1, 1, 50, RED)
    timeline.color("right", 2, 81, 30, BLUE)
    timeline.color("later", 1, 120, 30, GREEN)
    for frame in (51, 60, 80):
        scene.frame_current = frame
        transition = find_transition_at_frame(scene)
        assert (transition.left_name, transition.right_name) == ("left", "right")
        assert (transition.first_frame, transition.last_frame) == (50, 81)


def test_playhead_ignores_sound_strips(scene, timeline, tmp_path):
    # A music bed under the whole edit does not fill the gap. Sound strips need audio support,
    # which the 4.2 wheel lacks; the selection logic is the same either way.
    timeline.color("left", 1, 1, 50, RED)
    timeline.color("right", 1, 81, 30, BLUE)
    try:
        clip = timeline.clip("music", solid(RED), solid(RED), seconds=5, with_audio=True)
        timeline.strips.new_sound(name="music", filepath=str(clip), channel=5, frame_start=1)
    except RuntimeError:
        pytest.skip("this Blender build has no audio support")
    assert find_transition_at_frame(scene, 60).right_name == "right"


def test_playhead_ties_go_to_the_top_channel(scene, timeline):
    timeline.color("low", 1, 1, 50, RED)
    timeline.color("high", 3, 11, 40, GREEN)
    timeline.color("right_low", 1, 81, 30, BLUE)
    timeline.color("right_high", 4, 81, 30, BLUE)
    transition = find_transition_at_frame(scene, 60)
    assert (transition.left_name, transition.right_name) == ("high", "right_high")


def test_selection_two_strips_or_playhead(scene, timeline):
    left = timeline.color("left", 1, 1, 50, RED)
    right = timeline.color("right", 1, 71, 30, BLUE)
    for strip in compat.top_level_strips(scene):
        strip.select = False
    scene.frame_current = 60
    assert gaps.find_transition_from_selection(scene).left_name == "left"
    left.select = right.select = True
    scene.frame_current = 1  # the selection wins over the playhead
    assert gaps.find_transition_from_selection(scene).right_name == "right"


def test_refuses_one_strip_only(scene, timeline):
    only = timeline.color("only", 1, 1, 50, RED)
    for strip in compat.top_level_strips(scene):
        strip.select = False
    only.select = True
    before = timeline_snapshot(scene)
    with pytest.raises(TimelineError, match=r"^Select exactly two strips .*selected: 'only'$"):
        gaps.find_transition_from_selection(scene)
    only.select = False
    with pytest.raises(TimelineError, match=r"^No strip starts after frame 60"):
        find_transition_at_frame(scene, 60)
    with pytest.raises(TimelineError, match=r"^Pick two different strips"):
        find_transition(scene, only, only)
    assert timeline_snapshot(scene) == before


def test_refuses_overlapping_strips(scene, timeline):
    left = timeline.color("left", 1, 1, 50, RED)
    right = timeline.color("right", 2, 41, 30, BLUE)
    before = timeline_snapshot(scene)
    with pytest.raises(
        TimelineError,
        match=r"^Strips 'left' \(channel 1, frames 1–50\) and 'right' \(channel 2, frames 41–70\) "
        "overlap by 10 frames; there is no gap between them$",
    ):
        find_transition(scene, right, left)
    assert timeline_snapshot(scene) == before


def test_refuses_playhead_over_a_strip(scene, timeline):
    timeline.color("left", 1, 1, 50, RED)
    timeline.color("title", 2, 45, 20, GREEN)
    timeline.color("right", 1, 81, 30, BLUE)
    with pytest.raises(TimelineError, match=r"^Frame 55 is not in a gap: strip 'title'"):
        find_transition_at_frame(scene, 55)
    with pytest.raises(TimelineError, match=r"^No strip ends at or before frame 0"):
        find_transition_at_frame(scene, 0)


def test_refresh_notices_a_deleted_strip(scene, timeline):
    left = timeline.color("left", 1, 1, 50, RED)
    right = timeline.color("right", 1, 71, 30, BLUE)
    transition = find_transition(scene, left, right)
    timeline.strips.remove(right)
    with pytest.raises(TimelineError, match=r"^Strip 'right' is no longer on the timeline$"):
        gaps.refresh_transition(scene, transition)
