"""Read an MP4 file's duration and picture size from its boxes, without decoding any video, and check
that the media its index points to is in the file.

Used where the bytes are at hand — the console (a file on disk), the web chat's upload, a 企业微信
video fetched by media/get; Telegram reports the same metadata itself (its Video object). Nothing
here needs ffmpeg.

A file cut short (a copy or an export that stopped) can still hold its whole index (``moov``) at the
front: its duration reads as five minutes while the pictures are not there. So every track's chunks
(``stco``/``co64`` offsets, ``stsc`` samples per chunk, ``stsz`` sizes) must lie inside an ``mdat``
within the file; a file with no index at all, an index cut short, or an index pointing past the end
is damaged (``VideoDamaged``). Only the boxes and tables are read — through a memory map for a
spooled upload, a chunk's sizes at a time — never the media itself.
"""

from __future__ import annotations

import mmap
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from dialogs.exchange import IncomingFile

_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts"}
_TABLES = {b"stco", b"co64", b"stsc", b"stsz"}
MAX_CHUNKS = 1_000_000  # a track's chunks (a 15-minute 60 fps video has tens of thousands of samples)

#: What a person reads when a video's media is not all in the file.
VIDEO_DAMAGED = (
    "这个视频文件不完整或已损坏（可能没有导出完或没有传完），没有收到，之前填写的内容都还在。"
    "请在剪辑软件中重新导出为 MP4，或从相册里重新选择原视频发送。"
)

#: A file's bytes: in memory, or mapped from disk (a large upload, read only where its boxes are).
Data = bytes | mmap.mmap


class VideoDamaged(ValueError):
    """An MP4 (or QuickTime) file whose media is not all there: cut short, or no index to play it by."""

    def __init__(self) -> None:
        super().__init__(VIDEO_DAMAGED)


class _Broken(Exception):
    """A table that contradicts its own box (a count beyond its end, too many chunks)."""


@dataclass(frozen=True)
class Mp4Info:
    duration_s: int | None
    width: int | None
    height: int | None
    quicktime: bool = False  # a QuickTime (.mov) file: the same boxes, another format
    intact: bool = True  # the media its index points to is in the file


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


def _top_level(data: Data) -> tuple[list[tuple[bytes, int, int]], bool]:
    """The file's top-level boxes — the last one cut at the file's end when it runs past it — and
    whether it was cut (or bytes that are no box follow)."""
    boxes = list(_boxes(data, 0, len(data)))
    offset = boxes[-1][2] if boxes else 0
    if offset + 8 > len(data):
        return boxes, offset != len(data)
    size, kind = struct.unpack_from(">I4s", data, offset)
    header = 16 if size == 1 else 8
    if offset + header <= len(data) and kind.isascii() and kind.isalnum():
        boxes.append((kind, offset + header, len(data)))
    return boxes, True


def probe_mp4(data: Data) -> Mp4Info | None:
    """The duration and size of an MP4/MOV file, and whether its media is there; None when it is not
    an MP4/MOV file at all."""
    top, cut = _top_level(data)
    if not top or top[0][0] != b"ftyp":
        return None
    duration: int | None = None
    width: int | None = None
    height: int | None = None
    moov = [(start, end) for kind, start, end in top if kind == b"moov"]
    pending = [(b"moov", start, end) for start, end in moov]
    tables: list[dict[bytes, tuple[int, int]]] = []
    fragmented = False
    while pending:
        _kind, start, end = pending.pop()
        for child, child_start, child_end in _boxes(data, start, end):
            if child in _CONTAINERS:
                pending.append((child, child_start, child_end))
            if child == b"stbl":
                tables.append(
                    {kind: (s, e) for kind, s, e in _boxes(data, child_start, child_end) if kind in _TABLES}
                )
            elif child == b"mvex":
                fragmented = True
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
    moov_whole = bool(moov) and not (cut and top[-1][0] == b"moov")
    intact = moov_whole and _media_there(data, top, cut, tables, fragmented)
    return Mp4Info(duration_s=duration, width=width, height=height, quicktime=quicktime, intact=intact)


