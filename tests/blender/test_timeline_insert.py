"""Inserting the clip: exact range, real-time playback at every rate, channels, sound, takes,
custom properties, relative paths, "make room", and refusals that leave the timeline unchanged."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import bpy
import pytest
from PIL import Image

from tests.blender.vse_helpers import (
    BLUE,
    GREEN,
    RED,
    YELLOW,
    TimelineBuilder,
    load_png,
    mean_difference,
    mean_rgb,
    set_frame_rate,
    solid,
    timeline_snapshot,
)
from veo_addon.blender import capture, compat, takes
from veo_addon.blender import insert as vse_timeline
from veo_addon.blender.channels import TimelineError
from veo_addon.blender.gaps import Transition, find_transition
from veo_addon.blender.insert import insert_clip
from veo_addon.blender.provenance import ClipProvenance, read_provenance
from veo_addon.core.timing import FitMode, SpeedControl

IS_5 = bpy.app.version >= (5, 0, 0)
CLIP_FRAMES = 96  # 4 s at 24 fps
# Mean absolute difference (0-255 per channel) allowed between a rendered clip frame and the keyframe.
FRAME_TOLERANCE = 6.0

PROVENANCE = ClipProvenance(
    task_id="task-123",
    prompt="a slow dolly from the red room into the blue one",
    negative_prompt="text, watermark",
    seed=4_000_000_000,
    request_params={
        "resolution": "720p",
        "aspect_ratio": "16:9",
        "duration_seconds": 4,
        "sample_count": 1,
        "enhance_prompt": True,
        "generate_audio": False,
        "person_generation": "allow_adult",
        "seed": 4_000_000_000,
        "negative_prompt": None,
    },
    first_keyframe_source="render of frame 50",
    last_keyframe_source="file '/tmp/b.png'",
)


@dataclass
class GapScene:
    scene: Any
    builder: TimelineBuilder
    transition: Transition
    first: Image.Image  # keyframe A as captured
    last: Image.Image  # keyframe B as captured

    def clip(self, name: str = "clip", seconds: float = 4.0, with_audio: bool = False, last=None) -> Path:
        return self.builder.clip(name, self.first, self.last if last is None else last, seconds, with_audio)


def build_gap(scene, builder: TimelineBuilder, rate: str, gap_frames: int, left_channel: int = 1) -> GapScene:
    """Red (frames 1-50) and blue (from 51 + gap) on `left_channel`, keyframes captured by rendering."""
    set_frame_rate(scene, rate)
    left = builder.color("left", left_channel, 1, 50, RED)
    right = builder.color("right", left_channel, 51 + gap_frames, 30, BLUE)
    transition = find_transition(scene, left, right)
    first, last = capture.capture_transition_keyframes(scene, transition)
    return GapScene(scene, builder, transition, load_png(first.data), load_png(last.data))


def render(scene, frame: int) -> Image.Image:
    return load_png(capture.render_frame(scene, frame))


def shown_clip_frame(image: Image.Image, first: Image.Image, last: Image.Image) -> float:
    """Which frame of the red-to-blue crossfade `image` is, from its red level."""
    red, red_first, red_last = mean_rgb(image)[0], mean_rgb(first)[0], mean_rgb(last)[0]
    return (red - red_first) / (red_last - red_first) * (CLIP_FRAMES - 1)


@pytest.mark.parametrize("rate", ["24", "25", "30", "60", "23.976"])
def test_clip_fills_the_gap_in_real_time(scene, timeline, rate):
    fps = Fraction(24000, 1001) if rate == "23.976" else Fraction(int(rate))
    gap_frames = round(4 * fps)  # a 4 s gap at this rate
    gap = build_gap(scene, timeline, rate, gap_frames)
    inserted = insert_clip(scene, gap.transition, [gap.clip()], PROVENANCE)

    movie = timeline.strips[inserted.live.clip_name]
    assert (compat.visible_start(movie), compat.visible_end(movie)) == (51, 51 + gap_frames)
    assert (inserted.start, inserted.end) == (51, 51 + gap_frames)
    # Real time within one frame: the clip's 4 s against the gap's length at this rate.
    assert abs(gap_frames / fps - 4) * fps <= 1
    assert abs(inserted.live.plan.playback_rate - 1) * 4 * fps <= 1
    speed_name = inserted.live.speed_name
    if gap_frames == CLIP_FRAMES:
        assert speed_name is None
    else:
        speed = timeline.strips[speed_name]
        assert speed.speed_control == "STRETCH"
        assert (compat.visible_start(speed), compat.visible_end(speed)) == (51, 51 + gap_frames)
    # The clip's first frame shows at the gap's first frame, its last at the gap's last.
    assert mean_difference(render(scene, 51), gap.first) <= FRAME_TOLERANCE
    assert mean_difference(render(scene, 50 + gap_frames), gap.last) <= FRAME_TOLERANCE
    middle = 51 + gap_frames // 2
    expected = (middle - 51) * CLIP_FRAMES / gap_frames
    assert shown_clip_frame(render(scene, middle), gap.first, gap.last) == pytest.approx(expected, abs=1.5)
    # The strips around the gap are untouched.
    assert compat.visible_end(timeline.strips["left"]) == 51
    assert compat.visible_start(timeline.strips["right"]) == 51 + gap_frames


@pytest.mark.parametrize(("rate", "gap_frames"), [("25", 60), ("30", 100), ("23.976", 70)])
def test_stretch_squeezes_a_longer_clip_into_a_short_gap(scene, timeline, rate, gap_frames):
    gap = build_gap(scene, timeline, rate, gap_frames)
    inserted = insert_clip(scene, gap.transition, [gap.clip()], PROVENANCE, fit_mode="STRETCH")
    assert (inserted.start, inserted.end) == (51, 51 + gap_frames)
    assert mean_difference(render(scene, 51), gap.first) <= FRAME_TOLERANCE
    assert mean_difference(render(scene, 50 + gap_frames), gap.last) <= FRAME_TOLERANCE


@pytest.mark.parametrize(("rate", "gap_frames"), [("24", 60), ("30", 60), ("60", 150), ("23.976", 50)])
def test_trim_plays_real_time_and_cuts_the_tail(scene, timeline, rate, gap_frames):
    gap = build_gap(scene, timeline, rate, gap_frames)
    inserted = insert_clip(scene, gap.transition, [gap.clip()], PROVENANCE, fit_mode=FitMode.TRIM)
    movie = timeline.strips[inserted.live.clip_name]
    assert (compat.visible_start(movie), compat.visible_end(movie)) == (51, 51 + gap_frames)
    plan = inserted.live.plan
    assert plan.playback_rate == 1.0
    # 23.976 conforms to 24: the clip plays frame for frame, no speed effect (it used to get a 1.001x one).
    assert plan.speed_control is (SpeedControl.NONE if rate in ("24", "23.976") else SpeedControl.MULTIPLY)
    assert (inserted.live.speed_name is None) == (rate in ("24", "23.976"))
    assert mean_difference(render(scene, 51), gap.first) <= FRAME_TOLERANCE
    # At the gap's last frame the clip has played (gap - 1) scene frames of real time.
    fps = float(gap.transition.rate)
    expected = (gap_frames - 1) / fps * 24
    assert shown_clip_frame(render(scene, 50 + gap_frames), gap.first, gap.last) == pytest.approx(
        expected, abs=1.5
    )


def test_trim_of_a_short_clip_holds_its_last_frame(scene, timeline):
    gap = build_gap(scene, timeline, "25", 130)
    inserted = insert_clip(scene, gap.transition, [gap.clip()], PROVENANCE, fit_mode=FitMode.TRIM)
    assert (inserted.start, inserted.end) == (51, 181)
    assert inserted.live.plan.held_frames == 30
    assert mean_difference(render(scene, 180), gap.last) <= FRAME_TOLERANCE


def test_channel_is_the_lowest_free_unlocked_at_or_above_the_left(scene, timeline):
    gap = build_gap(scene, timeline, "24", 96, left_channel=2)
    timeline.color("below", 1, 60, 20, GREEN)  # channel 1 is free but below the left strip
    timeline.color("inside", 2, 70, 5, GREEN)  # channel 2 is busy inside the gap
    timeline.lock_channel(3)  # channel 3 is free but locked
    timeline.color("partly", 4, 140, 20, GREEN)  # channel 4 is busy over the gap's end
    timeline.color("outside", 5, 150, 20, GREEN)  # channel 5 is busy only after the gap
    inserted = insert_clip(scene, gap.transition, [gap.clip()], PROVENANCE)
    assert inserted.live.clip_channel == 5
    assert timeline.strips[inserted.live.clip_name].channel == 5
    # Nothing existing moved.
    assert [
        (s.name, s.channel) for s in compat.top_level_strips(scene) if s.name in ("inside", "partly")
    ] == [
        ("inside", 2),
        ("partly", 4),
    ]


def test_speed_effect_goes_on_the_next_free_channel_above(scene, timeline):
    gap = build_gap(scene, timeline, "25", 100)
    timeline.color("busy", 2, 60, 20, GREEN)
    inserted = insert_clip(scene, gap.transition, [gap.clip()], PROVENANCE)
    assert inserted.live.clip_channel == 1
    assert timeline.strips[inserted.live.speed_name].channel == 3
    assert mean_difference(render(scene, 51), gap.first) <= FRAME_TOLERANCE


def test_refuses_when_no_channel_is_free_and_unlocked(scene, timeline):
    gap = build_gap(scene, timeline, "24", 96, left_channel=126)
    timeline.lock_channel(126)
    timeline.lock_channel(127)
    timeline.color("busy", 128, 40, 80, GREEN)
    clip = gap.clip()
    before = timeline_snapshot(scene)
    with pytest.raises(
        TimelineError,
        match=r"^No free unlocked channel at or above channel 126 for frames 51–146: 1 needed, 0 free$",
    ):
        insert_clip(scene, gap.transition, [clip], PROVENANCE)
    assert timeline_snapshot(scene) == before


def test_refuses_when_the_takes_do_not_fit(scene, timeline):
    gap = build_gap(scene, timeline, "25", 100, left_channel=125)
    timeline.color("busy", 128, 90, 20, GREEN)
    clips = [gap.clip(f"take{index}") for index in range(2)]  # each take needs a clip and a speed effect
    before = timeline_snapshot(scene)
    with pytest.raises(TimelineError, match="4 needed, 3 free"):
        insert_clip(scene, gap.transition, clips, PROVENANCE)
    assert timeline_snapshot(scene) == before


@pytest.mark.skipif(not IS_5, reason="the 4.2 bpy wheel is built without audio (Audaspace)")
def test_sound_strip_has_the_clips_range(scene, timeline):
    gap = build_gap(scene, timeline, "25", 100)
    inserted = insert_clip(scene, gap.transition, [gap.clip(with_audio=True)], PROVENANCE)
    sound = timeline.strips[inserted.live.sound_name]
    assert sound.type == "SOUND"
    assert (compat.visible_start(sound), compat.visible_end(sound)) == (51, 151)
    assert sound.channel > inserted.live.clip_channel
    assert read_provenance(sound)["veo_role"] == "sound"
    assert not inserted.warnings


@pytest.mark.skipif(IS_5, reason="only the 4.2 wheel lacks audio support")
def test_sound_without_audio_support_is_a_warning(scene, timeline):
    gap = build_gap(scene, timeline, "25", 100)
    inserted = insert_clip(scene, gap.transition, [gap.clip(with_audio=True)], PROVENANCE)
    assert inserted.live.sound_name is None
    assert inserted.warnings and "sound was not added" in inserted.warnings[0]
    assert inserted.live.clip_name in timeline.strips


def test_no_sound_strip_without_audio(scene, timeline):
    gap = build_gap(scene, timeline, "24", 96)
    silent = insert_clip(scene, gap.transition, [gap.clip()], PROVENANCE)
    assert silent.live.sound_name is None and not silent.warnings


def test_audio_not_asked_for_is_left_out(scene, timeline):
    gap = build_gap(scene, timeline, "24", 96)
    inserted = insert_clip(scene, gap.transition, [gap.clip(with_audio=True)], PROVENANCE, with_audio=False)
    assert inserted.live.sound_name is None
    assert [s.type for s in compat.top_level_strips(scene)].count("SOUND") == 0


def test_probe_reads_frames_and_audio(timeline):
    with_sound = timeline.clip("a", solid(RED), solid(BLUE), seconds=4.0, with_audio=True)
    info = vse_timeline.probe_clip(with_sound)
    assert (info.frame_count, info.has_audio) == (96, True)
    assert info.duration_seconds == pytest.approx(4.0, abs=0.05)
    assert info.fps == 24.0
    assert not vse_timeline.probe_clip(timeline.clip("b", solid(RED), solid(BLUE), seconds=6.0)).has_audio


def test_clip_rate_is_snapped_to_a_whole_rate(tmp_path):
    almost = vse_timeline.ClipInfo(
        tmp_path / "a.mp4", frame_count=96, duration_seconds=4.0004, has_audio=False
    )
    assert almost.fps == 24.0
    ntsc = vse_timeline.ClipInfo(tmp_path / "b.mp4", frame_count=96, duration_seconds=4.004, has_audio=False)
    assert ntsc.fps == pytest.approx(23.976, abs=1e-3)


def test_takes_are_muted_above_and_swappable(scene, timeline):
    gap = build_gap(scene, timeline, "24", 96)
    clips = [
        gap.clip(f"take{index}", last=solid(colour)) for index, colour in enumerate((BLUE, GREEN, YELLOW))
    ]
    inserted = insert_clip(scene, gap.transition, clips, PROVENANCE)
    assert [take.index for take in inserted.takes] == [0, 1, 2]
    channels = [take.clip_channel for take in inserted.takes]
    assert channels == sorted(channels) and channels[0] == 1
    strips = timeline.strips
    assert [strips[take.clip_name].mute for take in inserted.takes] == [False, True, True]
    assert takes.live_take(scene, inserted.group) == 0
    assert mean_difference(render(scene, 146), solid(BLUE)) <= FRAME_TOLERANCE

    takes.set_live_take(scene, inserted.group, 2)
    assert [strips[take.clip_name].mute for take in inserted.takes] == [True, True, False]
    assert takes.live_take(scene, inserted.group) == 2
    assert mean_difference(render(scene, 146), solid(YELLOW)) <= FRAME_TOLERANCE

    group_of_second = takes.take_group_of(strips[inserted.takes[1].clip_name])
    assert group_of_second == inserted.group
    takes.set_live_take(scene, group_of_second, 1)
    assert mean_difference(render(scene, 146), solid(GREEN)) <= FRAME_TOLERANCE
    with pytest.raises(TimelineError, match=r"^There is no take 4; the takes are 1, 2, 3$"):
        takes.set_live_take(scene, inserted.group, 3)


def test_takes_mute_their_speed_effects_too(scene, timeline):
    gap = build_gap(scene, timeline, "25", 100)
    clips = [gap.clip(f"take{index}", last=solid(colour)) for index, colour in enumerate((BLUE, GREEN))]
    inserted = insert_clip(scene, gap.transition, clips, PROVENANCE)
    second = inserted.takes[1]
    assert timeline.strips[second.speed_name].mute
    takes.set_live_take(scene, inserted.group, 1)
    assert not timeline.strips[second.speed_name].mute
    assert timeline.strips[inserted.takes[0].speed_name].mute
    assert mean_difference(render(scene, 150), solid(GREEN)) <= FRAME_TOLERANCE


def test_custom_properties_record_what_made_the_clip(scene, timeline):
    gap = build_gap(scene, timeline, "25", 100)
    inserted = insert_clip(scene, gap.transition, [gap.clip(), gap.clip("second")], PROVENANCE)
    for take in inserted.takes:
        for name in (take.clip_name, take.speed_name):
            properties = read_provenance(timeline.strips[name])
            assert properties["veo_task_id"] == "task-123"
            assert properties["veo_prompt"] == PROVENANCE.prompt
            assert properties["veo_negative_prompt"] == "text, watermark"
            assert properties["veo_seed"] == "4000000000"
            assert properties["veo_first_keyframe"] == "render of frame 50"
            assert properties["veo_last_keyframe"] == "file '/tmp/b.png'"
            assert properties["veo_take_index"] == take.index
            assert properties["veo_take_count"] == 2
            assert properties["veo_take_group"] == inserted.group
            assert properties["veo_fit_mode"] == "STRETCH"
            request = properties["veo_request"]
            assert request["resolution"] == "720p"
            assert request["duration_seconds"] == 4
            assert request["enhance_prompt"] in (True, 1)
            assert request["seed"] == "4000000000"
            assert "negative_prompt" not in request  # None is left out
        assert read_provenance(timeline.strips[take.clip_name])["veo_role"] == "clip"
        assert read_provenance(timeline.strips[take.speed_name])["veo_role"] == "speed"
    assert read_provenance(timeline.strips["left"]) == {}


def test_clip_path_is_relative_once_the_blend_is_saved(scene, timeline, tmp_path):
    gap = build_gap(scene, timeline, "24", 96)
    clip = gap.clip()
    unsaved = insert_clip(scene, gap.transition, [clip], PROVENANCE)
    assert timeline.strips[unsaved.live.clip_name].filepath == str(clip.resolve())
    timeline.strips.remove(timeline.strips[unsaved.live.clip_name])

    (tmp_path / "edit").mkdir()
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit" / "project.blend"))
    saved = insert_clip(scene, gap.transition, [clip], PROVENANCE)
    movie = timeline.strips[saved.live.clip_name]
    assert movie.filepath == "//../clip.mp4"
    assert compat.content_duration(movie) == CLIP_FRAMES
    assert mean_difference(render(scene, 51), gap.first) <= FRAME_TOLERANCE


def test_make_room_pushes_everything_after_the_cut(scene, timeline):
    set_frame_rate(scene, "25")
    left = timeline.color("left", 1, 1, 50, RED)
    right = timeline.color("right", 1, 51, 50, BLUE)
    timeline.color("after", 2, 60, 20, GREEN)
    timeline.color("across", 3, 30, 40, YELLOW)  # starts before the cut: stays
    blur = compat.new_effect(
        timeline.strips,
        name="blur",
        effect_type="GAUSSIAN_BLUR",
        channel=4,
        frame_start=60,
        length=20,
        input1=timeline.strips["after"],
    )
    scene.timeline_markers.new("before", frame=20)
    scene.timeline_markers.new("cut", frame=51)
    scene.frame_end = 100
    transition = find_transition(scene, left, right)
    assert transition.is_adjacent
    clip = timeline.clip("clip", solid(RED), solid(BLUE))

    inserted = insert_clip(scene, transition, [clip], PROVENANCE, make_room=True)
    assert inserted.made_room == 100  # 4 s at 25 fps
    assert (inserted.start, inserted.end) == (51, 151)
    strips = timeline.strips
    assert (compat.visible_start(strips["right"]), strips["right"].channel) == (151, 1)
    assert (compat.visible_start(strips["after"]), strips["after"].channel) == (160, 2)
    assert compat.visible_start(blur) == 160  # moved once, with its input
    assert (compat.visible_start(strips["across"]), strips["across"].channel) == (30, 3)
    assert {m.name: m.frame for m in scene.timeline_markers} == {"before": 20, "cut": 151}
    assert scene.frame_end == 200
    # "across" covers frames 51-69 on channel 3, so channel 1 (free after the push) takes the clip.
    assert inserted.live.clip_channel == 1


def test_refuses_touching_strips_without_make_room(scene, timeline):
    left = timeline.color("left", 1, 1, 50, RED)
    right = timeline.color("right", 1, 51, 50, BLUE)
    transition = find_transition(scene, left, right)
    clip = timeline.clip("clip", solid(RED), solid(BLUE))
    before = timeline_snapshot(scene)
    with pytest.raises(
        TimelineError, match=r"^Strips 'left' and 'right' touch \(no gap at frame 51\); turn on \"make room\""
    ):
        insert_clip(scene, transition, [clip], PROVENANCE)
    assert timeline_snapshot(scene) == before


def test_refuses_make_room_over_a_locked_strip(scene, timeline):
    left = timeline.color("left", 1, 1, 50, RED)
    right = timeline.color("right", 1, 51, 50, BLUE)
    timeline.color("locked", 3, 90, 20, GREEN).lock = True
    transition = find_transition(scene, left, right)
    clip = timeline.clip("clip", solid(RED), solid(BLUE))
    before = timeline_snapshot(scene)
    with pytest.raises(
        TimelineError, match=r"^Cannot make room: strip 'locked' \(channel 3, frames 90–109\) is locked$"
    ):
        insert_clip(scene, transition, [clip], PROVENANCE, make_room=True)
    assert timeline_snapshot(scene) == before


def test_a_failure_half_way_is_undone(scene, timeline, monkeypatch):
    left = timeline.color("left", 1, 1, 50, RED)
    right = timeline.color("right", 1, 51, 50, BLUE)
    timeline.color("after", 2, 60, 20, GREEN)
    scene.timeline_markers.new("cut", frame=51)
    clip = timeline.clip("clip", solid(RED), solid(BLUE))

    def broken_effect(*args, **kwargs):
        raise RuntimeError("Error: effect could not be added")

    monkeypatch.setattr(compat, "new_effect", broken_effect)
    set_frame_rate(scene, "25")  # needs a speed effect: fails after the push and the movie strip
    transition = find_transition(scene, left, right)
    before = timeline_snapshot(scene)
    with pytest.raises(
        TimelineError, match=r"^Inserting the clip failed and was undone: Error: effect could not"
    ):
        insert_clip(scene, transition, [clip], PROVENANCE, make_room=True)
    assert timeline_snapshot(scene) == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "does not exist"),
        (b"not a video at all", "is not an MP4 video"),
        (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00\x00\x00\x08mdat", "is incomplete"),
    ],
    ids=["missing", "not-mp4", "no-moov"],
)
def test_refuses_unusable_clip_files(scene, timeline, tmp_path, content, message):
    gap = build_gap(scene, timeline, "24", 96)
    path = tmp_path / "download.mp4"
    if content is not None:
        path.write_bytes(content)
    before = timeline_snapshot(scene)
    with pytest.raises(TimelineError, match=f"^Clip file '.*download.mp4' {message}"):
        insert_clip(scene, gap.transition, [path], PROVENANCE)
    assert timeline_snapshot(scene) == before


def test_refuses_when_the_strips_moved(scene, timeline):
    gap = build_gap(scene, timeline, "24", 96)
    compat.move_strip(timeline.strips["right"], 10)
    clip = gap.clip()
    before = timeline_snapshot(scene)
    with pytest.raises(TimelineError, match="moved since the transition was chosen"):
        insert_clip(scene, gap.transition, [clip], PROVENANCE)
    assert timeline_snapshot(scene) == before


def test_refuses_no_clip(scene, timeline):
    gap = build_gap(scene, timeline, "24", 96)
    with pytest.raises(TimelineError, match=r"^No clip to insert$"):
        insert_clip(scene, gap.transition, [], PROVENANCE)
