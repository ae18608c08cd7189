"""Generate Veo transitions from the shell, without opening Blender's window.

Usage, with Blender:

    blender -b edit.blend --online-mode --python scripts/veo_generate.py -- --prompt "..." \
        [--all-gaps] [--resume] [--save] [options]

With the `bpy` wheel's Python (which cannot take a .blend on its command line, so the
script opens it):

    python scripts/veo_generate.py --blend edit.blend -- --prompt "..." [--save] [options]

What it does: in the active scene (or the one --scene names), fills the gap between two
strips (--left/--right, else the two selected strips, else the gap under the playhead), or
every gap with --all-gaps, with a clip from Veo 3.1; --resume first finishes the file's
unfinished jobs; --save saves the .blend afterwards. Everything the add-on can see is wrong is
refused before anything is paid for (--all-gaps lists the gaps it skips, then the cost of the
rest). `--help` after `--` lists every option; docs/headless.md tells the rest.

Environment:
    VEO_API_KEY    the Highway API key, when the add-on preferences have none
    VEO_BASE_URL   the service URL, when the preferences have none (e.g. the local server)
    VEO_USER_DIR   the folder for the job journal (default: the extension's user folder)

Exit status: 0 every clip is on the timeline (or nothing was left to resume); 1 anything failed
(the message is on stderr); 2 a command-line mistake; 3 (only with --max-seam-difference D)
every clip is in but some transition has no take with both seams at most D.

Online access: without --online-mode (or "Allow Online Access") the add-on reaches no service
but a loopback one (the local server: nothing leaves the machine), which is how the wheel's
Python, which cannot pass --online-mode, runs `make demo` and the tests.

From a source checkout the add-on is not installed: the script then registers `veo_addon`
from the repository beside it. An installed and enabled extension is used as it is.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import bpy

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_SEAMS = 3  # every clip is in, but some transition has no take within --max-seam-difference

RANDOM_SEED = -1
SEED_MAX = 2**31 - 1  # the operator's seed is a Blender IntProperty (a C int)


def script_arguments(argv: Sequence[str]) -> list[str]:
    """The arguments meant for this script.

    Inside Blender everything before `--` belongs to Blender. Run with plain Python (the
    bpy wheel) the script is argv[0], and a leading `--blend PATH` may come before `--`.
    """
    run_by_python = bool(argv) and Path(argv[0]).resolve() == Path(__file__).resolve()
    if run_by_python:
        arguments = list(argv[1:])
        if "--" in arguments:
            arguments.remove("--")  # the first one only: a later "--" would be a value
        return arguments
    return list(argv[argv.index("--") + 1 :]) if "--" in argv else []


def seed_argument(text: str) -> int:
    """Blender's operator keeps the seed in a C int, so the range stops at 2**31 - 1."""
    try:
        seed = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not (seed == RANDOM_SEED or 0 <= seed <= SEED_MAX):
        raise argparse.ArgumentTypeError(f"{seed} is outside 0 to {SEED_MAX} (omit --seed for a random one)")
    return seed


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="veo_generate.py",
        description="Fill gaps in the Video Sequence Editor with Veo 3.1 clips (headless).",
    )
    parser.add_argument("--blend", type=Path, help="open this .blend first (for the bpy wheel's Python)")
    parser.add_argument("--prompt", help="the transition to generate (required unless --resume)")
    parser.add_argument("--negative-prompt", default="")
    parser.add_argument(
        "--seed",
        type=seed_argument,
        default=RANDOM_SEED,
        help=f"0 to {SEED_MAX} repeats a result; omitted (or {RANDOM_SEED}): a random seed",
    )
    parser.add_argument("--scene", default="", help="the scene to work in (default: the active one)")
    parser.add_argument("--resolution", choices=["720p", "1080p"], default="720p")
    parser.add_argument("--aspect-ratio", choices=["auto", "16:9", "9:16"], default="auto")
    parser.add_argument("--duration", choices=["auto", "4", "6", "8"], default="auto")
    parser.add_argument("--samples", type=int, choices=[1, 2, 3, 4], default=1)
    parser.add_argument("--audio", action="store_true", help="generate sound too")
    parser.add_argument(
        "--person-generation", choices=["allow_adult", "dont_allow", "allow_all"], default="allow_adult"
    )
    parser.add_argument("--left", default="", help="the strip before the gap (with --right)")
    parser.add_argument("--right", default="", help="the strip after the gap (with --left)")
    sources = ["render", "strip", "file", "url"]
    parser.add_argument("--first-source", choices=sources, default="render")
    parser.add_argument("--first-file", default="", help="PNG, JPEG, TIFF or WebP for --first-source file")
    parser.add_argument("--first-url", default="", help="http(s) image for --first-source url")
    parser.add_argument("--last-source", choices=sources, default="render")
    parser.add_argument("--last-file", default="", help="PNG, JPEG, TIFF or WebP for --last-source file")
    parser.add_argument("--last-url", default="", help="http(s) image for --last-source url")
    parser.add_argument("--fit-method", choices=["crop", "letterbox"], default="crop")
    parser.add_argument("--fit-mode", choices=["stretch", "trim"], default="stretch")
    parser.add_argument("--make-room", action="store_true", help="strips that touch: push the right side")
    parser.add_argument(
        "--min-gap",
        type=float,
        metavar="SECONDS",
        help="refuse (with --all-gaps: skip) gaps shorter than this; default: the preference, 0.5",
    )
    parser.add_argument(
        "--max-stretch",
        type=float,
        metavar="FACTOR",
        help="refuse (skip) gaps more than FACTOR times the clip's length; default: the preference, 2",
    )
    parser.add_argument("--new", action="store_true", help="pay for a new clip even if identical")
    parser.add_argument("--all-gaps", action="store_true", help="fill every gap on the timeline")
    parser.add_argument("--resume", action="store_true", help="first finish the file's unfinished jobs")
    parser.add_argument("--save", action="store_true", help="save the .blend afterwards")
    parser.add_argument(
        "--max-seam-difference",
        type=float,
        metavar="D",
        help="exit 3 when a transition inserted by this run has no take whose seams (0 = the clip "
        "starts and ends exactly on its keyframes) are both at most D; see docs/fitting-and-takes.md",
    )
    return parser


