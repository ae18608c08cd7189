"""Which gaps a Veo clip can fill sensibly, decided before anything is paid for.

Veo makes clips of 4, 6 or 8 seconds only. A gap far shorter than 4 s squeezes the clip (a
1-frame gap pays for 4 s and shows one frame of it); a gap far longer than 8 s slows it down
(a 30 s gap plays an 8 s clip at 1/3.75 speed) or, in Trim mode, freezes its last frame for the
rest of the gap. Both limits are preferences, operator properties and headless flags:

- `min_gap_seconds`, default 0.5 s (12 frames at 24 fps): a shorter gap is barely seen as a
  move at all, and even the shortest clip would play more than 8x fast, throwing away seven
  eighths of what was paid for. Quick whip transitions of half a second and up still work.
- `max_stretch`, default 2.0: how many times longer than the clip the gap may be. At 2x each
  clip frame shows twice (12 distinct pictures a second), the slowest that still reads as slow
  motion rather than stutter; an 8 s clip fills gaps up to 16 s. The same ratio bounds a Trim,
  where the excess is one frozen picture.

Both are refusals, not warnings: a warning arrives after the money is spent (and nobody reads
it in a headless batch); raising the limit is one setting away.

Pure Python (no bpy): the Blender layer and the headless script share these rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from .errors import VeoError
from .timing import FitMode, clip_scene_frames, frames_to_seconds

DEFAULT_MIN_GAP_SECONDS = 0.5
DEFAULT_MAX_STRETCH = 2.0

# Where a user changes each limit, named in every refusal.
MIN_GAP_SETTING = 'the "Minimum Gap" preference or --min-gap'
MAX_STRETCH_SETTING = 'the "Maximum Stretch" preference or --max-stretch'


class GapRefused(VeoError):
    """No clip can fill this gap sensibly under the limits in force; nothing was sent."""

    code = "gap_refused"

    def __init__(self, gap_label: str, reason: str) -> None:
        super().__init__(f"The gap at {gap_label} {reason}")
        self.gap_label = gap_label
        self.reason = reason  # the sentence without its subject: "is shorter than ..."


@dataclass(frozen=True)
class GapLimits:
    min_gap_seconds: float = DEFAULT_MIN_GAP_SECONDS
    max_stretch: float = DEFAULT_MAX_STRETCH

    def __post_init__(self) -> None:
        if self.min_gap_seconds < 0:
            raise ValueError(f"the minimum gap must not be negative, got {self.min_gap_seconds}")
        if self.max_stretch < 1:
            raise ValueError(f"the maximum stretch must be at least 1, got {self.max_stretch}")


def gap_label(first: int, frames: int, rate: Fraction) -> str:
    """ "frames 51–146 (96 frames, 4.00 s)"."""
    plural = "frame" if frames == 1 else "frames"
    return f"frames {first}–{first + frames - 1} ({frames} {plural}, {frames_to_seconds(frames, rate):.2f} s)"


def check_gap(
    gap_start: int,
    gap_frames: int,
    rate: Fraction,
    duration_seconds: int,
    fit_mode: FitMode,
    limits: GapLimits,
) -> None:
    """Raise GapRefused (one sentence: the gap, the numbers, the limit and where to change it)
    when a `duration_seconds` clip cannot fill this gap sensibly. Touching strips (no gap,
    "make room") give the clip its own length, so they pass."""
    if gap_frames <= 0:
        return
    where = gap_label(gap_start, gap_frames, rate)
    clip_frames = clip_scene_frames(duration_seconds, rate)
    if frames_to_seconds(gap_frames, rate) + 1e-9 < limits.min_gap_seconds:
        raise GapRefused(
            where,
            f"is shorter than the minimum of {limits.min_gap_seconds:g} s: the "
            f"{duration_seconds} s clip would be squeezed {clip_frames / gap_frames:.0f}x "
            f"({MIN_GAP_SETTING} changes the minimum)",
        )
    stretch = gap_frames / clip_frames
    if stretch > limits.max_stretch + 1e-9:
        if FitMode(fit_mode) is FitMode.STRETCH:
            effect = f"would slow the {duration_seconds} s clip down {stretch:.2f}x"
        else:
            held = frames_to_seconds(gap_frames - clip_frames, rate)
            effect = f"would freeze the {duration_seconds} s clip's last frame for {held:.1f} s"
        raise GapRefused(
            where,
            f"{effect}, more than the maximum stretch of {limits.max_stretch:g}x "
            f"(shorten the gap, or raise {MAX_STRETCH_SETTING})",
        )
