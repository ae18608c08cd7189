"""Insert a downloaded clip from the job list: the one way in for a clip whose placeholder
the editor deleted ("do not insert", until asked here), and for any other job whose clip
waits on disk.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

import bpy

from ..core.job import JobState
from ..core.lazy_import import lazy_module
from . import jobstore
from .jobmanager import manager

if TYPE_CHECKING:
    from . import placeholder, placement
else:
    placeholder = lazy_module(f"{__package__}.placeholder")
    placement = lazy_module(f"{__package__}.placement")


class VEO_OT_insert_job(bpy.types.Operator):
    """Insert this job's downloaded clip (again, if its strips were removed from the timeline):
    where its placeholder is, else at its recorded frames"""

    bl_idname = "veo.insert_job"
    bl_label = "Insert Clip"
    # No UNDO flag: the insertion pushes its own undo step, as when a clip lands by itself.
    bl_options = {"REGISTER"}

    job_id: bpy.props.StringProperty(  # type: ignore[valid-type]
        name="Job", description="The job's id, or its first 8 characters"
    )

    def execute(
        self, context: bpy.types.Context
    ) -> set[Literal["RUNNING_MODAL", "CANCELLED", "FINISHED", "PASS_THROUGH", "INTERFACE"]]:
        wanted = self.job_id.strip()
        found = [
            (scene, job)
            for scene in bpy.data.scenes
            for job in jobstore.scene_jobs(scene)
            if wanted and (job.job_id == wanted or (len(wanted) >= 8 and job.job_id.startswith(wanted)))
        ]
        if len(found) != 1:
            which = "No job id given" if not wanted else f"No single job '{wanted}' in this file"
            self.report({"ERROR"}, which)
            return {"CANCELLED"}
        scene, job = found[0]
        if placement.job_on_timeline(scene, job.job_id):
            self.report({"INFO"}, f"The clip of job {job.job_id[:8]} is already on the timeline")
            return {"FINISHED"}
        # An inserted job whose strips were all removed from the timeline: "Re-insert".
        again = job.state is JobState.INSERTED
        if not (job.needs_insert or again):
            self.report(
                {"ERROR"}, f"Job {job.job_id[:8]} has no downloaded clip to insert ({job.state.value})"
            )
            return {"CANCELLED"}
        if again and not job.clips_exist():
            self.report({"ERROR"}, f"The clip files of job {job.job_id[:8]} are no longer on disk")
            return {"CANCELLED"}
        job.placement[placeholder.INSERT_ANYWAY] = True
        inserted = manager.insert(scene, job)
        if inserted.state is not JobState.INSERTED:
            self.report({"ERROR"}, inserted.message)
            return {"CANCELLED"}
        self.report({"INFO"}, inserted.message)
        return {"FINISHED"}


classes = (VEO_OT_insert_job,)