def parse_arguments(argv: Sequence[str]) -> argparse.Namespace:
    parser = build_parser()
    arguments = parser.parse_args(script_arguments(argv))
    if arguments.prompt is None and not arguments.resume:
        parser.error("--prompt is required (unless --resume)")
    if arguments.all_gaps and (arguments.left or arguments.right):
        parser.error("--all-gaps fills every gap; it takes no --left/--right")
    if arguments.min_gap is not None and not arguments.min_gap >= 0:
        parser.error(f"--min-gap must be 0 or more seconds, got {arguments.min_gap:g}")
    if arguments.max_seam_difference is not None and not 0 <= arguments.max_seam_difference <= 255:
        parser.error(f"--max-seam-difference must be 0 to 255, got {arguments.max_seam_difference:g}")
    if arguments.max_stretch is not None and not arguments.max_stretch >= 1:
        parser.error(f"--max-stretch must be at least 1, got {arguments.max_stretch:g}")
    if bool(arguments.left) != bool(arguments.right):
        parser.error("name both strips around the gap (--left and --right), or neither")
    for side in ("first", "last"):
        source = getattr(arguments, f"{side}_source")
        if source in ("file", "url") and not getattr(arguments, f"{side}_{source}").strip():
            value = "PATH" if source == "file" else "URL"
            parser.error(f"--{side}-source {source} needs --{side}-{source} {value}")
    return arguments


def operators_registered() -> bool:
    # `hasattr(bpy.ops, "veo")` is always true (bpy.ops makes up submodules on request);
    # asking for the operator's RNA type fails unless it is really registered.
    try:
        bpy.ops.veo.generate_transition.get_rna_type()
    except (AttributeError, KeyError, RuntimeError):
        return False
    return True


def ensure_addon_registered() -> Callable[[], None] | None:
    """Register the add-on from the checkout unless it is installed; returns how to undo that."""
    if operators_registered():
        return None  # an installed, enabled extension: Blender looks after it
    if str(REPOSITORY_ROOT) not in sys.path:
        sys.path.insert(0, str(REPOSITORY_ROOT))
    import veo_addon

    veo_addon.register()
    return veo_addon.unregister


def generation_properties(arguments: argparse.Namespace) -> dict[str, Any]:
    """The operator properties shared by generate_transition and fill_gaps."""
    return {
        "prompt": arguments.prompt,
        "negative_prompt": arguments.negative_prompt,
        "seed": arguments.seed,
        "resolution": arguments.resolution,
        "aspect_ratio": arguments.aspect_ratio,
        "duration": arguments.duration,
        "sample_count": arguments.samples,
        "generate_audio": arguments.audio,
        "person_generation": arguments.person_generation,
        "first_source": arguments.first_source,
        "first_path": arguments.first_file,
        "first_url": arguments.first_url,
        "last_source": arguments.last_source,
        "last_path": arguments.last_file,
        "last_url": arguments.last_url,
        "fit_method": arguments.fit_method,
        "fit_mode": arguments.fit_mode,
        "make_room": arguments.make_room,
        "new_generation": arguments.new,
        # Left out, the operator uses the preferences' limits.
        **({"min_gap_seconds": arguments.min_gap} if arguments.min_gap is not None else {}),
        **({"max_stretch": arguments.max_stretch} if arguments.max_stretch is not None else {}),
    }


