"""The generation request: every field of the submit endpoint, validated before sending."""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass, field, fields
from typing import Any

from .errors import ValidationError
from .imagebytes import MAX_IMAGE_BYTES, SENDABLE_MIME_TYPES, ImageError, decode_image, source_format

# The fields' allowed values live apart, light: the add-on's properties offer them when it registers.
from .request_choices import (
    ASPECT_RATIOS,
    DURATIONS,
    PERSON_GENERATION,
    RESOLUTIONS,
    SAMPLE_COUNT_RANGE,
    SEED_MAX,
    Base64Form,
    durations_for,
)
from .urls import is_http_url


def _human_size(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


@dataclass(frozen=True)
class ImageInput:
    """A keyframe: PNG/JPEG bytes, or an http(s) URL the service fetches itself."""

    data: bytes | None = field(default=None, repr=False)
    url: str | None = None
    mime_type: str | None = None

    @classmethod
    def from_bytes(cls, data: bytes, *, field_name: str = "image") -> ImageInput:
        mime = SENDABLE_MIME_TYPES.get(source_format(data))  # type: ignore[arg-type]
        if mime is None:
            raise ValidationError(field_name, "must be a PNG or JPEG image (the bytes are neither)")
        if len(data) > MAX_IMAGE_BYTES:
            raise ValidationError(
                field_name, f"is {_human_size(len(data))}; the service accepts at most 20 MB"
            )
        try:
            decode_image(data, "the image").close()
        except ImageError as error:
            raise ValidationError(field_name, f"is not a readable image ({error})") from None
        return cls(data=data, mime_type=mime)

    @classmethod
    def from_url(cls, url: str, *, field_name: str = "image") -> ImageInput:
        if not is_http_url(url):
            raise ValidationError(field_name, f"URL must start with http:// or https:// (got {url!r})")
        return cls(url=url.strip())

    def body_value(self, form: Base64Form) -> str:
        if self.url is not None:
            return self.url
        assert self.data is not None and self.mime_type is not None
        encoded = base64.b64encode(self.data).decode("ascii")
        if form is Base64Form.DATA_URI:
            return f"data:{self.mime_type};base64,{encoded}"
        return encoded

    def digest(self) -> str:
        source = self.data if self.data is not None else (self.url or "").encode()
        return hashlib.sha256(source).hexdigest()

    def describe(self) -> str:
        if self.url is not None:
            return self.url
        return f"{self.mime_type}, {len(self.data or b'')} bytes"


def _require_choice(name: str, value: Any, allowed: tuple[Any, ...]) -> None:
    if value not in allowed:
        shown = ", ".join(str(choice) for choice in allowed)
        raise ValidationError(name, f"{value!r} is not allowed; use one of {shown}")


@dataclass(frozen=True)
class GenerationRequest:
    """One submit: fields, names and defaults exactly as the provider documents them."""

    image: ImageInput
    last_image: ImageInput
    prompt: str
    negative_prompt: str = ""
    seed: int | None = None
    resolution: str = "720p"
    aspect_ratio: str = "16:9"
    duration_seconds: int = 8
    sample_count: int = 1
    enhance_prompt: bool = True
    generate_audio: bool = False
    person_generation: str = "allow_adult"

    def __post_init__(self) -> None:
        for name in ("image", "last_image"):
            value = getattr(self, name)
            if not isinstance(value, ImageInput) or (value.data is None and value.url is None):
                raise ValidationError(name, "is required: give PNG/JPEG bytes or an http(s) URL")
        if not isinstance(self.prompt, str) or not self.prompt.strip():
            raise ValidationError("prompt", "must not be empty: describe the transition")
        if not isinstance(self.negative_prompt, str):
            raise ValidationError("negative_prompt", "must be text")
        if self.seed is not None and (
            isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed <= SEED_MAX
        ):
            raise ValidationError("seed", f"{self.seed!r} is out of range; use 0 to {SEED_MAX}, or none")
        _require_choice("resolution", self.resolution, RESOLUTIONS)
        _require_choice("aspect_ratio", self.aspect_ratio, ASPECT_RATIOS)
        if isinstance(self.duration_seconds, bool):
            raise ValidationError("duration_seconds", "must be 4, 6 or 8")
        _require_choice("duration_seconds", self.duration_seconds, DURATIONS)
        low, high = SAMPLE_COUNT_RANGE
        if (
            isinstance(self.sample_count, bool)
            or not isinstance(self.sample_count, int)
            or not low <= self.sample_count <= high
        ):
            raise ValidationError(
                "sample_count", f"{self.sample_count!r} is out of range; use {low} to {high}"
            )
        if self.enhance_prompt is not True:
            raise ValidationError("enhance_prompt", "cannot be turned off on Veo 3.x; leave it true")
        if not isinstance(self.generate_audio, bool):
            raise ValidationError("generate_audio", "must be true or false")
        _require_choice("person_generation", self.person_generation, PERSON_GENERATION)
        if self.duration_seconds not in durations_for(self.resolution):
            raise ValidationError(
                "resolution",
                f"1080p is offered with 8-second clips only (duration_seconds is {self.duration_seconds}); "
                "use 720p or 8 s",
            )

    def to_body(self, base64_form: Base64Form = Base64Form.DATA_URI) -> dict[str, Any]:
        body: dict[str, Any] = {
            "image": self.image.body_value(base64_form),
            "last_image": self.last_image.body_value(base64_form),
            "prompt": self.prompt,
            "resolution": self.resolution,
            "aspect_ratio": self.aspect_ratio,
            "duration_seconds": self.duration_seconds,
            "sample_count": self.sample_count,
            "enhance_prompt": self.enhance_prompt,
            "generate_audio": self.generate_audio,
            "person_generation": self.person_generation,
        }
        if self.negative_prompt:
            body["negative_prompt"] = self.negative_prompt
        if self.seed is not None:
            body["seed"] = self.seed
        return body

    def parameters(self) -> dict[str, Any]:
        """Every field but the images: what is recorded beside a job and on its strips."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("image", "last_image")}

    def fingerprint(self) -> str:
        """Same keyframe bytes, prompt, parameters and seed -> same fingerprint."""
        identity = {
            "image": self.image.digest(),
            "last_image": self.last_image.digest(),
            **self.parameters(),
        }
        return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()

    def __repr__(self) -> str:
        return (
            f"GenerationRequest(prompt={self.prompt!r}, seed={self.seed}, {self.resolution}, "
            f"{self.aspect_ratio}, {self.duration_seconds}s, samples={self.sample_count}, "
            f"audio={self.generate_audio}, image=<{self.image.describe()}>, "
            f"last_image=<{self.last_image.describe()}>)"
        )


# Stands in for the keyframes when only the other fields are checked (nothing is fetched).
_PLACEHOLDER_IMAGE = ImageInput(url="https://placeholder.invalid/keyframe.png")


def validate_parameters(**fields: Any) -> None:
    """Check every field but the images, with the same rules and messages as a real request.

    Lets the Blender layer refuse bad settings before it renders any keyframe.
    """
    GenerationRequest(image=_PLACEHOLDER_IMAGE, last_image=_PLACEHOLDER_IMAGE, **fields)
