"""The extension zip from `make build`, installed as a user installs it, for the window Blender.

`install(folder)` takes the Linux zip (dist/'s when it is newer than everything it is built
from, else a fresh build into FOLDER), installs it with Blender's own command line
(`blender --command extension install-file -r user_default -e ZIP`) into an empty user
folder (HOME=FOLDER/home) in the chroot's Blender 4.3, checks that it really installed (the
command exits 0 even when it fails), and returns what a test needs to start that Blender,
headless or in a window, with only the installed copy:

    extension = installed.install(tmp_path)
    script = extension.stage(IN_BLENDER / "my_window_script.py")    # copied: the checkout stays out
    window_env.run(window_env.window_command(script, "--", ...), binds=extension.binds,
                   env=extension.env | {...}, timeout=...)

The repository is never bind-mounted: scripts are copied into FOLDER (`stage`), so nothing in
Blender can import the source tree. Without --factory-startup Blender reads the user
preferences the install saved, where the extension is enabled; `window_command` starts with
--factory-startup, so a window script enables it itself:
`bpy.ops.preferences.addon_enable(module=os.environ["VEO_EXTENSION_MODULE"])`.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from tools import window_env

REPOSITORY = Path(__file__).resolve().parents[2]
MANIFEST = REPOSITORY / "blender_manifest.toml"
EXTENSION_ID: str = tomllib.loads(MANIFEST.read_text())["id"]
MODULE = f"bl_ext.user_default.{EXTENSION_ID}"
BLENDER_VERSION = "4.3"  # Debian trixie's, in the chroot
PYTHON_VERSION = "3.13"
# What the zip is made of: a zip older than any of these is stale.
BUILD_INPUTS = (
    REPOSITORY / "veo_addon",
    MANIFEST,
    REPOSITORY / "tools" / "pins.toml",
    REPOSITORY / "tools" / "build.py",
)


class InstallError(AssertionError):
    """Building or installing the zip failed; the message carries Blender's output."""


@dataclass(frozen=True)
class InstalledExtension:
    zip_path: Path
    home: Path
    extension_folder: Path  # .../extensions/user_default/<id>: the installed package
    wheels_site: Path  # .../extensions/.local/lib/python3.13/site-packages: its wheels
    module: str
    install_output: str
    env: dict[str, str]  # HOME, VEO_EXTENSION_MODULE
    binds: list[Path]  # the folder given to install(), holding HOME, the zip and staged scripts

    def stage(self, script: Path) -> Path:
        """A copy of SCRIPT inside the bound folder, so Blender can run it without the checkout."""
        target = self.binds[0] / "scripts" / script.name
        target.parent.mkdir(exist_ok=True)
        shutil.copy2(script, target)
        return target


def _newest_input() -> float:
    newest = 0.0
    for item in BUILD_INPUTS:
        files = [item] if item.is_file() else [p for p in item.rglob("*") if p.is_file()]
        newest = max([newest, *(p.stat().st_mtime for p in files if "__pycache__" not in p.parts)])
    return newest


def linux_zip(build_folder: Path) -> Path:
    """dist/'s Linux zip when it is current, else one built now into BUILD_FOLDER."""
    existing = sorted((REPOSITORY / "dist").glob(f"{EXTENSION_ID}-*-linux_x64.zip"))
    if len(existing) == 1 and existing[0].stat().st_mtime >= _newest_input():
        return existing[0]
    build_folder.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, str(REPOSITORY / "tools" / "build.py"), "--platform", "linux-x64"]
    built = subprocess.run(
        [*command, "--output-dir", str(build_folder)], capture_output=True, text=True, timeout=600
    )
    if built.returncode != 0:
        raise InstallError(f"tools/build.py failed (exit {built.returncode}):\n{built.stdout}{built.stderr}")
    [zip_path] = build_folder.glob("*linux_x64.zip")
    return zip_path


def install(folder: Path, zip_file: Path | None = None, timeout: float = 120) -> InstalledExtension:
    """Install ZIP_FILE (default: the Linux zip) into an empty user folder under FOLDER."""
    window_env.ensure()
    folder = folder.resolve()
    home = folder / "home"
    home.mkdir(parents=True)
    built = zip_file or linux_zip(folder / "build")
    zip_path = folder / "zip" / built.name
    zip_path.parent.mkdir()
    shutil.copy2(built, zip_path)
    env = {"HOME": str(home), "VEO_EXTENSION_MODULE": MODULE}
    command = ["blender", "--command", "extension", "install-file", "-r", "user_default", "-e", str(zip_path)]
    completed = window_env.run(command, binds=[folder], env=env, timeout=timeout, capture=True)
    output = f"{completed.stdout}\n{completed.stderr}".strip()
    user = home / ".config" / "blender" / BLENDER_VERSION / "extensions"
    extension_folder = user / "user_default" / EXTENSION_ID
    wheels_site = user / ".local" / "lib" / f"python{PYTHON_VERSION}" / "site-packages"
    # `extension install-file` exits 0 whatever happens: read what it said and what it left.
    installed = re.search(rf'^STATUS (Re)?[Ii]nstalled "{EXTENSION_ID}"', output, re.MULTILINE)
    if completed.returncode != 0 or not installed or "ERROR" in output:
        raise InstallError(f"installing {zip_path.name} failed (exit {completed.returncode}):\n{output}")
    if not (extension_folder / "__init__.py").is_file() or not (wheels_site / "httpx").is_dir():
        raise InstallError(
            f"Blender said it installed {zip_path.name} but left no package or wheels:\n{output}"
        )
    return InstalledExtension(
        zip_path=zip_path,
        home=home,
        extension_folder=extension_folder,
        wheels_site=wheels_site,
        module=MODULE,
        install_output=output,
        env=env,
        binds=[folder],
    )


def tail(text: str, lines: int = 60) -> str:
    """The end of a Blender's output, for an assertion message."""
    return "\n".join(text.strip().splitlines()[-lines:])


def make_edit(extension: InstalledExtension, env: dict[str, str], edit: Path) -> None:
    """Write the two-shot edit (in_blender/make_edit.py) to `edit` with the chroot's Blender."""
    script = extension.stage(Path(__file__).resolve().parent / "in_blender" / "make_edit.py")
    made = window_env.run(
        ["blender", "-b", "--factory-startup", "--python", str(script), "--", str(edit)],
        binds=extension.binds,
        env=env,
        timeout=120,
        capture=True,
    )
    assert made.returncode == 0 and edit.is_file(), (
        f"making the edit failed:\n{tail(made.stdout + made.stderr)}"
    )
