"""The messenger inbox's part of ``Repository``: incoming updates stored once each, claimed one chat at a
time in order, and marked done.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, or_, update
from sqlalchemy import select as sql_select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from storage.models import InboxUpdate, utc_now
from storage.part import RepositoryPart, plain_records, table_of


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


class InboxStorage(RepositoryPart):
    """The inbox side of ``Repository``."""

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
        inbox = table_of(InboxUpdate).c
        query = (
            sql_select(table_of(InboxUpdate))
            .where(inbox.channel == channel, inbox.status == "pending")
            .order_by(inbox.sequence, inbox.id)
            .limit(limit)
        )
        with self._session() as session:
            return plain_records(session, Incoming, query)

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


# The statements of every message, built once (building them is a good part of their cost).
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
