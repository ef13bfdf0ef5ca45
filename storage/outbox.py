"""The messenger outbox's part of ``Repository``: outgoing messages queued in the transaction that
decides them, sent in order per chat, their text dropped once sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import or_, update
from sqlalchemy import select as sql_select
from sqlmodel import col

from storage.models import OutboxMessage, utc_now
from storage.part import RepositoryPart, aware, plain_records, table_of


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


class OutboxStorage(RepositoryPart):
    """The outbox side of ``Repository``."""

    def enqueue_message(self, channel: str, chat_key: str, payload: dict[str, Any]) -> None:
        with self._session() as session:
            session.connection().execute(
                table_of(OutboxMessage).insert(), outbox_row(channel, chat_key, payload, utc_now())
            )
            self._commit(session)

    def enqueue_messages(self, channel: str, chat_key: str, payloads: Sequence[dict[str, Any]]) -> None:
        """Queue several messages to one chat, in order, in one statement (a turn's replies)."""
        if not payloads:
            return
        now = utc_now()
        with self._session() as session:
            rows = [outbox_row(channel, chat_key, payload, now) for payload in payloads]
            session.connection().execute(table_of(OutboxMessage).insert(), rows)
            self._commit(session)

    def due_messages(self, channel: str, now: datetime, limit: int = 100) -> list[Outgoing]:
        """Pending outgoing messages whose time has come, oldest first. A chat's messages wait behind
        its earlier one that is to be retried later, so that they keep their order."""
        outbox = table_of(OutboxMessage).c
        query = (
            sql_select(table_of(OutboxMessage))
            .where(outbox.channel == channel, outbox.status == "pending")
            .order_by(outbox.id)
            .limit(limit)
        )
        with self._session() as session:
            due: list[Outgoing] = []
            waiting: set[str] = set()
            for message in plain_records(session, Outgoing, query):
                if message.chat_key in waiting or (
                    message.not_before is not None and aware(message.not_before) > now
                ):
                    waiting.add(message.chat_key)
                else:
                    due.append(message)
            return due

    def chats_with_messages(self, channel: str, chat_keys: Sequence[str], now: datetime) -> set[str]:
        """Which of ``chat_keys`` have messages due on ``channel`` (one query, by the chat index)."""
        if not chat_keys:
            return set()
        outbox = table_of(OutboxMessage).c
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
        outbox = table_of(OutboxMessage).c
        query = (
            sql_select(table_of(OutboxMessage))
            .where(outbox.channel == channel, outbox.chat_key == chat_key, outbox.status == "pending")
            .where(or_(outbox.not_before.is_(None), outbox.not_before <= now))
            .order_by(outbox.id)
            .limit(limit)
        )
        with self._session() as session:
            waiting = plain_records(session, Outgoing, query)
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


def _sent(now: datetime) -> dict[str, Any]:
    """What marking an outgoing message sent sets: its payload (a reply's text) is not kept."""
    return {"status": "sent", "sent_at": now, "payload": {}, "attempts": col(OutboxMessage.attempts) + 1}


def outbox_row(channel: str, chat_key: str, payload: dict[str, Any], now: datetime) -> dict[str, Any]:
    """An outgoing message as a row for a Core INSERT (the model's defaults are Python-side)."""
    return {
        "channel": channel,
        "chat_key": chat_key,
        "payload": payload,
        "status": "pending",
        "attempts": 0,
        "created_at": now,
    }
