"""What the user asked for in one generation: the request's fields, the keyframe sources, and
how the clip goes into its gap."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..core.fit_methods import FitMethod
from ..core.timing import FitMode
from .keyframe_sources import KeyframeSource

if TYPE_CHECKING:
    from .gaps import Transition


@dataclass(frozen=True)
class GenerationOptions:
    """What the user asked for; "AUTO" aspect and duration are resolved against the scene."""

    prompt: str
    negative_prompt: str = ""
    seed: int | None = None
    resolution: str = "720p"
    aspect_ratio: str = "auto"
    duration: str = "auto"
    sample_count: int = 1
    generate_audio: bool = False
    person_generation: str = "allow_adult"
    first_source: KeyframeSource = field(default_factory=KeyframeSource)
    last_source: KeyframeSource = field(default_factory=KeyframeSource)
    fit_method: FitMethod = FitMethod.CROP
    fit_mode: FitMode = FitMode.STRETCH
    make_room: bool = False
    force_new: bool = False

    def duration_for(self, transition: Transition) -> int:
        if self.duration == "auto":
            return transition.gap.auto_duration_seconds(self.resolution)
        return int(self.duration)

    def request_fields(self, duration_seconds: int) -> dict[str, Any]:
        """The request's fields but the images and the aspect ratio (which needs the scene)."""
        return {
            "prompt": self.prompt,
            "negative_prompt": self.negative_prompt,
            "seed": self.seed,
            "resolution": self.resolution,
            "duration_seconds": duration_seconds,
            "sample_count": self.sample_count,
            "generate_audio": self.generate_audio,
            "person_generation": self.person_generation,
        }
