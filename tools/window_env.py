"""A real Blender window for tests: Debian's Blender 4.3 under Xvfb, in a chroot.

The `bpy` wheels only run in background mode, where file handlers, timers and modal
operators behave differently from the application people use. This script builds (once)
and runs a Debian trixie chroot with Debian's Blender 4.3 (Python 3.13), Xvfb and Mesa
(with Vulkan, so screenshots work), kept in a cache folder outside the repository.

Usage (as root; needs about 2 GB in the cache, the first build takes about 3 minutes):

    python3 tools/window_env.py ensure                  build what is missing, print the cache folder
    python3 tools/window_env.py rebuild                 throw the cache away and build it again
    python3 tools/window_env.py run [--bind DIR]... [--timeout S] -- CMD...
                                                        run CMD inside the chroot
    python3 tools/window_env.py window [--bind DIR]... [--timeout S] -- SCRIPT.py [ARGS...]
                                                        Blender in a real window running SCRIPT.py

Cache folder: $VEO_WINDOW_CACHE, default ~/.cache/veo-transitions/blender-window/:
    root/          the chroot; root.stamp records what was installed into it. A root
                   without a matching stamp (another package list, or an interrupted
                   build) is deleted and built again.
    wheels-py313/  httpx and Pillow (the versions pinned in tools/pins.toml) for Python
                   3.13, downloaded as cp313 manylinux wheels; Debian's python3-httpx and
                   python3-pil are deliberately not installed in the chroot, so the add-on
                   imports these. Blender ignores PYTHONPATH: a startup script puts
                   `wheels_folder()` on sys.path.

Running: proc, sys, dev and dev/pts are mounted into the root, and every --bind folder
(the repository, a scratch folder) is bind-mounted at the same path inside, so paths mean
the same thing on both sides. Everything is unmounted afterwards, also when the command
fails or times out. The chroot shares the host's loopback: a server on 127.0.0.1 outside
is reachable from Blender inside. Mirror: the host's Debian mirror, or $VEO_WINDOW_MIRROR.

The host only needs `debootstrap` (installed with apt-get when missing) and pip.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
PINS = REPOSITORY / "tools" / "pins.toml"

SUITE = "trixie"
CHROOT_PACKAGES = (
    "blender",
    "xvfb",
    "xauth",
    "libgl1-mesa-dri",
    "libglx-mesa0",
    "libegl-mesa0",
    "mesa-vulkan-drivers",
)
# The extension must bring its own copies; Debian's would hide a missing wheel.
FORBIDDEN_PACKAGES = ("python3-httpx", "python3-pil")
WHEEL_PACKAGES = ("httpx", "pillow")
WHEEL_PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")
CHROOT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
WINDOW_COMMAND = (
    "xvfb-run",
    "-a",
    "-s",
    "-screen 0 1920x1080x24",
    "blender",
    "--factory-startup",
    "--enable-event-simulate",
    "--gpu-backend",
    "vulkan",
    "--python",
)


class WindowEnvError(RuntimeError):
    """The window environment could not be built or run; the message says which step failed."""


def cache_folder() -> Path:
    configured = os.environ.get("VEO_WINDOW_CACHE")
    if configured:
        return Path(configured).expanduser().resolve()
    return Path.home() / ".cache" / "veo-transitions" / "blender-window"


def root_folder() -> Path:
    return cache_folder() / "root"


def wheels_folder() -> Path:
    return cache_folder() / "wheels-py313"


def log(message: str) -> None:
    print(f"[window-env] {message}", file=sys.stderr, flush=True)


# -- building ----------------------------------------------------------------------------------


def host_mirror() -> str:
    """The Debian mirror the host's apt already uses (a machine without internet has one)."""
    if os.environ.get("VEO_WINDOW_MIRROR"):
        return os.environ["VEO_WINDOW_MIRROR"]
    sources = [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]
    for source in sources:
        if not source.is_file() or source.name.endswith(".disabled-by-farm"):
            continue
        for line in source.read_text(errors="replace").splitlines():
            words = line.split()
            urls = words[1:] if words[:1] == ["URIs:"] else [w for w in words[1:2] if words[:1] == ["deb"]]
            for url in urls:
                if url.rstrip("/").endswith("/debian"):
                    return url
    return "http://deb.debian.org/debian"


def wheel_requirements() -> list[str]:
    common = tomllib.loads(PINS.read_text())["common"]
    return [f"{name}=={common[name]}" for name in WHEEL_PACKAGES]


def _wanted_root_stamp() -> dict[str, object]:
    return {"suite": SUITE, "mirror": host_mirror(), "packages": list(CHROOT_PACKAGES)}


def _wanted_wheels_stamp() -> dict[str, object]:
    return {"python": "3.13", "platforms": list(WHEEL_PLATFORMS), "requirements": wheel_requirements()}


def _stamp_matches(stamp: Path, wanted: Mapping[str, object]) -> bool:
    try:
        return json.loads(stamp.read_text()) == wanted
    except (OSError, ValueError):
        return False


