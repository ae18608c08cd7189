"""MP4 files, read without Blender: the signature every MP4 starts with, and what a clip's own
boxes say (frame count, duration, audio) before anything touches the timeline."""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .errors import VeoError


class ClipFileError(VeoError):
    """A clip file is missing, unreadable, not an MP4, or has no usable video track."""

    code = "clip_file_unusable"


def starts_like_mp4(head: bytes) -> bool:
    """Whether the first 12 bytes of a file are an MP4 `ftyp` box header."""
    return len(head) >= 12 and head[4:8] == b"ftyp"


def is_mp4_file(path: Path | str) -> bool:
    """Whether the file at `path` starts like an MP4; False when it cannot be read."""
    try:
        with open(path, "rb") as handle:
            return starts_like_mp4(handle.read(12))
    except OSError:
        return False


@dataclass(frozen=True)
class ClipInfo:
    """What the MP4's own header says, read without Blender (so before touching the timeline)."""

    path: Path
    frame_count: int
    duration_seconds: float
    has_audio: bool

    @property
    def fps(self) -> float:
        """Frames per second, snapped to a whole rate when within rounding of one (96 frames over a
        track duration of 4.0004 s is a 24 fps clip, and must not get a 0.9999x speed effect)."""
        if self.duration_seconds <= 0:
            return 0.0
        measured = self.frame_count / self.duration_seconds
        if abs(measured - round(measured)) < 0.01:
            return float(round(measured))
        # An NTSC clip (96 frames over 4.004 s): its exact rate, which timing conforms to 24.
        ntsc = round(measured * 1.001) * 1000 / 1001
        return ntsc if abs(measured - ntsc) < 0.01 else measured


def probe_clip(path: str | Path) -> ClipInfo:
    """Frame count, duration and audio presence from the MP4 boxes; refuses anything else."""
    clip_path = Path(path)
    if not clip_path.is_file():
        raise ClipFileError(f"Clip file '{clip_path}' does not exist")
    try:
        with clip_path.open("rb") as stream:
            if not starts_like_mp4(stream.read(12)):
                raise ClipFileError(f"Clip file '{clip_path}' is not an MP4 video")
            moov = _read_top_level_box(stream, b"moov")
    except OSError as error:
        raise ClipFileError(f"Clip file '{clip_path}' cannot be read: {error.strerror or error}") from error
    if moov is None:
        raise ClipFileError(
            f"Clip file '{clip_path}' is incomplete (no 'moov' box): the download may have stopped"
        )
    video: tuple[int, float] | None = None
    has_audio = False
    for kind, start, end in _boxes(moov, 0, len(moov)):
        if kind != b"trak":
            continue
        track = _read_track(moov, start, end)
        if track is None:
            continue
        handler, sample_count, seconds = track
        if handler == b"vide" and video is None:
            video = (sample_count, seconds)
        elif handler == b"soun" and sample_count > 0:
            has_audio = True
    if video is None or video[0] < 1 or video[1] <= 0:
        raise ClipFileError(f"Clip file '{clip_path}' has no video track")
    return ClipInfo(path=clip_path, frame_count=video[0], duration_seconds=video[1], has_audio=has_audio)


def _read_top_level_box(stream: BinaryIO, wanted: bytes) -> bytes | None:
    # Walk by seeking: the media data ('mdat') may come before 'moov' and is never read.
    stream.seek(0)
    while True:
        header = stream.read(8)
        if len(header) < 8:
            return None
        size, kind = struct.unpack(">I4s", header)
        header_size = 8
        if size == 1:
            size = struct.unpack(">Q", stream.read(8))[0]
            header_size = 16
        if kind == wanted:
            body_size = None if size == 0 else size - header_size
            return stream.read() if body_size is None else stream.read(body_size)
        if size == 0:
            return None
        if size < header_size:
            return None
        stream.seek(size - header_size, os.SEEK_CUR)


def _boxes(data: bytes, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    position = start
    while position + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, position)
        header_size = 8
        if size == 1:
            if position + 16 > end:
                return
            size = struct.unpack_from(">Q", data, position + 8)[0]
            header_size = 16
        elif size == 0:
            size = end - position
        if size < header_size or position + size > end:
            return
        yield kind, position + header_size, position + size
        position += size


def _child(data: bytes, start: int, end: int, path: Sequence[bytes]) -> tuple[int, int] | None:
    for kind, child_start, child_end in _boxes(data, start, end):
        if kind == path[0]:
            return (
                (child_start, child_end) if len(path) == 1 else _child(data, child_start, child_end, path[1:])
            )
    return None


def _read_track(data: bytes, start: int, end: int) -> tuple[bytes, int, float] | None:
    """(handler type, sample count, seconds) of one 'trak', or None when a box is missing."""
    handler_box = _child(data, start, end, [b"mdia", b"hdlr"])
    media_header = _child(data, start, end, [b"mdia", b"mdhd"])
    sizes = _child(data, start, end, [b"mdia", b"minf", b"stbl", b"stsz"]) or _child(
        data, start, end, [b"mdia", b"minf", b"stbl", b"stz2"]
    )
    if handler_box is None or media_header is None or sizes is None:
        return None
    handler = data[handler_box[0] + 8 : handler_box[0] + 12]
    header_start = media_header[0]
    if data[header_start] == 1:
        timescale, duration = struct.unpack_from(">IQ", data, header_start + 20)
    else:
        timescale, duration = struct.unpack_from(">II", data, header_start + 12)
    sample_count = struct.unpack_from(">I", data, sizes[0] + 8)[0]
    return handler, sample_count, (duration / timescale if timescale else 0.0)
