"""Before paying: does the gap suit a clip, and will the clip go in? And for "fill all gaps",
which gaps are skipped, why, and what the rest will cost.

The rules themselves are in `core.gap_rules` (pure Python) and `insertion_plan`; this module
joins them to the operators (their limit properties) and to `generation.plan_generation`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import bpy

from ..core.errors import VeoError
from ..core.gap_rules import GapLimits, GapRefused, check_gap, gap_label
from ..core.pricing import estimate_cost
from . import gap_holders, keyframe_checks
from .channels import TimelineError
from .gap_limit_options import GapLimitProperties as GapLimitProperties  # the operators' own limits
from .gaps import Transition
from .insertion_plan import InsertionPlan, plan_insertion

if TYPE_CHECKING:
    from .generation_options import GenerationOptions
    from .preferences import ServiceSettings


def check_before_submit(
    scene: bpy.types.Scene,
    transition: Transition,
    duration_seconds: int,
    options: GenerationOptions,
    limits: GapLimits,
) -> InsertionPlan:
    """Everything about the gap and the insertion that can be known before paying.

    Raises GapRefused or TimelineError (one sentence); nothing is changed either way.
    """
    gap = transition.gap
    check_gap(gap.start, gap.frames, gap.rate, duration_seconds, options.fit_mode, limits)
    plan = plan_insertion(
        scene,
        transition,
        duration_seconds=duration_seconds,
        sample_count=options.sample_count,
        generate_audio=options.generate_audio,
        fit_mode=options.fit_mode,
        make_room=options.make_room,
    )
    if plan.sound_left_out:
        # Sound costs twice as much, and it would go unused: the insertion leaves it out
        # rather than let it drift from a retimed picture.
        raise TimelineError(
            f"The {duration_seconds} s clip plays at {plan.playback_rate:.2f}x speed to fill frames "
            f"{plan.start}–{plan.end - 1}, and its sound cannot follow a retimed picture: turn off "
            'Generate Audio (sound costs twice as much), or use "Trim", or a gap as long as the clip'
        )
    return plan


def keyframe_refusal(
    scene: bpy.types.Scene, transition: Transition, options: GenerationOptions
) -> str | None:
    """What the capture would refuse about either keyframe (missing media, a muted or empty
    picture, a bad file or URL), found by the capture's own check without rendering, in the
    capture's words; None when both can be taken."""
    for side, frame, strip_name, source, hidden in keyframe_checks.transition_sides(
        scene, transition, options.first_source, options.last_source
    ):
        try:
            keyframe_checks.check_keyframe(scene, frame, source, strip_name, side, hidden)
        except VeoError as error:
            return f"{side} keyframe: {error}"
    return None


@dataclass(frozen=True)
class Skipped:
    transition: Transition
    reason: str

    def line(self) -> str:
        gap = self.transition.gap
        return (
            f"Skipping the gap at {gap_label(gap.start, gap.frames, gap.rate)} between "
            f"'{self.transition.left_name}' and '{self.transition.right_name}': {self.reason}"
        )


@dataclass(frozen=True)
class FillPlan:
    """The gaps "fill all gaps" will generate for (with their durations), and those it skips."""

    to_fill: list[tuple[Transition, int]]
    skipped: list[Skipped]
    total_cost: float
    currency: str
    sample_count: int
    rate_per_second: float

    def cost_line(self) -> str:
        if not self.to_fill:
            which = (
                "The only gap was"
                if len(self.skipped) == 1
                else f"Every one of the {len(self.skipped)} gaps was"
            )
            return f"{which} skipped; nothing was sent and nothing is paid for."
        seconds = " + ".join(f"{duration} s" for _, duration in self.to_fill)
        samples = "sample" if self.sample_count == 1 else "samples"
        total = len(self.to_fill) + len(self.skipped)
        gaps = "gap" if total == 1 else "gaps"
        of_all = f" of {total}" if self.skipped else ""
        return (
            f"Filling {len(self.to_fill)}{of_all} {gaps}: about {self.currency} {self.total_cost:.2f} in all "
            f"(estimate at list price: ({seconds}) × {self.sample_count} {samples} × "
            f"{self.currency} {self.rate_per_second:.2f}/s)"
        )


def plan_fill(
    scene: bpy.types.Scene,
    transitions: list[Transition],
    options: GenerationOptions,
    settings: ServiceSettings,
) -> FillPlan:
    """Sort the gaps into those to fill and those to skip (with why), and total the estimate.

    Everything the capture would refuse is found here, so the total counts only gaps that
    will really be sent."""
    to_fill: list[tuple[Transition, int]] = []
    skipped: list[Skipped] = []
    for transition in transitions:
        duration = options.duration_for(transition)
        try:
            gap_holders.check_not_held(scene, transition.gap.start, transition.gap.end)
            check_before_submit(scene, transition, duration, options, settings.gap_limits)
        except VeoError as error:
            reason: str | None = f"it {error.reason}" if isinstance(error, GapRefused) else str(error)
        else:
            reason = keyframe_refusal(scene, transition, options)
        if reason is None:
            to_fill.append((transition, duration))
        else:
            skipped.append(Skipped(transition, reason))
    rates = settings.price_rates
    estimates = [
        estimate_cost(duration, options.sample_count, options.generate_audio, rates)
        for _, duration in to_fill
    ]
    return FillPlan(
        to_fill=to_fill,
        skipped=skipped,
        total_cost=round(sum(estimate.amount for estimate in estimates), 2),
        currency=rates.currency,
        sample_count=options.sample_count,
        rate_per_second=rates.per_second(options.generate_audio),
    )
