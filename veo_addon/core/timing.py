"""Gap arithmetic: frames and seconds at the scene's rate, the clip's "auto" duration, the fit plan.

Pure Python (no bpy) so the UI, the job worker and the tests can all call it from any thread.
Veo returns 24 fps clips of 4, 6 or 8 seconds; the scene may run at any rate, including the
NTSC ones (23.976 = 24000/1001), so rates are kept as exact fractions.

Clips are conformed the way editors conform them: an NTSC rate counts as the whole rate it
stands for (`nominal_rate`). A 24 fps clip plays frame for frame at 23.976 (96 clip frames are
96 scene frames, no speed effect), and at 29.97 or 59.94 it is timed as at 30 or 60. Durations
are decided in frames for the same reason: a 96-frame gap at 23.976 takes the 4 s clip.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

from .request_choices import durations_for

CLIP_FPS = 24

# Blender stores fps_base as a float32 (1.001 reads back as 1.00100004673); NTSC bases are
# n/1000, so limiting the base's denominator recovers the exact rate (24000/1001).
_MAX_BASE_DENOMINATOR = 1000


def frame_rate(fps: float, fps_base: float = 1.0) -> Fraction:
    """The scene's frame rate as an exact fraction: `frame_rate(24, 1.001) == Fraction(24000, 1001)`."""
    if fps <= 0 or fps_base <= 0:
        raise ValueError(f"frame rate must be positive, got fps={fps} fps_base={fps_base}")
    return Fraction(fps).limit_denominator(_MAX_BASE_DENOMINATOR) / Fraction(fps_base).limit_denominator(
        _MAX_BASE_DENOMINATOR
    )


def nominal_rate(rate: Fraction | float) -> Fraction:
    """The whole rate an NTSC rate stands for (24000/1001 -> 24, 29.97 -> 30); others unchanged."""
    exact = Fraction(rate)
    whole = round(exact * Fraction(1001, 1000))
    # Within a millionth: a clip's measured 23.976 comes from a float division.
    if whole > 0 and abs(exact - Fraction(whole * 1000, 1001)) <= Fraction(whole, 10**6):
        return Fraction(whole)
    return exact


def frames_to_seconds(frames: int, rate: Fraction) -> float:
    return float(Fraction(frames) / rate)


def seconds_to_frames(seconds: float, rate: Fraction) -> int:
    """The nearest whole number of frames lasting `seconds` at `rate`."""
    return round(Fraction(seconds) * rate)


def clip_frame_count(duration_seconds: float, clip_fps: int = CLIP_FPS) -> int:
    return round(duration_seconds * clip_fps)


def auto_duration_seconds(gap_seconds: float, resolution: str = "720p") -> int:
    """The shortest Veo duration that covers `gap_seconds`; 8 s when nothing shorter does, or at
    1080p. A gap on the timeline is decided in frames instead (`auto_duration_for_frames`)."""
    durations = durations_for(resolution)
    for duration in durations:
        # A hair of tolerance: 100 frames at 25 fps is exactly 4 s even after float rounding.
        if duration + 1e-9 >= gap_seconds:
            return duration
    return durations[-1]


def auto_duration_for_frames(gap_frames: int, scene_rate: Fraction, resolution: str = "720p") -> int:
    """The shortest Veo duration whose conformed clip covers `gap_frames` scene frames.

    Counted in frames, not seconds: at 23.976 a 96-frame gap lasts 4.004 s, yet the 4 s clip
    (96 frames) fills it frame for frame; comparing seconds would pay for a 6 s clip and squeeze it.
    """
    durations = durations_for(resolution)
    for duration in durations:
        if clip_scene_frames(duration, scene_rate) >= gap_frames:
            return duration
    return durations[-1]


@dataclass(frozen=True)
class Gap:
    """The frames between two strips: [start, end), end exclusive, at `rate` frames per second."""

    start: int
    end: int
    rate: Fraction

    @property
    def frames(self) -> int:
        return self.end - self.start

    @property
    def seconds(self) -> float:
        return frames_to_seconds(self.frames, self.rate)

    def auto_duration_seconds(self, resolution: str = "720p") -> int:
        return auto_duration_for_frames(self.frames, self.rate, resolution)


class FitMode(StrEnum):
    # Retime the whole clip so that its first frame lands on the gap's first frame and its last
    # frame on the gap's last frame (real time when the clip lasts as long as the gap).
    STRETCH = "STRETCH"
    # Play the clip at real-time speed and cut off whatever does not fit.
    TRIM = "TRIM"


class SpeedControl(StrEnum):
    """How the SPEED effect over the movie strip is set; NONE means no effect is needed."""

    NONE = "NONE"
    STRETCH = "STRETCH"
    MULTIPLY = "MULTIPLY"


