"""A file as it arrives: checked (a photo decoded, a video's metadata read) and, when it passes,
stored under its content hash, before the transaction that handles its message."""

from __future__ import annotations

from dataclasses import replace

from dialogs.exchange import IncomingFile
from dialogs.validators import Accepted, Rejected, ValidationResult, validate_photo, validate_video_meta
from storage.repository import Repository

_PHOTO_EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "HEIF": "heic", "HEIC": "heic"}


def check_file(store: Repository, file: IncomingFile) -> IncomingFile:
    """The file with its own checks made and, when it passes, stored under its content hash.

    Channels call this before the transaction that handles the message, outside it: decoding a
    photo takes tens of milliseconds, and on SQLite every other writer — a messenger's callback
    storing its next message — would wait for it. A file stored for an answer that then fails is
    unreferenced, and ``intake purge`` removes it. A photo's answer is ``{sha256, mime, width,
    height}``; a video's is its metadata, with its ``sha256`` when its bytes came along.
    """
    if file.checked is not None:
        return file
    if file.kind == "photo" and file.data is not None:
        return replace(file, checked=check_photo(store, file.data))
    if file.kind == "video":
        return replace(file, checked=check_video(store, file))
    return file


def check_photo(store: Repository, data: bytes) -> ValidationResult:
    result = validate_photo(data)
    if isinstance(result, Rejected):
        return result
    meta = dict(result.value)
    stored = store.store_file(
        data,
        kind="photo",
        mime=str(meta["mime"]),
        extension=_PHOTO_EXTENSIONS.get(str(meta["format"]), "img"),
        width=meta.get("width"),
        height=meta.get("height"),
    )
    answer = {"sha256": stored.sha256, "mime": stored.mime, "width": stored.width, "height": stored.height}
    return Accepted(answer)


def check_video(store: Repository, file: IncomingFile) -> ValidationResult:
    result = validate_video_meta(
        mime=file.mime,
        file_name=file.file_name,
        duration_s=file.duration_s,
        width=file.width,
        height=file.height,
        size_bytes=file.size,
    )
    if isinstance(result, Rejected) or (file.spooled is None and file.data is None):
        return result
    size = {"width": file.width, "height": file.height}
    if file.spooled is not None:  # written to disk as it arrived: moved into place, not read whole
        stored = store.store_spooled(file.spooled, kind="video", mime="video/mp4", extension="mp4", **size)
    else:
        assert file.data is not None
        stored = store.store_file(file.data, kind="video", mime="video/mp4", extension="mp4", **size)
    return Accepted({**result.value, "sha256": stored.sha256}, note=result.note)
