"""What goes into and comes out of the dialog engine: plain data, no messenger types."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from dialogs.chinese_text import clean_line, clean_text

if TYPE_CHECKING:
    from dialogs.validators import ValidationResult


@dataclass(frozen=True)
class IncomingFile:
    """A file a person sent. ``data`` is None when the channel only knows its metadata (a large video)
    or when the bytes wait on disk instead (``spooled``: an upload of hundreds of MB, written to a
    temporary file as it arrived, moved into the stored files when it passes its checks)."""

    kind: Literal["photo", "video", "document"]
    data: bytes | None = None
    file_name: str | None = None
    mime: str | None = None
    size: int | None = None
    duration_s: int | None = None
    width: int | None = None
    height: int | None = None
    file_id: str | None = None
    spooled: Path | None = None
    # The file's own checks, made and the file stored under its content hash before the transaction
    # that answers with it (``DialogEngine.check_file``); None: the engine makes them while handling.
    checked: ValidationResult | None = None

    def __post_init__(self) -> None:
        if self.file_name is not None:  # shown in the chat and kept with the answer: cleaned like text
            object.__setattr__(self, "file_name", clean_line(self.file_name) or None)


@dataclass(frozen=True)
class Inbound:
    """One message from a person: who (channel + the channel's user id), and text and/or a file. The
    text is cleaned as the message is made (``clean_text``): no channel can forget it."""

    channel: str
    user_id: str
    text: str = ""
    file: IncomingFile | None = None
    menu: str | None = None  # set when a button was pressed: the menu it belongs to; text is its number
    consent_for: str | None = None  # the invite code of the privacy notice this answers (同意/不同意)

    def __post_init__(self) -> None:
        # The one cleaning of what a person types, whatever the channel: everything stored from here
        # on (answers, captions, the web chat's kept lines) is valid text for a DOCX and a backup.
        object.__setattr__(self, "text", clean_text(self.text).text)


@dataclass(frozen=True)
class Identity:
    """Who a channel's user is to the core, once bound: what a channel may know of a contact."""

    contact_id: int
    channel: str
    user_id: str
    role: Literal["contact", "supervisor"]
    unit_id: int | None
    who: str  # the unit's name, or 组联部's
    #: Which binding of the contact this is: it changes when the contact is bound anew (an invite
    #: taken again after a revocation, say), so that a session or a download link signed for an
    #: earlier binding no longer counts (``DialogEngine.identity_of``).
    binding: str = ""

    @property
    def supervisor(self) -> bool:
        return self.role == "supervisor"


class ExportKind(StrEnum):
    """What one of 组联部's export ZIPs holds: 导出 makes one of each, each as a job of this kind."""

    FORMS = "forms"  # every form, photo and the 汇总表
    VIDEOS = "videos"  # the courses' videos


@dataclass(frozen=True)
class DocumentRef:
    """A document for a person, named by what it is — a submission's DOCX (one version of it),
    组联部's export ZIP, or a stored photo or video — never by where it lies. A channel asks the engine
    to open it (``DialogEngine.open_document``) when it sends it or when someone follows a link to it."""

    kind: Literal["submission", "export", "photo", "video"]
    key: str  # the submission's number, the export's name, or the photo's (video's) sha256
    version: int | None = None
    holds: ExportKind | None = None  # an export: which ZIP it is (None: one queued before this was kept)

    @property
    def videos_zip(self) -> bool:
        """Whether this is the courses' videos' ZIP (a channel labels it so)."""
        return self.kind == "export" and self.holds is ExportKind.VIDEOS

    def as_payload(self) -> dict[str, Any]:
        """The reference as an outbox payload keeps it (JSON)."""
        payload: dict[str, Any] = {"kind": self.kind, "key": self.key, "version": self.version}
        if self.holds is not None:
            payload["holds"] = self.holds.value
        return payload

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> DocumentRef:
        holds = data.get("holds")
        return cls(
            kind=data["kind"],
            key=str(data["key"]),
            version=data.get("version"),
            holds=ExportKind(holds) if holds in tuple(ExportKind) else None,
        )


@dataclass(frozen=True)
class OpenedDocument:
    """A document the engine opened for a channel: the file, the name to offer it under, its type."""

    path: Path
    file_name: str
    mime: str


@dataclass(frozen=True)
class Reply:
    """One message to send back: text, optional choices (buttons / numbered lines), optional document."""

    text: str
    options: tuple[str, ...] = ()
    document: DocumentRef | None = None
    menu: str = ""  # identifies these options, so a press on an old message's button can be recognised
    # A privacy notice: the invite code its 同意/不同意 answer. A channel carries it with the buttons its
    # own way and gives it back as ``Inbound.consent_for``.
    consent_for: str = ""
    # A question that asks for a file: what kind. A channel offers its way of sending one (a file
    # picker that takes videos; where the chat cannot take a large file, a link to the web chat).
    asks_for: Literal["photo", "video"] | None = None
    # This reply turns down the text just sent as an answer: a channel with an input box gives the
    # text back to be corrected, not typed again (a 300-字 summary one 字 too long).
    refuses_text: bool = False
    # Stored photos (and videos) this message is about (a caption's question: its photo; 查看N号 and
    # the review: the form's photos and videos). A channel that shows pictures beside text shows them
    # (a video as a player); the others leave them out.
    pictures: tuple[DocumentRef, ...] = ()
    # A text the person will want to change rather than type again (the current answer of a long
    # field being edited): a channel with an input box puts it there; the text says it in full too.
    fill_in: str = ""