@dataclass(frozen=True)
class FitPlan:
    """How a clip of `clip_frames` at `clip_fps` is laid into a range of `strip_frames` scene frames."""

    strip_frames: int
    speed_control: SpeedControl
    # Only meaningful with SpeedControl.MULTIPLY: source frames advanced per scene frame.
    speed_factor: float
    # Clip seconds shown per second of scene playback: 1.0 is real time (as conformed: a 24 fps
    # clip shown frame for frame at 23.976 counts as real time).
    playback_rate: float
    # How many seconds of the clip are shown (less than its length when the tail is trimmed).
    shown_clip_seconds: float
    # Scene frames at the end that hold the clip's last frame (a TRIM of a clip shorter than the gap).
    held_frames: int

    @property
    def needs_speed_effect(self) -> bool:
        return self.speed_control is not SpeedControl.NONE


def plan_fit(
    strip_frames: int,
    clip_frames: int,
    scene_rate: Fraction,
    mode: FitMode = FitMode.STRETCH,
    clip_fps: float = CLIP_FPS,
) -> FitPlan:
    """Decide how a `clip_frames`-frame clip fills `strip_frames` frames of a scene at `scene_rate`.

    Blender shows one source frame per scene frame, whatever the clip's own rate, so a 24 fps
    clip in a 25 fps scene would play 4 % fast without a SPEED effect. Both rates are conformed
    (`nominal_rate`): a 24 fps clip at 23.976 needs no effect, at 29.97 the one it needs at 30.
    """
    if strip_frames < 1:
        raise ValueError(f"the strip must be at least one frame long, got {strip_frames}")
    if clip_frames < 1:
        raise ValueError(f"the clip must have at least one frame, got {clip_frames}")
    if clip_fps <= 0:
        raise ValueError(f"the clip's frame rate must be positive, got {clip_fps}")
    clip_rate = nominal_rate(clip_fps)
    conformed_scene_rate = nominal_rate(scene_rate)
    clip_seconds = float(Fraction(clip_frames) / clip_rate)
    strip_seconds = frames_to_seconds(strip_frames, conformed_scene_rate)
    if mode is FitMode.STRETCH:
        speed = SpeedControl.NONE if clip_frames == strip_frames else SpeedControl.STRETCH
        return FitPlan(
            strip_frames=strip_frames,
            speed_control=speed,
            speed_factor=1.0,
            playback_rate=clip_seconds / strip_seconds,
            shown_clip_seconds=clip_seconds,
            held_frames=0,
        )
    source_frames_per_scene_frame = float(clip_rate / conformed_scene_rate)
    same_rate = math.isclose(source_frames_per_scene_frame, 1.0, rel_tol=1e-9)
    real_time_frames = clip_seconds * float(conformed_scene_rate)
    # A frame that would start before the clip ends still shows clip content, hence ceil.
    playing_frames = min(strip_frames, math.ceil(real_time_frames - 1e-9))
    return FitPlan(
        strip_frames=strip_frames,
        speed_control=SpeedControl.NONE if same_rate else SpeedControl.MULTIPLY,
        speed_factor=1.0 if same_rate else source_frames_per_scene_frame,
        playback_rate=1.0,
        shown_clip_seconds=min(clip_seconds, strip_seconds),
        held_frames=strip_frames - playing_frames,
    )


def clip_scene_frames(clip_seconds: float, scene_rate: Fraction) -> int:
    """How many scene frames a clip of `clip_seconds` lasts, conformed (4 s is 96 frames at 23.976)."""
    return max(1, seconds_to_frames(clip_seconds, nominal_rate(scene_rate)))


def conformed_scene_frames(clip_frames: int, clip_fps: float, scene_rate: Fraction) -> int:
    """How many scene frames a clip of `clip_frames` at `clip_fps` lasts, conformed: the room
    "make room" opens, so that the clip lands frame for frame (96 frames at 24 fps: 96 at
    23.976, 100 at 25, 120 at 29.97)."""
    if clip_fps <= 0:
        raise ValueError(f"the clip's frame rate must be positive, got {clip_fps}")
    return max(1, round(Fraction(clip_frames) * nominal_rate(scene_rate) / nominal_rate(clip_fps)))


def sound_stays_in_step(plan: FitPlan) -> bool:
    """Whether the clip's sound, which plays at its own speed, stays with the picture: true when
    the picture plays in real time (as conformed) to within one frame over the whole clip.

    The sound could only follow a retimed picture through strip retiming, and adding retiming
    keys kills Blender in background mode (4.2 and 5.0), so a retimed picture goes in silent.
    """
    if plan.speed_control is not SpeedControl.STRETCH:
        return True  # trimmed: real time; or frame for frame
    # By the picture's last frame, real-time sound is this many scene frames ahead or behind.
    return abs(plan.playback_rate - 1) * plan.strip_frames <= 1 + 1e-9
