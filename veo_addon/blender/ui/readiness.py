"""What the panel says about the scene: the transition it would fill, or why nothing can be
generated yet, in one sentence.

Computed from the scene and the preferences only (no network, no file reads), so the panel can
ask on every redraw. The sentences are the ones the operator would refuse with.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...core.errors import VeoError, missing_key_error
from ...core.timing import FitMode, clip_frame_count, plan_fit
from .. import before_paying, compat, gaps
from ..cost_report import Estimate, estimate_request
from ..gaps import Transition
from ..generation_properties import scene_request
from ..preferences import service_settings

NO_SEQUENCER = "This scene has no strips yet: add two shots with a gap between them."


@dataclass(frozen=True)
class Readiness:
    """Either a transition ready to fill (with its duration and fit), or the reason there is none."""

    transition: Transition | None = None
    reason: str = ""
    duration_seconds: int = 0
    fit_line: str = ""
    estimate: Estimate | None = None


def fit_line(transition: Transition, duration_seconds: int, mode: str) -> str:
    """How a clip of `duration_seconds` goes into the gap, in the user's words."""
    if transition.gap_frames < 1:
        return f"The right side moves along to make room for the {duration_seconds} s clip"
    plan = plan_fit(transition.gap_frames, clip_frame_count(duration_seconds), transition.rate, FitMode(mode))
    if mode == FitMode.STRETCH.value:
        if abs(plan.playback_rate - 1.0) < 0.005:
            return f"The {duration_seconds} s clip fills the gap in real time"
        return f"The {duration_seconds} s clip is retimed to fill the gap ({plan.playback_rate:.2f}× speed)"
    if plan.held_frames:
        held = plan.held_frames
        return f"The {duration_seconds} s clip plays in real time, then its last frame holds {held} frames"
    return (
        f"The {duration_seconds} s clip plays in real time; after {plan.shown_clip_seconds:.2f} s it is cut"
    )


def readiness(context: Any) -> Readiness:
    """The panel's view of `context`'s scene (the scene the generating operator works on)."""
    scene = getattr(context, "scene", None)
    if scene is None:
        return Readiness(reason="There is no scene here.")
    # Opening a Sequencer gives the scene an empty sequence editor: no strips is what counts.
    if scene.sequence_editor is None or not compat.top_level_strips(scene):
        return Readiness(reason=NO_SEQUENCER)
    try:
        settings = service_settings(context)
        if not settings.api_key:
            raise missing_key_error()
        transition = gaps.choose_transition(scene)
    except VeoError as error:
        return Readiness(reason=str(error))
    request = scene_request(scene)
    try:
        # The operator's own checks before capturing (gap limits, channels, request fields):
        # what the panel says is what pressing Generate would answer. The prompt comes later.
        duration = before_paying.check_request(scene, request, settings, prompt_to_come=True).duration_seconds
    except VeoError as error:
        return Readiness(reason=str(error))
    return Readiness(
        transition=transition,
        duration_seconds=duration,
        fit_line=fit_line(transition, duration, request.fit_mode),
        estimate=estimate_request(
            duration, request.sample_count, request.generate_audio, request.resolution, settings.price_rates
        ),
    )
