"""Run by test_installed_extension.py in Debian's Blender 4.3 (background), extension installed.

Usage: blender -b EDIT.blend --online-mode --python-exit-code 1 --python installed_generate.py --
           RESULT.json VEO_GENERATE.py [veo_generate options...]

Enables the installed extension ($VEO_EXTENSION_MODULE) unless the saved preferences already
did, runs a copy of scripts/veo_generate.py (its `main`, in this process, so what it imported
can be inspected), and writes to RESULT.json: its exit status, the movie strips in the scene,
where the add-on, httpx and Pillow were imported from, and sys.path.
"""

import importlib.util
import json
import os
import sys
import traceback

import addon_utils
import bpy

RESULT_PATH, CLI_PATH, *GENERATE_ARGS = sys.argv[sys.argv.index("--") + 1 :]
MODULE = os.environ["VEO_EXTENSION_MODULE"]

result = {
    "blender": bpy.app.version_string,
    "python": list(sys.version_info[:2]),
    "online_access": bpy.app.online_access,
    "enabled_at_start": MODULE in bpy.context.preferences.addons,
    "enable_errors": [],
}
if not result["enabled_at_start"]:
    addon_utils.enable(
        MODULE,
        default_set=True,
        handle_error=lambda _error: result["enable_errors"].append(traceback.format_exc()),
    )
result["enabled"] = MODULE in bpy.context.preferences.addons

spec = importlib.util.spec_from_file_location("veo_generate_cli", CLI_PATH)
cli = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cli)
result["status"] = cli.main(["blender", "--", *GENERATE_ARGS])

editor = bpy.context.scene.sequence_editor
result["movie_strips"] = [
    [strip.name, strip.channel, strip.frame_final_start, strip.frame_final_end]
    for strip in (editor.sequences_all if editor else ())
    if strip.type == "MOVIE"
]
# Imported by the add-on while it generated (on first use), not by this script.
result["imported_by_addon"] = sorted(name for name in ("httpx", "PIL") if name in sys.modules)
import httpx  # noqa: E402
import PIL  # noqa: E402

result["httpx_file"] = httpx.__file__
result["pil_file"] = PIL.__file__
result["module_file"] = sys.modules[MODULE].__file__
result["sys_path"] = [os.path.abspath(entry) for entry in sys.path]  # "" is this process's cwd
result["veo_module_files"] = sorted(
    module.__file__
    for name, module in list(sys.modules.items())
    if "veo" in name and getattr(module, "__file__", None)
)
with open(RESULT_PATH, "w") as stream:
    json.dump(result, stream, indent=1)
