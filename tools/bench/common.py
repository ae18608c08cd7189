"""What every bench script shares: the figure record, the local server in its own process,
medians, and the way a script hands its figures to tools/bench/run.py (one `FIGURES` line)."""

from __future__ import annotations

import io
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

MB = 1024 * 1024


def figure(
    name: str, value: float, unit: str, target: str, compared_with: str, command: str, **extra: Any
) -> dict[str, Any]:
    return {
        "name": name,
        "value": round(value, 4),
        "unit": unit,
        "target": target,
        "compared_with": compared_with,
        "command": command,
        **extra,
    }


def emit(figures: list[dict[str, Any]]) -> None:
    """The one line run.py reads; everything else on stdout is for a person."""
    print("FIGURES " + json.dumps(figures), flush=True)


def median(values: list[float]) -> float:
    return float(statistics.median(values))


@contextmanager
def server_process(**settings: str) -> Iterator[str]:
    """`python -m localserver` in its own process (its memory is not this one's); yields its URL."""
    env = {**os.environ, "PORT": "0", "LOG_LEVEL": "WARNING", **settings}
    process = subprocess.Popen(
        [sys.executable, "-m", "localserver"], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        if not base_url.startswith("http"):
            raise RuntimeError(f"the local server did not start (exit {process.wait()})")
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=10)


def stats(base_url: str) -> dict[str, Any]:
    import httpx

    return httpx.get(base_url + "/_control/stats").json()


def add_faults(base_url: str, spec: str) -> None:
    import httpx

    httpx.post(base_url + "/_control/faults", json={"spec": spec}).raise_for_status()


def keyframe_png(colour: tuple[int, int, int], size: tuple[int, int] = (1280, 720)) -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", size, colour)
    ImageDraw.Draw(image).ellipse(
        (size[0] // 4, size[1] // 4, size[0] // 2, size[1] // 2), fill=(250, 250, 250)
    )
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def small_request(seed: int = 1, duration: int = 4) -> Any:
    from veo_addon.core.request import GenerationRequest, ImageInput

    return GenerationRequest(
        image=ImageInput.from_bytes(keyframe_png((200, 40, 30))),
        last_image=ImageInput.from_bytes(keyframe_png((30, 60, 210)), field_name="last_image"),
        prompt="a slow dissolve",
        seed=seed,
        duration_seconds=duration,
    )


def wait_until(condition: Any, timeout: float, step: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("bench: gave up waiting")
        time.sleep(step)
