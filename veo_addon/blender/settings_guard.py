"""Putting back every scene setting a render had to change, whether the render worked or not.

The keyframe capture (`capture`) and the seam check (`seams`) both render with settings of their
own: output format and path, resolution, frame, muted channels. Each records a setting here
before changing it; `restore` puts all of them back, newest first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core.errors import VeoError


class SettingsNotRestored(VeoError):
    """A setting a render changed would not go back; every other one was put back."""

    code = "settings_not_restored"


class SettingsGuard:
    """Records each setting before it is changed and restores all of them, newest first."""

    def __init__(self) -> None:
        self._restores: list[Callable[[], None]] = []

    def set_attribute(self, owner: Any, name: str, value: Any) -> None:
        previous = getattr(owner, name)
        if previous == value:
            # Assigning any render setting, even its own value, drops the sequencer's cache.
            return
        self._restores.append(lambda: setattr(owner, name, previous))
        setattr(owner, name, value)

    def on_restore(self, restore: Callable[[], None]) -> None:
        self._restores.append(restore)

    def restore(self) -> None:
        failures: list[str] = []
        for restore in reversed(self._restores):
            # Keep going: one setting that will not go back must not leave the others changed.
            try:
                restore()
            except Exception as error:
                failures.append(str(error))
        self._restores.clear()
        if failures:
            raise SettingsNotRestored(f"Some scene settings could not be restored: {'; '.join(failures)}")
