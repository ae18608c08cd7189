"""docs/troubleshooting.md lists the messages the code shows today (tools/messages.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_troubleshooting_page_matches_the_code() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "messages.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr + "run `make docs` and commit docs/troubleshooting.md"


def test_the_most_likely_messages_say_what_to_do() -> None:
    page = (ROOT / "docs" / "troubleshooting.md").read_text(encoding="utf-8")
    for message in (
        "No API key: set it in the add-on preferences",
        "Online access is off, so nothing is sent",
        "is muted, so the render of frame … is black",
        "shows missing media",
        "is shorter than the minimum of",
        "more than the maximum stretch of",
    ):
        entry = page.split(message, 1)[1].split("\n- ", 1)[0]
        assert "What to do:" in entry, message
    assert page.count("What to do:") >= 25
