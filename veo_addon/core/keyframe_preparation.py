"""Keyframes prepared for the request in a background thread, each as soon as it is captured.

The capture hands each keyframe over as soon as it can (`blender.capture`): the first while
Blender renders the second, so its encoding costs no time of its own. The job's worker picks the
results up when it builds the request, and waits for one still being encoded. A failure (a file
that turns out truncated) is raised there, as if the worker had prepared it itself. Nothing
here touches bpy.
"""

from __future__ import annotations

from concurrent.futures import Future

from .imagebytes import ImageBytes
from .images import FitMethod, PreparedImage, prepare_keyframe
from .raw_tiff import RgbaPixels
from .worker_imports import import_worker_modules
from .worker_pools import LazyPool

# Two: both keyframes of one job at once. Each task is a few milliseconds of encoding.
_preparers = LazyPool("veo-keyframes", 2)


class KeyframePreparation:
    """The prepared keyframes of one request ("First" and "Last"), started as they are captured."""

    def __init__(self, aspect_ratio: str, resolution: str, fit_method: FitMethod | str) -> None:
        """Made on the main thread, before the capture: Pillow's codecs are imported here, since
        a thread importing while Blender renders can crash it (`worker_imports`)."""
        import_worker_modules()
        self._aspect_ratio = aspect_ratio
        self._resolution = resolution
        self._fit_method = fit_method
        self._started: dict[str, Future[PreparedImage]] = {}

    def start(
        self, side: str, data: ImageBytes, description: str, opaque_pixels: RgbaPixels | None = None
    ) -> None:
        """Begin preparing `side`'s keyframe in the background (callable from the main thread);
        `opaque_pixels` as for `prepare_keyframe`."""
        self._started[side] = _preparers.submit(self._prepare, side, data, description, opaque_pixels)

    def result(
        self, side: str, data: ImageBytes, description: str, opaque_pixels: RgbaPixels | None = None
    ) -> PreparedImage:
        """`side`'s keyframe, prepared: the one started, or prepared now if none was."""
        started = self._started.get(side)
        if started is None:
            return self._prepare(side, data, description, opaque_pixels)
        return started.result()

    def _prepare(
        self, side: str, data: ImageBytes, description: str, opaque_pixels: RgbaPixels | None
    ) -> PreparedImage:
        what = f"{side} keyframe ({description})"
        return prepare_keyframe(
            data,
            self._aspect_ratio,
            self._resolution,
            self._fit_method,
            what=what,
            opaque_pixels=opaque_pixels,
        )