def job_records() -> dict[str, tuple[str, str]]:
    """job id -> (task id, state) for every job the open file lists.

    Read through RNA (`scene.veo_jobs`) rather than the add-on's modules, whose package
    name differs between a source checkout and an installed extension.
    """
    records = {}
    for scene in bpy.data.scenes:
        for entry in getattr(scene, "veo_jobs", ()):
            records[entry.job_id] = (entry.task_id, entry.state)
    return records


def paid_work_to_keep(before: dict[str, tuple[str, str]], after: dict[str, tuple[str, str]]) -> bool:
    """True when a job got a task id, or changed, during this run (so the file has news to keep)."""
    return any(
        task_id and before.get(job_id) != (task_id, state) for job_id, (task_id, state) in after.items()
    )


def clip_strips_by_take_group(job_ids: set[str]) -> dict[str, list[Any]]:
    """The clip strips (one per take) each of these jobs inserted, by take group; read through
    RNA and custom properties, like job_records()."""
    groups: dict[str, list[Any]] = {}
    for scene in bpy.data.scenes:
        editor = scene.sequence_editor
        if editor is None:
            continue
        # The add-on's compat module is not imported here (see job_records): 4.2 has only
        # `sequences_all`, 5.0 only `strips_all`.
        strips = editor.strips_all if hasattr(editor, "strips_all") else editor.sequences_all
        for strip in strips:
            if strip.get("veo_role") == "clip" and strip.get("veo_job_id") in job_ids:
                groups.setdefault(str(strip.get("veo_take_group", strip.name)), []).append(strip)
    return groups


def seam_shortfalls(job_ids: set[str], max_difference: float) -> list[str]:
    """One line per transition of these jobs where no take's seams are both within the limit."""
    lines = []
    for strips in clip_strips_by_take_group(job_ids).values():
        measured = [
            (max(float(s["veo_seam_in"]), float(s["veo_seam_out"])), s)
            for s in strips
            if "veo_seam_in" in s and "veo_seam_out" in s
        ]
        if any(worse <= max_difference for worse, _ in measured):
            continue
        first = min(strips, key=lambda strip: strip.frame_final_start)
        frames = f"{first.frame_final_start}-{first.frame_final_end - 1}"
        where = f"job {str(first['veo_job_id'])[:8]} at frames {frames}"
        if not measured:
            lines.append(
                f"[veo] SEAMS {where}: the seams were not measured, so no take is known to be "
                f"within {max_difference:g}"
            )
            continue
        _, best = min(measured, key=lambda pair: pair[0])
        lines.append(
            f"[veo] SEAMS {where}: no take within --max-seam-difference {max_difference:g}; the best, "
            f"take {int(best['veo_take_index']) + 1}, has in {float(best['veo_seam_in']):.1f}, out "
            f"{float(best['veo_seam_out']):.1f}"
        )
    return lines


def with_enum_identifiers(operator: Any, properties: dict[str, Any]) -> dict[str, Any]:
    """Command-line choices are lower case; the operator's enum identifiers are not all so."""
    rna_properties = operator.get_rna_type().properties
    matched = dict(properties)
    for name, value in properties.items():
        rna = rna_properties.get(name)
        if rna is None or rna.type != "ENUM" or not isinstance(value, str):
            continue
        for item in rna.enum_items:
            if item.identifier.casefold() == value.casefold():
                matched[name] = item.identifier
    return matched


def run_operator(operator: Any, **properties: Any) -> None:
    """Call a veo operator; raise RuntimeError unless it finished.

    bpy.ops raises RuntimeError itself when the operator reports an ERROR (its message is
    the report); a plain CANCELLED without a report is turned into one here.
    """
    result = operator(**with_enum_identifiers(operator, properties))
    if "FINISHED" not in result:
        raise RuntimeError(f"{operator.idname_py()} ended {sorted(result)}")


# (window, the scene it showed) while `operating_on` has it show the scene asked for.
_SHOWN_BEFORE: list[tuple[Any, Any]] = []


