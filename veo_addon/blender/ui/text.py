"""Long sentences in a narrow sidebar: Blender's labels do not wrap, so split them by width."""

from __future__ import annotations

import textwrap
from typing import Any

# About how many pixels a character of the interface font takes at scale 1.
_CHARACTER_WIDTH = 7.0


def wrapped_label(layout: Any, context: Any, text: str, icon: str = "NONE") -> None:
    """`text` as labels no wider than the region (the first line carries the icon)."""
    region = context.region
    # ui_scale reads 0 without a window (background mode).
    scale = (context.preferences.system.ui_scale if context.preferences else 0.0) or 1.0
    width = region.width if region is not None else 300
    characters = max(20, int((width - 40) / (_CHARACTER_WIDTH * scale)))
    column = layout.column(align=True)
    for number, line in enumerate(textwrap.wrap(text, characters) or [""]):
        column.label(text=line, icon=icon if number == 0 else "BLANK1" if icon != "NONE" else "NONE")
