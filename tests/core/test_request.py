"""Every field rule of the submit endpoint is enforced before anything is sent."""

from __future__ import annotations

import base64
import io
import json

import pytest
from PIL import Image

from tests.core.image_files import png_header_only
from veo_addon.core.errors import ValidationError
from veo_addon.core.request import (
    MAX_IMAGE_BYTES,
    Base64Form,
    GenerationRequest,
    ImageInput,
    validate_parameters,
)


def png_bytes(color: tuple[int, int, int] = (200, 30, 30), size: tuple[int, int] = (64, 36)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg_bytes(color: tuple[int, int, int] = (30, 30, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 36), color).save(buffer, format="JPEG")
    return buffer.getvalue()


def make_request(**overrides: object) -> GenerationRequest:
    fields: dict[str, object] = {
        "image": ImageInput.from_bytes(png_bytes()),
        "last_image": ImageInput.from_bytes(jpeg_bytes()),
        "prompt": "a slow dolly from the beach into the forest",
    }
    fields.update(overrides)
    return GenerationRequest(**fields)  # type: ignore[arg-type]


def refusal(**overrides: object) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        make_request(**overrides)
    return caught.value


def test_defaults_are_the_documented_ones() -> None:
    body = make_request().to_body()
    assert body["resolution"] == "720p"
    assert body["aspect_ratio"] == "16:9"
    assert body["duration_seconds"] == 8
    assert body["sample_count"] == 1
    assert body["enhance_prompt"] is True
    assert body["generate_audio"] is False
    assert body["person_generation"] == "allow_adult"
    # Optional fields the user did not set are left for the service's own defaults.
    assert "seed" not in body and "negative_prompt" not in body


def test_every_field_reaches_the_body_with_the_providers_names() -> None:
    body = make_request(
        negative_prompt="people",
        seed=4_294_967_295,
        resolution="1080p",
        aspect_ratio="9:16",
        duration_seconds=8,
        sample_count=4,
        generate_audio=True,
        person_generation="dont_allow",
    ).to_body()
    assert set(body) == {
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
    }
    assert body["seed"] == 4_294_967_295 and body["sample_count"] == 4
    json.dumps(body)  # the body must be plain JSON


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("resolution", "4k", "720p, 1080p"),
        ("aspect_ratio", "1:1", "16:9, 9:16"),
        ("duration_seconds", 5, "4, 6, 8"),
        ("duration_seconds", True, "4, 6 or 8"),
        ("person_generation", "everyone", "allow_adult, dont_allow, allow_all"),
        ("sample_count", 0, "1 to 4"),
        ("sample_count", 5, "1 to 4"),
        ("seed", -1, "0 to 4294967295"),
        ("seed", 4_294_967_296, "0 to 4294967295"),
        ("seed", 1.5, "0 to 4294967295"),
        ("enhance_prompt", False, "cannot be turned off"),
    ],
)
def test_out_of_range_and_unknown_values_are_refused_naming_field_and_allowed_values(
    field: str, value: object, words: str
) -> None:
    error = refusal(**{field: value})
    message = str(error)
    assert error.field == field
    assert message.startswith(f"{field}:")
    assert words in message
    assert "\n" not in message


@pytest.mark.parametrize("duration", [4, 6])
def test_1080p_needs_8_seconds(duration: int) -> None:
    error = refusal(resolution="1080p", duration_seconds=duration)
    assert "1080p" in str(error) and "8-second" in str(error)
    assert make_request(resolution="1080p", duration_seconds=8).resolution == "1080p"


@pytest.mark.parametrize("prompt", ["", "   \n\t"])
def test_empty_prompt_is_refused(prompt: str) -> None:
    assert refusal(prompt=prompt).field == "prompt"


def test_seed_bounds_are_inclusive() -> None:
    assert make_request(seed=0).to_body()["seed"] == 0
    assert make_request(seed=4_294_967_295).seed == 4_294_967_295


def test_only_png_or_jpeg_bytes_are_accepted() -> None:
    gif = io.BytesIO()
    Image.new("RGB", (8, 8)).save(gif, format="GIF")
    with pytest.raises(ValidationError, match="image: must be a PNG or JPEG"):
        ImageInput.from_bytes(gif.getvalue())
    with pytest.raises(ValidationError, match="last_image: must be a PNG or JPEG"):
        ImageInput.from_bytes(b"hello", field_name="last_image")


def test_truncated_png_is_refused_as_unreadable() -> None:
    data = png_bytes(size=(256, 256))
    with pytest.raises(ValidationError, match="not a readable image"):
        ImageInput.from_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("side", [10_000, 20_000])  # over the limit; far over it (Pillow's own refusal)
def test_an_image_with_too_many_pixels_is_refused_as_a_field(side: int) -> None:
    with pytest.raises(ValidationError, match=r"^last_image: is not a readable image \(.*89 megapixels"):
        ImageInput.from_bytes(png_header_only(side, side), field_name="last_image")


def test_image_over_20_mb_is_refused_with_its_size() -> None:
    oversized = png_bytes() + b"\0" * (MAX_IMAGE_BYTES + 1)
    with pytest.raises(ValidationError, match=r"is 20\.0 MB; the service accepts at most 20 MB"):
        ImageInput.from_bytes(oversized)


@pytest.mark.parametrize(
    "url", ["ftp://example.com/a.png", "file:///tmp/a.png", "example.com/a.png", "https://"]
)
def test_image_urls_must_be_http_or_https(url: str) -> None:
    with pytest.raises(ValidationError, match="http:// or https://"):
        ImageInput.from_url(url)


def test_url_images_pass_through_untouched() -> None:
    url = "https://example.com/frames/a.png?sig=1"
    request = make_request(image=ImageInput.from_url(url))
    assert request.to_body()["image"] == url
    assert request.to_body(Base64Form.BARE)["image"] == url


def test_base64_form_is_a_setting() -> None:
    data = png_bytes()
    request = make_request(image=ImageInput.from_bytes(data))
    data_uri = request.to_body(Base64Form.DATA_URI)["image"]
    bare = request.to_body(Base64Form.BARE)["image"]
    assert data_uri == "data:image/png;base64," + base64.b64encode(data).decode()
    assert base64.b64decode(bare) == data
    assert request.to_body(Base64Form.DATA_URI)["last_image"].startswith("data:image/jpeg;base64,")


def test_missing_image_is_refused() -> None:
    assert refusal(image=None).field == "image"
    assert refusal(last_image=ImageInput()).field == "last_image"


def test_fingerprint_changes_with_any_input_and_not_otherwise() -> None:
    base = make_request(seed=7)
    assert base.fingerprint() == make_request(seed=7).fingerprint()
    assert base.fingerprint() != make_request(seed=8).fingerprint()
    assert base.fingerprint() != make_request(seed=7, prompt="another").fingerprint()
    other_image = ImageInput.from_bytes(png_bytes((1, 2, 3)))
    assert base.fingerprint() != make_request(seed=7, image=other_image).fingerprint()


def test_repr_does_not_dump_image_bytes() -> None:
    text = repr(make_request())
    assert "image/png" in text and len(text) < 400


def test_parameters_can_be_checked_before_any_keyframe_exists() -> None:
    validate_parameters(prompt="ok", resolution="1080p", duration_seconds=8)
    with pytest.raises(ValidationError, match="1080p"):
        validate_parameters(prompt="ok", resolution="1080p", duration_seconds=4)
    with pytest.raises(ValidationError, match="prompt"):
        validate_parameters(prompt=" ")
