"""The MP4 reader the client, the job and the timeline share, without Blender."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from veo_addon.core.mp4 import ClipFileError, is_mp4_file, probe_clip, starts_like_mp4

FTYP = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"


def box(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", 8 + len(body)) + kind + body


def track(handler: bytes, samples: int, timescale: int, duration: int) -> bytes:
    mdhd = box(b"mdhd", b"\x00" * 12 + struct.pack(">II", timescale, duration) + b"\x00" * 4)
    hdlr = box(b"hdlr", b"\x00" * 8 + handler + b"\x00" * 12)
    stsz = box(b"stsz", b"\x00" * 8 + struct.pack(">I", samples))
    stbl = box(b"stbl", stsz)
    return box(b"trak", box(b"mdia", mdhd + hdlr + box(b"minf", stbl)))


def test_the_signature_is_an_ftyp_box_header(tmp_path: Path) -> None:
    assert starts_like_mp4(FTYP[:12])
    assert not starts_like_mp4(b"\x00\x00\x00\x18ftyp")  # too short to be a box header
    assert not starts_like_mp4(b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0d")
    (tmp_path / "a.mp4").write_bytes(FTYP)
    (tmp_path / "b.mp4").write_bytes(b"<html>expired</html>")
    assert is_mp4_file(tmp_path / "a.mp4")
    assert not is_mp4_file(tmp_path / "b.mp4")
    assert not is_mp4_file(tmp_path / "missing.mp4")


def test_a_clip_header_gives_frames_seconds_and_sound(tmp_path: Path) -> None:
    # 'mdat' before 'moov', as many encoders write it: it is skipped, never read.
    moov = box(b"moov", track(b"vide", 96, 12800, 51200) + track(b"soun", 188, 48000, 192000))
    path = tmp_path / "clip.mp4"
    path.write_bytes(FTYP + box(b"mdat", b"\x00" * 1000) + moov)
    info = probe_clip(path)
    assert (info.frame_count, info.duration_seconds, info.has_audio, info.fps) == (96, 4.0, True, 24.0)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (None, "does not exist"),
        (b"not a video at all", "is not an MP4 video"),
        (FTYP + box(b"mdat", b""), "is incomplete"),
        (FTYP + box(b"moov", track(b"soun", 10, 48000, 48000)), "has no video track"),
    ],
)
def test_unusable_clips_are_refused_in_one_line(tmp_path: Path, content: bytes | None, words: str) -> None:
    path = tmp_path / "download.mp4"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ClipFileError, match=f"^Clip file '.*download.mp4' {words}"):
        probe_clip(path)