@contextlib.contextmanager
def operating_on(scene: Any) -> Iterator[None]:
    """Within the block, `bpy.context.scene` is `scene` for every operator called.

    Not by `bpy.context.temp_override(scene=...)`: while an operator runs, Blender 4.2 to 5.0
    (Python 3.11) reads an override without Python's lock whenever another thread holds it (a
    job's worker encoding a keyframe or reading an answer), and the process crashes with a
    segmentation fault (about one run in ten). Shown in the window, the scene is the context's
    with no override at all.
    """
    window = bpy.context.window or next(iter(bpy.context.window_manager.windows), None)
    if bpy.context.scene == scene:
        yield
    elif window is None:  # a file saved with no window: the override is the only way left
        with bpy.context.temp_override(scene=scene):
            yield
    else:
        _SHOWN_BEFORE.append((window, window.scene))
        window.scene = scene
        try:
            yield
        finally:
            window.scene = _SHOWN_BEFORE.pop()[1]


@contextlib.contextmanager
def as_opened() -> Iterator[None]:
    """While saving: the window shows the scene it showed when the file was opened."""
    operated = [(window, window.scene) for window, _ in _SHOWN_BEFORE]
    for window, shown in _SHOWN_BEFORE:
        window.scene = shown
    try:
        yield
    finally:
        for window, scene in operated:
            window.scene = scene


def save_blend() -> None:
    if not bpy.data.filepath:
        raise RuntimeError("The file has never been saved, so --save has no path to save to")
    with as_opened():
        bpy.ops.wm.save_mainfile()
    print(f"[veo] saved {bpy.data.filepath}", flush=True)


def chosen_scene(name: str) -> Any:
    """The scene named on the command line (None if there is none so named), else the active one."""
    if not name:
        return bpy.context.scene
    return bpy.data.scenes.get(name)


def main(argv: Sequence[str]) -> int:
    arguments = parse_arguments(argv)
    if arguments.blend is not None:
        if not arguments.blend.is_file():
            print(f"veo_generate: --blend: no such .blend file: {arguments.blend}", file=sys.stderr)
            return EXIT_USAGE
        bpy.ops.wm.open_mainfile(filepath=str(arguments.blend.resolve()))
    scene = chosen_scene(arguments.scene)
    if scene is None:
        names = ", ".join(repr(other.name) for other in bpy.data.scenes)
        where = bpy.data.filepath or "this file"
        print(
            f"veo_generate: --scene: no scene {arguments.scene!r} in {where}; its scenes: {names}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    unregister = ensure_addon_registered()
    try:
        # The operators work on the context's scene: the chosen one, or the active one. Not
        # through a context override: with one, workers can crash Blender (operating_on).
        with operating_on(scene):
            return generate(arguments)
    finally:
        # The 4.2 wheel crashes (SIGSEGV) while the process exits with the add-on's classes
        # still registered, turning every exit status into 139: undo what this script did.
        if unregister is not None:
            unregister()


def generate(arguments: argparse.Namespace) -> int:
    """Resume and/or generate as asked, save if asked; the exit status."""
    before = job_records()
    failure: str | None = None
    try:
        if arguments.resume:
            run_operator(bpy.ops.veo.resume_jobs)
        if arguments.prompt is not None:
            properties = generation_properties(arguments)
            if arguments.all_gaps:
                run_operator(bpy.ops.veo.fill_gaps, **properties)
            else:
                run_operator(
                    bpy.ops.veo.generate_transition,
                    left_strip=arguments.left,
                    right_strip=arguments.right,
                    **properties,
                )
    except RuntimeError as error:
        failure = str(error).strip().removeprefix("Error:").strip()

    # After a failure the timeline is as it was, but a job that reached the service has a task
    # id (the clip may still arrive, and it may be paid for). The journal keeps it too, yet
    # saving puts it in the file itself, so `--resume` on this file finds it on any machine.
    # A failure before anything was sent leaves the file untouched.
    if arguments.save and (failure is None or paid_work_to_keep(before, job_records())):
        try:
            save_blend()
        except RuntimeError as error:
            failure = failure or str(error).strip()

    if failure is not None:
        print(f"veo_generate: {failure}", file=sys.stderr, flush=True)
        return EXIT_FAILED
    if arguments.max_seam_difference is not None:
        after = job_records()
        changed = {job_id for job_id, record in after.items() if before.get(job_id) != record}
        shortfalls = seam_shortfalls(changed, arguments.max_seam_difference)
        for line in shortfalls:
            print(line, flush=True)
            print(f"veo_generate: {line.removeprefix('[veo] ')}", file=sys.stderr, flush=True)
        if shortfalls:
            return EXIT_SEAMS
    return EXIT_OK


if __name__ == "__main__":
    status = main(sys.argv)
    sys.stdout.flush()
    sys.exit(status)
