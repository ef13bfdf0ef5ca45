"""What goes into and comes out of the dialog engine: plain data, no messenger types."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal


@dataclass(frozen=True)
class IncomingFile:
    """A file a person sent. ``data`` is None when the channel only knows its metadata (a large video)."""

    kind: Literal["photo", "video", "document"]
    data: bytes | None = None
    file_name: str | None = None
    mime: str | None = None
    size: int | None = None
    duration_s: int | None = None
    width: int | None = None
    height: int | None = None
    file_id: str | None = None


@dataclass(frozen=True)
class Inbound:
    """One message from a person: who (channel + the channel's user id), and text and/or a file."""

    channel: str
    user_id: str
    text: str = ""
    file: IncomingFile | None = None
    menu: str | None = None  # set when a button was pressed: the menu it belongs to; text is its number


@dataclass(frozen=True)
class Reply:
    """One message to send back: text, optional choices (buttons / numbered lines), optional file."""

    text: str
    options: tuple[str, ...] = ()
    document: Path | None = None
    menu: str = ""  # identifies these options, so a press on an old message's button can be recognised
