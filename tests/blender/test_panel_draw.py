"""Every draw() of the Veo tab, the job list and the preferences, run headless against a layout
that checks each call against this Blender's own UILayout API: the keyword arguments, the icon
names, the property names and the operator ids must all exist here (4.2 LTS and 5.0 alike).
The real window test (tests/window/test_panel.py) draws them in Blender 4.3."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import bpy
import pytest

from tests.blender.vse_helpers import BLUE, RED, TimelineBuilder
from veo_addon.blender import connection_check, jobstore
from veo_addon.blender.preferences import VeoPreferences
from veo_addon.blender.ui import job_list, menus, panel, presets
from veo_addon.core.job import Job, JobState

UILAYOUT = bpy.types.UILayout.bl_rna.functions
ICONS = set(UILAYOUT["label"].parameters["icon"].enum_items.keys())


class OperatorProperties:
    """What layout.operator() returns: the properties the button will pass."""

    def __init__(self, idname: str) -> None:
        category, name = idname.split(".")
        self._properties = getattr(getattr(bpy.ops, category), name).get_rna_type().properties.keys()

    def __setattr__(self, name: str, value: Any) -> None:
        if not name.startswith("_"):
            assert name in self._properties, f"the operator has no property {name!r}"
        object.__setattr__(self, name, value)


class CheckedLayout:
    """Stands in for UILayout; every call is checked against this Blender's RNA."""

    calls: list[tuple[str, dict[str, Any]]]

    def __init__(self, calls: list[tuple[str, dict[str, Any]]] | None = None) -> None:
        object.__setattr__(self, "calls", [] if calls is None else calls)

    def __setattr__(self, name: str, value: Any) -> None:
        assert name in bpy.types.UILayout.bl_rna.properties, f"UILayout has no {name!r}"
        object.__setattr__(self, name, value)

    def __getattr__(self, name: str) -> Any:
        assert name in UILAYOUT, f"UILayout has no function {name!r} here"
        parameters = UILAYOUT[name].parameters

        def call(*args: Any, **kwargs: Any) -> Any:
            unknown = set(kwargs) - set(parameters.keys())
            assert not unknown, f"layout.{name}() takes no {sorted(unknown)} in {bpy.app.version_string}"
            if "icon" in kwargs:
                assert kwargs["icon"] in ICONS, f"no icon {kwargs['icon']!r} in {bpy.app.version_string}"
            self.calls.append((name, {**kwargs, "args": args}))
            if name in ("prop", "template_list") and args and hasattr(args[0], "bl_rna"):
                assert args[1] in args[0].bl_rna.properties, f"no property {args[1]!r}"
            if name == "template_list":
                assert args[0] in dir(bpy.types), f"UIList {args[0]} is not registered"
            if name == "menu":
                assert args[0] in dir(bpy.types), f"menu {args[0]} is not registered"
            if name == "operator":
                return OperatorProperties(args[0])
            if name in ("row", "column", "box", "grid_flow", "split"):
                return CheckedLayout(self.calls)
            return None

        return call


def context_for(scene: bpy.types.Scene) -> SimpleNamespace:
    return SimpleNamespace(
        scene=scene, region=SimpleNamespace(width=320), preferences=bpy.context.preferences
    )


def draw(panel_class: type, scene: bpy.types.Scene, **helpers: Any) -> list[tuple[str, dict[str, Any]]]:
    layout = CheckedLayout()
    fake = SimpleNamespace(layout=layout)
    for name in helpers:
        setattr(fake, name, getattr(panel_class, name).__get__(fake))
    panel_class.draw(fake, context_for(scene))
    return layout.calls


def labels(calls: list[tuple[str, dict[str, Any]]]) -> str:
    return "\n".join(str(kwargs.get("text", "")) for name, kwargs in calls if name == "label")


def operators(calls: list[tuple[str, dict[str, Any]]]) -> list[str]:
    return [kwargs["args"][0] for name, kwargs in calls if name == "operator"]


@pytest.fixture
def edit(veo, timeline: TimelineBuilder, tmp_path: Path) -> TimelineBuilder:  # type: ignore[no-untyped-def]
    timeline.scene.render.fps = 25
    timeline.color("Left", 1, 1, 50, RED)
    timeline.color("Right", 1, 101, 50, BLUE)
    for strip in timeline.strips:
        strip.select = True
    return timeline


