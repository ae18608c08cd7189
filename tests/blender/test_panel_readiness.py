"""What the Veo tab says about a real scene: the transition it would fill (names, gap, the
duration asked for, the fit, the cost estimate), or the one sentence saying why nothing can be
generated yet. Reading it changes nothing on the timeline and sends nothing."""

from __future__ import annotations

import bpy
import pytest

from tests.blender.vse_helpers import BLUE, RED, TimelineBuilder, set_frame_rate, timeline_snapshot
from veo_addon.blender.generation_properties import scene_request
from veo_addon.blender.ui.readiness import readiness


def select(timeline: TimelineBuilder, *names: str) -> None:
    for strip in timeline.strips:
        strip.select = strip.name in names


@pytest.fixture
def two_shots(veo, timeline: TimelineBuilder) -> TimelineBuilder:  # type: ignore[no-untyped-def]
    """Left 1-50, gap 51-100 (50 frames, 2 s at 25 fps), Right 101-150; nothing selected."""
    set_frame_rate(timeline.scene, "25")
    timeline.color("Left", 1, 1, 50, RED)
    timeline.color("Right", 1, 101, 50, BLUE)
    select(timeline)
    return timeline


def test_a_selected_gap_shows_its_strips_duration_fit_and_estimate(two_shots: TimelineBuilder) -> None:
    select(two_shots, "Left", "Right")
    before = timeline_snapshot(two_shots.scene)

    state = readiness(bpy.context)

    assert state.reason == ""
    assert state.transition is not None
    assert (state.transition.left_name, state.transition.right_name) == ("Left", "Right")
    assert (state.transition.gap_frames, state.transition.gap_seconds) == (50, 2.0)
    assert state.duration_seconds == 4  # the shortest clip covering 2 s
    assert state.fit_line == "The 4 s clip is retimed to fill the gap (2.00× speed)"
    assert state.estimate is not None
    assert state.estimate.cost.label().startswith("about USD 0.80 (estimate at list price")
    assert timeline_snapshot(two_shots.scene) == before
    assert two_shots.scene.veo_jobs.__len__() == 0  # type: ignore[attr-defined]


def test_the_panel_follows_the_request_duration_and_fit(two_shots: TimelineBuilder) -> None:
    select(two_shots, "Left", "Right")
    request = scene_request(two_shots.scene)
    request.duration, request.fit_mode, request.generate_audio = "8", "TRIM", True

    state = readiness(bpy.context)

    assert state.duration_seconds == 8
    assert state.fit_line == "The 8 s clip plays in real time; after 2.00 s it is cut"
    assert state.estimate is not None and state.estimate.cost.duration_seconds == 8


def test_nothing_selected_and_the_playhead_on_a_strip_says_so(two_shots: TimelineBuilder) -> None:
    two_shots.scene.frame_current = 20
    assert (
        readiness(bpy.context).reason
        == "Frame 20 is not in a gap: strip 'Left' (channel 1, frames 1–50) covers it"
    )


def test_nothing_selected_with_the_playhead_in_the_gap_uses_that_gap(two_shots: TimelineBuilder) -> None:
    two_shots.scene.frame_current = 70
    state = readiness(bpy.context)
    assert state.transition is not None and state.transition.left_name == "Left", state.reason


def test_one_selected_strip_asks_for_two(two_shots: TimelineBuilder) -> None:
    select(two_shots, "Left")
    assert readiness(bpy.context).reason.startswith("Select exactly two strips"), readiness(bpy.context)


def test_touching_strips_say_make_room(veo, timeline: TimelineBuilder) -> None:  # type: ignore[no-untyped-def]
    timeline.color("Left", 1, 1, 50, RED)
    timeline.color("Right", 1, 51, 50, BLUE)
    select(timeline, "Left", "Right")

    state = readiness(bpy.context)
    assert state.transition is None
    assert state.reason == (
        "Strips 'Left' and 'Right' touch (no gap): turn on \"Make Room\" to push the right side along"
    )

    scene_request(timeline.scene).make_room = True
    state = readiness(bpy.context)
    assert state.transition is not None and state.transition.is_adjacent
    assert (
        state.fit_line == f"The right side moves along to make room for the {state.duration_seconds} s clip"
    )


NO_STRIPS = "This scene has no strips yet: add two shots with a gap between them."


def test_no_sequencer_says_add_shots(veo, scene: bpy.types.Scene) -> None:  # type: ignore[no-untyped-def]
    scene.sequence_editor_clear()
    assert readiness(bpy.context).reason == NO_STRIPS


def test_an_empty_sequencer_says_add_shots(veo, scene: bpy.types.Scene) -> None:  # type: ignore[no-untyped-def]
    # Opening a Sequencer editor creates the scene's (empty) sequence editor.
    assert scene.sequence_editor is not None
    assert readiness(bpy.context).reason == NO_STRIPS


def test_offline_says_online_access_is_off(
    two_shots: TimelineBuilder, monkeypatch: pytest.MonkeyPatch
) -> None:
    select(two_shots, "Left", "Right")
    assert not bpy.app.online_access  # the wheel runs offline; only a loopback service is allowed
    monkeypatch.setenv("VEO_BASE_URL", "https://api.example.com")
    assert readiness(bpy.context).reason.startswith("Online access is off, so nothing is sent")


def test_no_key_says_where_to_set_it(two_shots: TimelineBuilder, monkeypatch: pytest.MonkeyPatch) -> None:
    select(two_shots, "Left", "Right")
    monkeypatch.delenv("VEO_API_KEY")
    assert readiness(bpy.context).reason == (
        "No API key: set it in the add-on preferences or the VEO_API_KEY environment variable."
    )


@pytest.mark.parametrize(
    ("right_start", "words"),
    [(52, "shorter than the minimum"), (15051, "would slow the 8 s clip down")],
    ids=["one-frame gap", "ten-minute gap"],
)
def test_a_gap_the_operator_would_refuse_is_refused_in_the_panel_too(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, right_start: int, words: str
) -> None:
    """No estimate for a gap Generate would refuse: the panel says the operator's own sentence."""
    set_frame_rate(timeline.scene, "25")
    timeline.color("Left", 1, 1, 50, RED)
    timeline.color("Right", 1, right_start, 50, BLUE)
    select(timeline, "Left", "Right")

    state = readiness(bpy.context)

    assert state.transition is None and state.estimate is None
    assert words in state.reason
    with pytest.raises(RuntimeError) as refused:
        bpy.ops.veo.generate_transition(left_strip="Left", right_strip="Right", prompt="a dissolve")
    assert str(refused.value).strip().endswith(state.reason)


def test_all_channels_locked_is_said_before_pressing_generate(two_shots: TimelineBuilder) -> None:
    select(two_shots, "Left", "Right")
    for channel in two_shots.scene.sequence_editor.channels:
        channel.lock = True

    state = readiness(bpy.context)

    assert state.transition is None and "No free unlocked channel" in state.reason
