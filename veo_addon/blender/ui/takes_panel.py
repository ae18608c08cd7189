"""The Veo tab's view of the active strip: the takes of a Veo clip (seams, which one plays, show or
keep one, what made it), or the job behind a placeholder (state, reason, retry or resume).

Both panels draw only from strip custom properties and the job list's plain fields (no job JSON,
no file, no render): `take_rows`, `sound_note` and `placeholder_status` gather what they show, and
the tests call them directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import bpy

from ...core.lazy_import import lazy_module
from .. import compat
from ..preferences import finishing_settings
from ..provenance import (
    PROP_COST_ESTIMATE,
    PROP_JOB_ID,
    PROP_PROMPT,
    PROP_SEAM_IN,
    PROP_SEAM_OUT,
    PROP_SEED,
    PROP_SOUND_CHANNEL,
    PROP_TAKE_COUNT,
    PROP_TAKE_GROUP,
    PROP_TAKE_INDEX,
    PROP_TAKE_RANK,
    PROP_TASK_ID,
)
from .job_list import STATE_ICONS, draw_progress, state_label
from .keymap import ITEMS as HOTKEYS
from .text import wrapped_label

# Loaded with the first draw that shows a take or a placeholder.
if TYPE_CHECKING:
    from .. import placeholder, sound_fades, takes
else:
    _blender = __package__.rpartition(".")[0]
    placeholder = lazy_module(f"{_blender}.placeholder")
    sound_fades = lazy_module(f"{_blender}.sound_fades")
    takes = lazy_module(f"{_blender}.takes")

CATEGORY = "Veo"


@dataclass(frozen=True)
class TakeRow:
    index: int  # the sample it was, 0-based (the panel shows index + 1)
    clip_name: str  # the take's clip strip, what the buttons name
    plays: bool
    seam_in: float | None  # None: not measured
    seam_out: float | None
    warn_in: bool  # above the Seam Warning preference
    warn_out: bool


@dataclass(frozen=True)
class Provenance:
    take_number: int
    take_count: int
    prompt: str
    seed: str
    task_id: str
    cost: str


@dataclass(frozen=True)
class PlaceholderStatus:
    job_id: str
    state: str  # the job list's state ("" when the job is no longer listed)
    reason: str  # why a failed or stopped job's clip will not come ("" otherwise)
    can_resume: bool


def active_strip(context: Any) -> Any:
    scene = context.scene
    editor = scene.sequence_editor if scene is not None else None
    return editor.active_strip if editor is not None else None


def is_take(strip: Any) -> bool:
    return strip is not None and bool(strip.get(PROP_TAKE_GROUP)) and PROP_TAKE_INDEX in strip


def _score(strip: Any, key: str) -> float | None:
    return float(strip[key]) if key in strip else None


def take_rows(scene: bpy.types.Scene, strip: Any, warn_above: float) -> list[TakeRow]:
    """The takes of the clip `strip` belongs to, best seams first (as `veo.next_take` steps)."""
    if not is_take(strip):
        return []
    rows = []
    ranks = {}
    for index, strips in takes.take_strips(scene, str(strip[PROP_TAKE_GROUP])).items():
        clip = takes.clip_strip(strips)
        if clip is None:
            continue
        seam_in, seam_out = _score(clip, PROP_SEAM_IN), _score(clip, PROP_SEAM_OUT)
        ranks[index] = int(clip[PROP_TAKE_RANK]) if PROP_TAKE_RANK in clip else index
        rows.append(
            TakeRow(
                index=index,
                clip_name=clip.name,
                plays=not clip.mute,
                seam_in=seam_in,
                seam_out=seam_out,
                warn_in=seam_in is not None and seam_in > warn_above,
                warn_out=seam_out is not None and seam_out > warn_above,
            )
        )
    return sorted(rows, key=lambda row: (ranks[row.index], row.index))


def provenance(strip: Any) -> Provenance:
    """What made the take `strip` belongs to (every strip of a take carries it)."""
    return Provenance(
        take_number=int(strip.get(PROP_TAKE_INDEX, 0)) + 1,
        take_count=int(strip.get(PROP_TAKE_COUNT, 1)),
        prompt=str(strip.get(PROP_PROMPT, "")),
        seed=str(strip.get(PROP_SEED, "")) or "random",
        task_id=str(strip.get(PROP_TASK_ID, "")),
        cost=str(strip.get(PROP_COST_ESTIMATE, "")) or "not recorded",
    )


def sound_note(scene: bpy.types.Scene, strip: Any) -> str:
    """One sentence when the clip's sound went to a channel above the neighbours' sound, else ""."""
    if not is_take(strip):
        return ""
    group = str(strip[PROP_TAKE_GROUP])
    channels = [
        int(clip[PROP_SOUND_CHANNEL])
        for strips in takes.take_strips(scene, group).values()
        if (clip := takes.clip_strip(strips)) is not None and PROP_SOUND_CHANNEL in clip and not clip.mute
    ]
    if not channels:
        return ""
    clip = takes.clip_strip(next(iter(takes.take_strips(scene, group).values())))
    start, end = (compat.visible_start(clip), compat.visible_end(clip)) if clip is not None else (0, 0)
    neighbours = sound_fades.neighbour_sound_channels(scene, start, end, group)
    return sound_fades.sound_channel_note(channels[0], neighbours)


def placeholder_status(scene: bpy.types.Scene, strip: Any) -> PlaceholderStatus | None:
    """The job behind the placeholder `strip`, from the job list's plain fields."""
    if strip is None or not placeholder.is_placeholder(strip):
        return None
    job_id = str(strip.get(PROP_JOB_ID, ""))
    entry = next((entry for entry in scene.veo_jobs if entry.job_id == job_id), None)  # type: ignore[attr-defined]
    state = entry.state if entry is not None else ""
    reason = str(strip.get(placeholder.PROP_REASON, ""))
    if not reason and entry is not None and state in ("failed", "stopped", "unknown_outcome"):
        reason = entry.message
    can_resume = entry is not None and state == "stopped" and entry.resumable
    return PlaceholderStatus(job_id=job_id, state=state, reason=reason, can_resume=can_resume)


