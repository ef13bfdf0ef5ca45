"""The one door to storage: short sessions, detached records out, one commit per call or per unit of work.

Every method that changes something commits before it returns, so a caller that replies to a person
after the call has the answer on disk first. Inside ``unit_of_work()`` the calls share one transaction
that commits at the end of the block: a channel uses it to mark a messenger update done, queue the
replies and store the dialog's effects all at once.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import secrets
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import Connection, Engine, Select, Table, and_, bindparam, delete, func, or_, update
from sqlalchemy import insert as sql_insert
from sqlalchemy import select as sql_select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, select

from storage.data_folder import inside
from storage.database import writers_waiting
from storage.export_jobs import ExportJobStorage
from storage.models import (
    CHAT_LINES_KEPT,
    MAX_ID,
    ApiToken,
    Attachment,
    ChatLine,
    Contact,
    Draft,
    InboxUpdate,
    Invite,
    NudgeRecord,
    OutboxMessage,
    ReviewDecision,
    Selection,
    Submission,
    SubmissionVersion,
    Unit,
    UnitProgress,
    utc_now,
)
from storage.temporaries import put_in_place, remove_abandoned, temporary_prefix, write_whole
from storage.turn_store import TurnStorage

Record = TypeVar("Record", bound=SQLModel)

STALE_TEMPORARY = timedelta(minutes=10)


class ProgressTotals(NamedTuple):
    """A unit's totals on a task (see ``UnitProgress``)."""

    records: int
    counted: int
    returned: int
    accepted: int
    in_share: int


class AreaTotals(NamedTuple):
    """Units of an area with the same standing on a task, and their totals (see ``progress_by_area``)."""

    area: str
    task_id: str
    counted: int  # each of these units' counted total
    has_returned: bool
    units: int
    returned: int
    records: int
    in_share: int


@dataclass(frozen=True)
class NudgeToSend:
    """A reminder to record (unique by key) and the message it queues for each recipient."""

    key: str
    unit_code: str | None
    task_id: str
    kind: str  # scheduled | manual | digest
    slot: datetime
    recipients: list[tuple[str, str]]  # (channel, chat identity)
    text: str
    payload: dict[str, Any] | None = None  # the message when it is more than its text (buttons)