def _mounts_under(folder: Path) -> list[str]:
    prefix = str(folder.resolve()) + "/"
    with open("/proc/mounts") as mounts:
        points = [line.split()[1].replace("\\040", " ") for line in mounts]
    return [point for point in points if point.startswith(prefix) or point == prefix[:-1]]


def _remove_tree(folder: Path) -> None:
    """Delete a (partial) root; never while anything is mounted inside it (that would be /dev)."""
    if not folder.exists():
        return
    _unmount_all(folder)
    if _mounts_under(folder):
        raise WindowEnvError(f"{folder} still has mounts inside ({_mounts_under(folder)}); not deleting it")
    subprocess.run(["rm", "-rf", "--one-file-system", str(folder)], check=True)


def _run_host(command: Sequence[str], what: str, **kwargs: object) -> None:
    started = time.monotonic()
    result = subprocess.run(list(command), **kwargs)  # type: ignore[call-overload]
    if result.returncode != 0:
        raise WindowEnvError(f"{what} failed (exit {result.returncode}): {' '.join(command)}")
    log(f"{what}: {time.monotonic() - started:.0f} s")


def _ensure_debootstrap() -> None:
    if shutil.which("debootstrap"):
        return
    if os.geteuid() != 0:
        raise WindowEnvError(
            "debootstrap is missing and only root can install it (apt-get install debootstrap)"
        )
    log("installing debootstrap on the host")
    if subprocess.run(["apt-get", "install", "-y", "debootstrap"]).returncode != 0:
        _run_host(["apt-get", "update"], "apt-get update")
        _run_host(["apt-get", "install", "-y", "debootstrap"], "apt-get install debootstrap")


def build_root() -> None:
    root = root_folder()
    stamp = cache_folder() / "root.stamp"
    wanted = _wanted_root_stamp()
    if root.is_dir() and _stamp_matches(stamp, wanted):
        return
    if os.geteuid() != 0:
        raise WindowEnvError("building the window chroot needs root (debootstrap, mount, chroot)")
    _ensure_debootstrap()
    stamp.unlink(missing_ok=True)
    _remove_tree(root)
    partial = cache_folder() / "root.partial"
    _remove_tree(partial)
    partial.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    mirror = str(wanted["mirror"])
    log(f"building the chroot from {mirror} into {partial}")
    _run_host(["debootstrap", "--variant=minbase", SUITE, str(partial), mirror], "debootstrap")
    shutil.copyfile("/etc/resolv.conf", partial / "etc" / "resolv.conf")
    mtab = partial / "etc" / "mtab"
    if mtab.exists() or mtab.is_symlink():
        mtab.unlink()
    mtab.symlink_to("/proc/self/mounts")
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    with mounted(partial, ()):
        _chroot_checked(partial, ["apt-get", "update"], env, "apt-get update (chroot)")
        install = ["apt-get", "install", "-y", "--no-install-recommends", *CHROOT_PACKAGES]
        _chroot_checked(partial, install, env, "apt-get install (chroot)")
        _chroot_checked(partial, ["apt-get", "clean"], env, "apt-get clean (chroot)")
        query = ["dpkg-query", "-W", "-f", "${Package} ${Status}\\n", *FORBIDDEN_PACKAGES]
        present = subprocess.run(["chroot", str(partial), *query], capture_output=True, text=True).stdout
    if "install ok installed" in present:
        raise WindowEnvError(f"the chroot pulled in a package the test must not have: {present.strip()}")
    partial.rename(root)
    stamp.write_text(json.dumps(wanted))
    log(f"chroot ready in {time.monotonic() - started:.0f} s: {root}")


def _chroot_checked(root: Path, command: Sequence[str], env: Mapping[str, str], what: str) -> None:
    started = time.monotonic()
    result = subprocess.run(["chroot", str(root), *_chroot_env(env), *command])
    if result.returncode != 0:
        raise WindowEnvError(f"{what} failed (exit {result.returncode})")
    log(f"{what}: {time.monotonic() - started:.0f} s")


def build_wheels() -> None:
    folder = wheels_folder()
    stamp = cache_folder() / "wheels.stamp"
    wanted = _wanted_wheels_stamp()
    if folder.is_dir() and _stamp_matches(stamp, wanted):
        return
    stamp.unlink(missing_ok=True)
    partial = cache_folder() / "wheels-py313.partial"
    for old in (folder, partial):
        shutil.rmtree(old, ignore_errors=True)
    partial.parent.mkdir(parents=True, exist_ok=True)
    platforms = [arg for platform in WHEEL_PLATFORMS for arg in ("--platform", platform)]
    command = [
        sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
        "--target", str(partial), "--python-version", "3.13", "--implementation", "cp",
        "--only-binary=:all:", *platforms, *wheel_requirements(),
    ]  # fmt: skip
    _run_host(command, "pip install (cp313 wheels)")
    partial.rename(folder)
    stamp.write_text(json.dumps(wanted))


