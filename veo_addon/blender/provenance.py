"""What made a clip, kept on every strip the add-on inserts (custom properties), and read back.

The property names are the add-on's file format: a saved .blend carries them, so they never change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from ..core.timing import FitMode

# Custom property names on every strip the add-on inserts.
PROP_PREFIX = "veo_"
PROP_TASK_ID = "veo_task_id"
PROP_PROMPT = "veo_prompt"
PROP_NEGATIVE_PROMPT = "veo_negative_prompt"
PROP_SEED = "veo_seed"
PROP_REQUEST = "veo_request"
PROP_FIRST_KEYFRAME = "veo_first_keyframe"
PROP_LAST_KEYFRAME = "veo_last_keyframe"
PROP_TAKE_GROUP = "veo_take_group"
PROP_TAKE_INDEX = "veo_take_index"
PROP_TAKE_COUNT = "veo_take_count"
PROP_ROLE = "veo_role"
PROP_FIT_MODE = "veo_fit_mode"

ROLE_CLIP = "clip"
ROLE_SPEED = "speed"
ROLE_SOUND = "sound"

# ID properties hold C ints; Veo seeds go up to 2**32 - 1, so larger numbers are kept as text.
_ID_PROPERTY_INT_MAX = 2**31 - 1
# Beside the clip's provenance: which job put a strip there (several jobs may share a task).
PROP_JOB_ID = PROP_PREFIX + "job_id"
# Written after insertion (finishing.py): the take's share of the cost estimate, on every strip
# of the take; on the take's clip strip its seams (core/seams.py: 0 = identical), its rank by
# the worse seam (0 = best) and the channel its sound went to.
PROP_COST_ESTIMATE = PROP_PREFIX + "cost_estimate"
PROP_SEAM_IN = PROP_PREFIX + "seam_in"
PROP_SEAM_OUT = PROP_PREFIX + "seam_out"
PROP_TAKE_RANK = PROP_PREFIX + "take_rank"
PROP_SOUND_CHANNEL = PROP_PREFIX + "sound_channel"


@dataclass(frozen=True)
class ClipProvenance:
    """What made a clip; stored on each inserted strip as custom properties."""

    task_id: str
    prompt: str
    negative_prompt: str = ""
    seed: int | None = None
    # Every request parameter (resolution, aspect ratio, duration, ...); images are left out.
    request_params: Mapping[str, Any] = field(default_factory=dict)
    first_keyframe_source: str = ""
    last_keyframe_source: str = ""


def _id_property_value(value: Any) -> Any:
    """`value` as something an ID property can hold, or None to leave it out."""
    if value is None or isinstance(value, bytes | bytearray):
        return None
    if isinstance(value, Enum):
        return _id_property_value(value.value)
    if isinstance(value, bool | float | str):
        return value
    if isinstance(value, int):
        return value if -_ID_PROPERTY_INT_MAX - 1 <= value <= _ID_PROPERTY_INT_MAX else str(value)
    if isinstance(value, Mapping):
        converted = {str(key): _id_property_value(item) for key, item in value.items()}
        return {key: item for key, item in converted.items() if item is not None}
    if isinstance(value, list | tuple):
        items = [_id_property_value(item) for item in value]
        # ID property arrays must be of one type; mixed ones are kept as text.
        kept = [item for item in items if item is not None]
        if len({type(item) for item in kept}) > 1:
            return [str(item) for item in kept]
        return kept
    return str(value)


def write_provenance(
    strip: Any,
    provenance: ClipProvenance,
    group: str,
    take_index: int,
    take_count: int,
    role: str,
    fit: FitMode,
) -> None:
    strip[PROP_TASK_ID] = provenance.task_id
    strip[PROP_PROMPT] = provenance.prompt
    strip[PROP_NEGATIVE_PROMPT] = provenance.negative_prompt
    # Text, because seeds reach 2**32 - 1 and ID property ints stop at 2**31 - 1.
    strip[PROP_SEED] = "" if provenance.seed is None else str(provenance.seed)
    strip[PROP_REQUEST] = _id_property_value(dict(provenance.request_params)) or {}
    strip[PROP_FIRST_KEYFRAME] = provenance.first_keyframe_source
    strip[PROP_LAST_KEYFRAME] = provenance.last_keyframe_source
    strip[PROP_TAKE_GROUP] = group
    strip[PROP_TAKE_INDEX] = take_index
    strip[PROP_TAKE_COUNT] = take_count
    strip[PROP_ROLE] = role
    strip[PROP_FIT_MODE] = fit.value


def read_provenance(strip: Any) -> dict[str, Any]:
    """The add-on's custom properties of `strip` as plain Python values (empty if it has none)."""
    result: dict[str, Any] = {}
    for key in strip.keys():  # noqa: SIM118 - Blender structs are not iterable like dicts
        if key.startswith(PROP_PREFIX):
            value = strip[key]
            result[key] = value.to_dict() if hasattr(value, "to_dict") else value
    return result
