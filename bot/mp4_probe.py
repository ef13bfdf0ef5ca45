"""Read an MP4 file's duration and picture size from its boxes, without decoding any video.

Used where the bytes are at hand — the console (a file on disk), the web chat's upload, a 企业微信
video fetched by media/get; Telegram reports the same metadata itself (its Video object). Nothing
here needs ffmpeg.
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dialogs.exchange import IncomingFile

_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts"}

#: A file's bytes: in memory, or mapped from disk (a large upload, read only where its boxes are).
Data = bytes | mmap.mmap


@dataclass(frozen=True)
class Mp4Info:
    duration_s: int | None
    width: int | None
    height: int | None
    quicktime: bool = False  # a QuickTime (.mov) file: the same boxes, another format


def _boxes(data: Data, start: int, end: int) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload start, payload end) of each box between ``start`` and ``end``."""
    offset = start
    while offset + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, offset)
        header = 8
        if size == 1 and offset + 16 <= end:
            size = struct.unpack_from(">Q", data, offset + 8)[0]
            header = 16
        elif size == 0:
            size = end - offset
        if size < header or offset + size > end:
            return
        yield kind, offset + header, offset + size
        offset += size


def probe_mp4(data: Data) -> Mp4Info | None:
    """The duration and size of an MP4/MOV file, or None when it is not one."""
    top = list(_boxes(data, 0, len(data)))
    if not top or top[0][0] != b"ftyp":
        return None
    duration: int | None = None
    width: int | None = None
    height: int | None = None
    pending = [(kind, start, end) for kind, start, end in top if kind == b"moov"]
    while pending:
        _kind, start, end = pending.pop()
        for child, child_start, child_end in _boxes(data, start, end):
            if child in _CONTAINERS:
                pending.append((child, child_start, child_end))
            elif child == b"mvhd" and child_end - child_start >= 32:
                version = data[child_start]
                if version == 1:
                    timescale, length = struct.unpack_from(">IQ", data, child_start + 20)
                else:
                    timescale, length = struct.unpack_from(">II", data, child_start + 12)
                duration = round(length / timescale) if timescale else None
            elif child == b"tkhd" and child_end - child_start >= 84:
                version = data[child_start]
                offset = child_start + (88 if version == 1 else 76)
                if offset + 8 <= child_end:
                    w, h = struct.unpack_from(">II", data, offset)
                    if w and h and width is None:
                        width, height = w >> 16, h >> 16
    _kind, ftyp_start, ftyp_end = top[0]
    quicktime = data[ftyp_start : min(ftyp_start + 4, ftyp_end)] == b"qt  "
    return Mp4Info(duration_s=duration, width=width, height=height, quicktime=quicktime)


def spooled_video_file(path: Path, *, file_name: str | None = None) -> IncomingFile | None:
    """``video_file`` for an upload written to disk as it arrived: its boxes read through a memory
    map (the pages touched, not the file), the engine given the path to store it from."""
    size = path.stat().st_size
    if size == 0:
        return None
    with path.open("rb") as stream, mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
        info = probe_mp4(mapped)
    if info is None:
        return None
    return _video(info, size, file_name=file_name, spooled=path)


def video_file(
    data: bytes, *, file_name: str | None = None, file_id: str | None = None
) -> IncomingFile | None:
    """A video as the engine takes it, read from its own boxes — duration, picture size, and its type
    (MP4, or QuickTime, which the check refuses) — whatever it is called; None when the bytes are no
    MP4 or QuickTime file at all."""
    info = probe_mp4(data)
    if info is None:
        return None
    return _video(info, len(data), data=data, file_name=file_name, file_id=file_id)


def _video(
    info: Mp4Info,
    size: int,
    *,
    data: bytes | None = None,
    file_name: str | None = None,
    file_id: str | None = None,
    spooled: Path | None = None,
) -> IncomingFile:
    return IncomingFile(
        kind="video",
        data=data,
        file_name=file_name,
        mime="video/quicktime" if info.quicktime else "video/mp4",
        size=size,
        duration_s=info.duration_s,
        width=info.width,
        height=info.height,
        file_id=file_id,
        spooled=spooled,
    )
