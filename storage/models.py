"""All tables, in one place. Times are timezone-aware UTC (``utc_now``); JSON columns hold answers.

Changing a table means writing an Alembic migration in ``storage/migrations/versions``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

#: The largest id a table's ``INTEGER`` key holds on every backend (PostgreSQL's is 32-bit): a number
#: typed by a person above it names nothing, and is refused before it reaches a statement.
MAX_ID = 2**31 - 1


def utc_now() -> datetime:
    """The current time as stored: aware UTC (SQLModel keeps it UTC on SQLite and PostgreSQL)."""
    return datetime.now(UTC)


class Unit(SQLModel, table=True):
    """A reporting unit (报送单位) of the city's roster, one per code whatever the notices: each notice
    picks its units from it (``CampaignUnit``), and a contact bound to a unit is its contact in every
    notice that picks it. Name, area and kind are the latest campaign file's (``sync_units``)."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True)
    name: str
    area: str
    kind: str


class CampaignUnit(SQLModel, table=True):
    """A unit a campaign (notice) picks from the roster; its drafts, submissions, progress and reminders
    in that notice carry the campaign's id, so they never mix with another notice's."""

    __table_args__ = (UniqueConstraint("campaign_id", "unit_id"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str
    unit_id: int = Field(foreign_key="unit.id", index=True)


class Contact(SQLModel, table=True):
    """A chat identity (channel + the channel's user id) bound to a unit, with a role."""

    __table_args__ = (UniqueConstraint("channel", "external_id"),)

    id: int | None = Field(default=None, primary_key=True)
    channel: str
    external_id: str
    unit_id: int | None = Field(default=None, foreign_key="unit.id", index=True)
    role: str = "contact"
    active: bool = True
    current_draft_id: int | None = None  # the draft this contact is filling now
    menu: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    consented_at: datetime | None = None
    created_at: datetime = Field(default_factory=utc_now)


class Invite(SQLModel, table=True):
    """A single-use, expiring code that binds a chat identity to a unit (or to 组联部 as supervisor)."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, index=True)
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    role: str = "contact"
    created_at: datetime = Field(default_factory=utc_now)
    expires_at: datetime
    used_at: datetime | None = None
    used_by: int | None = Field(default=None, foreign_key="contact.id")


class Draft(SQLModel, table=True):
    """A form being filled: its machine state (a stable string) and every accepted answer."""

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str = Field(index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    task_id: str
    form_id: str
    started_by: int = Field(foreign_key="contact.id")
    state: str
    status: str = Field(default="open", index=True)  # open | cancelled | submitted
    answers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    context: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    submission_id: int | None = Field(default=None, foreign_key="submission.id")
    revision: int = 0
    created_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now)
    cancelled_at: datetime | None = None


class Submission(SQLModel, table=True):
    """A submitted record (one candidate, one unit's course list, one site) across its versions."""

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str = Field(index=True)
    unit_id: int = Field(foreign_key="unit.id", index=True)
    task_id: str = Field(index=True)
    form_id: str
    status: str = "submitted"  # submitted | accepted | returned
    current_version: int = 1
    # What the current version adds to its unit's progress, set at submission: the quota's count (1, or
    # the rows of the counted group) and whether it counts toward the campaign's share target (a
    # candidate at village level: the campaign file's city_targets.share).
    # None: not yet worked out (a submission stored before these columns existed; filled at start-up).
    counted: int | None = None
    in_share: bool = False
    created_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now)


class UnitProgress(SQLModel, table=True):
    """One unit's running totals on one task, kept in the transactions that submit and decide.

    Derived from ``submission`` (``storage.progress.refresh_progress`` recomputes a row from it), so that
    /status, /pending and the reminders read one small row per unit and task, not every answer.
    """

    __table_args__ = (UniqueConstraint("campaign_id", "unit_id", "task_id"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str = Field(index=True)
    unit_id: int = Field(foreign_key="unit.id")
    task_id: str
    records: int = 0  # submissions
    counted: int = 0  # what the quota counts
    returned: int = 0
    accepted: int = 0
    in_share: int = 0  # records counting toward the campaign's share target


class SubmissionVersion(SQLModel, table=True):
    """One immutable version of a submission: exactly what was confirmed, by whom, when."""

    __table_args__ = (UniqueConstraint("submission_id", "version"),)

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id", index=True)
    version: int
    answers: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    draft_id: int = Field(foreign_key="draft.id")
    submitted_by: int = Field(foreign_key="contact.id")
    submitted_at: datetime = Field(default_factory=utc_now)
    record_path: str
    document_path: str | None = None  # the official form as DOCX, rendered when it was submitted


class Attachment(SQLModel, table=True):
    """A stored file, named by the SHA-256 of its content (never by a user-chosen name)."""

    id: int | None = Field(default=None, primary_key=True)
    sha256: str = Field(unique=True, index=True)
    kind: str  # photo | video
    mime: str
    size: int
    width: int | None = None
    height: int | None = None
    path: str
    created_at: datetime = Field(default_factory=utc_now)


class InboxUpdate(SQLModel, table=True):
    """A messenger update, stored before it is acknowledged and marked done with its effects.

    The payload is cleared once processed: the answers it carried live in the draft, not here.
    """

    __table_args__ = (
        UniqueConstraint("channel", "update_id"),
        # the pending ones in order, without walking past the millions already done
        Index("ix_inboxupdate_channel_status_sequence_id", "channel", "status", "sequence", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str
    update_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    # Its place in its chat's order, as its channel tells it (Telegram: the update id; 企业微信: the
    # message's CreateTime); ties go by arrival (``id``).
    sequence: int = Field(sa_column=Column(BigInteger, nullable=False))
    chat_key: str = Field(index=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", index=True)  # pending | done | failed
    attempts: int = 0
    received_at: datetime = Field(default_factory=utc_now)
    processed_at: datetime | None = None


#: Lines of a web conversation kept per contact (a reloaded page shows them).
CHAT_LINES_KEPT = 50


class ChatLine(SQLModel, table=True):
    """One line of a web chat's conversation, kept so that a reloaded page shows where it was: what
    the person sent (``person``), what the bot answered (``bot``), a notice shown (``notice``). Only
    the last ``CHAT_LINES_KEPT`` or so per contact are kept; ``intake purge`` removes them with the
    rest of the personal data."""

    __table_args__ = (Index("ix_chatline_contact_id_id", "contact_id", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = Field(foreign_key="contact.id")
    speaker: str  # person | bot | notice
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utc_now)


class OutboxMessage(SQLModel, table=True):
    """A reply waiting to be sent, written in the same transaction as the effects that produced it."""

    __table_args__ = (
        Index("ix_outboxmessage_channel_status_id", "channel", "status", "id"),
        Index("ix_outboxmessage_channel_chat_key_status_id", "channel", "chat_key", "status", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    channel: str
    chat_key: str = Field(index=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="pending", index=True)  # pending | sent | failed
    attempts: int = 0
    not_before: datetime | None = None
    created_at: datetime = Field(default_factory=utc_now)
    sent_at: datetime | None = None


class ExportJob(SQLModel, table=True):
    """An export promised to someone (组联部's 导出: the forms' ZIP, the videos' ZIP), recorded in the
    transaction that promises it, made apart from it and sent once; a worker holds it until
    ``claimed_until`` (renewing that while it writes), so one stopped mid-way is made again."""

    __table_args__ = (Index("ix_exportjob_status_id", "status", "id"),)

    id: int | None = Field(default=None, primary_key=True)
    campaign_id: str
    kind: str  # forms | videos
    channel: str
    chat_key: str
    requested_at: datetime  # names the file: made again, it is the same file
    status: str = "pending"  # pending | done | failed
    attempts: int = 0
    claimed_until: datetime | None = None
    finished_at: datetime | None = None


class ReviewDecision(SQLModel, table=True):
    """What 组联部 decided about a submission version, by whom and when (kept forever, never edited)."""

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id", index=True)
    version: int
    action: str  # accept | return | select | unselect
    reason: str = ""
    row: int | None = None  # a course row, for selections inside a 课程推荐表
    decided_by: int = Field(foreign_key="contact.id")
    decided_at: datetime = Field(default_factory=utc_now)


class Selection(SQLModel, table=True):
    """A submission (or one course row of it) chosen as the city's recommendation to the region."""

    __table_args__ = (UniqueConstraint("submission_id", "row"),)

    id: int | None = Field(default=None, primary_key=True)
    submission_id: int = Field(foreign_key="submission.id", index=True)
    row: int = -1  # -1: the whole submission; otherwise the course row
    selected_at: datetime = Field(default_factory=utc_now)


class NudgeRecord(SQLModel, table=True):
    """A reminder, recorded (unique by key) before it is sent: (campaign, unit, task, slot) at most once."""

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(unique=True, index=True)
    campaign_id: str
    unit_id: int | None = Field(default=None, foreign_key="unit.id")
    task_id: str = ""
    kind: str  # scheduled | manual | digest
    slot: datetime
    recipients: int = 0
    created_at: datetime = Field(default_factory=utc_now)


class ApiToken(SQLModel, table=True):
    """A messenger's access token (WeCom's), cached once for every worker of the deployment until
    shortly before it expires: fetching a new one per process would spend WeCom's gettoken quota."""

    key: str = Field(primary_key=True)
    value: str
    expires_at: datetime


class NumberedList(SQLModel, table=True):
    """The numbered list a chat was last asked to choose from, on a channel whose chat has no buttons
    (the 公众号): her typed number answers it. One row per chat, replaced by the next list the dialog
    asks; read only while younger than ``storage.numbered_lists.LIST_KEPT``; ``intake purge`` removes
    it with the rest of the personal data."""

    channel: str = Field(primary_key=True)
    chat_key: str = Field(primary_key=True)
    menu: str  # the token the list's options answer (``Reply.menu``), "" for none
    options: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    shown_at: datetime = Field(default_factory=utc_now)
