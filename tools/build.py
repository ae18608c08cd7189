"""Build the extension: one zip per platform with its wheels, validated, plus a static repository.

Usage: python3 tools/build.py [--platform linux-x64 ...]   (`make build`)

Downloads the wheels pinned in tools/pins.toml [shipped] into a cache that later runs reuse
(~/.cache/veo-transitions/wheels, or $VEO_WHEEL_CACHE), stages the package (the manifest,
veo_addon/'s contents at the zip's root, wheels/), builds with Blender's own extension tool
(`blender_ext.py build --split-platforms`, shipped in the bpy wheel), validates every zip with
the same tool and writes dist/repo/index.json (`server-generate`) for hosting on a web server.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "blender_manifest.toml"
PINS = ROOT / "tools" / "pins.toml"
DIST = ROOT / "dist"

# Python versions of the Blenders we ship for: 3.11 (Blender 4.2 to 5.0), 3.13 (5.1 and newer,
# and Linux distributions' builds).
PYTHON_VERSIONS = ("3.11", "3.13")
# Blender platform -> pip --platform tags, best first (pip takes any of them).
PIP_PLATFORMS = {
    "linux-x64": ["manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"],
    "macos-arm64": ["macosx_11_0_arm64"],
    "macos-x64": ["macosx_11_0_x86_64"],
    "windows-x64": ["win_amd64"],
}
# Packages with compiled code; every other shipped package is a pure-Python wheel.
BINARY_PACKAGES = {"pillow"}


def wheel_cache() -> Path:
    default = Path.home() / ".cache" / "veo-transitions" / "wheels"
    return Path(os.environ.get("VEO_WHEEL_CACHE") or default)


def extension_tool() -> tuple[str, Path]:
    """The venv python and Blender's extension tool inside its bpy wheel."""
    python = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "venvs.py"), "blender50"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    found = sorted(
        Path(python).parent.parent.glob(
            "lib/python3*/site-packages/bpy/*/scripts/addons_core/bl_pkg/cli/blender_ext.py"
        )
    )
    if not found:
        raise SystemExit(f"Blender's extension tool (blender_ext.py) is missing from the venv of {python}")
    return python, found[-1]


def pip_download(cache: Path, requirement: str, extra: list[str]) -> None:
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check"]
    command += ["--only-binary=:all:", "--no-deps", "--dest", str(cache), *extra, requirement]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(
            f"could not download {requirement} ({' '.join(extra)}):\n{result.stdout}{result.stderr}"
        )


def wheel_name_matches(name: str, package: str, version: str) -> bool:
    distribution, wheel_version = name.split("-")[:2]
    return distribution.lower() == package.replace("-", "_").lower() and wheel_version == version


def fetch_wheels(platforms: list[str]) -> list[Path]:
    """Every pinned wheel for the given platforms, from the cache or the package registry."""
    shipped: dict[str, str] = tomllib.loads(PINS.read_text())["shipped"]
    cache = wheel_cache()
    cache.mkdir(parents=True, exist_ok=True)
    wheels: list[Path] = []
    for package, version in sorted(shipped.items()):
        if package not in BINARY_PACKAGES:
            wheels += wheels_for(cache, package, version, "py3-none-any", [])
            continue
        for platform in platforms:
            for python_version in PYTHON_VERSIONS:
                tag = "cp" + python_version.replace(".", "")
                pip_tags = PIP_PLATFORMS[platform]
                extra = ["--python-version", python_version, "--implementation", "cp", "--abi", tag]
                for pip_tag in pip_tags:
                    extra += ["--platform", pip_tag]
                pattern = f"{tag}-{tag}-"
                wheels += wheels_for(cache, package, version, pattern, extra, pip_tags)
    return wheels


def wheels_for(
    cache: Path, package: str, version: str, tag: str, extra: list[str], platforms: list[str] | None = None
) -> list[Path]:
    def cached() -> list[Path]:
        return [
            path
            for path in sorted(cache.glob("*.whl"))
            if wheel_name_matches(path.name, package, version)
            and tag in path.name
            and (platforms is None or any(platform_matches(path.name, p) for p in platforms))
        ]

    found = cached()
    if not found:
        pip_download(cache, f"{package}=={version}", extra)
        found = cached()
    if len(found) != 1:
        raise SystemExit(
            f"expected one {package} {version} wheel ({tag}) in {cache}, found {[p.name for p in found]}"
        )
    return found


