"""The job list in the Veo tab: every job of the scene with its state and progress, and the
actions for the active one. Draws only the entries' plain fields (never parses a job's JSON)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import bpy

from ...core.lazy_import import lazy_module
from ..jobmanager import manager
from .text import wrapped_label

if TYPE_CHECKING:
    from .. import placement
else:
    placement = lazy_module(f"{__package__.rpartition('.')[0]}.placement")

STATE_ICONS = {
    "inserted": "CHECKMARK",
    "downloaded": "IMPORT",
    "failed": "ERROR",
    "stopped": "PAUSE",
    "unknown_outcome": "QUESTION",
}
IN_FLIGHT = {"submitting", "queued", "processing", "downloading"}
SEAM_WARNING = "SEAM WARNING"  # what finishing.py writes into the job's message


def has_seam_warning(entry: Any) -> bool:
    return SEAM_WARNING in entry.message


def insert_action(scene: bpy.types.Scene, entry: Any) -> str:
    """The job list's insert button for this job: "Insert Clip" for a clip waiting on disk (its
    placeholder deleted, or inserting failed), "Re-insert" for an inserted job none of whose
    strips is on the timeline any more, "" when there is nothing to insert."""
    if entry.state == "downloaded":
        return "Insert Clip"
    if entry.state == "inserted" and not placement.job_on_timeline(scene, entry.job_id):
        return "Re-insert"
    return ""


def state_label(state: str) -> str:
    return state.replace("_", " ").capitalize()


def eta_label(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} s left"
    return f"{seconds // 60} min {seconds % 60:02d} s left"


def draw_progress(layout: Any, entry: Any) -> None:
    """A bar for a job that is waiting or downloading; nothing for the others."""
    if entry.state not in IN_FLIGHT:
        return
    factor = max(0, entry.progress) / 100
    text = f"{entry.progress}%" if entry.progress >= 0 else state_label(entry.state)
    if entry.eta >= 0:
        text = f"{text}, {eta_label(entry.eta)}"
    layout.progress(factor=factor, type="BAR", text=text)


class VEO_UL_jobs(bpy.types.UIList):
    """One row per job: state, short id, progress."""

    def draw_item(
        self,
        context: Any,
        layout: Any,
        data: Any,
        item: Any,
        icon: Any,
        active_data: Any,
        active_property: Any,
        index: Any = 0,
        flt_flag: Any = 0,
    ) -> None:
        row = layout.row(align=True)
        row.label(
            text=f"{item.job_id[:8]}  {state_label(item.state)}", icon=STATE_ICONS.get(item.state, "SORTTIME")
        )
        if item.state in IN_FLIGHT:
            draw_progress(row, item)
        if has_seam_warning(item):
            warning = row.row(align=True)
            warning.alert = True
            warning.label(text="Seams", icon="ERROR")


def active_entry(scene: bpy.types.Scene) -> Any:
    entries = scene.veo_jobs  # type: ignore[attr-defined]
    index = scene.veo_jobs_index  # type: ignore[attr-defined]
    return entries[index] if 0 <= index < len(entries) else None


def _job_button(layout: Any, idname: str, entry: Any, **options: Any) -> None:
    layout.operator(idname, **options).job_id = entry.job_id


class VEO_PT_jobs(bpy.types.Panel):
    bl_space_type = "SEQUENCE_EDITOR"
    bl_region_type = "UI"
    bl_category = "Veo"
    bl_label = "Jobs"
    bl_parent_id = "VEO_PT_transition"

    def draw(self, context: Any) -> None:
        layout: Any = self.layout
        scene = context.scene
        if scene is None:
            return
        layout.template_list("VEO_UL_jobs", "", scene, "veo_jobs", scene, "veo_jobs_index", rows=3)
        entry = active_entry(scene)
        if entry is None:
            layout.label(text="No jobs yet")
            return
        box = layout.box()
        box.label(
            text=f"Job {entry.job_id[:8]}: {state_label(entry.state)}",
            icon=STATE_ICONS.get(entry.state, "SORTTIME"),
        )
        if has_seam_warning(entry):
            warning = box.row()
            warning.alert = True
            warning.label(text="Seam warning: a cut does not meet its keyframe", icon="ERROR")
        if entry.message:
            wrapped_label(box, context, entry.message)
        draw_progress(box, entry)
        row = box.row(align=True)
        row.label(text=f"Task: {entry.task_id or 'none yet'}")
        if entry.task_id:
            _job_button(row, "veo.copy_task_id", entry, text="", icon="COPYDOWN")
        if entry.seed:
            row = box.row(align=True)
            row.label(text=f"Seed: {entry.seed}")
            row.operator("veo.reuse_seed", text="", icon="LOOP_BACK").seed = entry.seed
        self.draw_actions(box, entry, insert_action(scene, entry))

    def draw_actions(self, layout: Any, entry: Any, insert_label: str = "") -> None:
        running = manager.is_running(entry.job_id)
        grid = layout.grid_flow(columns=2, even_columns=True, align=True)
        stop = grid.row(align=True)
        stop.enabled = running
        _job_button(stop, "veo.stop_job", entry, text="Stop", icon="PAUSE")
        resume = grid.row(align=True)
        resume.enabled = not running and entry.resumable
        _job_button(resume, "veo.resume_jobs", entry, text="Resume", icon="PLAY")
        insert = grid.row(align=True)
        insert.enabled = not running and bool(insert_label)
        _job_button(insert, "veo.insert_job", entry, text=insert_label or "Insert Clip", icon="IMPORT")
        retry = grid.row(align=True)
        retry.enabled = not running
        retry.operator_context = "INVOKE_DEFAULT"  # the confirmation that says it pays again
        _job_button(retry, "veo.retry_job", entry, text="Retry (Pays)", icon="FILE_REFRESH")
        _job_button(grid, "veo.open_clips_folder", entry, text="Clips Folder", icon="FILE_FOLDER")
        forget = grid.row(align=True)
        forget.operator_context = "INVOKE_DEFAULT"
        _job_button(forget, "veo.forget_job_confirm", entry, text="Forget", icon="TRASH")


classes = (VEO_UL_jobs, VEO_PT_jobs)


def register() -> None:
    for cls in classes:
        bpy.utils.register_class(cls)


def unregister() -> None:
    for cls in reversed(classes):
        bpy.utils.unregister_class(cls)
