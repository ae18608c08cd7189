"""The Linux zip from `make build`, installed as a user installs it, runs a real generation.

`tools/build.py` builds the zip (wheels cached under ~/.cache, so reruns are quick); a fresh
process of this venv's Python (the bpy wheel) with HOME pointed at an empty folder installs it
with `extensions.package_install_files`, generates against the local server with only the
installed copy (the checkout is not on sys.path there), disables, re-enables, generates again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "veo_generate.py"
MODULE = "bl_ext.user_default.veo_transitions"

# Runs in the fresh process, from a folder outside the checkout.
INSTALL_AND_GENERATE = """
import importlib.util, json, os, sys
from pathlib import Path
import bpy
import addon_utils

zip_path, script, blend, root, MODULE = sys.argv[1:6]


def checkout_on_path():
    # Whether the source tree could be imported from: a sys.path entry inside the checkout,
    # other than the venv this Python runs in (it sits in the checkout's .venv/).
    venv = Path(sys.prefix).resolve()
    for entry in sys.path:
        resolved = Path(entry or ".").resolve()
        if resolved.is_relative_to(Path(root).resolve()) and not resolved.is_relative_to(venv):
            return True
    return False


# Official Blender builds bundle neither httpx nor Pillow, but this venv has them beside bpy:
# hide the venv's copies so that only the wheels inside the zip can provide them.
import importlib.machinery, sysconfig
VENV_SITE = str(Path(sysconfig.get_paths()["purelib"]).resolve())
SHIPPED = {"httpx", "httpcore", "h11", "anyio", "certifi", "idna", "sniffio", "typing_extensions", "PIL"}
class HideVenvCopies:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if path is None and name in SHIPPED:
            elsewhere = [p for p in sys.path if str(Path(p or ".").resolve()) != VENV_SITE]
            spec = importlib.machinery.PathFinder.find_spec(name, elsewhere)
            if spec is None:
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return spec
        return None
sys.meta_path.insert(0, HideVenvCopies)
assert not checkout_on_path(), sys.path
bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default", enable_on_install=True)

spec = importlib.util.spec_from_file_location("veo_generate_cli", script)
cli = importlib.util.module_from_spec(spec)
spec.loader.exec_module(cli)  # the script alone: it adds the checkout only when nothing is installed

def generate(seed):
    # Opened here rather than with --blend: the scene then is the file's in this wheel process.
    bpy.ops.wm.open_mainfile(filepath=blend)
    status = cli.main(["veo_generate.py", "--", "--prompt", "red to blue", "--seed", seed,
                       "--left", "left", "--right", "right"])
    module = sys.modules[MODULE]
    return {"status": status, "module_file": module.__file__,
            "httpx_file": sys.modules["httpx"].__file__, "pil_file": sys.modules["PIL"].__file__,
            "checkout_on_path": checkout_on_path(),
            "veo_modules_outside": sorted(
                name for name, m in sys.modules.items()
                if "veo" in name and getattr(m, "__file__", None)
                and not Path(m.__file__).resolve().is_relative_to(Path(os.environ["HOME"]).resolve()))}

runs = [generate("3")]
addon_utils.disable(MODULE, default_set=True)
disabled = MODULE not in bpy.context.preferences.addons
addon_utils.enable(MODULE, default_set=True)
runs.append(generate("4"))
user_folder = bpy.utils.extension_path_user(MODULE, create=False)
print("RESULT" + json.dumps({"runs": runs, "disabled": disabled, "user_folder": user_folder}), flush=True)
addon_utils.disable(MODULE, default_set=True)  # the 4.2 wheel crashes on exit with it enabled
"""


@pytest.fixture(scope="module")
def linux_zip(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "build.py"),
            "--platform",
            "linux-x64",
            "--output-dir",
            str(out),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    [zip_path] = out.glob("*linux_x64.zip")
    return zip_path


def installed_files(home: Path) -> set[str]:
    folder = next(home.rglob("extensions/user_default/veo_transitions"))
    return {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


def test_installed_zip_generates_then_again_after_disable_and_enable(linux_zip, edit, highway, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    workdir = tmp_path / "work"
    workdir.mkdir()
    environment = {
        key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "VEO_USER_DIR")
    }
    environment |= {"HOME": str(home), "VEO_BASE_URL": highway.base_url, "VEO_API_KEY": "sk-install-test"}
    driver = workdir / "install_and_generate.py"
    driver.write_text(INSTALL_AND_GENERATE)

    finished = subprocess.run(
        [sys.executable, str(driver), str(linux_zip), str(SCRIPT), str(edit), str(ROOT), MODULE],
        cwd=workdir,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )

    output = finished.stdout + finished.stderr
    assert finished.returncode == 0, output
    result = json.loads(next(line for line in finished.stdout.splitlines() if line.startswith("RESULT"))[6:])
    assert [run["status"] for run in result["runs"]] == [0, 0], output
    assert output.count("[veo] INSERTED job") == 2, output
    assert highway.submit_count == 2
    assert result["disabled"]
    for run in result["runs"]:
        assert Path(run["module_file"]).resolve().is_relative_to(home.resolve())
        assert not run["checkout_on_path"]
        assert run["veo_modules_outside"] == []
        # httpx and Pillow came from the wheels in the zip, installed under the temporary HOME.
        assert Path(run["httpx_file"]).resolve().is_relative_to(home.resolve()), run["httpx_file"]
        assert Path(run["pil_file"]).resolve().is_relative_to(home.resolve()), run["pil_file"]
    # The journal lives in the extension's user folder under the temporary HOME...
    user_folder = Path(result["user_folder"])
    assert user_folder.resolve().is_relative_to(home.resolve())
    assert any(path.is_file() for path in user_folder.rglob("*"))
    # ...and nothing was written into the installed package itself: it holds what the zip holds.
    with zipfile.ZipFile(linux_zip) as archive:
        packed = {name.rstrip("/") for name in archive.namelist()}
    assert installed_files(home) - packed == set()
