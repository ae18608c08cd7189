"""Shots grouped in a meta strip and opened with Tab, in a real Blender window (Debian's 4.3 under
Xvfb, the built zip installed): the panel and the Generate operator both name the open meta
strip in one sentence and nothing is sent; after Tab and UnMeta the panel is ready again.
The same refusal headless: tests/blender/test_awkward_edits.py.
"""

from __future__ import annotations

import json
from pathlib import Path

from localserver import LocalHighway
from tests.window import installed
from tools import window_env

IN_BLENDER = Path(__file__).resolve().parent / "in_blender"
WINDOW_TIMEOUT = 300  # the first Vulkan run compiles shaders for 30-60 s


def test_an_open_meta_strip_is_named_by_the_panel_and_the_operator(tmp_path: Path) -> None:
    with LocalHighway(gen_seconds=0.5) as server:
        extension = installed.install(tmp_path)
        env = extension.env | {
            "VEO_BASE_URL": server.base_url,
            "VEO_API_KEY": "window-meta-key",
            "VEO_USER_DIR": str(tmp_path / "user"),
        }
        edit = tmp_path / "edit.blend"
        installed.make_edit(extension, env, edit)
        result_path = tmp_path / "result.json"
        script = extension.stage(IN_BLENDER / "awkward_meta_window.py")
        completed = window_env.run(
            window_env.window_command(script, str(result_path), str(edit)),
            binds=extension.binds,
            env=env,
            timeout=WINDOW_TIMEOUT,
            capture=True,
        )
        submits = server.submit_count

    output = f"{completed.stdout}\n{completed.stderr}"
    assert result_path.is_file(), f"no result (exit {completed.returncode}):\n{installed.tail(output)}"
    result = json.loads(result_path.read_text())
    assert result.get("done") and not result["errors"], json.dumps(result, indent=1) + installed.tail(output)
    assert "Traceback" not in output, installed.tail(output)

    inside = result["states"]["inside_meta_two_selected"]
    assert inside["meta_stack"], inside  # the window really shows the meta strip's inside
    assert "inside of meta strip" in inside["reason"] and "Tab" in inside["reason"], inside
    assert inside["reason"] in inside["operator"], inside
    assert len(inside["operator"].splitlines()) == 1
    assert submits == 0
    assert result["states"]["ungrouped_nothing_selected"]["reason"] == "", result