@dataclass(frozen=True, slots=True)
class Incoming:
    """A messenger's update as stored in the inbox (a record, not the table)."""

    id: int
    channel: str
    update_id: int
    sequence: int
    chat_key: str
    payload: dict[str, Any]
    attempts: int


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message waiting in the outbox (a record, not the table)."""

    id: int
    channel: str
    chat_key: str
    payload: dict[str, Any]
    attempts: int
    status: str
    not_before: datetime | None


class ConcurrentUpdate(RuntimeError):
    """A draft changed since it was read (another message for the same draft was processed first)."""


class Repository(ExportJobStorage, TurnStorage):
    """Storage for units, contacts, drafts, submissions and files (and, from ``storage.export_jobs``,
    the exports promised).

    Args:
        engine: the SQLAlchemy engine (SQLite or PostgreSQL).
        data_dir: where files live: ``files/`` (content-addressed uploads) and ``submissions/``
            (one JSON record per submitted version).
    """

    def __init__(self, engine: Engine, data_dir: Path) -> None:
        self.engine = engine
        self.data_dir = data_dir
        self._shared: ContextVar[Session | None] = ContextVar(f"unit_of_work_{id(self)}", default=None)
        self._units: dict[int, Unit] = {}  # units change only at start-up (sync_units)
        self._units_by_code: dict[tuple[str, str], Unit] = {}

    @contextmanager
    def unit_of_work(self) -> Iterator[None]:
        """Run several repository calls in one transaction, committed when the block ends without error."""
        if self._shared.get() is not None:
            yield
            return
        session = Session(self.engine, expire_on_commit=False, autoflush=False)
        session.info[_STALE_PROGRESS] = set()
        token = self._shared.set(session)
        try:
            yield
            _refresh_stale_progress(session)
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            self._shared.reset(token)
            session.close()

    def writers_waiting(self) -> bool:
        """Whether another writer of this process waits for its turn (see ``storage.database.WriterGate``):
        a long transaction should commit what it has done and let it through."""
        return writers_waiting(self.engine) > 0

    @contextmanager
    def _session(self) -> Iterator[Session]:
        shared = self._shared.get()
        if shared is not None:
            yield shared
            shared.flush()
            shared.expunge_all()  # records leave detached, as outside a unit of work
            return
        with Session(self.engine, expire_on_commit=False, autoflush=False) as session:
            yield session

    def _commit(self, session: Session) -> None:
        """Commit now, unless the call is part of a unit of work (which commits at its end)."""
        if self._shared.get() is None:
            session.commit()

    # Units ---------------------------------------------------------------------------------------

    def sync_units(self, campaign_id: str, units: Iterable[tuple[str, str, str, str]]) -> None:
        """Insert or update the campaign's units (code, name, area, kind)."""
        self._units.clear()
        self._units_by_code.clear()
        with self._session() as session:
            existing = {u.code: u for u in session.exec(select(Unit).where(Unit.campaign_id == campaign_id))}
            for code, name, area, kind in units:
                unit = existing.get(code) or Unit(
                    campaign_id=campaign_id, code=code, name=name, area=area, kind=kind
                )
                unit.name, unit.area, unit.kind = name, area, kind
                session.add(unit)
            self._commit(session)

    def units(self, campaign_id: str) -> list[Unit]:
        with self._session() as session:
            return list(
                session.exec(select(Unit).where(Unit.campaign_id == campaign_id).order_by(col(Unit.id)))
            )

    def unit(self, unit_id: int) -> Unit | None:
        """A unit by id, read once per process: units change only when ``sync_units`` runs at start."""
        unit = self._units.get(unit_id)
        if unit is None:
            with self._session() as session:
                unit = session.get(Unit, unit_id)
            if unit is not None:
                self._units[unit_id] = unit
        return unit

    def unit_by_code(self, campaign_id: str, code: str) -> Unit | None:
        """A unit by its code, read once per process (as ``unit``)."""
        unit = self._units_by_code.get((campaign_id, code))
        if unit is None:
            with self._session() as session:
                unit = session.exec(
                    select(Unit).where(Unit.campaign_id == campaign_id, Unit.code == code)
                ).first()
            if unit is not None:
                self._units_by_code[(campaign_id, code)] = unit
        return unit

    # Contacts ------------------------------------------------------------------------------------

    def contact_by_id(self, contact_id: int) -> Contact | None:
        if not _is_id(contact_id):
            return None
        with self._session() as session:
            return session.get(Contact, contact_id)

    def contact(self, channel: str, external_id: str) -> Contact | None:
        with self._session() as session:
            return session.exec(
                select(Contact).where(Contact.channel == channel, Contact.external_id == external_id)
            ).first()

    def contact_with_draft(self, channel: str, external_id: str) -> tuple[Contact | None, Draft | None]:
        """A chat identity and the draft it is filling (if any), in one query: every message needs both.

        Read with Core and built as plain (detached) records: a third cheaper than the ORM's loading.
        """
        with self._session() as session:
            row = (
                session.connection()
                .execute(_CONTACT_WITH_DRAFT, {"chat_channel": channel, "chat_id": external_id})
                .first()
            )
        if row is None:
            return None, None
        width = len(_CONTACT_COLUMNS)
        contact = Contact(**dict(zip(_CONTACT_COLUMNS, row[:width], strict=True)))
        draft = None if row[width] is None else Draft(**dict(zip(_DRAFT_COLUMNS, row[width:], strict=True)))
        return contact, draft  # plain records, as _records makes

    def bind_contact(
        self, channel: str, external_id: str, unit_id: int | None, role: str = "contact"
    ) -> Contact:
        """Bind a chat identity to a unit (creating it if new); rebinding clears its current draft."""
        with self._session() as session:
            contact = session.exec(
                select(Contact).where(Contact.channel == channel, Contact.external_id == external_id)
            ).first()
            if contact is None:
                contact = Contact(channel=channel, external_id=external_id)
            if contact.unit_id != unit_id:
                contact.current_draft_id = None
                contact.menu = []
            contact.unit_id, contact.role, contact.active = unit_id, role, True
            contact = session.merge(contact)
            self._commit(session)
            return contact

    def contacts_per_unit(self, campaign_id: str) -> dict[str, int]:
        """How many active contacts each unit (by code) has bound."""
        with self._session() as session:
            query = (
                select(Unit.code, func.count(col(Contact.id)))
                .join(Contact, col(Contact.unit_id) == col(Unit.id))
                .where(Unit.campaign_id == campaign_id, col(Contact.active).is_(True))
                .group_by(Unit.code)
            )
            return {code: count for code, count in session.exec(query)}

    def contacts(self, campaign_id: str) -> list[tuple[Contact, Unit | None]]:
        """Every chat identity with the unit it is bound to (None for 组联部), oldest first."""
        with self._session() as session:
            query = select(Contact, Unit).join(Unit, col(Contact.unit_id) == col(Unit.id), isouter=True)
            rows = session.exec(query.order_by(col(Contact.id))).all()
            return [
                (contact, unit) for contact, unit in rows if unit is None or unit.campaign_id == campaign_id
            ]

    def revoke_contact(self, contact_id: int) -> bool:
        """Unbind a chat identity: it is refused from its next message on. False if there is none."""
        if not _is_id(contact_id):
            return False
        with self._session() as session:
            changed = session.execute(
                update(Contact)
                .where(col(Contact.id) == contact_id)
                .values(active=False, current_draft_id=None, menu=[])
            )
            self._commit(session)
            return bool(changed.rowcount)  # type: ignore[attr-defined]

    def supervisor_chats(self, channel: str) -> list[str]:
        """The chat identities bound to 组联部 on a channel."""
        with self._session() as session:
            query = select(Contact.external_id).where(
                Contact.channel == channel, Contact.role == "supervisor", col(Contact.active).is_(True)
            )
            return list(session.exec(query))

    def unit_contacts(self, campaign_id: str) -> dict[str, list[tuple[str, str]]]:
        """Each unit's active contacts as (channel, chat identity), by unit code."""
        with self._session() as session:
            query = (
                select(Unit.code, Contact.channel, Contact.external_id)
                .join(Contact, col(Contact.unit_id) == col(Unit.id))
                .where(
                    Unit.campaign_id == campaign_id, col(Contact.active).is_(True), Contact.role == "contact"
                )
                .order_by(col(Contact.id))
            )
            result: dict[str, list[tuple[str, str]]] = {}
            for code, channel, external_id in session.exec(query):
                result.setdefault(code, []).append((channel, external_id))
            return result

    def supervisor_contacts(self) -> list[tuple[str, str]]:
        """Every active 组联部 identity as (channel, chat identity)."""
        with self._session() as session:
            query = select(Contact.channel, Contact.external_id).where(
                Contact.role == "supervisor", col(Contact.active).is_(True)
            )
            return [(channel, external_id) for channel, external_id in session.exec(query)]

    # Drafts --------------------------------------------------------------------------------------

    def draft(self, draft_id: int) -> Draft | None:
        if not _is_id(draft_id):
            return None
        with self._session() as session:
            return session.get(Draft, draft_id)

    def drafts(self, unit_id: int, statuses: Sequence[str] = ("open",)) -> list[Draft]:
        with self._session() as session:
            query = (
                select(Draft)
                .where(Draft.unit_id == unit_id, col(Draft.status).in_(statuses))
                .order_by(col(Draft.id))
            )
            return list(session.exec(query))

    def create_draft(self, draft: Draft, contact: Contact) -> Draft:
        """Store a new draft and make it the contact's current one, in one transaction."""
        with self._session() as session:
            session.add(draft)
            session.flush()
            contact.current_draft_id = draft.id
            contact.menu = []
            contact = session.merge(contact)
            self._commit(session)
            return draft

    def save(
        self, draft: Draft | None = None, contact: Contact | None = None, now: datetime | None = None
    ) -> None:
        """Commit a draft's new state and answers (and the contact's pointers) in one transaction.

        Raises:
            ConcurrentUpdate: the draft was changed by someone else since it was read.
        """
        with self._session() as session:
            if draft is not None:
                changed = session.connection().execute(
                    _SAVE_DRAFT,
                    {
                        "draft_id": draft.id,
                        "seen_revision": draft.revision,
                        "new_state": draft.state,
                        "new_status": draft.status,
                        "new_answers": draft.answers,
                        "new_context": draft.context,
                        "new_cancelled_at": draft.cancelled_at,
                        "new_submission_id": draft.submission_id,
                        "new_revision": draft.revision + 1,
                        "new_updated_at": now or utc_now(),
                    },
                )
                if changed.rowcount != 1:
                    raise ConcurrentUpdate(f"draft {draft.id} changed concurrently")
            if contact is not None:  # a dialog moves only the contact's pointers (its draft, its menu)
                session.connection().execute(
                    _SAVE_CONTACT,
                    {
                        "contact_id": contact.id,
                        "new_draft_id": contact.current_draft_id,
                        "new_menu": contact.menu,
                    },
                )
            self._commit(session)
        if draft is not None:
            draft.revision += 1

    # Submissions ---------------------------------------------------------------------------------

    def submit(
        self,
        draft: Draft,
        contact: Contact,
        record: dict[str, Any],
        *,
        counted: int,
        in_share: bool = False,
        with_document: bool = False,
    ) -> SubmissionVersion:
        """Turn a confirmed draft into an immutable submission version, in one transaction.

        A draft that reopens a submission adds the next version to it; otherwise a new submission
        starts at version 1. The record is also written as JSON under ``submissions/``, before the
        commit that names it. ``with_document``: the version has a printed form, whose DOCX is
        written beside the record when it is first opened (``store_document``) — not in this
        transaction. ``counted`` and ``in_share`` are what this version adds to the unit's progress,
        which is brought up to date in the same transaction.
        """
        with self._session() as session:
            if draft.submission_id is not None:
                submission = session.get(Submission, draft.submission_id)
                if submission is None:
                    raise LookupError(f"submission {draft.submission_id} not found")
                submission.current_version += 1
                submission.status = "submitted"
                submission.updated_at = utc_now()
            else:
                submission = Submission(
                    campaign_id=draft.campaign_id,
                    unit_id=draft.unit_id,
                    task_id=draft.task_id,
                    form_id=draft.form_id,
                )
            submission.counted, submission.in_share = counted, in_share
            session.add(submission)
            session.flush()
            _refresh_progress(session, draft.campaign_id, draft.unit_id, draft.task_id)
            assert submission.id is not None and draft.id is not None and contact.id is not None
            unit = session.get(Unit, draft.unit_id)
            assert unit is not None
            stem = Path("submissions") / unit.code / f"{submission.id}-v{submission.current_version}"
            relative = stem.with_suffix(".json")
            docx = stem.with_suffix(".docx") if with_document else None
            version = SubmissionVersion(
                submission_id=submission.id,
                version=submission.current_version,
                answers=draft.answers,
                draft_id=draft.id,
                submitted_by=contact.id,
                record_path=str(relative),
                document_path=str(docx) if docx is not None else None,
            )
            session.add(version)
            session.flush()
            changed = session.execute(
                update(Draft)
                .where(col(Draft.id) == draft.id, col(Draft.revision) == draft.revision)
                .values(
                    state=draft.state,
                    status="submitted",
                    submission_id=submission.id,
                    revision=draft.revision + 1,
                )
            )
            if changed.rowcount != 1:  # type: ignore[attr-defined]
                raise ConcurrentUpdate(f"draft {draft.id} changed concurrently")
            contact.current_draft_id = None
            session.merge(contact)
            payload = {
                "submission": submission.id,
                "version": version.version,
                "submitted_at": version.submitted_at.isoformat(),
                **record,
                "answers": draft.answers,
            }
            _write_atomically(
                self.data_dir / relative, json.dumps(payload, ensure_ascii=False, indent=2).encode()
            )
            self._commit(session)
        draft.status, draft.submission_id, draft.revision = "submitted", submission.id, draft.revision + 1
        return version

    def submissions(self, unit_id: int, task_id: str | None = None) -> list[Submission]:
        with self._session() as session:
            query = select(Submission).where(Submission.unit_id == unit_id)
            if task_id is not None:
                query = query.where(Submission.task_id == task_id)
            return list(session.exec(query.order_by(col(Submission.id))))

    def submission(self, submission_id: int) -> Submission | None:
        """A submission by its number; None for a number no submission can have (0, negative, too big)."""
        if not _is_id(submission_id):
            return None
        with self._session() as session:
            return session.get(Submission, submission_id)

    def versions(self, submission_id: int) -> list[SubmissionVersion]:
        if not _is_id(submission_id):
            return []
        with self._session() as session:
            query = (
                select(SubmissionVersion)
                .where(SubmissionVersion.submission_id == submission_id)
                .order_by(col(SubmissionVersion.version))
            )
            return list(session.exec(query))

    def current_versions(
        self, campaign_id: str, unit_id: int | None = None
    ) -> list[tuple[Submission, SubmissionVersion]]:
        """Every submission of a campaign (or of one unit) with its current version, in one query."""
        with self._session() as session:
            query = (
                select(Submission, SubmissionVersion)
                .join(
                    SubmissionVersion,
                    (col(SubmissionVersion.submission_id) == col(Submission.id))
                    & (col(SubmissionVersion.version) == col(Submission.current_version)),
                )
                .where(Submission.campaign_id == campaign_id)
                .order_by(col(Submission.id))
            )
            if unit_id is not None:
                query = query.where(Submission.unit_id == unit_id)
            return [(submission, version) for submission, version in session.exec(query)]

    def progress(
        self, campaign_id: str, unit_id: int | None = None, area: str | None = None
    ) -> dict[tuple[str, str], ProgressTotals]:
        """Each unit's totals per task, by (unit code, task id): one small row each, no answers read.

        Units without a submission for a task have no row. ``unit_id`` or ``area`` narrow it down; one
        unit's are counted from its submissions (a few indexed rows), so they are exact even inside a
        unit of work that has submitted for it and not yet refreshed its stored rows.
        """
        if unit_id is not None:
            unit = self.unit(unit_id)
            assert unit is not None
            counted = _progress_totals(campaign_id, unit_id)
            with self._session() as session:
                rows = session.connection().execute(counted)
                return {(unit.code, row[2]): ProgressTotals._make(row[3:]) for row in rows}
        totals, units = _table(UnitProgress).c, _table(Unit).c
        query = sql_select(
            units.code,
            totals.task_id,
            totals.records,
            totals.counted,
            totals.returned,
            totals.accepted,
            totals.in_share,
        ).join_from(_table(UnitProgress), _table(Unit), units.id == totals.unit_id)
        query = query.where(totals.campaign_id == campaign_id)
        if area is not None:
            query = query.where(units.area == area)
        with self._session() as session:
            return {
                (row[0], row[1]): ProgressTotals._make(row[2:]) for row in session.connection().execute(query)
            }

    def progress_by_area(self, campaign_id: str) -> list[AreaTotals]:
        """The units' totals summed per area and task, kept apart by what decides a unit's standing
        (its counted total, and whether it has a return open): a few hundred rows for a region."""
        totals, units = _table(UnitProgress).c, _table(Unit).c
        has_returned = totals.returned > 0
        query = (
            sql_select(
                units.area,
                totals.task_id,
                totals.counted,
                has_returned,
                func.count(),
                func.sum(totals.returned),
                func.sum(totals.records),
                func.sum(totals.in_share),
            )
            .join_from(_table(UnitProgress), _table(Unit), units.id == totals.unit_id)
            .where(totals.campaign_id == campaign_id)
            .group_by(units.area, totals.task_id, totals.counted, has_returned)
        )
        with self._session() as session:
            return [AreaTotals._make(row) for row in session.connection().execute(query)]

    def uncounted_submissions(self, campaign_id: str) -> list[tuple[int, str, dict[str, Any]]]:
        """(id, task, current answers) of submissions stored before progress was kept (counted unset)."""
        with self._session() as session:
            query = (
                select(Submission.id, Submission.task_id, SubmissionVersion.answers)
                .join(
                    SubmissionVersion,
                    (col(SubmissionVersion.submission_id) == col(Submission.id))
                    & (col(SubmissionVersion.version) == col(Submission.current_version)),
                )
                .where(Submission.campaign_id == campaign_id, col(Submission.counted).is_(None))
            )
            return [(row[0], row[1], row[2]) for row in session.execute(query)]

    def set_counts(self, campaign_id: str, counts: dict[int, tuple[int, bool]]) -> None:
        """Store (counted, in_share) for the given submissions and rebuild the campaign's progress."""
        with self._session() as session:
            if counts:
                table = _table(Submission)
                session.connection().execute(
                    table.update()
                    .where(table.c.id == bindparam("submission_id"))
                    .values(counted=bindparam("new_counted"), in_share=bindparam("new_in_share")),
                    [
                        {"submission_id": key, "new_counted": counted, "new_in_share": in_share}
                        for key, (counted, in_share) in counts.items()
                    ],
                )
            rebuild_progress(session, campaign_id)
            self._commit(session)

    def open_draft_for(self, submission_id: int) -> Draft | None:
        """The open or cancelled draft that is correcting a submission, if any."""
        with self._session() as session:
            query = select(Draft).where(
                Draft.submission_id == submission_id, col(Draft.status).in_(("open", "cancelled"))
            )
            return session.exec(query).first()

    # Invites -------------------------------------------------------------------------------------

    def create_invite(self, code: str, unit_id: int | None, role: str, expires_at: datetime) -> Invite:
        with self._session() as session:
            invite = Invite(code=code, unit_id=unit_id, role=role, expires_at=expires_at)
            session.add(invite)
            self._commit(session)
            return invite

    def invite(self, code: str) -> Invite | None:
        """The invite for ``code``, used or not, expired or not."""
        with self._session() as session:
            return session.exec(select(Invite).where(Invite.code == code)).first()

    def usable_invite(self, code: str, now: datetime) -> Invite | None:
        """The invite for ``code`` if it exists, is unused and has not expired."""
        with self._session() as session:
            invite = session.exec(select(Invite).where(Invite.code == code)).first()
        if invite is None or invite.used_at is not None or _aware(invite.expires_at) <= now:
            return None
        return invite

    def redeem_invite(self, code: str, channel: str, external_id: str, now: datetime) -> Contact | None:
        """Use an invite once: bind the identity, noting when it consented; None if the code is unusable."""
        with self._session() as session:
            invite = session.exec(select(Invite).where(Invite.code == code)).first()
            if invite is None or invite.used_at is not None or _aware(invite.expires_at) <= now:
                return None
            contact = session.exec(
                select(Contact).where(Contact.channel == channel, Contact.external_id == external_id)
            ).first() or Contact(channel=channel, external_id=external_id)
            contact.unit_id, contact.role, contact.active = invite.unit_id, invite.role, True
            contact.consented_at, contact.current_draft_id, contact.menu = now, None, []
            session.add(contact)
            session.flush()
            claimed = session.execute(
                update(Invite)
                .where(col(Invite.id) == invite.id, col(Invite.used_at).is_(None))
                .values(used_at=now, used_by=contact.id)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                raise ConcurrentUpdate(f"invite {invite.id} was used concurrently")
            self._commit(session)
            return contact

    # Messenger inbox and outbox -----------------------------------------------------------------

    def store_updates(
        self,
        channel: str,
        updates: Sequence[tuple[int, str, dict[str, Any]]],
        sequences: Sequence[int] | None = None,
    ) -> set[int]:
        """Store incoming updates (update id, chat key, payload) in one transaction, each id once; the
        ids that were new. One already stored (by this or another process), or given twice, is not.
        ``sequences``: each update's place in its chat's order, where the update ids do not say it."""
        if not updates:
            return set()
        now = utc_now()
        order = sequences if sequences is not None else [update_id for update_id, _, _ in updates]
        rows = [
            _inbox_row(channel, update_id, chat_key, payload, now, sequence=sequence)
            for (update_id, chat_key, payload), sequence in zip(updates, order, strict=True)
        ]
        with self._session() as session:
            stored = _insert_new_inbox_rows(session, rows)
            self._commit(session)
            return stored

    def record_handled(self, channel: str, update_id: int, chat_key: str) -> bool:
        """Record a message as handled, inside the transaction that handles it: for channels that
        answer in the same request (the web chat), so a message sent again — its answer lost on the
        way — is recognised. False when it was recorded before."""
        row = _inbox_row(channel, update_id, chat_key, {}, utc_now(), done=True)
        with self._session() as session:
            new = bool(_insert_new_inbox_rows(session, [row]))
            self._commit(session)
            return new

    def pending_updates(self, channel: str, limit: int = 100) -> list[Incoming]:
        """Unprocessed updates in the order they were sent (their sequence, then their arrival)."""
        inbox = _table(InboxUpdate).c
        query = (
            sql_select(_table(InboxUpdate))
            .where(inbox.channel == channel, inbox.status == "pending")
            .order_by(inbox.sequence, inbox.id)
            .limit(limit)
        )
        with self._session() as session:
            return _plain(session, Incoming, query)

    def claim_update(self, item: Incoming) -> bool:
        """Take an update for processing, inside the caller's transaction: False when another worker
        holds it (row locked), it is already done, or an earlier update of the same chat is still
        pending — so each chat's updates are processed one at a time, in order, by one worker."""
        with self._session() as session:
            mine = session.connection().execute(
                _CLAIM,
                {
                    "item_id": item.id,
                    "item_channel": item.channel,
                    "item_chat": item.chat_key,
                    "item_sequence": item.sequence,
                },
            )
            return mine.first() is not None

    def finish_update(self, item: Incoming, status: str, now: datetime) -> None:
        """Mark an update processed (done or failed) and drop its payload."""
        with self._session() as session:
            session.connection().execute(
                _FINISH,
                {"item_id": item.id, "new_status": status, "at": now, "new_attempts": item.attempts + 1},
            )
            self._commit(session)

    def retry_update_later(self, item: Incoming) -> None:
        with self._session() as session:
            session.execute(
                update(InboxUpdate).where(col(InboxUpdate.id) == item.id).values(attempts=item.attempts + 1)
            )
            self._commit(session)

    # Access tokens ---------------------------------------------------------------------------------

    def cached_token(self, key: str, now: datetime) -> str | None:
        """A messenger's access token kept for every worker, while it is still good at ``now``."""
        with self._session() as session:
            token = session.get(ApiToken, key)
            if token is None or _aware(token.expires_at) <= now:
                return None
            return token.value

    def cache_token(self, key: str, value: str, expires_at: datetime) -> None:
        """Keep an access token until ``expires_at``. Two workers fetching one at once both hold a good
        token: the one whose write loses keeps its own in memory, the database keeps the other."""
        with self._session() as session:
            session.execute(delete(ApiToken).where(_table(ApiToken).c.key == key))
            session.add(ApiToken(key=key, value=value, expires_at=expires_at))
            try:
                self._commit(session)
            except IntegrityError:
                session.rollback()

    def drop_token(self, key: str) -> None:
        with self._session() as session:
            token = session.get(ApiToken, key)
            if token is not None:
                session.delete(token)
                self._commit(session)

    def enqueue_message(self, channel: str, chat_key: str, payload: dict[str, Any]) -> None:
        with self._session() as session:
            session.connection().execute(
                _table(OutboxMessage).insert(), _outbox_row(channel, chat_key, payload, utc_now())
            )
            self._commit(session)

    def due_messages(self, channel: str, now: datetime, limit: int = 100) -> list[Outgoing]:
        """Pending outgoing messages whose time has come, oldest first. A chat's messages wait behind
        its earlier one that is to be retried later, so that they keep their order."""
        outbox = _table(OutboxMessage).c
        query = (
            sql_select(_table(OutboxMessage))
            .where(outbox.channel == channel, outbox.status == "pending")
            .order_by(outbox.id)
            .limit(limit)
        )
        with self._session() as session:
            due: list[Outgoing] = []
            waiting: set[str] = set()
            for message in _plain(session, Outgoing, query):
                if message.chat_key in waiting or (
                    message.not_before is not None and _aware(message.not_before) > now
                ):
                    waiting.add(message.chat_key)
                else:
                    due.append(message)
            return due

    # A web chat's last lines -------------------------------------------------------------------------

    def add_chat_lines(self, contact_id: int, lines: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Keep lines of a contact's web conversation (speaker, payload), and only the last
        ``CHAT_LINES_KEPT`` of them."""
        if not lines:
            return
        table = _table(ChatLine)
        now = utc_now()
        rows = [{"contact_id": contact_id, "speaker": s, "payload": p, "created_at": now} for s, p in lines]
        with self._session() as session:
            connection = session.connection()
            connection.execute(table.insert(), rows)
            oldest_kept = connection.execute(
                sql_select(table.c.id)
                .where(table.c.contact_id == contact_id)
                .order_by(table.c.id.desc())
                .offset(CHAT_LINES_KEPT - 1)
                .limit(1)
            ).scalar()
            if oldest_kept is not None:
                connection.execute(
                    delete(table).where(table.c.contact_id == contact_id, table.c.id < oldest_kept)
                )
            self._commit(session)

    def last_chat_line(self, contact_id: int) -> int:
        """The id of a contact's last kept line of the web conversation (0 for none)."""
        table = _table(ChatLine)
        query = sql_select(func.max(table.c.id)).where(table.c.contact_id == contact_id)
        with self._session() as session:
            return session.execute(query).scalar() or 0

    def chat_lines_after(self, contact_id: int, after: int) -> list[tuple[int, str, dict[str, Any]]]:
        """The kept lines of a contact's web conversation after line ``after`` (id, speaker, payload),
        oldest first: what an open page has not seen yet (its notices, in every tab)."""
        table = _table(ChatLine)
        query = (
            sql_select(table.c.id, table.c.speaker, table.c.payload)
            .where(table.c.contact_id == contact_id, table.c.id > after)
            .order_by(table.c.id.desc())
            .limit(CHAT_LINES_KEPT)
        )
        with self._session() as session:
            rows = session.execute(query).all()
        return [(line_id, speaker, payload) for line_id, speaker, payload in reversed(rows)]

    def bound_chats(self, channel: str, chat_keys: Sequence[str]) -> set[str]:
        """Which of ``chat_keys`` are still bound, active contacts on ``channel`` (one query)."""
        if not chat_keys:
            return set()
        contact = _table(Contact).c
        query = sql_select(contact.external_id).where(
            contact.channel == channel, contact.external_id.in_(list(chat_keys)), contact.active.is_(True)
        )
        with self._session() as session:
            return set(session.execute(query).scalars())

    def chats_with_messages(self, channel: str, chat_keys: Sequence[str], now: datetime) -> set[str]:
        """Which of ``chat_keys`` have messages due on ``channel`` (one query, by the chat index)."""
        if not chat_keys:
            return set()
        outbox = _table(OutboxMessage).c
        query = (
            sql_select(outbox.chat_key)
            .distinct()
            .where(
                outbox.channel == channel, outbox.chat_key.in_(list(chat_keys)), outbox.status == "pending"
            )
            .where(or_(outbox.not_before.is_(None), outbox.not_before <= now))
        )
        with self._session() as session:
            return set(session.execute(query).scalars())

    def take_messages(self, channel: str, chat_key: str, now: datetime, limit: int = 100) -> list[Outgoing]:
        """The pending messages of one chat, oldest first, marked sent as they are taken: for channels
        that show them when the person next looks (the web page, the console). An index on
        (channel, chat_key, status, id) finds them however many other chats have messages waiting;
        two readers at once (two open tabs) never both get the same message."""
        outbox = _table(OutboxMessage).c
        query = (
            sql_select(_table(OutboxMessage))
            .where(outbox.channel == channel, outbox.chat_key == chat_key, outbox.status == "pending")
            .where(or_(outbox.not_before.is_(None), outbox.not_before <= now))
            .order_by(outbox.id)
            .limit(limit)
        )
        with self._session() as session:
            waiting = _plain(session, Outgoing, query)
            if not waiting:
                return []
            taken = set(
                session.execute(
                    update(OutboxMessage)
                    .where(
                        col(OutboxMessage.id).in_([message.id for message in waiting]),
                        col(OutboxMessage.status) == "pending",
                    )
                    .values(**_sent(now))
                    .returning(col(OutboxMessage.id))
                ).scalars()
            )
            self._commit(session)
        return [message for message in waiting if message.id in taken]

    def message_sent(self, message: Outgoing, now: datetime) -> None:
        self.messages_sent([message], now)

    def messages_sent(self, messages: Sequence[Outgoing], now: datetime) -> None:
        """Mark messages sent (and drop their payloads) in one statement and one commit."""
        if not messages:
            return
        with self._session() as session:
            session.execute(
                update(OutboxMessage)
                .where(col(OutboxMessage.id).in_([message.id for message in messages]))
                .values(**_sent(now))
            )
            self._commit(session)

    def message_later(self, message: Outgoing, not_before: datetime, *, give_up: bool = False) -> None:
        with self._session() as session:
            session.execute(
                update(OutboxMessage)
                .where(col(OutboxMessage.id) == message.id)
                .values(
                    not_before=not_before,
                    attempts=message.attempts + 1,
                    status="failed" if give_up else "pending",
                )
            )
            self._commit(session)

    # Review and reminders ----------------------------------------------------------------------

    def decide(
        self,
        submission: Submission,
        action: str,
        decided_by: int,
        *,
        reason: str = "",
        row: int | None = None,
        status: str | None = None,
    ) -> ReviewDecision:
        """Record a decision on a submission's current version (and change its status or selection)."""
        with self._session() as session:
            decision = ReviewDecision(
                submission_id=submission.id or 0,
                version=submission.current_version,
                action=action,
                reason=reason,
                row=row,
                decided_by=decided_by,
            )
            session.add(decision)
            if status is not None:
                session.execute(
                    update(Submission)
                    .where(col(Submission.id) == submission.id)
                    .values(status=status, updated_at=utc_now())
                )
                submission.status = status
                _refresh_progress(session, submission.campaign_id, submission.unit_id, submission.task_id)
            key = -1 if row is None else row
            existing = session.exec(
                select(Selection).where(Selection.submission_id == submission.id, Selection.row == key)
            ).first()
            if action == "select" and existing is None:
                session.add(Selection(submission_id=submission.id or 0, row=key))
            elif action == "unselect" and existing is not None:
                session.delete(existing)
            self._commit(session)
            return decision

    def decisions(self, submission_id: int) -> list[ReviewDecision]:
        with self._session() as session:
            query = (
                select(ReviewDecision)
                .where(ReviewDecision.submission_id == submission_id)
                .order_by(col(ReviewDecision.id))
            )
            return list(session.exec(query))

    def selections(self, campaign_id: str) -> list[tuple[Selection, Submission]]:
        with self._session() as session:
            query = (
                select(Selection, Submission)
                .join(Submission, col(Submission.id) == col(Selection.submission_id))
                .where(Submission.campaign_id == campaign_id)
                .order_by(col(Selection.id))
            )
            return [(selection, submission) for selection, submission in session.exec(query)]

    def nudge_keys(self, campaign_id: str, slots: Iterable[datetime]) -> set[str]:
        """The keys of the reminders already recorded for these slots (one query for a whole slot)."""
        with self._session() as session:
            query = select(NudgeRecord.key).where(
                NudgeRecord.campaign_id == campaign_id, col(NudgeRecord.slot).in_(list(slots))
            )
            return set(session.exec(query))

    def record_nudges(self, campaign_id: str, nudges: Sequence[NudgeToSend]) -> int:
        """Record reminders and queue their messages, in one transaction; return how many were new.

        A reminder whose key was recorded already (by a restart, another process, an earlier call) is
        skipped with its messages: each is sent at most once.
        """
        if not nudges:
            return 0
        now = utc_now()
        with self._session() as session:
            query = select(Unit.code, Unit.id).where(Unit.campaign_id == campaign_id)
            unit_ids = {code: key for code, key in session.execute(query)}
            insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else postgresql_insert
            records = _table(NudgeRecord)
            statement = insert(records).on_conflict_do_nothing(index_elements=["key"])
            rows = [
                {
                    "key": nudge.key,
                    "campaign_id": campaign_id,
                    "unit_id": unit_ids.get(nudge.unit_code) if nudge.unit_code else None,
                    "task_id": nudge.task_id,
                    "kind": nudge.kind,
                    "slot": nudge.slot,
                    "recipients": len(nudge.recipients),
                    "created_at": now,
                }
                for nudge in nudges
            ]
            connection = session.connection()
            recorded = set(connection.execute(statement.returning(records.c.key), rows).scalars())
            messages = [
                _outbox_row(channel, chat_key, nudge.payload or {"text": nudge.text}, now)
                for nudge in nudges
                if nudge.key in recorded
                for channel, chat_key in nudge.recipients
            ]
            if messages:
                connection.execute(_table(OutboxMessage).insert(), messages)
            self._commit(session)
            return len(recorded)

    def nudges(self, campaign_id: str) -> list[NudgeRecord]:
        with self._session() as session:
            query = (
                select(NudgeRecord)
                .where(NudgeRecord.campaign_id == campaign_id)
                .order_by(col(NudgeRecord.id))
            )
            return list(session.exec(query))

    # Files ---------------------------------------------------------------------------------------

    def store_file(self, data: bytes, *, kind: str, mime: str, extension: str, **meta: Any) -> Attachment:
        """Store a file under the SHA-256 of its content; storing the same bytes twice is one file."""
        digest = hashlib.sha256(data).hexdigest()
        return self._store(
            digest, len(data), extension, lambda target: _write_atomically(target, data), kind, mime, meta
        )

    def spool_path(self) -> Path:
        """A new temporary file's path in the stored files' folder, for an upload written as it
        arrives (``store_spooled`` then moves it into place; a crash leaves it to the start-up sweep)."""
        folder = self.data_dir / "files"
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = folder / f"{temporary_prefix()}upload-{secrets.token_hex(8)}"
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # the channel writes into it
        return path

    def store_spooled(
        self, spooled: Path, *, kind: str, mime: str, extension: str, **meta: Any
    ) -> Attachment:
        """``store_file`` for bytes already on disk (``spool_path``): hashed in chunks and moved into
        place, never read into memory whole. The spooled file is gone afterwards either way."""
        try:
            digest = hashlib.sha256()
            with spooled.open("rb") as stream:
                for chunk in iter(lambda: stream.read(1024 * 1024), b""):
                    digest.update(chunk)
            size = spooled.stat().st_size
            place = functools.partial(put_in_place, spooled)  # fsynced, then renamed
            return self._store(digest.hexdigest(), size, extension, place, kind, mime, meta)
        finally:
            spooled.unlink(missing_ok=True)

    def _store(
        self,
        digest: str,
        size: int,
        extension: str,
        write: Callable[[Path], object],
        kind: str,
        mime: str,
        meta: dict[str, Any],
    ) -> Attachment:
        relative = Path("files") / digest[:2] / f"{digest}.{extension}"
        files = _table(Attachment)
        with self._session() as session:
            existing = _records(session, Attachment, sql_select(files).where(files.c.sha256 == digest))
            if existing:
                return existing[0]
            target = self.data_dir / relative
            if not target.exists():
                target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                write(target)
            values = {
                "sha256": digest,
                "kind": kind,
                "mime": mime,
                "size": size,
                "path": str(relative),
                "created_at": utc_now(),
                **meta,
            }
            key = (
                session.connection().execute(files.insert().values(values).returning(files.c.id)).scalar_one()
            )
            self._commit(session)
            return Attachment(id=key, **values)

    def remove_stale_temporaries(self, unseen_older_than: timedelta = STALE_TEMPORARY) -> int:
        """Delete the temporaries of writes a crash or a kill interrupted (one may hold a whole
        submission record, or an upload with a name, a phone number and an address inside): those
        whose writing process is no longer running here, and those written where their writer cannot
        be seen (another container or host sharing the data folder) once older than
        ``unseen_older_than`` (``storage.temporaries``): another service may be writing its own right
        now. Returns how many went."""
        folders = [self.data_dir / folder for folder in ("files", "submissions", "exports")]
        return len(remove_abandoned(folders, unseen_older_than))

    def stored_path(self, relative: str) -> Path | None:
        """A stored file (a submission's record or DOCX) by its path in the data folder; None when it is
        missing or the path would lead out of the folder (``storage.data_folder.inside``)."""
        path = inside(self.data_dir, relative)
        return path if path is not None and path.is_file() else None

    def store_document(self, relative: str, data: bytes) -> Path:
        """Write a version's printed form at the path the version names (atomically: two processes
        rendering it at once write the same bytes, one after the other)."""
        path = inside(self.data_dir, relative)
        if path is None:
            raise ValueError("a version's document path leads out of the data folder")
        _write_atomically(path, data)
        return path

    def export_path(self, name: str) -> Path | None:
        """An export ZIP by its name (``dialogs.file_names.is_export_name`` says which names are
        export names), or None: a name that is not one file directly in ``exports/`` is none."""
        path = self.data_dir / "exports" / name
        return path if Path(name).name == name and name not in ("", ".", "..") and path.is_file() else None

    def file_path(self, sha256: str) -> Path | None:
        files = _table(Attachment).c
        with self._session() as session:
            path = session.connection().execute(sql_select(files.path).where(files.sha256 == sha256)).scalar()
        return None if path is None else inside(self.data_dir, path)  # a path out of the folder: none


def _table(model: type[SQLModel]) -> Table:
    """The Core table of a model, for statements that send many rows at once."""
    return SQLModel.metadata.tables[model.__tablename__]  # type: ignore[index]


# The statements of every message, built once (building them is a good part of their cost).
_SAVE_DRAFT = (
    update(Draft)
    .where(col(Draft.id) == bindparam("draft_id"), col(Draft.revision) == bindparam("seen_revision"))
    .values(
        state=bindparam("new_state"),
        status=bindparam("new_status"),
        answers=bindparam("new_answers"),
        context=bindparam("new_context"),
        cancelled_at=bindparam("new_cancelled_at"),
        submission_id=bindparam("new_submission_id"),
        revision=bindparam("new_revision"),
        updated_at=bindparam("new_updated_at"),
    )
)
_SAVE_CONTACT = (
    update(Contact)
    .where(col(Contact.id) == bindparam("contact_id"))
    .values(current_draft_id=bindparam("new_draft_id"), menu=bindparam("new_menu"))
)
_CONTACT_COLUMNS = tuple(_table(Contact).c.keys())
_DRAFT_COLUMNS = tuple(_table(Draft).c.keys())
_CONTACT_WITH_DRAFT = (
    sql_select(_table(Contact), _table(Draft))
    .join_from(
        _table(Contact), _table(Draft), _table(Draft).c.id == _table(Contact).c.current_draft_id, isouter=True
    )
    .where(
        _table(Contact).c.channel == bindparam("chat_channel"),
        _table(Contact).c.external_id == bindparam("chat_id"),
    )
)
_EARLIER_PENDING = (
    select(InboxUpdate.id)
    .where(
        col(InboxUpdate.channel) == bindparam("item_channel"),
        col(InboxUpdate.chat_key) == bindparam("item_chat"),
        InboxUpdate.status == "pending",
        or_(
            col(InboxUpdate.sequence) < bindparam("item_sequence"),
            and_(
                col(InboxUpdate.sequence) == bindparam("item_sequence"),
                col(InboxUpdate.id) < bindparam("item_id"),
            ),
        ),
    )
    .correlate(None)  # the chat's other rows, by value; not the outer row
)
_CLAIM = (
    select(InboxUpdate.id)
    .where(
        col(InboxUpdate.id) == bindparam("item_id"),
        InboxUpdate.status == "pending",
        ~_EARLIER_PENDING.exists(),
    )
    .with_for_update(skip_locked=True)
)
_FINISH = (
    update(InboxUpdate)
    .where(col(InboxUpdate.id) == bindparam("item_id"))
    .values(
        status=bindparam("new_status"),
        payload={},
        processed_at=bindparam("at"),
        attempts=bindparam("new_attempts"),
    )
)


def _records(session: Session, model: type[Record], query: Select[Any]) -> list[Record]:
    """Rows of ``model``'s table read with Core, as plain (detached) records: cheaper than ORM loading
    for the reads of every message. Such a record is never ``session.add``-ed again (it has its id)."""
    return [model(**row._mapping) for row in session.connection().execute(query)]


Plain = TypeVar("Plain", Incoming, Outgoing)


def _plain(session: Session, record: type[Plain], query: Select[Any]) -> list[Plain]:
    """Rows as the delivery layer's records: only the columns the record has."""
    names = record.__slots__
    return [
        record(**{name: row._mapping[name] for name in names}) for row in session.connection().execute(query)
    ]


def _sent(now: datetime) -> dict[str, Any]:
    """What marking an outgoing message sent sets: its payload (a reply's text) is not kept."""
    return {"status": "sent", "sent_at": now, "payload": {}, "attempts": col(OutboxMessage.attempts) + 1}


def _inbox_row(
    channel: str,
    update_id: int,
    chat_key: str,
    payload: dict[str, Any],
    now: datetime,
    *,
    done: bool = False,
    sequence: int | None = None,
) -> dict[str, Any]:
    """An incoming message as a row for a Core INSERT: pending, or already handled (``done``)."""
    row = {
        "channel": channel,
        "update_id": update_id,
        "sequence": update_id if sequence is None else sequence,
        "chat_key": chat_key,
        "payload": payload,
        "status": "done" if done else "pending",
        "attempts": int(done),
        "received_at": now,
    }
    return {**row, "processed_at": now} if done else row


def _insert_new_inbox_rows(session: Session, rows: list[dict[str, Any]]) -> set[int]:
    """Insert inbox rows, skipping those whose (channel, update id) is there already; the new ids.
    Core, not the ORM's bulk path: one INSERT of all the rows, at a third less cost."""
    insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else postgresql_insert
    statement = (
        insert(InboxUpdate)
        .on_conflict_do_nothing(index_elements=["channel", "update_id"])
        .returning(col(InboxUpdate.update_id))
    )
    return set(session.connection().execute(statement, rows).scalars())


def _outbox_row(channel: str, chat_key: str, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    """An outgoing message as a row for a Core INSERT (the model's defaults are Python-side)."""
    return {
        "channel": channel,
        "chat_key": chat_key,
        "payload": payload,
        "status": "pending",
        "attempts": 0,
        "created_at": now,
    }


def _progress_totals(campaign_id: str, unit_id: int | None = None) -> Select[Any]:
    """Progress per (unit, task) worked out from the submissions themselves: a campaign's, or one
    unit's (by the unit alone: with the campaign too, SQLite walks the campaign's index instead)."""
    submissions = _table(Submission).c
    which = submissions.campaign_id == campaign_id if unit_id is None else submissions.unit_id == unit_id
    return (
        sql_select(
            submissions.campaign_id,
            submissions.unit_id,
            submissions.task_id,
            func.count(),
            func.coalesce(func.sum(submissions.counted), 0),
            func.count().filter(submissions.status == "returned"),
            func.count().filter(submissions.status == "accepted"),
            func.count().filter(submissions.in_share.is_(True)),
        )
        .where(which)
        .group_by(submissions.campaign_id, submissions.unit_id, submissions.task_id)
    )


_PROGRESS_COLUMNS = ("campaign_id", "unit_id", "task_id", "records", "counted", "returned", "accepted")


#: session.info key: the (unit, task, campaign) whose progress rows a unit of work has made stale.
_STALE_PROGRESS = "stale_progress"


def _refresh_progress(session: Session, campaign_id: str, unit_id: int, task_id: str) -> None:
    """Bring one unit's progress row for one task up to date, in the caller's transaction: now, or —
    inside a unit of work — just before it commits, with every other unit it touched, in unit order.

    Many messages share one transaction (group commit); locking units in the order messages come
    would let two workers' groups deadlock (one submits for A then B, the other for B then A).
    Reads of one unit's progress count its submissions directly, so they are exact meanwhile.
    """
    stale = session.info.get(_STALE_PROGRESS)
    if stale is not None:
        stale.add((unit_id, task_id, campaign_id))
        return
    _recompute_progress(session, campaign_id, unit_id, task_id)


def _refresh_stale_progress(session: Session) -> None:
    stale = session.info.get(_STALE_PROGRESS) or set()
    for unit_id, task_id, campaign_id in sorted(stale):
        _recompute_progress(session, campaign_id, unit_id, task_id)
    stale.clear()


def _recompute_progress(session: Session, campaign_id: str, unit_id: int, task_id: str) -> None:
    """Recompute one unit's row for one task from its submissions.

    The unit's row is locked first (PostgreSQL; SQLite writes one at a time anyway): two workers
    submitting for one unit at once then recompute one after the other, the second seeing the first's
    submission, instead of both deleting and inserting the same row. The lock is FOR NO KEY UPDATE
    (``key_share=True``): the submission's foreign key already holds KEY SHARE on the unit, which
    FOR UPDATE would wait on — two such transactions deadlocked.
    """
    session.execute(
        sql_select(_table(Unit).c.id).where(_table(Unit).c.id == unit_id).with_for_update(key_share=True)
    )
    session.execute(
        delete(UnitProgress).where(col(UnitProgress.unit_id) == unit_id, col(UnitProgress.task_id) == task_id)
    )
    totals = _progress_totals(campaign_id, unit_id).where(_table(Submission).c.task_id == task_id)
    session.execute(sql_insert(UnitProgress).from_select([*_PROGRESS_COLUMNS, "in_share"], totals))


def rebuild_progress(session: Session | Connection, campaign_id: str) -> None:
    """Recompute every progress row of a campaign (after a backfill or a purge)."""
    session.execute(delete(UnitProgress).where(col(UnitProgress.campaign_id) == campaign_id))
    session.execute(
        sql_insert(UnitProgress).from_select([*_PROGRESS_COLUMNS, "in_share"], _progress_totals(campaign_id))
    )


def _is_id(value: int) -> bool:
    return 0 < value <= MAX_ID


def _aware(moment: datetime) -> datetime:
    """SQLite gives times back without a zone; they are stored as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _write_atomically(path: Path, data: bytes) -> None:
    """Write a file so that a crash leaves either the old file or the whole new one, never half."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_whole(path, lambda stream: stream.write(data))
