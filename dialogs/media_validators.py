"""Photos and videos: what a sent file must be (format, size, pixels, duration) and the budget that
keeps decoding many large photos at once from exhausting memory."""

from __future__ import annotations

import ctypes
import math
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from io import BytesIO

from PIL import ExifTags, Image

from dialogs.validation import Accepted, Rejected, ValidationResult

# --- photos and videos -------------------------------------------------------------------------

_PHOTO_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "HEIF": "image/heif"}
NOT_A_PHOTO = Rejected("无法识别为照片，请发送 JPG 或 PNG 格式的照片。")
_ORIENTATIONS_SWAPPING_SIDES = {5, 6, 7, 8}  # EXIF orientations that rotate by 90 or 270 degrees


@cache
def photo_formats() -> tuple[str, ...]:
    """Pillow format names accepted as photos; HEIF (iPhone photos) only when pillow_heif is installed.

    Call it before opening a stored photo with Pillow: it registers the HEIF opener.
    """
    try:
        from pillow_heif import register_heif_opener
    except ImportError:
        return ("JPEG", "PNG", "WEBP")
    register_heif_opener()
    return ("JPEG", "PNG", "WEBP", "HEIF")


def _megabytes(size: int) -> str:
    """A file's size as a phone shows it: decimal megabytes, one decimal at most (``10.6``, ``80``),
    rounded up — a file just over a limit never reads as the limit itself."""
    return f"{math.ceil(size / 100_000) / 10:.1f}".removesuffix(".0")


#: The largest photo file taken on any channel, stated once: the web's upload limit is this too.
PHOTO_MAX_BYTES = 10_000_000
#: The most pixels a photo may have: a phone's 48-50 MP mode fits, a screenshot-sized bomb does not.
PHOTO_MAX_PIXELS = 50_000_000


def photo_too_large(size: int | None = None) -> str:
    """What a person reads when a photo file is over ``PHOTO_MAX_BYTES`` (its size, when known)."""
    actual = f"（{_megabytes(size)} MB）" if size is not None else ""
    limit = _megabytes(PHOTO_MAX_BYTES)
    return f"照片太大{actual}，请发送不超过 {limit} MB 的照片（可先在相册里压缩后再发送）。"


VIDEO_MAX_BYTES = 300_000_000  # a course video of about five minutes, at a phone's usual quality


def video_too_large(size: int | None = None) -> str:
    """What a person reads when a video file is over ``VIDEO_MAX_BYTES`` (its size, when known)."""
    actual = f"（{_megabytes(size)} MB）" if size is not None else ""
    limit = _megabytes(VIDEO_MAX_BYTES)
    return f"视频太大{actual}，请发送不超过 {limit} MB 的视频（可在剪辑软件中降低清晰度后导出为 MP4）。"


class DecodeBudget:
    """How many pixels this process decodes at once, across threads.

    A decode takes its share of the budget before it starts and gives it back after, waiting while
    the others hold too much, so several people uploading large PNGs at once cannot multiply the
    memory a decode costs. A single decode larger than the whole budget waits for the budget to be
    free, then runs alone.

    Taking turns is not enough by itself: glibc keeps one heap per thread and holds on to what a
    decode freed in it (Pillow allocates pixels in 16 MB blocks, under glibc's moving mmap
    threshold), so ten threads each decoding in turn still kept ten decodes' worth. The budget
    therefore fixes that threshold (``mallopt``) where glibc is the C library: pixel blocks are
    mapped on their own and handed back to the system as soon as they are freed.
    """

    def __init__(self, capacity: int) -> None:
        _return_freed_blocks_at_once()
        self.capacity = capacity
        self._in_use = 0
        self._free = threading.Condition()

    @contextmanager
    def hold(self, pixels: int) -> Iterator[None]:
        share = max(min(pixels, self.capacity), 1)
        with self._free:
            self._free.wait_for(lambda: self._in_use + share <= self.capacity)
            self._in_use += share
        try:
            yield
        finally:
            with self._free:
                self._in_use -= share
                self._free.notify_all()


