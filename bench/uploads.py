"""Peak memory of the web chat while contacts send worst-case photos at the same moment.

A worker process (fresh, so its peak RSS is its own) builds an engine on an SQLite file, puts each
contact at the 登记表's 证件照 field, then sends every contact's photo at once through the real
Starlette app (``bot.web.build_app`` over httpx's ASGI transport: the upload route, the photo check
in worker threads, the storing). The peak is read from ``VmHWM`` after resetting it once set up.

The photos are PNGs of one colour, a few hundred KB on the wire, that decode to the most memory:
one just under the pixel budget (accepted; decoded one at a time) and one above it (refused from its
header, nothing decoded) — the case that used to cost ~340 MB each.
"""

from __future__ import annotations

import asyncio
import struct
import time
import zlib
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.processes import Start, memory_mb


@dataclass(frozen=True)
class UploadSpec:
    folder: str
    width: int
    height: int
    contacts: int


@dataclass(frozen=True)
class UploadResult:
    peak_rss_mb: float
    before_mb: float
    seconds: float
    accepted: int
    refused: int
    file_kb: float  # each file's size


def solid_png(width: int, height: int) -> bytes:
    """An RGBA PNG of one colour, written row by row (never the whole raw image in memory)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    compressor = zlib.compressobj(9)
    row = b"\x00" + bytes((200, 30, 30, 255)) * width
    parts = [compressor.compress(row) for _ in range(height)]
    parts.append(compressor.flush())
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b"")
    )


def _reset_peak() -> None:
    """Start VmHWM again from the current RSS (Linux: write 5 to clear_refs)."""
    with open("/proc/self/clear_refs", "w", encoding="ascii") as refs:
        refs.write("5")


def run_uploads(spec: UploadSpec, start: Start) -> UploadResult:
    from dialogs.sample_answers import CADRE_ANSWERS

    photo = solid_png(spec.width, spec.height)
    return _all_at_once(
        spec.folder,
        [f"bench-upload-{number}" for number in range(spec.contacts)],
        ("/new", "登记表", *CADRE_ANSWERS),
        lambda _number: photo,
        "image/png",
        lambda said: "像素过大" not in said,
        len(photo) / 1024,
        start,
    )


def _all_at_once(
    folder: str,
    users: list[str],
    answers: Sequence[str],
    body: Callable[[int], bytes | AsyncIterator[bytes]],
    content_type: str,
    taken: Callable[[str], bool],
    file_kb: float,
    start: Start,
) -> UploadResult:
    """Bind each user to a unit, answer up to the question that asks for a file, then send every
    user's file (``body(number)``) at the same moment through the real app; the process's peak RSS
    from the start barrier on, and how many files were ``taken`` (judged by the answer's words)."""
    import httpx

    from bench.web_chat import ORIGIN, web_app
    from bot.web import CSRF_HEADER, SESSION_COOKIE
    from dialogs.exchange import Inbound

    engine, app, signer = web_app(Path(folder))
    repository, campaign = engine.repository, engine.campaign
    for number, user in enumerate(users):
        unit = repository.unit_by_code(campaign.id, campaign.units[number % len(campaign.units)].code)
        assert unit is not None and unit.id is not None
        repository.bind_contact("web", user, unit.id)
        for text in answers:
            engine.handle(Inbound("web", user, text))

    async def upload(client: httpx.AsyncClient, number: int, user: str) -> int:
        response = await client.post(
            "/api/upload",
            content=body(number),
            headers={CSRF_HEADER: signer.csrf(f"user:{user}"), "Content-Type": content_type},
            cookies={SESSION_COOKIE: signer.sign("session", user)},
        )
        assert response.status_code == 200, response.text
        return int(taken(" ".join(reply["text"] for reply in response.json()["replies"])))

    async def everyone() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url=ORIGIN, headers={"Origin": ORIGIN}, timeout=None
        ) as client:
            return list(await asyncio.gather(*(upload(client, n, user) for n, user in enumerate(users))))

    before, _peak = memory_mb()
    _reset_peak()
    start.wait()
    began = time.perf_counter()
    accepted = asyncio.run(everyone())
    took = time.perf_counter() - began
    _rss, peak = memory_mb()
    repository.engine.dispose()
    return UploadResult(
        peak_rss_mb=peak,
        before_mb=before,
        seconds=took,
        accepted=sum(accepted),
        refused=len(accepted) - sum(accepted),
        file_kb=file_kb,
    )


@dataclass(frozen=True)
class VideoUploadSpec:
    folder: str
    contacts: int
    video_mb: int


def run_video_uploads(spec: VideoUploadSpec, start: Start) -> UploadResult:
    """Peak RSS while every contact uploads a course video at once (each MP4 of ``video_mb`` MB,
    streamed by the client in 1 MB chunks, so that what is measured is the server's share)."""
    chunk = 1024 * 1024

    async def video(number: int) -> AsyncIterator[bytes]:
        yield mp4_head(300, 1280, 720, spec.video_mb * chunk)
        for _ in range(spec.video_mb):
            yield bytes([number]) * chunk  # each contact's own bytes: stored apart
            await asyncio.sleep(0)  # the uploads interleave, as over a network

    return _all_at_once(
        spec.folder,
        [f"bench-video-{number}" for number in range(spec.contacts)],
        ("/new", "课程推荐表", "家风第一课", "讲授", "家风" * 25, "覃美玲", "1982.07", "鹿寨县妇联主席"),
        video,
        "video/mp4",
        lambda said: "已填写的课程如下" in said,  # the video taken: on to the list of courses
        spec.video_mb * 1024,
        start,
    )


def mp4_head(seconds: int, width: int, height: int, media_bytes: int) -> bytes:
    """The boxes of an MP4 (ftyp, moov with its duration, picture size and one track whose samples —
    one a second, in one chunk — fill the media) and the header of an ``mdat`` box of ``media_bytes``
    that follow (the upload's check refuses an MP4 whose index points past its media)."""

    def box(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I4s", 8 + len(payload), kind) + payload

    mvhd = struct.pack(">B3xIIII", 0, 0, 0, 1000, seconds * 1000) + bytes(80)
    tkhd = struct.pack(">B3xIIIII", 0, 0, 0, 1, 0, seconds * 1000) + bytes(52)
    tkhd += struct.pack(">II", width << 16, height << 16)
    ftyp = box(b"ftyp", b"isom\x00\x00\x02\x00isomiso2mp41")

    def moov(media_start: int) -> bytes:
        stbl = box(
            b"stbl",
            box(b"stsc", struct.pack(">IIIII", 0, 1, 1, seconds, 1))
            + box(b"stsz", struct.pack(">III", 0, media_bytes // seconds, seconds))
            + box(b"stco", struct.pack(">III", 0, 1, media_start)),
        )
        trak = box(b"trak", box(b"tkhd", tkhd) + box(b"mdia", box(b"minf", stbl)))
        return box(b"moov", box(b"mvhd", mvhd) + trak)

    media_start = len(ftyp) + len(moov(0)) + 8
    return ftyp + moov(media_start) + struct.pack(">I4s", 8 + media_bytes, b"mdat")
