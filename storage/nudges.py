"""The reminders' part of ``Repository``: each reminder recorded once by its key, with its messages
queued in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select

from storage.models import NudgeRecord, OutboxMessage, Unit, utc_now
from storage.outbox import outbox_row
from storage.part import RepositoryPart, table_of
from storage.units import in_campaign


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


class NudgeStorage(RepositoryPart):
    """The reminders' side of ``Repository``."""

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
            query = select(Unit.code, Unit.id).where(in_campaign(campaign_id))
            unit_ids = {code: key for code, key in session.execute(query)}
            insert = sqlite_insert if session.get_bind().dialect.name == "sqlite" else postgresql_insert
            records = table_of(NudgeRecord)
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
                outbox_row(channel, chat_key, nudge.payload or {"text": nudge.text}, now)
                for nudge in nudges
                if nudge.key in recorded
                for channel, chat_key in nudge.recipients
            ]
            if messages:
                connection.execute(table_of(OutboxMessage).insert(), messages)
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
