"""The generating operators' own gap limits, which override the preferences' for one run
(the headless script's flags).

Apart from the checks that apply them (presubmit.py), because the operators are built from
these when the add-on registers, and the checks wait for the first generation.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import bpy

from ..core.errors import VeoError
from ..core.gap_rules import GapLimits

if TYPE_CHECKING:
    from .preferences import ServiceSettings

# Operator values meaning "whatever the preferences say".
USE_PREFERENCE_MIN_GAP = -1.0
USE_PREFERENCE_MAX_STRETCH = 0.0


class GapLimitProperties:
    """Operator properties that override the preferences' gap limits for one run (headless flags)."""

    min_gap_seconds: bpy.props.FloatProperty(  # type: ignore[valid-type]
        name="Minimum Gap",
        description="Refuse gaps shorter than this many seconds; -1 uses the preference",
        default=USE_PREFERENCE_MIN_GAP,
        min=USE_PREFERENCE_MIN_GAP,
    )
    max_stretch: bpy.props.FloatProperty(  # type: ignore[valid-type]
        name="Maximum Stretch",
        description="Refuse gaps more than this many times longer than the clip; 0 uses the preference",
        default=USE_PREFERENCE_MAX_STRETCH,
        min=USE_PREFERENCE_MAX_STRETCH,
    )

    def settings_with_gap_limits(self, settings: ServiceSettings) -> ServiceSettings:
        """`settings` with this operator's limits where it sets them."""
        limits = settings.gap_limits
        minimum = float(self.min_gap_seconds)
        stretch = float(self.max_stretch)
        try:
            limits = GapLimits(
                min_gap_seconds=limits.min_gap_seconds if minimum < 0 else minimum,
                max_stretch=limits.max_stretch if stretch <= 0 else stretch,
            )
        except ValueError as error:
            raise VeoError(f"Gap limits: {error}") from None
        return dataclasses.replace(settings, gap_limits=limits)
