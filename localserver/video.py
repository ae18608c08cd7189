"""Make the stand-in "generated" clip: a real H.264 MP4 that runs from the first keyframe to the last.

The clip is a crossfade with a seed-dependent easing curve and a small seed-coloured square that drifts
across the picture. The square fades in and out so the very first and very last frames are exactly the
two keyframes (up to codec error): a client can check that its keyframes arrived the right way round.
Same inputs and seed give byte-identical files (single-threaded, bit-exact encoders, no timestamps).
"""

from __future__ import annotations

import io
import math
import random
import wave
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np
from PIL import Image, ImageOps

FPS = 24
AUDIO_SAMPLE_RATE = 48_000
# AAC encoders consume fixed-size frames of this many samples.
AAC_FRAME_SAMPLES = 1024

# Output sizes per resolution and aspect ratio, as Veo 3.1 delivers them.
OUTPUT_SIZES: dict[tuple[str, str], tuple[int, int]] = {
    ("720p", "16:9"): (1280, 720),
    ("720p", "9:16"): (720, 1280),
    ("1080p", "16:9"): (1920, 1080),
    ("1080p", "9:16"): (1080, 1920),
}


@dataclass(frozen=True)
class ClipSpec:
    """Everything that decides the bytes of one clip."""

    width: int
    height: int
    duration_seconds: int
    seed: int
    sample_index: int = 0
    with_audio: bool = False
    # The "drift" fault: the ends blend this much of the other keyframe in (1: ends swapped).
    drift: float = 0.0

    @property
    def frame_count(self) -> int:
        return self.duration_seconds * FPS


@dataclass(frozen=True)
class ClipVariation:
    """The seed-dependent look of one clip, so different seeds give visibly different clips."""

    easing_power: float
    square_colour: tuple[int, int, int]
    square_start: tuple[float, float]
    square_end: tuple[float, float]
    tone_hz: float


def variation_for(seed: int, sample_index: int) -> ClipVariation:
    # A private Random: the global one is shared with whatever else runs in the process.
    rng = random.Random(seed * 8 + sample_index)
    return ClipVariation(
        easing_power=rng.uniform(1.0, 3.0),
        square_colour=(rng.randrange(40, 256), rng.randrange(40, 256), rng.randrange(40, 256)),
        square_start=(rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.9)),
        square_end=(rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.9)),
        tone_hz=rng.uniform(220.0, 880.0),
    )


def fit_image(image: Image.Image, width: int, height: int) -> Image.Image:
    """Centre-crop to the output aspect ratio and scale to the output size, as RGB."""
    rgb = image.convert("RGB")
    return ImageOps.fit(rgb, (width, height), method=Image.Resampling.LANCZOS, centering=(0.5, 0.5))


def _eased(t: float, power: float) -> float:
    # Symmetric ease-in/out; exactly 0 at t=0 and 1 at t=1 for any power.
    if t <= 0.0:
        return 0.0
    if t >= 1.0:
        return 1.0
    a = t**power
    b = (1.0 - t) ** power
    return a / (a + b)


