"""Submit body validation, with the rules and defaults of the provider's page (see docs/protocol.md).

Deliberately written again here rather than imported from the add-on (`veo_addon`). The local server
is the oracle the add-on's tests are judged by, and an independent stand-in written from the
protocol is a better oracle: were both sides to share one check, a mistake in it (a wrong duration
rule, a missed size limit) would be made on both sides at once, and every test would pass while the
real service refused the request. So this module imports nothing from `veo_addon`, and a changed
rule is changed here from the protocol, not copied from the add-on's code.
"""

from __future__ import annotations

import base64
import binascii
import io
import ipaddress
import random
import re
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from PIL import Image

MAX_IMAGE_BYTES = 20 * 1024 * 1024
MAX_SEED = 4_294_967_295

RESOLUTIONS = ("720p", "1080p")
ASPECT_RATIOS = ("16:9", "9:16")
DURATIONS = (4, 6, 8)
PERSON_GENERATION = ("allow_adult", "dont_allow", "allow_all")
BASE64_FORMS = ("any", "data_uri", "bare")

_DATA_URI = re.compile(
    r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(?P<params>(;[^;,]*)*?);base64,(?P<data>.*)$", re.S
)
_LOOPBACK_NAMES = ("localhost",)


class RequestRejected(Exception):
    """The submit body breaks a rule: answered 400 INVALID_REQUEST_BODY with this message."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field_name = field_name


@dataclass
class DecodedImage:
    data: bytes
    image_format: str  # "PNG" or "JPEG"
    image: Image.Image
    source_form: str  # "data_uri", "bare" or "url"


@dataclass
class SubmitParams:
    image: DecodedImage
    last_image: DecodedImage
    prompt: str
    negative_prompt: str
    seed: int
    seed_was_given: bool
    resolution: str
    aspect_ratio: str
    duration_seconds: int
    sample_count: int
    enhance_prompt: bool
    generate_audio: bool
    person_generation: str
    ignored_fields: list[str] = field(default_factory=list)


def _is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _fetch_loopback(field_name: str, url: str) -> bytes:
    # No proxies: a proxy from the environment could carry the request off this machine.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=10) as response:
            data = response.read(MAX_IMAGE_BYTES + 1)
    except Exception as exc:  # any failure to fetch is the client's bad URL
        raise RequestRejected(field_name, f"could not fetch image URL: {exc}") from None
    return data


def _sniff_format(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "PNG"
    if data.startswith(b"\xff\xd8\xff"):
        return "JPEG"
    return None


def decode_image(field_name: str, value: Any, base64_form: str) -> DecodedImage:
    if value is None or value == "":
        raise RequestRejected(field_name, "is required")
    if not isinstance(value, str):
        raise RequestRejected(field_name, "must be a string (an image URL or Base64 data)")
    text = value.strip()
    if text.lower().startswith(("http://", "https://")):
        host = urllib.parse.urlsplit(text).hostname
        if not _is_loopback_host(host):
            raise RequestRejected(
                field_name, "the local server does not fetch remote URLs; send Base64 data or a loopback URL"
            )
        data = _fetch_loopback(field_name, text)
        source_form = "url"
    else:
        match = _DATA_URI.match(text)
        if match:
            if base64_form == "bare":
                raise RequestRejected(field_name, "expected bare Base64 data, got a data URI")
            encoded = match.group("data")
            source_form = "data_uri"
        else:
            if text.lower().startswith("data:"):
                raise RequestRejected(field_name, "data URI must be of the form data:image/png;base64,...")
            if base64_form == "data_uri":
                raise RequestRejected(
                    field_name, "expected a data URI (data:image/png;base64,...), got bare data"
                )
            encoded = text
            source_form = "bare"
        # Base64 of 20 MB is about 26.7 MB: refuse far larger text before decoding it.
        if len(encoded) > (MAX_IMAGE_BYTES * 4) // 3 + 16:
            raise RequestRejected(field_name, "image is larger than 20 MB")
        try:
            data = base64.b64decode("".join(encoded.split()), validate=True)
        except (binascii.Error, ValueError):
            raise RequestRejected(field_name, "is not valid Base64 data") from None
    if len(data) > MAX_IMAGE_BYTES:
        raise RequestRejected(field_name, "image is larger than 20 MB")
    image_format = _sniff_format(data)
    if image_format is None:
        raise RequestRejected(field_name, "image must be JPEG or PNG")
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Exception:
        raise RequestRejected(field_name, f"image could not be decoded as {image_format}") from None
    return DecodedImage(data=data, image_format=image_format, image=image, source_form=source_form)


def _optional(body: dict[str, Any], name: str, default: Any) -> Any:
    value = body.get(name)
    return default if value is None else value


def _integer(name: str, value: Any) -> int:
    # JSON true/false are ints in Python; the service wants a real integer.
    if isinstance(value, bool) or not isinstance(value, int):
        raise RequestRejected(name, f"must be an integer, got {value!r}")
    return value


def _boolean(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise RequestRejected(name, f"must be a boolean, got {value!r}")
    return value


def _string(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise RequestRejected(name, f"must be a string, got {value!r}")
    return value


def _choice(name: str, value: Any, choices: tuple[Any, ...]) -> Any:
    if value not in choices or isinstance(value, bool):
        listed = ", ".join(str(choice) for choice in choices)
        raise RequestRejected(name, f"must be one of {listed}, got {value!r}")
    return value


KNOWN_FIELDS = (
    "image",
    "last_image",
    "prompt",
    "negative_prompt",
    "seed",
    "resolution",
    "aspect_ratio",
    "duration_seconds",
    "sample_count",
    "enhance_prompt",
    "generate_audio",
    "person_generation",
)


def validate_submit(
    body: Any,
    *,
    base64_form: str = "any",
    allowed_person_generation: tuple[str, ...] = PERSON_GENERATION,
    rng: random.Random | None = None,
) -> SubmitParams:
    """Check a submit body and fill in defaults; raises RequestRejected naming the field at fault."""
    if not isinstance(body, dict):
        raise RequestRejected("body", "must be a JSON object")
    # Missing required fields first, as the service reports them before any value rule.
    for required in ("image", "last_image", "prompt"):
        if body.get(required) in (None, ""):
            raise RequestRejected(required, "is required")
    prompt = body.get("prompt")
    if prompt is None or (isinstance(prompt, str) and not prompt.strip()):
        raise RequestRejected("prompt", "is required")
    prompt = _string("prompt", prompt)
    negative_prompt = _string("negative_prompt", _optional(body, "negative_prompt", ""))

    resolution = _choice("resolution", _optional(body, "resolution", "720p"), RESOLUTIONS)
    aspect_ratio = _choice("aspect_ratio", _optional(body, "aspect_ratio", "16:9"), ASPECT_RATIOS)
    duration = _choice(
        "duration_seconds", _integer("duration_seconds", _optional(body, "duration_seconds", 8)), DURATIONS
    )
    if resolution == "1080p" and duration != 8:
        raise RequestRejected(
            "resolution", f"1080p is only available with duration_seconds 8, got {duration}"
        )
    sample_count = _integer("sample_count", _optional(body, "sample_count", 1))
    if not 1 <= sample_count <= 4:
        raise RequestRejected("sample_count", f"must be between 1 and 4, got {sample_count}")
    seed_value = body.get("seed")
    if seed_value is None:
        seed = (rng or random.SystemRandom()).randint(0, MAX_SEED)
    else:
        seed = _integer("seed", seed_value)
        if not 0 <= seed <= MAX_SEED:
            raise RequestRejected("seed", f"must be between 0 and {MAX_SEED}, got {seed}")
    enhance_prompt = _boolean("enhance_prompt", _optional(body, "enhance_prompt", True))
    generate_audio = _boolean("generate_audio", _optional(body, "generate_audio", False))
    person_generation = _choice(
        "person_generation", _optional(body, "person_generation", "allow_adult"), PERSON_GENERATION
    )
    if person_generation not in allowed_person_generation:
        raise RequestRejected(
            "person_generation",
            f"{person_generation!r} is not supported with image input; "
            f"use {', '.join(allowed_person_generation)}",
        )

    first = decode_image("image", body.get("image"), base64_form)
    last = decode_image("last_image", body.get("last_image"), base64_form)
    return SubmitParams(
        image=first,
        last_image=last,
        prompt=prompt,
        negative_prompt=negative_prompt,
        seed=seed,
        seed_was_given=seed_value is not None,
        resolution=resolution,
        aspect_ratio=aspect_ratio,
        duration_seconds=duration,
        sample_count=sample_count,
        enhance_prompt=enhance_prompt,
        generate_audio=generate_audio,
        person_generation=person_generation,
        ignored_fields=sorted(set(body) - set(KNOWN_FIELDS)),
    )
