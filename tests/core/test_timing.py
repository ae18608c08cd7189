"""Gap arithmetic at whole and NTSC frame rates; the fit plan for both fit modes."""

from fractions import Fraction

import pytest

from veo_addon.core.timing import (
    FitMode,
    Gap,
    SpeedControl,
    auto_duration_for_frames,
    auto_duration_seconds,
    clip_scene_frames,
    conformed_scene_frames,
    frame_rate,
    frames_to_seconds,
    nominal_rate,
    plan_fit,
    seconds_to_frames,
)

NTSC_FILM = Fraction(24000, 1001)
NTSC_VIDEO = Fraction(30000, 1001)
NTSC_60 = Fraction(60000, 1001)


def test_frame_rate_recovers_ntsc_from_blender_float32_fps_base():
    # Blender stores fps_base as float32: 1.001 reads back as 1.00100004673...
    assert frame_rate(24, 1.0010000467300415) == NTSC_FILM
    assert frame_rate(30, 1.001) == Fraction(30000, 1001)
    assert frame_rate(25, 1.0) == 25
    assert frame_rate(60) == 60


def test_frame_rate_refuses_non_positive():
    with pytest.raises(ValueError):
        frame_rate(0)
    with pytest.raises(ValueError):
        frame_rate(24, 0)


@pytest.mark.parametrize(
    ("frames", "rate", "seconds"),
    [(96, Fraction(24), 4.0), (100, Fraction(25), 4.0), (120, Fraction(30), 4.0), (240, Fraction(60), 4.0)],
)
def test_frames_to_seconds_whole_rates(frames, rate, seconds):
    assert frames_to_seconds(frames, rate) == pytest.approx(seconds)
    assert seconds_to_frames(seconds, rate) == frames


def test_frames_to_seconds_ntsc():
    assert frames_to_seconds(96, NTSC_FILM) == pytest.approx(4.004)
    assert seconds_to_frames(4.0, NTSC_FILM) == 96
    assert seconds_to_frames(8.0, NTSC_FILM) == 192


@pytest.mark.parametrize(
    ("gap_seconds", "expected"),
    [(0.5, 4), (3.9, 4), (4.0, 4), (4.01, 6), (6.0, 6), (7.5, 8), (8.0, 8), (12.0, 8)],
)
def test_auto_duration_is_shortest_covering(gap_seconds, expected):
    assert auto_duration_seconds(gap_seconds, "720p") == expected


def test_auto_duration_is_eight_at_1080p():
    assert auto_duration_seconds(1.0, "1080p") == 8


def test_gap_at_ntsc_rate():
    gap = Gap(start=51, end=147, rate=NTSC_FILM)
    assert gap.frames == 96
    assert gap.seconds == pytest.approx(4.004)
    # 96 frames at 23.976 is a hair over 4 s, but the 4 s clip (96 frames) fills it frame for
    # frame: the duration is decided in frames (it used to pay for 6 s and squeeze them).
    assert gap.auto_duration_seconds() == 4
    assert Gap(start=51, end=148, rate=NTSC_FILM).auto_duration_seconds() == 6


def test_gap_exact_four_seconds_at_25():
    assert Gap(start=51, end=151, rate=Fraction(25)).auto_duration_seconds() == 4


def test_stretch_needs_no_effect_when_frames_match():
    plan = plan_fit(96, 96, Fraction(24), FitMode.STRETCH)
    assert plan.speed_control is SpeedControl.NONE
    assert plan.playback_rate == pytest.approx(1.0)
    assert not plan.needs_speed_effect


@pytest.mark.parametrize("rate", [Fraction(25), Fraction(30), Fraction(60), NTSC_FILM])
def test_stretch_into_real_time_gap_plays_real_time(rate):
    strip_frames = clip_scene_frames(4.0, rate)
    plan = plan_fit(strip_frames, 96, rate, FitMode.STRETCH)
    assert plan.strip_frames == strip_frames
    # Within one scene frame of real time over the clip's 4 s.
    assert abs(plan.playback_rate - 1.0) * 4.0 * float(rate) <= 1.0
    assert plan.shown_clip_seconds == pytest.approx(4.0)


def test_stretch_in_ntsc_real_time_gap_needs_no_effect():
    plan = plan_fit(clip_scene_frames(4.0, NTSC_FILM), 96, NTSC_FILM, FitMode.STRETCH)
    assert plan.speed_control is SpeedControl.NONE


def test_stretch_compresses_into_a_shorter_gap():
    plan = plan_fit(75, 96, Fraction(25), FitMode.STRETCH)
    assert plan.speed_control is SpeedControl.STRETCH
    assert plan.playback_rate == pytest.approx(4.0 / 3.0)


