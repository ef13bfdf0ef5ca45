"""The MP4 probe reads duration and picture size from the boxes of a real-shaped file, and refuses one
whose media its index points to is not all there (cut short, or no index at all)."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from bot.mp4_probe import VIDEO_DAMAGED, VideoDamaged, probe_mp4, spooled_video_file, video_file


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def mp4(
    seconds: int,
    width: int,
    height: int,
    *,
    version: int = 0,
    payload: int = 0,
    chunks: int = 1,
    co64: bool = False,
    uniform: bool = False,
    index_first: bool = True,
    head_only: bool = False,
) -> bytes:
    """An MP4 whose boxes say how long and how large it is, with one track of a sample a second whose
    chunks fill its media data (``mdat``): at least ``payload`` bytes, in ``chunks`` chunks, their
    offsets as ``co64`` or ``stco``, their sizes ``uniform`` or one each; the index (``moov``)
    before the media (as a phone's “fast start” export) or after it (as a camera writes);
    ``head_only``: the index first and the media's box header, not the media (for a sparse file)."""
    timescale = 1000
    if version == 1:
        mvhd = struct.pack(">B3xQQIQ", 1, 0, 0, timescale, seconds * timescale) + bytes(80)
        tkhd = struct.pack(">B3xQQIIQ", 1, 0, 0, 1, 0, seconds * timescale) + bytes(52)
    else:
        mvhd = struct.pack(">B3xIIII", 0, 0, 0, timescale, seconds * timescale) + bytes(80)
        tkhd = struct.pack(">B3xIIIII", 0, 0, 0, 1, 0, seconds * timescale) + bytes(52)
    tkhd += struct.pack(">II", width << 16, height << 16)
    samples = max(seconds, 1)
    size = max(payload // samples, 1)
    media = max(payload, size * samples)
    per_chunk, extra = divmod(samples, chunks)
    runs = [(1, per_chunk)] + ([(chunks, per_chunk + extra)] if extra and chunks > 1 else [])
    if chunks == 1:
        runs = [(1, samples)]

    def moov(media_start: int) -> bytes:
        offsets = [media_start + n * per_chunk * size for n in range(chunks)]
        kind, fmt = (b"co64", ">Q") if co64 else (b"stco", ">I")
        stco = box(kind, struct.pack(">II", 0, chunks) + b"".join(struct.pack(fmt, o) for o in offsets))
        stsc = box(
            b"stsc",
            struct.pack(">II", 0, len(runs)) + b"".join(struct.pack(">III", f, n, 1) for f, n in runs),
        )
        table = b"" if uniform else struct.pack(f">{samples}I", *[size] * samples)
        stsz = box(b"stsz", struct.pack(">III", 0, size if uniform else 0, samples) + table)
        stbl = box(b"stbl", stsc + stsz + stco)
        trak = box(b"trak", box(b"tkhd", tkhd) + box(b"mdia", box(b"minf", stbl)))
        return box(b"moov", box(b"mvhd", mvhd) + trak)

    ftyp = box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41")
    if head_only:
        head = ftyp + moov(0)
        return ftyp + moov(len(head) + 8) + struct.pack(">I4s", 8 + media, b"mdat")
    mdat = box(b"mdat", bytes(media))
    if index_first:
        head = ftyp + moov(0)
        return ftyp + moov(len(head) + 8) + mdat
    return ftyp + mdat + moov(len(ftyp) + 8)


@pytest.mark.parametrize("version", [0, 1])
def test_duration_and_size_are_read(version: int) -> None:
    info = probe_mp4(mp4(302, 1280, 720, version=version))
    assert info is not None and info.intact
    assert (info.duration_s, info.width, info.height) == (302, 1280, 720)


@pytest.mark.parametrize(
    "data", [b"", b"not a video at all", b"\x00\x00\x00\x08free", box(b"ftyp", b"isom")[:6]]
)
def test_what_is_not_an_mp4_is_none_or_empty(data: bytes) -> None:
    info = probe_mp4(data)
    assert info is None or (info.duration_s, info.width) == (None, None)


WHOLE = {
    "index-first": mp4(300, 1280, 720, payload=300_000),
    "index-last": mp4(300, 1280, 720, payload=300_000, index_first=False),
    "chunks-co64": mp4(300, 1280, 720, payload=300_000, chunks=7, co64=True),
    "chunks-uniform": mp4(300, 1280, 720, payload=300_000, chunks=10, uniform=True),
    "trailing-bytes": mp4(300, 1280, 720, payload=300_000) + b"\x00\x00\x00",
}


@pytest.mark.parametrize("data", WHOLE.values(), ids=WHOLE.keys())
def test_a_whole_file_is_taken(data: bytes) -> None:
    video = video_file(data, file_name="课程.mp4")
    assert video is not None and (video.duration_s, video.width, video.height) == (300, 1280, 720)


def _stco_pointing(data: bytes, shift: int) -> bytes:
    """The file with its chunk offsets moved by ``shift`` (an index that points elsewhere)."""
    at = data.index(b"stco") + 12
    (offset,) = struct.unpack_from(">I", data, at)
    return data[:at] + struct.pack(">I", offset + shift) + data[at + 4 :]


def _stco_count(data: bytes, count: int) -> bytes:
    """The file with its chunk-offset table claiming ``count`` entries (more than its box holds)."""
    at = data.index(b"stco") + 8
    return data[:at] + struct.pack(">I", count) + data[at + 4 :]


GOOD = mp4(300, 1280, 720, payload=3_000_000)
DAMAGED = {
    # The index at the front, the media cut: it still says five minutes (the case of issue 22.9).
    "media-cut-at-half": GOOD[: len(GOOD) // 2],
    "media-cut-near-the-end": GOOD[:-100],
    "media-missing": GOOD[: GOOD.index(b"mdat") + 4],
    "index-cut": GOOD[: GOOD.index(b"stco") + 10],
    "index-last-media-cut": mp4(300, 1280, 720, payload=3_000_000, index_first=False)[:1_000_000],
    "ftyp-and-noise": box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41") + bytes(range(256)) * 8,
    "no-media-box": GOOD[: GOOD.index(b"mdat") - 4] + box(b"free", bytes(3_000_000)),
    "index-points-past-the-end": _stco_pointing(GOOD, 2_000_000),
    "no-samples": mp4(300, 1280, 720).replace(b"stsz", b"xxxx"),
    "count-past-its-box": _stco_count(GOOD, 999),
}


@pytest.mark.parametrize("data", DAMAGED.values(), ids=DAMAGED.keys())
def test_a_file_whose_media_is_not_there_is_damaged(data: bytes, tmp_path: Path) -> None:
    info = probe_mp4(data)
    assert info is not None and not info.intact
    with pytest.raises(VideoDamaged) as raised:
        video_file(data, file_name="课程.mp4")
    assert str(raised.value) == VIDEO_DAMAGED
    spooled = tmp_path / "upload"
    spooled.write_bytes(data)
    with pytest.raises(VideoDamaged):
        spooled_video_file(spooled, file_name="课程.mp4")


def test_the_damaged_message_says_what_is_wrong_and_what_to_do() -> None:
    assert "不完整或已损坏" in VIDEO_DAMAGED and "重新导出" in VIDEO_DAMAGED and "重新选择" in VIDEO_DAMAGED


def test_a_fragmented_file_is_whole_with_its_fragments_and_damaged_without() -> None:
    ftyp = box(b"ftyp", b"iso6\x00\x00\x02\x00iso6mp41")
    mvhd = struct.pack(">B3xIIII", 0, 0, 0, 1000, 300_000) + bytes(80)
    moov = box(b"moov", box(b"mvhd", mvhd) + box(b"mvex", box(b"trex", bytes(24))))
    fragment = box(b"moof", box(b"mfhd", bytes(8))) + box(b"mdat", bytes(50_000))
    whole = ftyp + moov + fragment * 3
    info = probe_mp4(whole)
    assert info is not None and info.intact and info.duration_s == 300
    cut = probe_mp4(whole[:-1000])
    assert cut is not None and not cut.intact
    bare = probe_mp4(ftyp + moov)
    assert bare is not None and not bare.intact


def test_a_spooled_file_is_probed_by_its_boxes_only(tmp_path: Path) -> None:
    """A 300 MB upload on disk (sparse: its media never written) is checked through a memory map,
    reading only its boxes and tables: at once, and the same file one byte short is damaged."""
    head = mp4(300, 1280, 720, payload=300_000_000, head_only=True)
    whole = len(head) + 300_000_000
    path = tmp_path / "upload"
    with path.open("wb") as stream:
        stream.write(head)
        stream.truncate(whole)
    video = spooled_video_file(path, file_name="课程.mp4")
    assert video is not None and video.size == whole and video.duration_s == 300
    with path.open("r+b") as stream:
        stream.truncate(whole - 1)
    with pytest.raises(VideoDamaged):
        spooled_video_file(path, file_name="课程.mp4")
