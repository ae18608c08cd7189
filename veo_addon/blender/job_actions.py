"""What the job list's buttons do beyond the job operators: retry (a new, paid submission),
copy a task id, open the folder a job's clips are in.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import bpy

from ..core.errors import VeoError
from ..core.fit_methods import FitMethod
from ..core.job import Job
from ..core.lazy_import import lazy_module
from ..core.timing import FitMode
from . import jobstore
from .clips_folder import clips_folder_for
from .cost_report import Estimate, estimate_request
from .generation_options import GenerationOptions
from .generation_properties import scene_request
from .jobmanager import manager
from .keyframe_sources import KeyframeSource, SourceKind
from .preferences import service_settings

if TYPE_CHECKING:
    from . import gaps, generation
else:
    gaps = lazy_module(f"{__package__}.gaps")
    generation = lazy_module(f"{__package__}.generation")

OperatorResult = set[Literal["RUNNING_MODAL", "CANCELLED", "FINISHED", "PASS_THROUGH", "INTERFACE"]]


def scene_job(context: bpy.types.Context, job_id: str) -> tuple[bpy.types.Scene, Job]:
    """The job `job_id` as the open file keeps it, and its scene. Raises VeoError if there is none."""
    scene = jobstore.find_job_scene(job_id) if job_id else None
    job = jobstore.load_job(scene, job_id) if scene is not None else None
    if scene is None or job is None:
        raise VeoError(f"No job '{job_id[:8]}' in this file")
    return scene, job


def retry_options(job: Job, scene: bpy.types.Scene) -> GenerationOptions:
    """The job's recorded request, asked for again as a new generation (force_new: it pays)."""
    asked = job.parameters
    if not asked.get("prompt"):
        raise VeoError(
            f"Job {job.job_id[:8]} has no recorded request to retry (it ended before one was made); "
            "generate from the panel instead"
        )
    request = scene_request(scene)  # keyframes are captured again, as the panel's settings say
    return GenerationOptions(
        prompt=str(asked["prompt"]),
        negative_prompt=str(asked.get("negative_prompt") or ""),
        seed=asked.get("seed"),
        resolution=str(asked.get("resolution", "720p")),
        aspect_ratio=str(asked.get("aspect_ratio", "auto")),
        duration=str(asked.get("duration_seconds", "auto")),
        sample_count=int(asked.get("sample_count", 1)),
        generate_audio=bool(asked.get("generate_audio", False)),
        person_generation=str(asked.get("person_generation", "allow_adult")),
        first_source=KeyframeSource(SourceKind(request.first_source), request.first_path, request.first_url),
        last_source=KeyframeSource(SourceKind(request.last_source), request.last_path, request.last_url),
        fit_method=FitMethod(request.fit_method),
        fit_mode=FitMode(job.placement.get("fit_mode", FitMode.STRETCH.value)),
        make_room=bool(job.placement.get("make_room", False)),
        force_new=True,
    )


def retry_estimate(job: Job, context: bpy.types.Context) -> Estimate:
    asked = job.parameters
    return estimate_request(
        int(asked.get("duration_seconds", 8)),
        int(asked.get("sample_count", 1)),
        bool(asked.get("generate_audio", False)),
        str(asked.get("resolution", "720p")),
        service_settings(context).price_rates,
    )


class JobIdProperty:
    job_id: bpy.props.StringProperty(name="Job", options={"SKIP_SAVE"})  # type: ignore[valid-type]


