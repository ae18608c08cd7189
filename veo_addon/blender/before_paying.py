"""What the UI decides before anything is captured or paid: which request, what it costs, and
whether to ask first.

`veo.generate_transition` invoked from the interface (panel, hotkey, menu, F3) takes every
request field its caller did not set from the scene's copy (`Scene.veo_request`, what the
sidebar edits), refuses what the checks can see without a keyframe, asks for a prompt when
there is none, and asks for confirmation when the estimate is above the preference.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import bpy

from . import presubmit
from .capture import CaptureError
from .cost_report import Estimate, estimate_request
from .gaps import Transition, choose_transition
from .generation import check_before_capture
from .generation_properties import REQUEST_PROPERTY_NAMES, copy_request, generation_options
from .preferences import DEFAULT_CONFIRM_ABOVE, ServiceSettings, preferences

# Stands in for the prompt the dialog is about to ask for, so the other fields can be checked.
PROMPT_TO_COME = "(the prompt the dialog asks for)"


def take_unset_from_scene(properties: bpy.types.OperatorProperties, request: Any) -> list[str]:
    """Copy the scene's request into every request property (of an operator's `properties`)
    the caller did not set itself; returns the names copied. A value remembered from the last
    run counts as not set: the sidebar is what the user sees."""
    unset = [name for name in REQUEST_PROPERTY_NAMES if not properties.is_property_set(name, ghost=False)]
    copy_request(request, properties, skip=frozenset(REQUEST_PROPERTY_NAMES) - set(unset))
    return unset


@dataclass(frozen=True)
class BeforePaying:
    """The transition, the clip's length and its cost, known without capturing anything."""

    transition: Transition
    duration_seconds: int
    estimate: Estimate


def check_request(
    scene: bpy.types.Scene, operator: Any, settings: ServiceSettings, *, prompt_to_come: bool = False
) -> BeforePaying:
    """Every refusal `plan_generation` makes before capturing, and the estimate. Raises VeoError.

    `operator`: an operator, or the scene's request itself (the sidebar: no strips named, so the
    selection or the playhead decides). `prompt_to_come`: an empty prompt is not refused, since
    the dialog is about to ask for it."""
    left, right = getattr(operator, "left_strip", ""), getattr(operator, "right_strip", "")
    transition = choose_transition(scene, left, right)
    options = generation_options(operator, force_new=getattr(operator, "new_generation", False))
    if prompt_to_come and not options.prompt.strip():
        options = dataclasses.replace(options, prompt=PROMPT_TO_COME)
    duration = check_before_capture(scene, transition, options, settings)
    estimate = estimate_request(
        duration, options.sample_count, options.generate_audio, options.resolution, settings.price_rates
    )
    return BeforePaying(transition, duration, estimate)


def check_keyframes(scene: bpy.types.Scene, operator: Any, checked: BeforePaying) -> None:
    """Refuse, before a dialog shows a prompt field or a cost, what the capture would refuse
    about either keyframe (missing media, a muted picture, a file that is not there), in the
    capture's words. Not part of `check_request`: the panel runs that on every redraw."""
    options = generation_options(operator, force_new=getattr(operator, "new_generation", False))
    refusal = presubmit.keyframe_refusal(scene, checked.transition, options)
    if refusal is not None:
        raise CaptureError(refusal)


def confirm_above(context: bpy.types.Context | None = None) -> float:
    """The estimate (USD) above which the interface asks before paying."""
    prefs = preferences(context)
    return float(prefs.confirm_above) if prefs is not None else DEFAULT_CONFIRM_ABOVE


def needs_confirmation(estimate: Estimate, threshold: float) -> bool:
    return estimate.cost.amount > threshold


def confirmation_message(checked: BeforePaying) -> str:
    transition = checked.transition
    return (
        f"Generate {checked.estimate.what} for the gap between '{transition.left_name}' and "
        f"'{transition.right_name}': {checked.estimate.cost.label()}"
    )


def estimate_line(checked: BeforePaying) -> str:
    return f"Cost: {checked.estimate.cost.label()}"


def confirm_button(checked: BeforePaying) -> str:
    cost = checked.estimate.cost
    return f"Generate ({cost.currency} {cost.amount:.2f})"
