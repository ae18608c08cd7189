"""Test clips made with PyAV: 24 fps H.264 MP4s that crossfade from keyframe A to keyframe B.

Frame i of an N-frame clip is A blended with B at weight i/(N-1), so a frame's colour tells
which source frame Blender showed; that is how the timing tests check real-time playback.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

CLIP_FPS = 24
AUDIO_SAMPLE_RATE = 48000


def crossfade_frames(first: Image.Image, last: Image.Image, frame_count: int) -> list[Image.Image]:
    first_rgb = first.convert("RGB")
    last_rgb = last.convert("RGB").resize(first_rgb.size)
    if frame_count == 1:
        return [first_rgb]
    return [Image.blend(first_rgb, last_rgb, index / (frame_count - 1)) for index in range(frame_count)]


def write_crossfade_clip(
    path: Path,
    first: Image.Image,
    last: Image.Image,
    *,
    seconds: float = 4.0,
    with_audio: bool = False,
    fps: int = CLIP_FPS,
) -> Path:
    """Encode `seconds` of video at `fps` (H.264, near-lossless so colours survive) plus optional AAC."""
    frame_count = round(seconds * fps)
    frames = crossfade_frames(first, last, frame_count)
    width, height = frames[0].size
    with av.open(str(path), mode="w", format="mp4") as container:
        video = container.add_stream("libx264", rate=fps)
        video.width = width - width % 2
        video.height = height - height % 2
        video.pix_fmt = "yuv444p"
        # Near-lossless so the crossfade colour still identifies the frame after decoding.
        video.options = {"crf": "4", "preset": "ultrafast"}
        audio = None
        if with_audio:
            audio = container.add_stream("aac", rate=AUDIO_SAMPLE_RATE)
            audio.layout = "mono"
        for frame_image in frames:
            video_frame = av.VideoFrame.from_image(frame_image.crop((0, 0, video.width, video.height)))
            for packet in video.encode(video_frame):
                container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        if audio is not None:
            _write_tone(container, audio, seconds)
    return path


def _write_tone(container: av.container.OutputContainer, audio: av.AudioStream, seconds: float) -> None:
    samples_per_frame = 1024
    total_samples = int(seconds * AUDIO_SAMPLE_RATE)
    time_base = Fraction(1, AUDIO_SAMPLE_RATE)
    for offset in range(0, total_samples, samples_per_frame):
        count = min(samples_per_frame, total_samples - offset)
        times = (np.arange(offset, offset + count) / AUDIO_SAMPLE_RATE).astype(np.float32)
        tone = (0.2 * np.sin(2 * np.pi * 440.0 * times)).astype(np.float32).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(tone, format="fltp", layout="mono")
        frame.sample_rate = AUDIO_SAMPLE_RATE
        frame.pts = offset
        frame.time_base = time_base
        for packet in audio.encode(frame):
            container.mux(packet)
    for packet in audio.encode():
        container.mux(packet)
