"""The one door to storage: short sessions, detached records out, one commit per call or per unit of work.

Every method that changes something commits before it returns, so a caller that replies to a person
after the call has the answer on disk first. Inside ``unit_of_work()`` the calls share one transaction
that commits at the end of the block: a channel uses it to mark a messenger update done, queue the
replies and store the dialog's effects all at once.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from storage.models import (
    Attachment,
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
    utc_now,
)


class ConcurrentUpdate(RuntimeError):
    """A draft changed since it was read (another message for the same draft was processed first)."""


class Repository:
    """Storage for units, contacts, drafts, submissions and files.

    Args:
        engine: the SQLAlchemy engine (SQLite or PostgreSQL).
        data_dir: where files live: ``files/`` (content-addressed uploads) and ``submissions/``
            (one JSON record per submitted version).
    """

    def __init__(self, engine: Engine, data_dir: Path) -> None:
        self.engine = engine
        self.data_dir = data_dir
        self._shared: ContextVar[Session | None] = ContextVar(f"unit_of_work_{id(self)}", default=None)

    @contextmanager
    def unit_of_work(self) -> Iterator[None]:
        """Run several repository calls in one transaction, committed when the block ends without error."""
        if self._shared.get() is not None:
            yield
            return
        session = Session(self.engine, expire_on_commit=False, autoflush=False)
        token = self._shared.set(session)
        try:
            yield
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            self._shared.reset(token)
            session.close()

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
        with self._session() as session:
            return session.get(Unit, unit_id)

    def unit_by_code(self, campaign_id: str, code: str) -> Unit | None:
        with self._session() as session:
            return session.exec(
                select(Unit).where(Unit.campaign_id == campaign_id, Unit.code == code)
            ).first()

    # Contacts ------------------------------------------------------------------------------------

    def contact(self, channel: str, external_id: str) -> Contact | None:
        with self._session() as session:
            return session.exec(
                select(Contact).where(Contact.channel == channel, Contact.external_id == external_id)
            ).first()

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
                changed = session.execute(
                    update(Draft)
                    .where(col(Draft.id) == draft.id, col(Draft.revision) == draft.revision)
                    .values(
                        state=draft.state,
                        status=draft.status,
                        answers=draft.answers,
                        context=draft.context,
                        cancelled_at=draft.cancelled_at,
                        submission_id=draft.submission_id,
                        revision=draft.revision + 1,
                        updated_at=now or utc_now(),
                    )
                )
                if changed.rowcount != 1:  # type: ignore[attr-defined]
                    raise ConcurrentUpdate(f"draft {draft.id} changed concurrently")
            if contact is not None:
                contact = session.merge(contact)
            self._commit(session)
        if draft is not None:
            draft.revision += 1

    # Submissions ---------------------------------------------------------------------------------

    def submit(
        self, draft: Draft, contact: Contact, record: dict[str, Any], document: bytes | None = None
    ) -> SubmissionVersion:
        """Turn a confirmed draft into an immutable submission version, in one transaction.

        A draft that reopens a submission adds the next version to it; otherwise a new submission
        starts at version 1. The record is also written as JSON under ``submissions/``, and the
        rendered form (``document``) as DOCX beside it.
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
            session.add(submission)
            session.flush()
            assert submission.id is not None and draft.id is not None and contact.id is not None
            unit = session.get(Unit, draft.unit_id)
            assert unit is not None
            stem = Path("submissions") / unit.code / f"{submission.id}-v{submission.current_version}"
            relative = stem.with_suffix(".json")
            docx = stem.with_suffix(".docx") if document is not None else None
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
            if docx is not None and document is not None:
                _write_atomically(self.data_dir / docx, document)
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
        with self._session() as session:
            return session.get(Submission, submission_id)

    def versions(self, submission_id: int) -> list[SubmissionVersion]:
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

    def store_update(self, channel: str, update_id: int, chat_key: str, payload: dict[str, Any]) -> bool:
        """Store an incoming update once; False when this update id was already stored (a duplicate)."""
        with self._session() as session:
            exists = session.exec(
                select(InboxUpdate.id).where(
                    InboxUpdate.channel == channel, InboxUpdate.update_id == update_id
                )
            ).first()
            if exists is not None:
                return False
            session.add(InboxUpdate(channel=channel, update_id=update_id, chat_key=chat_key, payload=payload))
            try:
                self._commit(session)
            except IntegrityError:  # the same update stored by another process a moment ago
                session.rollback()
                return False
            return True

    def pending_updates(self, channel: str, limit: int = 100) -> list[InboxUpdate]:
        """Unprocessed updates in the order they were sent (update ids grow)."""
        with self._session() as session:
            query = (
                select(InboxUpdate)
                .where(InboxUpdate.channel == channel, InboxUpdate.status == "pending")
                .order_by(col(InboxUpdate.update_id))
                .limit(limit)
            )
            return list(session.exec(query))

    def claim_update(self, item: InboxUpdate) -> bool:
        """Take an update for processing, inside the caller's transaction: False when another worker
        holds it (row locked), it is already done, or an earlier update of the same chat is still
        pending — so each chat's updates are processed one at a time, in order, by one worker."""
        with self._session() as session:
            mine = session.exec(
                select(InboxUpdate.id)
                .where(col(InboxUpdate.id) == item.id, InboxUpdate.status == "pending")
                .with_for_update(skip_locked=True)
            ).first()
            if mine is None:
                return False
            earlier = session.exec(
                select(InboxUpdate.id).where(
                    InboxUpdate.channel == item.channel,
                    InboxUpdate.chat_key == item.chat_key,
                    InboxUpdate.status == "pending",
                    col(InboxUpdate.update_id) < item.update_id,
                )
            ).first()
            return earlier is None

    def finish_update(self, item: InboxUpdate, status: str, now: datetime) -> None:
        """Mark an update processed (done or failed) and drop its payload."""
        with self._session() as session:
            session.execute(
                update(InboxUpdate)
                .where(col(InboxUpdate.id) == item.id)
                .values(status=status, payload={}, processed_at=now, attempts=item.attempts + 1)
            )
            self._commit(session)

    def retry_update_later(self, item: InboxUpdate) -> None:
        with self._session() as session:
            session.execute(
                update(InboxUpdate).where(col(InboxUpdate.id) == item.id).values(attempts=item.attempts + 1)
            )
            self._commit(session)

    def enqueue_message(self, channel: str, chat_key: str, payload: dict[str, Any]) -> None:
        with self._session() as session:
            session.add(OutboxMessage(channel=channel, chat_key=chat_key, payload=payload))
            self._commit(session)

    def due_messages(self, channel: str, now: datetime, limit: int = 100) -> list[OutboxMessage]:
        """Pending outgoing messages whose time has come, oldest first."""
        with self._session() as session:
            query = (
                select(OutboxMessage)
                .where(OutboxMessage.channel == channel, OutboxMessage.status == "pending")
                .order_by(col(OutboxMessage.id))
                .limit(limit)
            )
            return [m for m in session.exec(query) if m.not_before is None or _aware(m.not_before) <= now]

    def message_sent(self, message: OutboxMessage, now: datetime) -> None:
        with self._session() as session:
            session.execute(
                update(OutboxMessage)
                .where(col(OutboxMessage.id) == message.id)
                .values(status="sent", sent_at=now, payload={}, attempts=message.attempts + 1)
            )
            self._commit(session)

    def message_later(self, message: OutboxMessage, not_before: datetime, *, give_up: bool = False) -> None:
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

    def record_nudge(
        self,
        key: str,
        campaign_id: str,
        unit_code: str | None,
        task_id: str,
        kind: str,
        slot: datetime,
        recipients: int,
    ) -> bool:
        """Record a reminder before it is sent; False when its key was recorded already (never twice)."""
        with self._session() as session:
            unit_id = None
            if unit_code is not None:
                unit_id = session.exec(
                    select(Unit.id).where(Unit.campaign_id == campaign_id, Unit.code == unit_code)
                ).first()
            values = {
                "key": key,
                "campaign_id": campaign_id,
                "unit_id": unit_id,
                "task_id": task_id,
                "kind": kind,
                "slot": slot,
                "recipients": recipients,
                "created_at": utc_now(),
            }
            insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else postgresql_insert
            statement = insert(NudgeRecord).values(**values).on_conflict_do_nothing(index_elements=["key"])
            inserted = session.execute(statement.returning(col(NudgeRecord.id))).first() is not None
            self._commit(session)
            return inserted

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
        relative = Path("files") / digest[:2] / f"{digest}.{extension}"
        with self._session() as session:
            existing = session.exec(select(Attachment).where(Attachment.sha256 == digest)).first()
            if existing is not None:
                return existing
            target = self.data_dir / relative
            if not target.exists():
                _write_atomically(target, data)
            attachment = Attachment(
                sha256=digest, kind=kind, mime=mime, size=len(data), path=str(relative), **meta
            )
            session.add(attachment)
            self._commit(session)
            return attachment

    def file_path(self, sha256: str) -> Path | None:
        with self._session() as session:
            attachment = session.exec(select(Attachment).where(Attachment.sha256 == sha256)).first()
        return None if attachment is None else self.data_dir / attachment.path


def _aware(moment: datetime) -> datetime:
    """SQLite gives times back without a zone; they are stored as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _write_atomically(path: Path, data: bytes) -> None:
    """Write a file so that a crash leaves either the old file or the whole new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
