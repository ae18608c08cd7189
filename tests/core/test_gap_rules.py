"""Gaps no clip can fill sensibly are refused before paying: too short, or stretched too far."""

from fractions import Fraction

import pytest

from veo_addon.core.gap_rules import (
    DEFAULT_MAX_STRETCH,
    DEFAULT_MIN_GAP_SECONDS,
    GapLimits,
    GapRefused,
    check_gap,
)
from veo_addon.core.timing import FitMode

DEFAULTS = GapLimits()


def test_defaults_are_half_a_second_and_twice_the_clip():
    assert (DEFAULT_MIN_GAP_SECONDS, DEFAULT_MAX_STRETCH) == (0.5, 2.0)
    assert GapLimits(0.5, 2.0) == DEFAULTS


def test_a_one_frame_gap_is_refused():
    with pytest.raises(
        GapRefused,
        match=r"^The gap at frames 51–51 \(1 frame, 0\.04 s\) is shorter than the minimum of 0\.5 s: "
        r"the 4 s clip would be squeezed 96x \(the \"Minimum Gap\" preference or --min-gap changes",
    ):
        check_gap(51, 1, Fraction(24), 4, FitMode.STRETCH, DEFAULTS)


@pytest.mark.parametrize("fit_mode", list(FitMode))
def test_half_a_second_is_enough(fit_mode):
    check_gap(51, 12, Fraction(24), 4, fit_mode, DEFAULTS)
    check_gap(51, 13, Fraction(25), 4, fit_mode, DEFAULTS)
    with pytest.raises(GapRefused):
        check_gap(51, 11, Fraction(24), 4, fit_mode, DEFAULTS)


def test_a_thirty_second_gap_would_slow_an_eight_second_clip_too_far():
    with pytest.raises(
        GapRefused,
        match=r"^The gap at frames 51–770 \(720 frames, 30\.00 s\) would slow the 8 s clip down 3\.75x, "
        r"more than the maximum stretch of 2x \(shorten the gap, or raise the \"Maximum Stretch\"",
    ):
        check_gap(51, 720, Fraction(24), 8, FitMode.STRETCH, DEFAULTS)


def test_trim_of_a_long_gap_names_the_frozen_frame():
    with pytest.raises(GapRefused, match=r"would freeze the 8 s clip's last frame for 22\.0 s, more than"):
        check_gap(51, 720, Fraction(24), 8, FitMode.TRIM, DEFAULTS)


def test_limits_can_be_raised_or_lowered():
    check_gap(51, 720, Fraction(24), 8, FitMode.STRETCH, GapLimits(max_stretch=4))
    check_gap(51, 1, Fraction(24), 4, FitMode.STRETCH, GapLimits(min_gap_seconds=0))
    check_gap(51, 384, Fraction(24), 8, FitMode.STRETCH, DEFAULTS)  # exactly twice: allowed
    with pytest.raises(GapRefused):
        check_gap(51, 48, Fraction(24), 4, FitMode.STRETCH, GapLimits(min_gap_seconds=3))


def test_ntsc_stretch_is_counted_in_conformed_frames():
    # 384 frames at 23.976 are exactly twice the 8 s clip's 192 frames.
    check_gap(51, 384, Fraction(24000, 1001), 8, FitMode.STRETCH, DEFAULTS)


def test_touching_strips_pass():
    check_gap(51, 0, Fraction(24), 4, FitMode.STRETCH, GapLimits(min_gap_seconds=1))


@pytest.mark.parametrize(("minimum", "stretch"), [(-1, 2), (0.5, 0.9)])
def test_nonsense_limits_are_refused(minimum, stretch):
    with pytest.raises(ValueError):
        GapLimits(minimum, stretch)
