"""Fixtures for tests that run inside real Blender (the bpy wheel): an empty factory scene per
test and a builder for timelines. `import bpy` happens once per process (Blender cannot be
loaded twice); the helpers themselves live in vse_helpers.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import bpy
import pytest

from tests.blender.vse_helpers import SMALL_SIZE, TimelineBuilder


@pytest.fixture(autouse=True)
def factory_scene() -> Iterator[bpy.types.Scene]:
    """Blender reset to an empty factory scene, small output, colours passed through unchanged."""
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    scene.render.resolution_x, scene.render.resolution_y = SMALL_SIZE
    scene.render.resolution_percentage = 100
    # The factory view transform (AgX) tints colours; Standard keeps an sRGB value as it is.
    scene.view_settings.view_transform = "Standard"
    scene.sequence_editor_create()
    yield scene


@pytest.fixture
def scene(factory_scene: bpy.types.Scene) -> bpy.types.Scene:
    return factory_scene


@pytest.fixture
def timeline(scene: bpy.types.Scene, tmp_path: Path) -> TimelineBuilder:
    return TimelineBuilder(scene, tmp_path)
