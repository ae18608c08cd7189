"""Where a keyframe comes from: the sequencer's render, one strip's picture, a file or a URL.

Apart from the capture that acts on them, because the request's properties name them when the
add-on registers, and capturing (with what it imports) waits for the first generation.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class SourceKind(StrEnum):
    RENDER = "render"  # the sequencer's output at that frame, before the view transform
    STRIP = "strip"  # only the strip's own picture at that frame
    FILE = "file"  # a PNG, JPEG, TIFF or WebP on disk
    URL = "url"  # an http(s) URL the service fetches itself


@dataclass(frozen=True)
class KeyframeSource:
    kind: SourceKind = SourceKind.RENDER
    path: str = ""  # for FILE
    url: str = ""  # for URL
