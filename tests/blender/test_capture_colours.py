"""A render keyframe is the footage's own colours, whatever view transform, look or exposure the
scene shows them with: the clip comes back as an sRGB movie and gets the view transform when it
plays, like its neighbours. The scene's colour management is left exactly as it was."""

from __future__ import annotations

from typing import Any

import bpy
import pytest

from tests.blender.vse_helpers import BLUE, GREEN, RED, assert_colour, load_png
from veo_addon.blender import capture
from veo_addon.blender.capture import CaptureError, KeyframeSource, SourceKind
from veo_addon.blender.gaps import find_transition

HAS_WHITE_BALANCE = "use_white_balance" in bpy.types.ColorManagedViewSettings.bl_rna.properties
VIEW_NAMES = ("view_transform", "look", "exposure", "gamma", "use_curve_mapping", "use_white_balance")
# Keyframes within this many levels of the footage (8-bit rounding of the colour-managed path).
LEVELS = 2


def colour_management(scene: bpy.types.Scene) -> dict[str, Any]:
    """Everything about colours a user can see or set, for the scene and for its output override."""
    output = scene.render.image_settings

    def view(settings: Any) -> tuple:
        return tuple(getattr(settings, name) for name in VIEW_NAMES if hasattr(settings, name))

    return {
        "scene view": view(scene.view_settings),
        "scene display": scene.display_settings.display_device,
        "sequencer space": scene.sequencer_colorspace_settings.name,
        "curve points": tuple(
            tuple(point.location) for point in scene.view_settings.curve_mapping.curves[3].points
        ),
        "output colour management": output.color_management,
        "output view": view(output.view_settings),
        "output display": output.display_settings.display_device,
    }


def agx_punchy(scene: bpy.types.Scene) -> None:
    scene.view_settings.view_transform = "AgX"
    scene.view_settings.look = "AgX - Punchy"


def filmic_brighter(scene: bpy.types.Scene) -> None:
    scene.view_settings.view_transform = "Filmic"
    scene.view_settings.exposure = 1.0


def standard_graded(scene: bpy.types.Scene) -> None:
    scene.view_settings.view_transform = "Standard"
    scene.view_settings.gamma = 0.6
    scene.view_settings.use_curve_mapping = True
    scene.view_settings.curve_mapping.curves[3].points[1].location = (1.0, 0.5)
    scene.view_settings.curve_mapping.update()
    if HAS_WHITE_BALANCE:
        scene.view_settings.use_white_balance = True
        scene.view_settings.white_balance_temperature = 4000.0


VIEWS = {
    "AgX": lambda scene: setattr(scene.view_settings, "view_transform", "AgX"),
    "AgX-Punchy": agx_punchy,
    "Filmic-exposure-1": filmic_brighter,
    "Khronos-PBR-Neutral": lambda scene: setattr(
        scene.view_settings, "view_transform", "Khronos PBR Neutral"
    ),
    "Standard-gamma-curves": standard_graded,
}


@pytest.fixture
def two_shots(timeline):
    """Red colour strip (1-50) under a green image (41-50), a gap, blue colour strip from 71."""
    timeline.color("left", 1, 1, 50, RED)
    timeline.image("overlay", 2, 41, 10, GREEN)
    timeline.color("right", 1, 71, 30, BLUE)
    return timeline


def transition_of(scene: bpy.types.Scene, timeline: Any) -> Any:
    return find_transition(scene, timeline.strips["left"], timeline.strips["right"])


@pytest.mark.parametrize("make_view", VIEWS.values(), ids=VIEWS.keys())
def test_a_render_keyframe_is_the_footage_own_colours(scene, two_shots, make_view):
    make_view(scene)
    before = colour_management(scene)
    first, last = capture.capture_transition_keyframes(scene, transition_of(scene, two_shots))
    assert_colour(load_png(first.data), GREEN, tolerance=LEVELS)  # the image strip's own pixels
    assert_colour(load_png(last.data), BLUE, tolerance=LEVELS)
    assert colour_management(scene) == before


def test_a_strip_keyframe_rendered_alone_is_its_own_colours_too(scene, two_shots):
    agx_punchy(scene)
    first = capture.capture_keyframe(scene, 50, KeyframeSource(SourceKind.STRIP), "left")
    assert_colour(load_png(first.data), RED, tolerance=LEVELS)


def test_a_linear_sequencer_space_gives_the_same_colours(scene, two_shots):
    scene.view_settings.view_transform = "AgX"
    scene.sequencer_colorspace_settings.name = "Linear Rec.709"
    before = colour_management(scene)
    first, last = capture.capture_transition_keyframes(scene, transition_of(scene, two_shots))
    assert_colour(load_png(first.data), GREEN, tolerance=LEVELS)
    assert_colour(load_png(last.data), BLUE, tolerance=LEVELS)
    assert colour_management(scene) == before


def test_the_output_own_colour_override_comes_back(scene, two_shots):
    """A user who renders the edit with the output's own override keeps it as they set it."""
    output = scene.render.image_settings
    output.color_management = "OVERRIDE"
    output.display_settings.display_device = "Display P3"
    output.view_settings.view_transform = "AgX"
    output.view_settings.look = "AgX - Punchy"
    output.view_settings.exposure = -0.5
    before = colour_management(scene)
    first, _ = capture.capture_transition_keyframes(scene, transition_of(scene, two_shots))
    assert_colour(load_png(first.data), GREEN, tolerance=LEVELS)
    assert colour_management(scene) == before
    output.color_management = "FOLLOW_SCENE"
    before = colour_management(scene)
    capture.capture_transition_keyframes(scene, transition_of(scene, two_shots))
    # The hidden override settings too: the saved file holds them.
    assert colour_management(scene) == before


def test_colours_come_back_when_the_render_raises(scene, two_shots, monkeypatch):
    agx_punchy(scene)
    before = colour_management(scene)
    seen = {}

    def failing_render(render_scene: bpy.types.Scene) -> None:
        output = render_scene.render.image_settings
        seen["view"] = (output.color_management, output.view_settings.view_transform)
        raise RuntimeError("Error: out of memory")

    monkeypatch.setattr(capture, "_render_still", failing_render)
    with pytest.raises(CaptureError, match="out of memory"):
        capture.capture_keyframe(scene, 71, KeyframeSource())
    assert seen == {"view": ("OVERRIDE", "Standard")}
    assert colour_management(scene) == before
