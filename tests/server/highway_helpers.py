"""Helpers for the local server's own tests: keyframes, request bodies, polling, decoding MP4s."""

from __future__ import annotations

import base64
import io
import time
from typing import Any

import av
import httpx
import numpy as np
from PIL import Image

from localserver import LocalHighway

API_KEY = "test-key"
AUTH = {"Authorization": f"Bearer {API_KEY}"}
FIRST_COLOUR = (200, 40, 30)
LAST_COLOUR = (30, 60, 210)
BAND_COLOUR = (20, 220, 40)


def image_bytes(colour: tuple[int, int, int], size: tuple[int, int] = (640, 360), fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format=fmt)
    return buffer.getvalue()


def banded_square_png(centre: tuple[int, int, int]) -> bytes:
    """A square image whose top and bottom bands differ: a 16:9 centre crop must cut them away."""
    image = Image.new("RGB", (800, 800), BAND_COLOUR)
    image.paste(Image.new("RGB", (800, 500), centre), (0, 150))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def data_uri(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode()}"


def bare(data: bytes) -> str:
    return base64.b64encode(data).decode()


def submit_body(**overrides: Any) -> dict[str, Any]:
    """A valid body for a quick clip (720p, 4 s, fixed seed); overrides replace or add fields."""
    body: dict[str, Any] = {
        "image": data_uri(image_bytes(FIRST_COLOUR)),
        "last_image": data_uri(image_bytes(LAST_COLOUR)),
        "prompt": "a slow dissolve",
        "seed": 1,
        "resolution": "720p",
        "aspect_ratio": "16:9",
        "duration_seconds": 4,
        "sample_count": 1,
        "enhance_prompt": True,
        "generate_audio": False,
        "person_generation": "allow_adult",
    }
    body.update(overrides)
    return {key: value for key, value in body.items() if value is not None}


def submit(server: LocalHighway, **overrides: Any) -> str:
    response = httpx.post(server.submit_url, json=submit_body(**overrides), headers=AUTH)
    assert response.status_code == 200, response.text
    return response.json()["task_id"]


def result(server: LocalHighway, task_id: str) -> httpx.Response:
    return httpx.get(f"{server.base_url}/v3/async/task-result", params={"task_id": task_id}, headers=AUTH)


def poll_until_done(server: LocalHighway, task_id: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        payload = result(server, task_id).json()
        if payload["task"]["status"] not in ("TASK_STATUS_QUEUED", "TASK_STATUS_PROCESSING"):
            return payload
        assert time.monotonic() < deadline, f"task {task_id} not done after {timeout} s"
        time.sleep(0.05)


def generate(server: LocalHighway, **overrides: Any) -> dict[str, Any]:
    """Submit, wait, and return the final result JSON."""
    return poll_until_done(server, submit(server, **overrides))


def download(url: str) -> bytes:
    response = httpx.get(url)
    assert response.status_code == 200, response.text
    return response.content


def open_mp4(data: bytes) -> av.container.InputContainer:
    return av.open(io.BytesIO(data))


def decoded_frames(data: bytes) -> list[np.ndarray]:
    with open_mp4(data) as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def mean_colour(frame: np.ndarray) -> np.ndarray:
    return frame.reshape(-1, 3).astype(np.float64).mean(axis=0)


def assert_error_body(response: httpx.Response, status: int, reason: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == status
    assert body["reason"] == reason
    assert isinstance(body["message"], str) and body["message"]
    assert body["metadata"] == {}
    return body