def hotkey_label(operator: str) -> str:
    for idname, key, modifiers in HOTKEYS:
        if idname == operator:
            held = [name.capitalize() for name in ("ctrl", "shift", "alt") if modifiers.get(name)]
            return "+".join([*held, key.replace("_", " ").title()])
    return ""


def _seam_text(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


class VEO_PT_takes(bpy.types.Panel):
    bl_space_type = "SEQUENCE_EDITOR"
    bl_region_type = "UI"
    bl_category = CATEGORY
    bl_label = "Takes"
    bl_parent_id = "VEO_PT_transition"

    @classmethod
    def poll(cls, context: Any) -> bool:
        return is_take(active_strip(context))

    def draw(self, context: Any) -> None:
        layout: Any = self.layout
        scene = context.scene
        strip = active_strip(context)
        if not is_take(strip):  # poll() said so, but the active strip can change in between
            return
        warn_above, _ = finishing_settings(context)
        rows = take_rows(scene, strip, warn_above)
        active_index = int(strip[PROP_TAKE_INDEX])
        grid = layout.column(align=True)
        header = grid.row(align=True)
        for text in ("Take", "Seam in", "Seam out", ""):
            header.label(text=text)
        for row in rows:
            line = grid.row(align=True)
            line.label(
                text=f"{row.index + 1}{' (active)' if row.index == active_index else ''}",
                icon="PLAY" if row.plays else "HIDE_ON",
            )
            for value, warn in ((row.seam_in, row.warn_in), (row.seam_out, row.warn_out)):
                cell = line.row(align=True)
                cell.alert = warn
                cell.label(text=_seam_text(value), icon="ERROR" if warn else "NONE")
            show = line.row(align=True)
            show.enabled = not row.plays
            show.operator(
                "veo.show_take", text="Plays" if row.plays else "Show", icon="HIDE_OFF"
            ).strip = row.clip_name
        if any(row.warn_in or row.warn_out for row in rows):
            warning = layout.row()
            warning.alert = True
            wrapped_label(
                warning, context, f"A cut differs from its keyframe by more than {warn_above:g}", icon="ERROR"
            )
        if len(rows) > 1:
            steps = layout.row(align=True)
            steps.operator("veo.previous_take", text="Previous", icon="TRIA_LEFT")
            steps.operator("veo.next_take", text="Next", icon="TRIA_RIGHT")
            layout.label(text=f"Keys: {hotkey_label('veo.next_take')} / {hotkey_label('veo.previous_take')}")
            keep = layout.operator("veo.keep_take", text="Keep This Take", icon="CHECKMARK")
            keep.strip = strip.name
            layout.label(text=f"Keeps take {active_index + 1}, removes the other {len(rows) - 1}")
        made = provenance(strip)
        box = layout.box()
        box.label(text=f"Take {made.take_number} of {made.take_count}: what made it", icon="INFO")
        wrapped_label(box, context, f"Prompt: {made.prompt or '(none)'}")
        box.label(text=f"Seed: {made.seed}   Sample: {made.take_number}")
        box.label(text=f"Task: {made.task_id or 'unknown'}")
        wrapped_label(box, context, f"Cost: {made.cost}")
        note = sound_note(scene, strip)
        if note:
            wrapped_label(layout, context, note, icon="SOUND")


class VEO_PT_placeholder(bpy.types.Panel):
    bl_space_type = "SEQUENCE_EDITOR"
    bl_region_type = "UI"
    bl_category = CATEGORY
    bl_label = "Placeholder"
    bl_parent_id = "VEO_PT_transition"

    @classmethod
    def poll(cls, context: Any) -> bool:
        strip = active_strip(context)
        return strip is not None and placeholder.is_placeholder(strip)

    def draw(self, context: Any) -> None:
        layout: Any = self.layout
        scene = context.scene
        status = placeholder_status(scene, active_strip(context))
        if status is None:
            return
        wrapped_label(layout, context, "Holds the gap until the clip lands; delete it to skip inserting.")
        entry = next((entry for entry in scene.veo_jobs if entry.job_id == status.job_id), None)
        if entry is None:
            wrapped_label(layout, context, f"Job {status.job_id[:8]} is no longer in this file's list.")
            return
        layout.label(
            text=f"Job {status.job_id[:8]}: {state_label(status.state)}",
            icon=STATE_ICONS.get(status.state, "SORTTIME"),
        )
        draw_progress(layout, entry)
        if status.reason:
            reason = layout.column()
            reason.alert = True
            wrapped_label(reason, context, status.reason, icon="ERROR")
        if status.state in ("failed", "stopped", "unknown_outcome"):
            row = layout.row(align=True)
            if status.can_resume:
                row.operator("veo.resume_jobs", text="Resume", icon="PLAY").job_id = status.job_id
            retry = row.row(align=True)
            retry.operator_context = "INVOKE_DEFAULT"  # the confirmation that says it pays again
            retry.operator(
                "veo.retry_job", text="Retry (Pays Again)", icon="FILE_REFRESH"
            ).job_id = status.job_id
            wrapped_label(layout, context, "Retry is a new, paid generation.")


classes = (VEO_PT_takes, VEO_PT_placeholder)


def register() -> None:
    for cls in classes:
        bpy.utils.register_class(cls)


def unregister() -> None:
    for cls in reversed(classes):
        bpy.utils.unregister_class(cls)
