"""A .blend's job list written before error codes reads as it did then: each entry holds the
job as JSON, so the jobs of the captured journal are put into a scene's list the same way."""

from __future__ import annotations

import json

import bpy

from tests.core.test_journal_compat import CODES, CONCLUDED_BEFORE_CODES, FIXTURE
from veo_addon.blender import jobstore


def test_a_job_list_written_before_error_codes_reads_as_before(veo, scene: bpy.types.Scene) -> None:  # type: ignore[no-untyped-def]
    entries = json.loads(FIXTURE.read_text(encoding="utf-8"))["jobs"]
    for job_id, data in entries.items():
        entry = scene.veo_jobs.add()  # type: ignore[attr-defined]
        entry.job_id = job_id
        entry.state = data["state"]
        entry.data = json.dumps(data, sort_keys=True)
    jobs = {job.job_id.removeprefix("job-"): job for job in jobstore.scene_jobs(scene)}
    assert sorted(jobs) == sorted(CONCLUDED_BEFORE_CODES)
    assert {name: job.error_code for name, job in jobs.items() if job.error_code} == CODES
    for name, (can_resume, blocks, charge, _) in CONCLUDED_BEFORE_CODES.items():
        job = jobs[name]
        assert (job.can_resume, job.blocks_identical_submit, job.charge.value) == (
            can_resume,
            blocks,
            charge,
        ), name