def render_frames(first: Image.Image, last: Image.Image, spec: ClipSpec) -> Iterator[Image.Image]:
    """Yield the clip's frames as RGB images of the output size (both keyframes already fitted)."""
    variation = variation_for(spec.seed, spec.sample_index)
    count = spec.frame_count
    side = max(8, spec.height // 8)
    square = Image.new("RGB", (side, side), variation.square_colour)
    for index in range(count):
        t = index / (count - 1)
        # Pillow's blend runs in C: numpy float maths here made encoding three times slower.
        frame = Image.blend(first, last, _eased(t, variation.easing_power))
        # The very first and last frames stay clean keyframes; the square lives in between.
        if 0 < index < count - 1:
            opacity = math.sin(math.pi * t)
            cx = variation.square_start[0] + (variation.square_end[0] - variation.square_start[0]) * t
            cy = variation.square_start[1] + (variation.square_end[1] - variation.square_start[1]) * t
            x0 = min(max(int(cx * spec.width) - side // 2, 0), spec.width - side)
            y0 = min(max(int(cy * spec.height) - side // 2, 0), spec.height - side)
            box = (x0, y0, x0 + side, y0 + side)
            frame.paste(Image.blend(frame.crop(box), square, opacity), box)
        yield frame


def tone_samples(spec: ClipSpec) -> np.ndarray:
    """A seed-dependent sine tone with short fades, mono float32, exactly the clip's length."""
    variation = variation_for(spec.seed, spec.sample_index)
    total = spec.duration_seconds * AUDIO_SAMPLE_RATE
    times = np.arange(total, dtype=np.float64) / AUDIO_SAMPLE_RATE
    samples = 0.2 * np.sin(2.0 * math.pi * variation.tone_hz * times)
    fade = min(total // 2, AUDIO_SAMPLE_RATE // 20)
    ramp = np.linspace(0.0, 1.0, fade)
    samples[:fade] *= ramp
    samples[total - fade :] *= ramp[::-1]
    return samples.astype(np.float32)


class EncodingCancelled(Exception):
    """The server stopped while a clip was being encoded."""


def encode_clip(
    first_image: Image.Image,
    last_image: Image.Image,
    spec: ClipSpec,
    cancelled: Callable[[], bool] = lambda: False,
) -> bytes:
    """Encode one clip to MP4 bytes (H.264 yuv420p, 24 fps, AAC when audio is asked for).

    `cancelled` is checked between frames, so a stopped server does not keep a CPU busy.
    """
    first = fit_image(first_image, spec.width, spec.height)
    last = fit_image(last_image, spec.width, spec.height)
    if spec.drift:
        first, last = Image.blend(first, last, spec.drift), Image.blend(last, first, spec.drift)
    buffer = io.BytesIO()
    # bitexact: no encoder version strings or other run-dependent bytes in the container.
    container = av.open(buffer, mode="w", format="mp4", options={"fflags": "+bitexact"})
    try:
        video = container.add_stream("libx264", rate=FPS)
        video.width = spec.width
        video.height = spec.height
        video.pix_fmt = "yuv420p"
        video.time_base = Fraction(1, FPS)
        # threads=1: multi-threaded x264 is not byte-for-byte reproducible.
        video.codec_context.options = {"preset": "ultrafast", "crf": "16", "threads": "1"}
        video.codec_context.thread_count = 1
        audio = None
        if spec.with_audio:
            audio = container.add_stream("aac", rate=AUDIO_SAMPLE_RATE, layout="mono")
            audio.codec_context.options = {"flags": "+bitexact"}

        for index, image in enumerate(render_frames(first, last, spec)):
            if cancelled():
                raise EncodingCancelled
            frame = av.VideoFrame.from_image(image)
            frame.pts = index
            frame.time_base = Fraction(1, FPS)
            container.mux(video.encode(frame))
        container.mux(video.encode(None))

        if audio is not None:
            samples = tone_samples(spec)
            for offset in range(0, len(samples), AAC_FRAME_SAMPLES):
                chunk = samples[offset : offset + AAC_FRAME_SAMPLES]
                audio_frame = av.AudioFrame.from_ndarray(chunk.reshape(1, -1), format="fltp", layout="mono")
                audio_frame.sample_rate = AUDIO_SAMPLE_RATE
                audio_frame.pts = offset
                audio_frame.time_base = Fraction(1, AUDIO_SAMPLE_RATE)
                container.mux(audio.encode(audio_frame))
            container.mux(audio.encode(None))
    finally:
        container.close()
    return buffer.getvalue()


def encode_wav(spec: ClipSpec) -> bytes:
    """The clip's tone as a separate 16-bit WAV (for the optional `audios[]` entries)."""
    samples = np.clip(tone_samples(spec) * 32767.0, -32768, 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(2)
        writer.setframerate(AUDIO_SAMPLE_RATE)
        writer.writeframes(samples.tobytes())
    return buffer.getvalue()


def pad_mp4(clip: bytes, size: int) -> bytes:
    """The clip followed by an MP4 `free` box, `size` bytes in all (players skip `free` boxes)."""
    padding = size - len(clip)
    if padding < 8:
        return clip
    if padding < 2**32:
        header = padding.to_bytes(4, "big") + b"free"
    else:  # a 64-bit box size
        header = (1).to_bytes(4, "big") + b"free" + padding.to_bytes(8, "big")
    return clip + header + bytes(padding - len(header))