class VEO_OT_retry_job(JobIdProperty, bpy.types.Operator):
    """Generate this job's clip again: a NEW paid submission with the job's recorded request
    (pays again, even for an identical request); the keyframes are captured again"""

    bl_idname = "veo.retry_job"
    bl_label = "Retry (Pays Again)"

    def invoke(self, context: Any, event: bpy.types.Event) -> OperatorResult:
        try:
            _, job = scene_job(context, self.job_id)
            estimate = retry_estimate(job, context)
        except VeoError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        result: OperatorResult = context.window_manager.invoke_confirm(
            self,
            event,
            title="Retry: a new paid generation",
            message=f"This pays again: {estimate.what}, {estimate.cost.label()}",
            confirm_text="Pay and Generate",
            icon="WARNING",
        )
        return result

    def execute(self, context: bpy.types.Context) -> OperatorResult:
        try:
            scene, job = scene_job(context, self.job_id)
            options = retry_options(job, scene)
            left, right = job.placement.get("left_strip", ""), job.placement.get("right_strip", "")
            transition = gaps.choose_transition(scene, str(left), str(right))
            plan = generation.plan_generation(scene, transition, options, service_settings(context))
            new_job = manager.start(plan)
        except VeoError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        estimate = plan.estimate()
        self.report(
            {"INFO"},
            f"Retrying job {job.job_id[:8]} as job {new_job.job_id[:8]}: pays up to {estimate.cost.label()}",
        )
        if bpy.app.background:  # no timer runs the job on: wait for it here, as the other operators do
            [finished] = manager.wait_for([new_job.job_id]) or [new_job]
            self.report({"INFO"}, f"Job {finished.job_id[:8]} {finished.state.value}: {finished.message}")
        return {"FINISHED"}


class VEO_OT_copy_task_id(JobIdProperty, bpy.types.Operator):
    """Copy the job's task id to the clipboard (the service knows the job by it)"""

    bl_idname = "veo.copy_task_id"
    bl_label = "Copy Task ID"

    def execute(self, context: Any) -> OperatorResult:
        try:
            _, job = scene_job(context, self.job_id)
        except VeoError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        if not job.task_id:
            self.report({"WARNING"}, f"Job {job.job_id[:8]} has no task id yet")
            return {"CANCELLED"}
        context.window_manager.clipboard = job.task_id
        self.report({"INFO"}, f"Copied task id {job.task_id}")
        return {"FINISHED"}


def job_clips_folder(context: bpy.types.Context, job: Job) -> Path:
    """Where the job's clips are, else where they will go."""
    for clip in job.clip_paths:
        if Path(clip).parent.is_dir():
            return Path(clip).parent
    folder, _ = clips_folder_for(service_settings(context))
    return folder


class VEO_OT_open_clips_folder(JobIdProperty, bpy.types.Operator):
    """Open the folder with this job's clips in the file browser of the system"""

    bl_idname = "veo.open_clips_folder"
    bl_label = "Open Clips Folder"

    def execute(self, context: bpy.types.Context) -> OperatorResult:
        try:
            _, job = scene_job(context, self.job_id)
            folder = job_clips_folder(context, job)
        except VeoError as error:
            self.report({"ERROR"}, str(error))
            return {"CANCELLED"}
        bpy.ops.wm.path_open(filepath=str(folder))
        return {"FINISHED"}


class VEO_OT_forget_job_confirm(JobIdProperty, bpy.types.Operator):
    """Remove the job from this file and the journal after asking (its clip files stay on disk;
    a forgotten task cannot be resumed from Blender)"""

    bl_idname = "veo.forget_job_confirm"
    bl_label = "Forget Job"

    def invoke(self, context: Any, event: bpy.types.Event) -> OperatorResult:
        result: OperatorResult = context.window_manager.invoke_confirm(
            self,
            event,
            title="Forget this job?",
            message="It leaves this file and the journal; its task cannot be resumed from Blender afterwards",
            confirm_text="Forget",
        )
        return result

    def execute(self, context: bpy.types.Context) -> OperatorResult:
        operators: Any = bpy.ops
        result: OperatorResult = operators.veo.forget_job(job_id=self.job_id)
        return result


classes = (VEO_OT_retry_job, VEO_OT_copy_task_id, VEO_OT_open_clips_folder, VEO_OT_forget_job_confirm)
