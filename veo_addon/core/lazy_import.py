"""Modules imported on first use, so that enabling the add-on does not load httpx or Pillow.

`httpx = lazy_module("httpx")` at a module's top stands for the module: the first attribute
read imports it (importlib's own locking makes that safe from any thread), every later read
is a plain attribute lookup on the real module. Type checkers see the real import instead
(`if TYPE_CHECKING:`). Job workers still find everything imported: worker_imports loads it
on the main thread before the first worker starts.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any


class LazyModule:
    """Stands for the module `name` until an attribute is read; then imports and forwards."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        module = self._module
        if module is None:
            module = self._module = importlib.import_module(self._name)
        return getattr(module, attribute)

    def __repr__(self) -> str:
        state = "imported" if self._module is not None else "not imported yet"
        return f"<lazy module {self._name!r}, {state}>"


def lazy_module(name: str) -> Any:
    return LazyModule(name)
