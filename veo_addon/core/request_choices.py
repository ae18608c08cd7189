"""What the submit endpoint's fields may be: the choices the request is validated against.

Apart from the request itself (request.py, with the image checks it imports) because the
add-on's properties and preferences offer these choices when it registers.
"""

from __future__ import annotations

from enum import StrEnum

SEED_MAX = 4_294_967_295

RESOLUTIONS = ("720p", "1080p")
ASPECT_RATIOS = ("16:9", "9:16")
DURATIONS = (4, 6, 8)
# Veo only produces 1080p clips at the longest duration.
FULL_HD_DURATION_SECONDS = 8
SAMPLE_COUNT_RANGE = (1, 4)
PERSON_GENERATION = ("allow_adult", "dont_allow", "allow_all")


def durations_for(resolution: str) -> tuple[int, ...]:
    """The clip lengths, in seconds, offered at `resolution` (1080p: 8 s only)."""
    return (FULL_HD_DURATION_SECONDS,) if resolution == "1080p" else DURATIONS


class Base64Form(StrEnum):
    """How image bytes are written into the JSON body (the spec leaves this open)."""

    DATA_URI = "data_uri"  # data:image/png;base64,....
    BARE = "bare"  # the Base64 text alone

    def other(self) -> Base64Form:
        return Base64Form.BARE if self is Base64Form.DATA_URI else Base64Form.DATA_URI
