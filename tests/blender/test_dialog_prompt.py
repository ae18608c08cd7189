"""The prompt typed in Generate's prompt dialog is kept in the scene's request (what the sidebar
shows), so the next Generate does not ask again; a script's own prompt is not.

The dialog needs a window: invoke() opens it with `prompt_from_dialog` set, and its OK runs
execute() with the typed prompt, which is the path run here (Cancel runs nothing at all).
"""

from __future__ import annotations

from pathlib import Path

import bpy

from tests.blender.test_jobs_blender import two_shots
from tests.blender.vse_helpers import TimelineBuilder
from veo_addon.blender.generation_properties import scene_request


def test_the_prompt_typed_in_the_dialog_is_kept_in_the_scenes_request(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    two_shots(timeline)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))
    request = scene_request(timeline.scene)
    request.prompt = ""

    # What the dialog's OK runs: execute() with the typed prompt and the flag invoke() set.
    result = bpy.ops.veo.generate_transition(
        left_strip="Left", right_strip="Right", prompt="a slow pan", duration="4", prompt_from_dialog=True
    )

    assert result == {"FINISHED"}
    assert request.prompt == "a slow pan"
    assert veo.submit_count == 1
    # The flag is for that one dialog: a later run from a script keeps its prompt to itself.
    bpy.ops.veo.generate_transition(left_strip="Left", right_strip="Right", prompt="a cut", duration="4")
    assert request.prompt == "a slow pan"


def test_a_scripts_prompt_leaves_the_scenes_request_alone(  # type: ignore[no-untyped-def]
    veo, timeline: TimelineBuilder, tmp_path: Path
) -> None:
    two_shots(timeline)
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "edit.blend"))
    request = scene_request(timeline.scene)
    request.prompt = "from the sidebar"

    result = bpy.ops.veo.generate_transition(left_strip="Left", right_strip="Right", prompt="p", duration="4")

    assert result == {"FINISHED"}
    assert request.prompt == "from the sidebar"
