"""How a keyframe of another shape is fitted to the clip's 16:9 or 9:16 frame.

Apart from the image code that does it (core/images.py, on Pillow), because the request's
properties offer the choice when the add-on registers.
"""

from __future__ import annotations

from enum import StrEnum


class FitMethod(StrEnum):
    CROP = "crop"  # fill the frame, cutting the overhang equally from both sides
    LETTERBOX = "letterbox"  # keep the whole picture, pad with black bars
