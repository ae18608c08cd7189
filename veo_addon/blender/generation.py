"""What one generation job needs, gathered on the main thread in one pass.

`plan_generation` refuses everything the user could have got wrong before anything is
rendered or sent (request fields, key, gap, channels, clips folder), then captures both
keyframes. The result, a `GenerationPlan`, is plain data: the job manager records it as a
job and hands it to a worker, which turns it into the request (`GenerationPlan.request`)
without touching Blender.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import bpy

from ..core.errors import missing_key_error
from ..core.keyframe_preparation import KeyframePreparation
from ..core.request import GenerationRequest, ImageInput, validate_parameters
from . import overlays, presubmit
from .capture import CapturedKeyframe, capture_transition_keyframes, resolve_aspect_ratio
from .channels import TimelineError
from .clips_folder import clips_folder_for
from .cost_report import Estimate, estimate_request
from .gaps import Transition
from .generation_options import GenerationOptions
from .preferences import ServiceSettings


@dataclass(frozen=True)
class GenerationPlan:
    """One job, checked and with its keyframes captured: everything the worker needs."""

    scene_name: str
    blend_path: str
    transition: Transition
    options: GenerationOptions
    settings: ServiceSettings
    duration_seconds: int
    aspect_ratio: str
    first: CapturedKeyframe
    last: CapturedKeyframe
    clips_folder: Path
    warnings: tuple[str, ...] = ()
    # The keyframes' encoding for the request, begun while they were captured.
    preparation: KeyframePreparation | None = field(default=None, compare=False, repr=False)

    def placement(self) -> dict[str, Any]:
        """Where the clip goes, as the job records it (the strips may move before it arrives)."""
        transition = self.transition
        return {
            "left_strip": transition.left_name,
            "right_strip": transition.right_name,
            "left_channel": transition.left_channel,
            "right_channel": transition.right_channel,
            "first_frame": transition.first_frame,
            "last_frame": transition.last_frame,
            "fit_mode": self.options.fit_mode.value,
            "make_room": self.options.make_room,
        }

    def estimate(self) -> Estimate:
        options = self.options
        return estimate_request(
            self.duration_seconds,
            options.sample_count,
            options.generate_audio,
            options.resolution,
            self.settings.price_rates,
        )

    def request(self) -> GenerationRequest:
        """The request, images encoded. Runs in the worker thread: no bpy here."""
        return GenerationRequest(
            image=_request_image(self, self.first, "image"),
            last_image=_request_image(self, self.last, "last_image"),
            aspect_ratio=self.aspect_ratio,
            **self.options.request_fields(self.duration_seconds),
        )


def plan_generation(
    scene: bpy.types.Scene,
    transition: Transition,
    options: GenerationOptions,
    settings: ServiceSettings,
) -> GenerationPlan:
    """Check, then capture both keyframes (main thread). Nothing is rendered before every
    check passed, and nothing is sent here at all."""
    duration = check_before_capture(scene, transition, options, settings)
    aspect = resolve_aspect_ratio(scene, options.aspect_ratio)
    clips_dir, warning = clips_folder_for(settings)  # a clip that cannot be saved is paid for nothing
    preparation = KeyframePreparation(aspect.value, options.resolution, options.fit_method)

    def hand_over(side: str, keyframe: CapturedKeyframe) -> None:
        if keyframe.data is not None:
            preparation.start(side, keyframe.data, keyframe.description, keyframe.opaque_pixels)

    first, last = capture_transition_keyframes(
        scene, transition, options.first_source, options.last_source, hand_over
    )
    return GenerationPlan(
        scene_name=scene.name,
        blend_path=bpy.data.filepath,
        transition=transition,
        options=options,
        settings=settings,
        duration_seconds=duration,
        aspect_ratio=aspect.value,
        first=first,
        last=last,
        clips_folder=clips_dir,
        warnings=tuple(filter(None, [warning, *_left_out_lines(first, last)])),
        preparation=preparation,
    )


def _left_out_lines(first: CapturedKeyframe, last: CapturedKeyframe) -> list[str]:
    return [
        overlays.left_out_line(side, keyframe.left_out)
        for side, keyframe in (("First", first), ("Last", last))
        if keyframe.left_out
    ]


def touching_sentence(transition: Transition) -> str:
    """Strips with no gap between them, in the words of the option that helps."""
    return (
        f"Strips '{transition.left_name}' and '{transition.right_name}' touch (no gap): "
        'turn on "Make Room" to push the right side along'
    )


def check_before_capture(
    scene: bpy.types.Scene,
    transition: Transition,
    options: GenerationOptions,
    settings: ServiceSettings,
) -> int:
    """Every refusal that needs no keyframe: request fields, key, gap, channels. Returns the
    clip's duration in seconds. Cheap enough for an operator's invoke() and its dialog."""
    duration = options.duration_for(transition)
    validate_parameters(**options.request_fields(duration))
    if not settings.api_key:
        raise missing_key_error()
    if transition.is_adjacent and not options.make_room:
        raise TimelineError(touching_sentence(transition))
    # Gap limits and the insertion's channels and moves, checked before anything is paid for.
    presubmit.check_before_submit(scene, transition, duration, options, settings.gap_limits)
    resolve_aspect_ratio(scene, options.aspect_ratio)
    return duration


def _request_image(plan: GenerationPlan, captured: CapturedKeyframe, name: str) -> ImageInput:
    if captured.url is not None:
        return ImageInput.from_url(captured.url, field_name=name)
    assert captured.data is not None
    # The capture only read headers on the main thread; decoding happens in a worker, so a file
    # that turns out truncated fails the job before anything is sent, with the keyframe named.
    side = "First" if name == "image" else "Last"
    preparation = plan.preparation or KeyframePreparation(
        plan.aspect_ratio, plan.options.resolution, plan.options.fit_method
    )
    prepared = preparation.result(side, captured.data, captured.description, captured.opaque_pixels)
    return ImageInput.from_bytes(prepared.data, field_name=name)
