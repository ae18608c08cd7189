"""A keyframe source that needs a file or URL names the missing flag (headless script) or
setting (add-on), instead of "'.' is not a file" or "got ''"."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import bpy
import pytest

from tests.blender.vse_helpers import BLUE, RED, TimelineBuilder, timeline_snapshot
from veo_addon.blender import jobstore

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "veo_generate.py"
GENERATE = {"prompt": "the red room dissolves into the blue room", "duration": "4", "seed": 42}


@pytest.fixture(scope="module")
def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("veo_generate_flags_under_test", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--first-source", "file"], "--first-source file needs --first-file PATH"),
        (["--last-source", "file", "--last-file", " "], "--last-source file needs --last-file PATH"),
        (["--first-source", "url"], "--first-source url needs --first-url URL"),
        (["--last-source", "url", "--last-url", ""], "--last-source url needs --last-url URL"),
    ],
)
def test_script_names_the_missing_flag(script, capsys, arguments, message):
    with pytest.raises(SystemExit) as exited:
        script.parse_arguments([str(SCRIPT), "--prompt", "p", *arguments])
    assert exited.value.code == 2
    assert f"error: {message}" in capsys.readouterr().err


def test_script_takes_a_source_with_its_value(script):
    first = ["--first-source", "file", "--first-file", "a.png"]
    last = ["--last-source", "url", "--last-url", "https://example.com/b.png"]
    parsed = script.parse_arguments([str(SCRIPT), "--prompt", "p", *first, *last])
    assert (parsed.first_file, parsed.last_url) == ("a.png", "https://example.com/b.png")


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ({"first_source": "file"}, r"^First keyframe: no file chosen \(First Frame File\)$"),
        ({"last_source": "file", "last_path": "  "}, r"^Last keyframe: no file chosen \(Last Frame File\)$"),
        ({"first_source": "url"}, r"^First keyframe: no URL given \(First Frame URL\)$"),
        ({"last_source": "url"}, r"^Last keyframe: no URL given \(Last Frame URL\)$"),
    ],
)
def test_addon_names_the_missing_setting(veo, timeline: TimelineBuilder, properties, message) -> None:  # type: ignore[no-untyped-def]
    timeline.scene.render.fps = 25
    timeline.color("Left", 1, 1, 50, RED)
    timeline.color("Right", 1, 101, 50, BLUE)
    before = timeline_snapshot(timeline.scene)
    with pytest.raises(RuntimeError, match=message.replace("^", "^Error: ").replace("$", r"\s*$")):
        bpy.ops.veo.generate_transition(left_strip="Left", right_strip="Right", **GENERATE, **properties)
    assert timeline_snapshot(timeline.scene) == before
    assert veo.request_counts["submit"] == 0
    assert jobstore.scene_jobs(timeline.scene) == []