def test_trim_at_same_rate_cuts_the_tail_without_effect():
    plan = plan_fit(60, 96, Fraction(24), FitMode.TRIM)
    assert plan.speed_control is SpeedControl.NONE
    assert plan.playback_rate == 1.0
    assert plan.shown_clip_seconds == pytest.approx(2.5)
    assert plan.held_frames == 0


def test_trim_at_other_rate_multiplies_to_real_time():
    plan = plan_fit(60, 96, Fraction(30), FitMode.TRIM)
    assert plan.speed_control is SpeedControl.MULTIPLY
    assert plan.speed_factor == pytest.approx(0.8)
    assert plan.shown_clip_seconds == pytest.approx(2.0)


def test_trim_of_a_short_clip_holds_the_last_frame():
    plan = plan_fit(130, 96, Fraction(25), FitMode.TRIM)
    assert plan.held_frames == 30
    assert plan.shown_clip_seconds == pytest.approx(4.0)


@pytest.mark.parametrize(("strip_frames", "clip_frames"), [(0, 96), (10, 0)])
def test_plan_refuses_empty(strip_frames, clip_frames):
    with pytest.raises(ValueError):
        plan_fit(strip_frames, clip_frames, Fraction(24))


def test_clip_scene_frames():
    assert clip_scene_frames(4.0, Fraction(25)) == 100
    assert clip_scene_frames(8.0, Fraction(60)) == 480
    assert clip_scene_frames(6.0, NTSC_FILM) == 144


@pytest.mark.parametrize(
    ("rate", "nominal"),
    [(NTSC_FILM, 24), (NTSC_VIDEO, 30), (NTSC_60, 60), (Fraction(25), 25), (Fraction(24), 24)],
)
def test_nominal_rate_conforms_ntsc_only(rate, nominal):
    assert nominal_rate(rate) == nominal
    assert nominal_rate(float(rate)) == nominal  # a clip's measured rate is a float
    assert nominal_rate(Fraction(25, 2)) == Fraction(25, 2)


@pytest.mark.parametrize(
    ("rate", "gap_frames", "expected"),
    [
        (NTSC_FILM, 96, 4),
        (NTSC_FILM, 97, 6),
        (NTSC_VIDEO, 120, 4),
        (NTSC_VIDEO, 180, 6),
        (NTSC_60, 240, 4),
        (NTSC_60, 480, 8),
        (Fraction(25), 100, 4),
        (Fraction(25), 101, 6),
    ],
)
def test_auto_duration_is_decided_in_frames(rate, gap_frames, expected):
    assert auto_duration_for_frames(gap_frames, rate) == expected
    assert auto_duration_for_frames(gap_frames, rate, "1080p") == 8


def test_a_24_fps_clip_plays_frame_for_frame_at_23_976():
    for mode in FitMode:
        plan = plan_fit(96, 96, NTSC_FILM, mode)
        assert plan.speed_control is SpeedControl.NONE, mode
        assert plan.playback_rate == 1.0
        assert plan.held_frames == 0
    # A clip measured at 23.976 in a 24 fps scene is conformed the same way.
    assert (
        plan_fit(60, 96, Fraction(24), FitMode.TRIM, clip_fps=24000 / 1001).speed_control is SpeedControl.NONE
    )


@pytest.mark.parametrize(("rate", "factor"), [(NTSC_VIDEO, 0.8), (NTSC_60, 0.4)])
def test_trim_at_29_97_and_59_94_is_timed_as_at_30_and_60(rate, factor):
    plan = plan_fit(60, 96, rate, FitMode.TRIM)
    assert plan.speed_control is SpeedControl.MULTIPLY
    assert plan.speed_factor == factor  # exactly, not 0.8008
    assert plan.playback_rate == 1.0


def test_conformed_scene_frames_of_a_clip():
    assert conformed_scene_frames(96, 24, NTSC_FILM) == 96
    assert conformed_scene_frames(96, 24000 / 1001, Fraction(24)) == 96
    assert conformed_scene_frames(96, 24, NTSC_VIDEO) == 120
    assert conformed_scene_frames(192, 24, NTSC_60) == 480
    assert conformed_scene_frames(96, 24, Fraction(25)) == 100
    # A long clip drifts a frame per 1000 when the NTSC rate is taken as it is, not conformed.
    assert conformed_scene_frames(2400, 24, NTSC_FILM) == 2400
    assert clip_scene_frames(100.0, NTSC_FILM) == 2400
