"""A render's file is taken over without copying it: what comes back reads as the file's bytes,
and the file is gone from its folder at once, whatever happens to the keyframe later."""

from __future__ import annotations

import io
import os
import struct

import pytest

from veo_addon.core import file_mapping
from veo_addon.core.file_mapping import take_file


def test_a_taken_file_reads_as_its_bytes_and_is_gone(tmp_path):
    content = os.urandom(3 * 1024 * 1024) + b"II*\x00"
    path = tmp_path / "frame_12.tif"
    path.write_bytes(content)
    taken = take_file(path)
    assert not path.exists() and list(tmp_path.iterdir()) == []
    # What the keyframe's readers do with it: slices, steps, unpacking, a view, a stream.
    assert len(taken) == len(content)
    assert taken[:4] == content[:4] and taken[-4:] == b"II*\x00"
    assert taken[3:4000:4] == content[3:4000:4]
    assert struct.unpack_from("<I", taken, 8) == struct.unpack_from("<I", content, 8)
    assert bytes(memoryview(taken)[100:200]) == content[100:200]
    assert io.BytesIO(taken).read() == content


def test_an_empty_file_is_taken_as_no_bytes(tmp_path):
    path = tmp_path / "frame_1.tif"
    path.write_bytes(b"")
    assert take_file(path) == b""
    assert not path.exists()


def test_where_a_mapped_file_cannot_be_removed_it_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(file_mapping.os, "name", "nt")
    path = tmp_path / "frame_2.tif"
    path.write_bytes(b"0123456789")
    taken = take_file(path)
    assert isinstance(taken, bytes) and taken == b"0123456789"
    assert not path.exists()


def test_where_the_file_system_will_not_map_it_it_is_read(tmp_path, monkeypatch):
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise OSError(19, "No such device")

    monkeypatch.setattr(file_mapping.mmap, "mmap", refuse)
    path = tmp_path / "frame_3.tif"
    path.write_bytes(b"II*\x00 pixels")
    assert take_file(path) == b"II*\x00 pixels"
    assert not path.exists()


def test_a_missing_file_is_an_error_not_an_empty_keyframe(tmp_path):
    with pytest.raises(FileNotFoundError):
        take_file(tmp_path / "never_written.tif")
