"""What an upload to the web chat is, read from its bytes (never from its name or the browser's word):
a photo (JPEG, PNG, WEBP, HEIC) or a video (``bot.mp4_probe``)."""

from __future__ import annotations

from bot.mp4_probe import video_file
from dialogs.exchange import IncomingFile

_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}


def uploaded_file(data: bytes, name: str | None) -> IncomingFile | None:
    """An upload as the engine takes it: a photo, a video (an MP4 or QuickTime file, with what its
    boxes say), or None for anything else; ``VideoDamaged`` for an MP4 whose media is not there."""
    mime = photo_mime(data)
    if mime is not None:
        return IncomingFile(kind="photo", data=data, file_name=name, mime=mime, size=len(data))
    return video_file(data, file_name=name)


def photo_mime(data: bytes) -> str | None:
    """The image type by its first bytes (never by the name or the browser's word): JPEG, PNG, WEBP, HEIC."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "image/heic"
    return None
