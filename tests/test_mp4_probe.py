"""The MP4 probe reads duration and picture size from the boxes of a real-shaped file."""

from __future__ import annotations

import struct

import pytest

from bot.mp4_probe import probe_mp4


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def mp4(seconds: int, width: int, height: int, *, version: int = 0, payload: int = 0) -> bytes:
    """An MP4 whose boxes say how long and how large it is; ``payload`` bytes of media data after."""
    timescale = 1000
    if version == 1:
        mvhd = struct.pack(">B3xQQIQ", 1, 0, 0, timescale, seconds * timescale) + bytes(80)
        tkhd = struct.pack(">B3xQQIIQ", 1, 0, 0, 1, 0, seconds * timescale) + bytes(52)
    else:
        mvhd = struct.pack(">B3xIIII", 0, 0, 0, timescale, seconds * timescale) + bytes(80)
        tkhd = struct.pack(">B3xIIIII", 0, 0, 0, 1, 0, seconds * timescale) + bytes(52)
    tkhd += struct.pack(">II", width << 16, height << 16)
    return (
        box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41")
        + box(b"moov", box(b"mvhd", mvhd) + box(b"trak", box(b"tkhd", tkhd)))
        + box(b"mdat", bytes(payload))
    )


@pytest.mark.parametrize("version", [0, 1])
def test_duration_and_size_are_read(version: int) -> None:
    info = probe_mp4(mp4(302, 1280, 720, version=version))
    assert info is not None
    assert (info.duration_s, info.width, info.height) == (302, 1280, 720)


@pytest.mark.parametrize(
    "data", [b"", b"not a video at all", b"\x00\x00\x00\x08free", box(b"ftyp", b"isom")[:6]]
)
def test_what_is_not_an_mp4_is_none_or_empty(data: bytes) -> None:
    info = probe_mp4(data)
    assert info is None or (info.duration_s, info.width) == (None, None)


def test_a_truncated_moov_does_not_raise() -> None:
    data = mp4(60, 640, 480)
    info = probe_mp4(data[: len(data) - 30])
    assert info is None or info.width is None
