"""Fixtures for tests that run inside real Blender (the bpy wheel): an empty factory scene per
test and a builder for timelines. `import bpy` happens once per process (Blender cannot be
loaded twice); the helpers themselves live in vse_helpers.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import bpy
import pytest

from tests.blender.vse_helpers import BLUE, RED, SMALL_SIZE, TimelineBuilder, set_frame_rate


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


@pytest.fixture
def edit(scene, timeline, tmp_path) -> Path:
    """Two shots at 25 fps with a 40-frame gap (21-60), the playhead in the gap, saved."""
    set_frame_rate(scene, "25")
    timeline.image("left", 1, 1, 20, RED)
    timeline.image("right", 1, 61, 20, BLUE)
    scene.frame_current = 40
    path = tmp_path / "edit.blend"
    # copy=True: this process keeps no file path of its own, so later tests start clean.
    bpy.ops.wm.save_as_mainfile(filepath=str(path), copy=True)
    return path


# --- the add-on, registered once per process, pointed at the test's local server ------------------


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The 4.2 wheel crashes at interpreter exit while add-on classes are still registered."""
    if _registered:
        import veo_addon

        veo_addon.unregister()


SECRET_KEY = "sk_test_Blend9Xq2Lr7Vt4Wm8Pz3Nc6Hd1Ks5Jf"  # distinctive, so a leak is unmistakable
_registered = False


@pytest.fixture
def veo(highway, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """The add-on registered in this Blender, its journal in a fresh user folder, the key in the
    environment, the service at the test's local server. Yields the server."""
    global _registered
    import veo_addon

    monkeypatch.setenv("VEO_USER_DIR", str(tmp_path / "user"))
    monkeypatch.setenv("VEO_BASE_URL", highway.base_url)
    monkeypatch.setenv("VEO_API_KEY", SECRET_KEY)
    # Many short jobs in a row: the service's 50 a minute would only slow the suite down.
    monkeypatch.setenv("VEO_REQUESTS_PER_MINUTE", "100000")
    if not _registered:
        veo_addon.register()
        _registered = True
    from veo_addon.blender.jobmanager import manager
    from veo_addon.core.client import RetryPolicy
    from veo_addon.core.delivery import PollPolicy

    manager.poll_policy = PollPolicy(min_interval=0.1, max_interval=0.5)
    manager.retry_policy = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.05)
    yield highway
    running = manager.running_job_ids()
    manager.stop_all()
    manager.wait_for(running)