def platform_matches(wheel_name: str, pip_platform: str) -> bool:
    """A wheel's platform tag belongs to the same OS and machine as a pip --platform tag."""
    family = pip_platform.split("_")[0].rstrip("0123456789")
    machine = (
        "arm64"
        if pip_platform.endswith("arm64")
        else ("amd64" if pip_platform.endswith("amd64") else "x86_64")
    )
    wheel_platforms = wheel_name[: -len(".whl")].split("-")[-1].split(".")
    return any(p.startswith(family) and p.endswith(machine) for p in wheel_platforms)


def manifest_wheel_list(wheels: list[Path]) -> str:
    lines = "".join(f'  "./wheels/{path.name}",\n' for path in wheels)
    return f"wheels = [\n{lines}]"


def check_manifest_wheels(wheels: list[Path]) -> None:
    """The manifest lists exactly the pinned wheels, so what ships is what the pins say."""
    listed = tomllib.loads(MANIFEST.read_text()).get("wheels", [])
    wanted = [f"./wheels/{path.name}" for path in wheels]
    if sorted(listed) != sorted(wanted):
        raise SystemExit(
            "blender_manifest.toml's `wheels` differ from the pins in tools/pins.toml [shipped]; "
            "replace the list with:\n" + manifest_wheel_list(wheels)
        )


def stage(wheels: list[Path], folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(ROOT / "veo_addon", folder, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy2(MANIFEST, folder / MANIFEST.name)
    (folder / "wheels").mkdir()
    for wheel in wheels:
        shutil.copy2(wheel, folder / "wheels" / wheel.name)


def run_tool(python: str, tool: Path, *args: str) -> str:
    result = subprocess.run([python, str(tool), *args], capture_output=True, text=True)
    output = result.stdout + result.stderr
    if result.returncode != 0:
        raise SystemExit(f"blender_ext.py {args[0]} failed:\n{output}")
    return output


def build(platforms: list[str], dist: Path = DIST) -> list[Path]:
    # The manifest lists every platform's wheels, so all of them are staged; the tool keeps
    # each platform's own in its zip.
    wheels = fetch_wheels(list(PIP_PLATFORMS))
    check_manifest_wheels(wheels)
    stage_dir = dist / "stage"
    stage(wheels, stage_dir)
    python, tool = extension_tool()
    for old in dist.glob("*.zip"):
        old.unlink()
    run_tool(
        python, tool, "build", "--source-dir", str(stage_dir), "--output-dir", str(dist), "--split-platforms"
    )
    zips = sorted(dist.glob("*.zip"))
    built = {re.sub(r"^.*-", "", z.stem).replace("_", "-") for z in zips}
    # --split-platforms writes every platform of the manifest; keep the ones asked for.
    for zip_path in zips:
        if re.sub(r"^.*-", "", zip_path.stem).replace("_", "-") not in platforms:
            zip_path.unlink()
    zips = sorted(dist.glob("*.zip"))
    if not set(platforms) <= built:
        raise SystemExit(f"the extension tool built {sorted(built)}, expected {platforms}")
    for zip_path in zips:
        run_tool(python, tool, "validate", str(zip_path))
    repo = dist / "repo"
    shutil.rmtree(repo, ignore_errors=True)
    repo.mkdir(parents=True)
    for zip_path in zips:
        shutil.copy2(zip_path, repo / zip_path.name)
    run_tool(python, tool, "server-generate", "--repo-dir", str(repo))
    return zips


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--platform", action="append", choices=sorted(PIP_PLATFORMS), help="default: all")
    parser.add_argument("--output-dir", type=Path, default=DIST, help="default: dist/")
    args = parser.parse_args()
    platforms = args.platform or list(PIP_PLATFORMS)
    dist = args.output_dir.resolve()
    dist.mkdir(parents=True, exist_ok=True)
    for zip_path in build(platforms, dist):
        print(f"{zip_path}  {zip_path.stat().st_size / 1e6:.1f} MB  (validated)")
    print(f"{dist / 'repo' / 'index.json'}  static repository for Preferences > Get Extensions")


if __name__ == "__main__":
    main()