def test_the_transition_panel_draws_the_gap_the_estimate_and_the_buttons(edit: TimelineBuilder) -> None:
    calls = draw(panel.VEO_PT_transition, edit.scene)
    text = labels(calls)
    assert "Left: Left" in text and "Gap: 50 frames (2.00 s)" in text
    assert "Estimate: about USD 0.80" in text
    assert operators(calls) == ["veo.generate_transition", "veo.fill_gaps"]


def test_the_transition_panel_says_why_when_nothing_can_be_generated(veo, scene: bpy.types.Scene) -> None:  # type: ignore[no-untyped-def]
    calls = draw(panel.VEO_PT_transition, scene)
    assert "This scene has no strips yet" in labels(calls)


def test_the_request_panels_draw_every_field(edit: TimelineBuilder) -> None:
    request = edit.scene.veo_request  # type: ignore[attr-defined]
    request.first_source, request.last_source = "file", "url"
    calls = draw(panel.VEO_PT_request, edit.scene, draw_seed=None) + draw(panel.VEO_PT_keyframes, edit.scene)
    drawn = {kwargs["args"][1] for name, kwargs in calls if name == "prop"}
    expected = {"prompt", "negative_prompt", "duration", "resolution", "aspect_ratio", "sample_count"}
    expected |= {"generate_audio", "person_generation", "seed", "fit_mode", "make_room", "fit_method"}
    expected |= {"first_source", "first_path", "last_source", "last_url"}
    assert expected <= drawn, expected - drawn
    assert "first_url" not in drawn and "last_path" not in drawn  # only the chosen source's field
    assert "veo.edit_prompt" in operators(calls) and presets.VEO_OT_prompt_preset_add.bl_idname in operators(
        calls
    )


@pytest.mark.parametrize(
    "state", [JobState.PROCESSING, JobState.INSERTED, JobState.FAILED, JobState.STOPPED, JobState.DOWNLOADED]
)
def test_the_job_list_draws_each_state(edit: TimelineBuilder, state: JobState) -> None:
    job = Job.new(task_id="task-42", progress_percent=40, eta_seconds=75, seed=12, message="Waiting")
    job.state = state
    jobstore.save_job(edit.scene, job)
    calls = draw(job_list.VEO_PT_jobs, edit.scene, draw_actions=None)
    text = labels(calls)
    assert f"Job {job.job_id[:8]}" in text and "Task: task-42" in text and "Seed: 12" in text
    bars = [kwargs for name, kwargs in calls if name == "progress"]
    if state is JobState.PROCESSING:
        assert bars == [{"factor": 0.4, "type": "BAR", "text": "40%, 1 min 15 s left", "args": ()}]
    else:
        assert bars == []
    assert {
        "veo.stop_job",
        "veo.resume_jobs",
        "veo.retry_job",
        "veo.copy_task_id",
        "veo.forget_job_confirm",
    } <= set(operators(calls))

    row = CheckedLayout()
    job_list.VEO_UL_jobs.draw_item(None, None, row, None, edit.scene.veo_jobs[0], None, None, None)  # type: ignore[attr-defined]
    assert f"{job.job_id[:8]}" in labels(row.calls)


def test_the_preferences_draw_the_test_connection_button_and_its_answer(veo, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(
        connection_check, "last_line", "Connected to http://127.0.0.1:1: the API key was accepted"
    )
    monkeypatch.setattr(connection_check, "last_accepted", True)
    layout = CheckedLayout()
    fake = SimpleNamespace(layout=layout, api_key="", bl_rna=VeoPreferences.bl_rna)
    VeoPreferences.draw(fake, bpy.context)
    assert "veo.test_connection" in operators(layout.calls)
    assert "the API key was accepted" in labels(layout.calls)


def test_the_menu_entry_runs_generate_transition(veo) -> None:  # type: ignore[no-untyped-def]
    layout = CheckedLayout()
    menus.draw_entry(SimpleNamespace(layout=layout), bpy.context)
    assert operators(layout.calls) == ["veo.generate_transition"]