def _media_there(
    data: Data,
    top: list[tuple[bytes, int, int]],
    cut: bool,
    tables: list[dict[bytes, tuple[int, int]]],
    fragmented: bool,
) -> bool:
    """Whether every chunk the tracks' tables point to lies inside an ``mdat`` within the file (a
    fragmented file: its fragments are there, whole), and there is any media at all."""
    media = [(start, end) for kind, start, end in top if kind == b"mdat"]
    if fragmented:
        return not cut and bool(media) and any(kind == b"moof" for kind, _, _ in top)
    chunks = 0
    try:
        for stbl in tables:
            for start, end in _chunks(data, stbl):
                chunks += 1
                if not any(m_start <= start and end <= m_end for m_start, m_end in media):
                    return False
    except (_Broken, struct.error):
        return False
    return chunks > 0


def _chunks(data: Data, stbl: dict[bytes, tuple[int, int]]) -> Iterator[tuple[int, int]]:
    """(start, end) in the file of each chunk of one track's media, from its sample tables: where
    each chunk starts (``stco``/``co64``), how many samples it holds (``stsc``: runs of chunks alike),
    how large each sample is (``stsz``: one size for all, or one each)."""
    offsets = _Table.of(data, stbl, b"co64", 8) if b"co64" in stbl else _Table.of(data, stbl, b"stco", 4)
    runs = _Table.of(data, stbl, b"stsc", 12)
    sizes = _Table.of(data, stbl, b"stsz", 4, header=12)
    if offsets.count > MAX_CHUNKS:
        raise _Broken
    uniform, samples = sizes.fields(data, ">II") if b"stsz" in stbl else (0, 0)
    offset_format = ">Q" if offsets.width == 8 else ">I"
    if not uniform and sizes.count < samples:
        raise _Broken
    sample = 0
    for run in range(runs.count):
        first, per_chunk = struct.unpack_from(">II", data, runs.entry(run))
        last = (
            struct.unpack_from(">I", data, runs.entry(run + 1))[0] - 1
            if run + 1 < runs.count
            else offsets.count
        )
        for chunk in range(max(first, 1), min(last, offsets.count) + 1):
            (start,) = struct.unpack_from(offset_format, data, offsets.entry(chunk - 1))
            count = min(per_chunk, samples - sample)
            if count <= 0:
                return
            if uniform:
                size = uniform * count
            else:
                size = sum(struct.unpack_from(f">{count}I", data, sizes.entry(sample)))
            sample += count
            yield start, start + size


@dataclass(frozen=True)
class _Table:
    """A full box's table of entries: where they start, how many, how wide each is."""

    box: int  # where the box's payload starts (its version and flags)
    start: int
    count: int
    width: int

    @classmethod
    def of(
        cls, data: Data, stbl: dict[bytes, tuple[int, int]], kind: bytes, width: int, header: int = 8
    ) -> _Table:
        """The table of ``kind`` (none when the box is missing): its count is the last 4 bytes of its
        ``header``; ``_Broken`` when the entries run past the box."""
        if kind not in stbl:
            return cls(0, 0, 0, width)
        start, end = stbl[kind]
        if end - start < header:
            raise _Broken
        (count,) = struct.unpack_from(">I", data, start + header - 4)
        if kind == b"stsz" and struct.unpack_from(">I", data, start + 4)[0]:
            count = 0  # one size for every sample: no table follows
        if start + header + count * width > end:
            raise _Broken
        return cls(start, start + header, count, width)

    def fields(self, data: Data, fmt: str) -> tuple[int, ...]:
        """The box's own fields after its version and flags."""
        return struct.unpack_from(fmt, data, self.box + 4)

    def entry(self, index: int) -> int:
        return self.start + index * self.width


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
    if not info.intact:
        raise VideoDamaged
    return _video(info, size, file_name=file_name, spooled=path)


def video_file(
    data: bytes, *, file_name: str | None = None, file_id: str | None = None
) -> IncomingFile | None:
    """A video as the engine takes it, read from its own boxes — duration, picture size, and its type
    (MP4, or QuickTime, which the check refuses) — whatever it is called; None when the bytes are no
    MP4 or QuickTime file at all; ``VideoDamaged`` when they are one whose media is not all there."""
    info = probe_mp4(data)
    if info is None:
        return None
    if not info.intact:
        raise VideoDamaged
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
