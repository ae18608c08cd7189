"""The Linux zip from `make build` in a real Blender binary with Python 3.13 (Debian's 4.3).

The bpy-wheel install test (tests/blender/test_extension_install.py) proves the cp311 wheels;
this one proves the cp313 wheels and a Blender that is not a wheel: installed with
`blender --command extension install-file` into an empty user folder, then a headless
generation with `--online-mode` against the local server, then the same install enabled in a
real window. The repository is never bind-mounted into the chroot (scripts are copied), and
the chroot has no python3-httpx or python3-pil, so only the zip's wheels can provide them.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from localserver import LocalHighway
from tests.window import installed
from tools import window_env

REPOSITORY = Path(__file__).resolve().parents[2]
IN_BLENDER = Path(__file__).resolve().parent / "in_blender"
GAP = [61, 157]  # frame_final_start / frame_final_end of the gap make_edit.py leaves
WINDOW_TIMEOUT = 300  # the first Vulkan run compiles shaders for 30-60 s


def under(path: str, folder: Path) -> bool:
    return Path(path).resolve().is_relative_to(folder.resolve())


def test_chroot_has_no_distribution_httpx_or_pillow() -> None:
    window_env.ensure()
    query = ["dpkg-query", "-W", "-f", "${Package} ${Status}\\n", *window_env.FORBIDDEN_PACKAGES]
    completed = window_env.run(query, capture=True, timeout=60)
    assert "install ok installed" not in completed.stdout, completed.stdout
    # Nor any other copy Blender's Python could find.
    probe = ["python3", "-c", "import importlib.util as u; print(u.find_spec('httpx'), u.find_spec('PIL'))"]
    completed = window_env.run(probe, capture=True, timeout=60)
    assert completed.stdout.strip() == "None None", f"{completed.stdout}\n{completed.stderr}"


def test_a_failed_install_is_an_error_although_blender_exits_0(tmp_path: Path) -> None:
    broken = tmp_path / f"{installed.EXTENSION_ID}-0.1.0-linux_x64.zip"
    broken.write_bytes(b"not a zip")
    with pytest.raises(installed.InstallError, match="failed"):
        installed.install(tmp_path / "target", broken)


def test_installed_zip_generates_headless_in_debian_blender(highway: LocalHighway, tmp_path: Path) -> None:
    # No skip: when the chroot cannot be built or started this raises and the test fails.
    extension = installed.install(tmp_path)
    env = extension.env | {"VEO_BASE_URL": highway.base_url, "VEO_API_KEY": "installed-test-key"}
    edit = tmp_path / "edit.blend"
    installed.make_edit(extension, env, edit)

    result_path = tmp_path / "result.json"
    cli = extension.stage(REPOSITORY / "scripts" / "veo_generate.py")
    # The .blend is Blender's positional argument: that is the file the context's scene is from.
    generate = [
        "blender", "-b", str(edit), "--online-mode", "--python-exit-code", "1",
        "--python", str(extension.stage(IN_BLENDER / "installed_generate.py")),
        "--", str(result_path), str(cli), "--prompt", "a slow dissolve", "--left", "Left", "--right", "Right",
    ]  # fmt: skip
    completed = window_env.run(generate, binds=extension.binds, env=env, timeout=180, capture=True)
    output = f"{completed.stdout}\n{completed.stderr}"
    assert completed.returncode == 0 and result_path.is_file(), (
        f"exit {completed.returncode}:\n{installed.tail(output)}"
    )
    result = json.loads(result_path.read_text())
    seen = f"{json.dumps(result, indent=1)}\n{installed.tail(output)}"

    assert result["python"] == [3, 13] and result["blender"].startswith("4.3"), seen
    assert result["online_access"] is True, seen
    assert result["enabled"] and not result["enable_errors"], seen
    assert result["status"] == 0, seen
    assert output.count("[veo] INSERTED job") == 1, seen
    assert [strip[2:] for strip in result["movie_strips"]] == [GAP], seen
    assert highway.submit_count == 1

    # Only the installed copy ran: the add-on from the user folder, httpx and Pillow (imported
    # by the add-on) from the wheels Blender unpacked there, and no path into the checkout.
    assert under(result["module_file"], extension.extension_folder), seen
    assert all(under(path, extension.home) for path in result["veo_module_files"]), seen
    assert result["imported_by_addon"] == ["PIL", "httpx"], seen
    assert under(result["httpx_file"], extension.wheels_site), seen
    assert under(result["pil_file"], extension.wheels_site), seen
    assert not [entry for entry in result["sys_path"] if under(entry, REPOSITORY)], seen


def test_installed_zip_enables_in_a_real_window(tmp_path: Path) -> None:
    extension = installed.install(tmp_path)
    result_path = tmp_path / "window-result.json"
    script = extension.stage(IN_BLENDER / "installed_window.py")
    started = time.time()
    completed = window_env.run(
        window_env.window_command(script, str(result_path)),
        binds=extension.binds,
        env=extension.env,
        timeout=WINDOW_TIMEOUT,
        capture=True,
    )
    output = f"{completed.stdout}\n{completed.stderr}"
    assert result_path.is_file(), (
        f"the window Blender wrote no result (exit {completed.returncode}):\n{installed.tail(output)}"
    )
    result = json.loads(result_path.read_text())
    seen = f"exit {completed.returncode}; result {json.dumps(result, indent=1)}\n{installed.tail(output)}"
    if "first_timer_wall" in result:
        print(f"window Blender start to first timer: {result['first_timer_wall'] - started:.1f} s")

    assert completed.returncode == 0 and result.get("done") and not result["errors"], seen
    assert result["background"] is False and result["windows"] >= 1, seen
    # --factory-startup: installed but not enabled until the Preferences operator enables it.
    assert result["operator_before_enable"] is False, seen
    assert result["enable_report"] == ["FINISHED"] and result["enabled"], seen
    assert result["operator_after_enable"] is True, seen
    assert under(result["module_file"], extension.extension_folder), seen
    assert under(result["httpx_file"], extension.wheels_site), seen
    assert under(result["pil_file"], extension.wheels_site), seen