def ensure() -> Path:
    """Build whatever is missing or stale; returns the cache folder."""
    cache_folder().mkdir(parents=True, exist_ok=True)
    with _locked():
        build_root()
        build_wheels()
    return cache_folder()


def rebuild() -> Path:
    with _locked():
        for stamp in ("root.stamp", "wheels.stamp"):
            (cache_folder() / stamp).unlink(missing_ok=True)
    return ensure()


# -- running -----------------------------------------------------------------------------------


@contextlib.contextmanager
def _locked() -> Iterator[None]:
    """One user of the cache at a time: a second run must not unmount the first one's /dev."""
    cache_folder().mkdir(parents=True, exist_ok=True)
    with open(cache_folder() / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _unmount_all(root: Path) -> None:
    # Xvfb may still be exiting for a moment after xvfb-run returns: retry.
    for _attempt in range(20):
        points = sorted(_mounts_under(root), key=len, reverse=True)
        if not points:
            return
        for point in points:
            subprocess.run(["umount", "-R", point], capture_output=True)
        if _mounts_under(root):
            time.sleep(0.5)
    if _mounts_under(root):
        log(f"WARNING: still mounted: {_mounts_under(root)}")


@contextlib.contextmanager
def mounted(root: Path, binds: Sequence[Path]) -> Iterator[None]:
    if os.geteuid() != 0:
        raise WindowEnvError("running in the window chroot needs root (mount, chroot)")
    steps = [
        ["mount", "-t", "proc", "proc", str(root / "proc")],
        ["mount", "--rbind", "/sys", str(root / "sys")],
        ["mount", "--make-rslave", str(root / "sys")],
        ["mount", "--bind", "/dev", str(root / "dev")],
        ["mount", "--bind", "/dev/pts", str(root / "dev" / "pts")],
    ]
    for folder in binds:
        folder = folder.resolve()
        (root / folder.relative_to("/")).mkdir(parents=True, exist_ok=True)
        steps.append(["mount", "--bind", str(folder), str(root / folder.relative_to("/"))])
    try:
        _unmount_all(root)  # left over from a run that was killed
        for step in steps:
            result = subprocess.run(step, capture_output=True, text=True)
            if result.returncode != 0:
                raise WindowEnvError(f"{' '.join(step)} failed: {result.stderr.strip()}")
        yield
    finally:
        _unmount_all(root)


def _chroot_env(env: Mapping[str, str]) -> list[str]:
    base = {"HOME": "/root", "LANG": "C.UTF-8", "PATH": CHROOT_PATH}
    return ["env", "-i", *(f"{key}={value}" for key, value in {**base, **env}.items())]


def run(
    command: Sequence[str],
    *,
    binds: Sequence[Path] = (),
    env: Mapping[str, str] | None = None,
    timeout: float = 600,
    cwd: Path | None = None,
    capture: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run a command inside the (built) chroot. On timeout the whole process group is killed
    and the result's returncode is -9 (its output so far is kept)."""
    root = root_folder()
    if not root.is_dir():
        raise WindowEnvError(f"no window chroot at {root}: run `python3 tools/window_env.py ensure`")
    inner = list(command)
    if cwd is not None:
        inner = ["sh", "-c", 'cd "$0" && exec "$@"', str(cwd), *inner]
    full = ["chroot", str(root), *_chroot_env(env or {}), *inner]
    output = subprocess.PIPE if capture else None
    with _locked(), mounted(root, binds):
        process = subprocess.Popen(full, stdout=output, stderr=output, text=True, start_new_session=True)
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            log(f"timed out after {timeout:.0f} s, killing: {' '.join(command)}")
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            return subprocess.CompletedProcess(full, -9, stdout, stderr)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # Xvfb and anything else left behind
        return subprocess.CompletedProcess(full, process.returncode, stdout, stderr)


def window_command(script: Path, *script_args: str) -> list[str]:
    """Blender in a 1920x1080 Xvfb window running SCRIPT (arguments after `--`)."""
    return [*WINDOW_COMMAND, str(script), *(["--", *script_args] if script_args else [])]


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("action", choices=["ensure", "rebuild", "run", "window"])
    parser.add_argument("--bind", type=Path, action="append", default=[], help="folder to bind-mount")
    parser.add_argument("--timeout", type=float, default=600)
    options, command = (
        (argv[: argv.index("--")], argv[argv.index("--") + 1 :]) if "--" in argv else (argv, [])
    )
    args = parser.parse_args(options)
    try:
        if args.action in ("ensure", "rebuild"):
            print(ensure() if args.action == "ensure" else rebuild())
            return 0
        ensure()
        if not command:
            parser.error(f"{args.action}: give the command after --")
        if args.action == "window":
            command = window_command(Path(command[0]).resolve(), *command[1:])
        return run(command, binds=[Path.cwd(), *args.bind], timeout=args.timeout, cwd=Path.cwd()).returncode
    except WindowEnvError as error:
        print(f"window environment: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
