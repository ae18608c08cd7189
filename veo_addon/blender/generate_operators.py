"""The operators that pay: generate one transition, or fill every gap.

From the interface, `veo.generate_transition` first decides what to ask (before_paying.py),
then captures the keyframes on the main thread, starts the job and waits for it modally
(modal_wait.py). Called from a script with a window it also waits modally; without a window
it returns at once (the job manager's timer applies the result); in background mode it
blocks until the clip is in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import bpy

from ..core.errors import VeoError
from ..core.job import Job
from ..core.lazy_import import lazy_module
from .gap_limit_options import GapLimitProperties
from .generation_properties import GenerationProperties, generation_options, scene_request
from .jobmanager import manager
from .modal_wait import WaitsForJobs
from .operator_reports import OperatorResult, finish, refuse, report_started, scene_of
from .preferences import service_settings

if TYPE_CHECKING:
    from . import before_paying, gaps, generation, presubmit
else:
    before_paying = lazy_module(f"{__package__}.before_paying")
    gaps = lazy_module(f"{__package__}.gaps")
    generation = lazy_module(f"{__package__}.generation")
    presubmit = lazy_module(f"{__package__}.presubmit")

DIALOG_WIDTH = 560  # wide enough for a sentence-long prompt


def waits_in_window(context: bpy.types.Context) -> bool:
    """Whether an operator can follow its jobs modally (a window to put a timer on)."""
    return not bpy.app.background and context.window is not None and context.window_manager is not None


class PaysAgainOption:
    """ "New Generation": never remembered, so paying again is asked for each time anew."""

    new_generation: bpy.props.BoolProperty(  # type: ignore[valid-type]
        name="New Generation",
        description=(
            "Pays for a new clip even if an identical request was made before "
            "(otherwise the earlier clip or task is reused at no charge)"
        ),
        options={"SKIP_SAVE"},
    )


class VEO_OT_generate_transition(
    GenerationProperties, PaysAgainOption, GapLimitProperties, WaitsForJobs, bpy.types.Operator
):
    """Generate a Veo clip for the gap between two strips and put it in the gap"""

    bl_idname = "veo.generate_transition"
    bl_label = "Generate Transition"
    bl_options = {"REGISTER"}

    left_strip: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Left Strip", description="With Right Strip: the two strips around the gap"
    )
    right_strip: bpy.props.StringProperty(name="Right Strip")  # type: ignore[valid-type]
    # Set by invoke() when it opens the prompt dialog: OK runs execute(), which keeps the typed
    # prompt in the scene's request (the sidebar); Cancel runs nothing, so nothing is kept.
    prompt_from_dialog: bpy.props.BoolProperty(options={"HIDDEN", "SKIP_SAVE"})  # type: ignore[valid-type]

    def invoke(self, context: bpy.types.Context, event: bpy.types.Event) -> OperatorResult:
        try:
            scene = scene_of(context)
            before_paying.take_unset_from_scene(self.properties, scene_request(scene))
            if bpy.app.background:
                return self.execute(context)  # nobody to ask
            settings = self.settings_with_gap_limits(service_settings(context))
            ask_prompt = not self.prompt.strip()
            checked = before_paying.check_request(scene, self, settings, prompt_to_come=ask_prompt)
            before_paying.check_keyframes(scene, self, checked)
        except VeoError as error:
            return refuse(self, error)
        window_manager = context.window_manager
        assert window_manager is not None
        if ask_prompt:
            # The dialog shows the estimate as the fields change; OK is the confirmation.
            self.prompt_from_dialog = True
            return window_manager.invoke_props_dialog(self, width=DIALOG_WIDTH, confirm_text="Generate")
        if before_paying.needs_confirmation(checked.estimate, before_paying.confirm_above(context)):
            return window_manager.invoke_confirm(
                self,
                event,
                title="Generate Transition",
                message=before_paying.confirmation_message(checked),
                confirm_text=before_paying.confirm_button(checked),
            )
        return self.execute(context)

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        assert layout is not None
        layout.prop(self, "prompt", text="", placeholder="Describe the transition")
        layout.prop(self, "negative_prompt")
        row = layout.row()
        row.prop(self, "duration")
        row.prop(self, "resolution")
        row = layout.row()
        row.prop(self, "sample_count")
        row.prop(self, "generate_audio")
        row = layout.row()
        row.prop(self, "fit_mode")
        row.prop(self, "seed")
        try:
            settings = self.settings_with_gap_limits(service_settings(context))
            checked = before_paying.check_request(scene_of(context), self, settings, prompt_to_come=True)
        except VeoError as error:
            layout.label(text=str(error), icon="ERROR")
            return
        layout.label(text=before_paying.estimate_line(checked), icon="INFO")

    def execute(self, context: bpy.types.Context) -> OperatorResult:
        try:
            scene = scene_of(context)
            if self.prompt_from_dialog and self.prompt.strip():
                # Typed in the dialog: the panel shows it, and the next Generate need not ask again.
                scene_request(scene).prompt = self.prompt
            settings = self.settings_with_gap_limits(service_settings(context))
            transition = gaps.choose_transition(scene, self.left_strip, self.right_strip)
            plan = generation.plan_generation(
                scene, transition, generation_options(self, force_new=self.new_generation), settings
            )
            job = manager.start(plan)
        except VeoError as error:
            return refuse(self, error)
        if waits_in_window(context):
            report_started(self, [job], plan.warnings)
            return self.wait_for_jobs(context, [job.job_id])
        return finish(self, [job], plan.warnings)


class VEO_OT_fill_gaps(
    GenerationProperties, PaysAgainOption, GapLimitProperties, WaitsForJobs, bpy.types.Operator
):
    """Generate a clip for every gap between strips on the timeline"""

    bl_idname = "veo.fill_gaps"
    bl_label = "Fill All Gaps"
    bl_options = {"REGISTER"}

    def invoke(self, context: bpy.types.Context, event: bpy.types.Event) -> OperatorResult:
        """As Generate Transition: the scene's request, and the total confirmed above the threshold."""
        try:
            scene = scene_of(context)
            before_paying.take_unset_from_scene(self.properties, scene_request(scene))
            if bpy.app.background:
                return self.execute(context)
            settings = self.settings_with_gap_limits(service_settings(context))
            options = generation_options(self, force_new=self.new_generation)
            plan = presubmit.plan_fill(scene, gaps.find_all_transitions(scene), options, settings)
        except VeoError as error:
            return refuse(self, error)
        if plan.to_fill and plan.total_cost > before_paying.confirm_above(context):
            window_manager = context.window_manager
            assert window_manager is not None
            return window_manager.invoke_confirm(
                self,
                event,
                title="Fill All Gaps",
                message=plan.cost_line(),
                confirm_text=f"Fill ({plan.currency} {plan.total_cost:.2f})",
            )
        return self.execute(context)

    def execute(self, context: bpy.types.Context) -> OperatorResult:
        jobs: list[Job] = []
        lines: list[str] = []
        try:
            scene = scene_of(context)
            settings = self.settings_with_gap_limits(service_settings(context))
            transitions = gaps.find_all_transitions(scene)
            if not transitions:
                # Nothing to fill is no failure: a batch run again over finished files stays green.
                self.report({"INFO"}, "There is no gap between strips on this timeline; nothing to fill")
                return {"FINISHED"}
            options = generation_options(self, force_new=self.new_generation)
            # Said before anything is sent: which gaps are skipped and why, and what the rest cost.
            plan = presubmit.plan_fill(scene, transitions, options, settings)
            for skipped in plan.skipped:
                self.announce("WARNING", skipped.line())
            if not plan.to_fill:
                raise VeoError(plan.cost_line())
            self.announce("INFO", plan.cost_line())
            captured = []
            try:
                for transition, _duration in plan.to_fill:
                    captured.append(generation.plan_generation(scene, transition, options, settings))
            finally:
                # Every keyframe is rendered before the first job starts, so no worker or picture
                # thread runs while Blender renders (the combination has crashed Blender). Gaps
                # captured before a refusal still start, as they would one by one.
                for planned in captured:
                    jobs.append(manager.start(planned))
                    lines.extend(planned.warnings)
        except VeoError as error:
            self.report({"ERROR"}, str(error))
            if not jobs:
                return {"CANCELLED"}
        if waits_in_window(context):
            report_started(self, jobs, lines)
            return self.wait_for_jobs(context, [job.job_id for job in jobs])
        return finish(self, jobs, lines)

    def announce(self, level: Literal["INFO", "WARNING"], line: str) -> None:
        """A line the user reads before anything is sent. Background mode prints it now: reports
        would only appear once the operator returns, after the jobs have run."""
        if bpy.app.background:
            print(f"[veo] {line}", flush=True)
        else:
            self.report({level}, line)


classes = (VEO_OT_generate_transition, VEO_OT_fill_gaps)