def _return_freed_blocks_at_once(threshold: int = 4 << 20) -> None:
    """Allocations from ``threshold`` bytes up get their own mapping, returned when freed (glibc)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (musl maps large blocks on its own anyway; macOS, Windows)
        return
    libc.mallopt(_M_MMAP_THRESHOLD, threshold)


_M_MMAP_THRESHOLD = -3  # glibc's malloc.h

#: Shared by the photo check and the renderer: one full-size worst case at a time (~200 MB decoded).
decode_budget = DecodeBudget(PHOTO_MAX_PIXELS)


def validate_photo(
    data: bytes, *, min_short_side: int = 300, max_bytes: int = PHOTO_MAX_BYTES
) -> ValidationResult:
    """Check that ``data`` really is a photo (JPEG, PNG, WEBP, or HEIC/HEIF with pillow_heif).

    The size in pixels is read from the header first: above ``PHOTO_MAX_PIXELS`` nothing is decoded.
    A JPEG is decoded at 1/8 scale; other formats in full, within ``decode_budget``.
    The width and height reported respect the EXIF orientation. Accepted value:
    ``{"format": "JPEG", "mime": "image/jpeg", "width": w, "height": h, "bytes": len(data)}``.
    """
    if len(data) > max_bytes:
        return Rejected(photo_too_large(len(data)))
    formats = photo_formats()
    with warnings.catch_warnings():
        # A decompression bomb must be refused, not merely warned about.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(BytesIO(data), formats=formats) as image:
                image_format = image.format or ""
                width, height = image.size  # from the header: nothing decoded yet
                if width * height > PHOTO_MAX_PIXELS:
                    return Rejected(
                        f"照片像素过大（约 {width * height // 10_000} 万像素），"
                        f"请发送不超过 {PHOTO_MAX_PIXELS // 10_000} 万像素的照片（手机拍照的默认设置即可）。"
                    )
                image.verify()  # the container's structure and checksums, without decoding
            with Image.open(BytesIO(data), formats=formats) as image:
                decoded = width * height
                if image_format == "JPEG":
                    # Grey at 1/8 scale, libjpeg still reads all the compressed data: a truncated
                    # or broken file fails as in a full decode, at a fraction of the cost.
                    image.draft("L", (max(width // 8, 1), max(height // 8, 1)))
                    decoded = image.width * image.height
                with decode_budget.hold(decoded):
                    image.load()  # verify() does not decode pixels; load() catches truncated files
                    orientation = image.getexif().get(ExifTags.Base.Orientation)  # a PNG's: after its pixels
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            return Rejected("照片像素过大，无法处理，请发送普通尺寸的照片。")
        except Exception:  # Pillow raises many exception types on malformed input
            return NOT_A_PHOTO
    if orientation in _ORIENTATIONS_SWAPPING_SIDES:
        width, height = height, width
    short_side = min(width, height)
    if short_side < min_short_side:
        return Rejected(f"照片太小（短边 {short_side} 像素），请发送原图，短边至少 {min_short_side} 像素。")
    return Accepted(
        {
            "format": image_format,
            "mime": _PHOTO_MIME.get(image_format, "application/octet-stream"),
            "width": width,
            "height": height,
            "bytes": len(data),
        }
    )


def _duration_in_chinese(seconds: int) -> str:
    minutes, rest = divmod(seconds, 60)
    if minutes == 0:
        return f"{rest}秒"
    return f"{minutes}分钟" if rest == 0 else f"{minutes}分{rest}秒"


def validate_video_meta(
    *,
    mime: str | None,
    file_name: str | None,
    duration_s: int | None,
    width: int | None,
    height: int | None,
    size_bytes: int | None,
    max_download_bytes: int | None = None,
) -> ValidationResult:
    """Check a course video from the metadata the messenger reports, without downloading it.

    MP4 only; about 5 minutes (refused under 1 minute or over 15 minutes, accepted silently between
    3 and 8 minutes, otherwise accepted with a note); short side at least 480 pixels. What the
    messenger does not report is accepted with a note saying it could not be checked.
    """
    notes: list[str] = []
    is_mp4_mime = mime is not None and mime.lower() == "video/mp4"
    is_mp4_name = file_name is not None and file_name.lower().endswith(".mp4")
    if not (is_mp4_mime or is_mp4_name):
        if mime is not None or file_name is not None:
            return Rejected("请上传 MP4 格式的视频，可在剪辑软件中导出为 MP4 后重新发送。")
        notes.append("无法确认视频格式，请确保是 MP4 格式。")

    if duration_s is None:
        notes.append("无法读取视频时长，请确认时长在 5 分钟左右。")
    elif duration_s < 60 or duration_s > 15 * 60:
        return Rejected(
            f"视频时长 {_duration_in_chinese(duration_s)}，方案要求 5 分钟左右"
            "（可接受 1-15 分钟），请调整后重新上传。"
        )
    elif duration_s < 3 * 60:
        notes.append(f"视频时长 {_duration_in_chinese(duration_s)}，方案要求 5 分钟左右，建议补充内容。")
    elif duration_s > 8 * 60:
        notes.append(f"视频时长 {_duration_in_chinese(duration_s)}，方案要求 5 分钟左右，建议剪辑。")

    if width is None or height is None:
        notes.append("无法读取视频分辨率，请确认画面清晰。")
    elif min(width, height) < 480:
        return Rejected(
            f"视频画面不够清晰（分辨率 {width}×{height}），请上传 480P 及以上（短边至少 480 像素）的视频。"
        )

    if size_bytes is not None and max_download_bytes is not None and size_bytes > max_download_bytes:
        notes.append(
            f"视频文件较大（{_megabytes(size_bytes)} MB），已记录视频信息，但无法在聊天中保存原文件，"
            "请留存原视频备用。"
        )
    metadata = {
        "mime": mime,
        "file_name": file_name,
        "duration_s": duration_s,
        "width": width,
        "height": height,
        "size_bytes": size_bytes,
    }
    return Accepted(metadata, note="\n".join(notes) or None)
