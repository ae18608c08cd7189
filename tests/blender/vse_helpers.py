"""Helpers for the Blender tests: frame rates, timeline building, snapshots, colour checks."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bpy
import numpy as np
from PIL import Image

from tests.blender.clips import write_crossfade_clip
from veo_addon.blender import compat

SMALL_SIZE = (320, 180)

# fps, fps_base: the rates the issue asks for, 23.976 written the way Blender stores it.
FRAME_RATES = {
    "24": (24, 1.0),
    "25": (25, 1.0),
    "30": (30, 1.0),
    "60": (60, 1.0),
    "23.976": (24, 1.001),
}

RED = (230, 40, 40)
BLUE = (40, 60, 220)
GREEN = (40, 200, 70)
YELLOW = (240, 220, 30)


def set_frame_rate(scene: bpy.types.Scene, rate: str) -> None:
    scene.render.fps, scene.render.fps_base = FRAME_RATES[rate]


def solid(rgb: tuple[int, int, int], size: tuple[int, int] = SMALL_SIZE) -> Image.Image:
    return Image.new("RGB", size, rgb)


def write_png(path: Path, image: Image.Image) -> Path:
    image.save(path, format="PNG")
    return path


class TimelineBuilder:
    """Adds strips to the test scene; frames are the first visible frame and a length."""

    def __init__(self, scene: bpy.types.Scene, folder: Path) -> None:
        self.scene = scene
        self.folder = folder
        editor = compat.sequence_editor(scene, create=True)
        assert editor is not None
        self.editor = editor
        self.strips = compat.strip_collection(editor)

    def color(self, name: str, channel: int, start: int, length: int, rgb: tuple[int, int, int]) -> Any:
        strip: Any = compat.new_effect(
            self.strips, name=name, effect_type="COLOR", channel=channel, frame_start=start, length=length
        )
        strip.color = tuple(component / 255 for component in rgb)
        return strip

    def image(
        self, name: str, channel: int, start: int, length: int, picture: Image.Image | tuple[int, int, int]
    ) -> Any:
        image = solid(picture) if isinstance(picture, tuple) else picture
        path = write_png(self.folder / f"{name}.png", image)
        strip = self.strips.new_image(name=name, filepath=str(path), channel=channel, frame_start=start)
        compat.set_visible_duration(strip, length)
        return strip

    def movie(self, name: str, channel: int, start: int, path: Path, length: int | None = None) -> Any:
        strip = self.strips.new_movie(name=name, filepath=str(path), channel=channel, frame_start=start)
        if length is not None:
            compat.set_visible_duration(strip, length)
        return strip

    def clip(
        self,
        name: str,
        first: Image.Image,
        last: Image.Image,
        seconds: float = 4.0,
        with_audio: bool = False,
    ) -> Path:
        return write_crossfade_clip(
            self.folder / f"{name}.mp4", first, last, seconds=seconds, with_audio=with_audio
        )

    def lock_channel(self, channel: int) -> None:
        self.editor.channels[channel].lock = True


@dataclass(frozen=True)
class StripState:
    name: str
    type: str
    channel: int
    start: int
    end: int
    content_start: float
    mute: bool
    lock: bool
    path: str


def timeline_snapshot(scene: bpy.types.Scene) -> tuple[Any, ...]:
    """Everything a refusal must leave alone: strips, markers, channel locks, scene range, sounds."""
    states = []
    for strip in compat.strips_all(scene):
        path = getattr(strip, "filepath", "") or getattr(strip, "directory", "")
        states.append(
            StripState(
                name=strip.name,
                type=strip.type,
                channel=strip.channel,
                start=compat.visible_start(strip),
                end=compat.visible_end(strip),
                content_start=compat.content_start(strip),
                mute=strip.mute,
                lock=strip.lock,
                path=path,
            )
        )
    editor = scene.sequence_editor
    channel_flags = tuple((channel.lock, channel.mute) for channel in editor.channels) if editor else ()
    markers = tuple(sorted((marker.name, marker.frame) for marker in scene.timeline_markers))
    return (
        tuple(sorted(states, key=lambda state: state.name)),
        markers,
        channel_flags,
        (scene.frame_start, scene.frame_end),
        len(bpy.data.sounds),
    )


def load_png(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data)).convert("RGB")


def mean_rgb(image: Image.Image) -> tuple[float, float, float]:
    pixels = np.asarray(image.convert("RGB"), dtype=np.float64)
    red, green, blue = pixels.reshape(-1, 3).mean(axis=0)
    return float(red), float(green), float(blue)


def mean_difference(first: Image.Image, second: Image.Image) -> float:
    """Mean absolute difference per channel, 0-255."""
    a = np.asarray(first.convert("RGB"), dtype=np.float64)
    b = np.asarray(second.convert("RGB").resize(first.size), dtype=np.float64)
    return float(np.abs(a - b).mean())


def assert_colour(image: Image.Image, rgb: tuple[int, int, int], tolerance: float = 3.0) -> None:
    measured = mean_rgb(image)
    assert all(abs(m - e) <= tolerance for m, e in zip(measured, rgb, strict=True)), (
        f"expected about {rgb}, got {tuple(round(m, 1) for m in measured)}"
    )
