"""A web chat's last lines, the part of ``Repository`` that lets an open page (every tab) catch up."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func
from sqlalchemy import select as sql_select

from storage.models import CHAT_LINES_KEPT, ChatLine, utc_now
from storage.part import RepositoryPart, table_of


class ChatLineStorage(RepositoryPart):
    """The web chat lines' side of ``Repository``."""

    def add_chat_lines(self, contact_id: int, lines: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Keep lines of a contact's web conversation (speaker, payload), and only the last
        ``CHAT_LINES_KEPT`` of them."""
        if not lines:
            return
        table = table_of(ChatLine)
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
        table = table_of(ChatLine)
        query = sql_select(func.max(table.c.id)).where(table.c.contact_id == contact_id)
        with self._session() as session:
            return session.execute(query).scalar() or 0

    def chat_lines_after(self, contact_id: int, after: int) -> list[tuple[int, str, dict[str, Any]]]:
        """The kept lines of a contact's web conversation after line ``after`` (id, speaker, payload),
        oldest first: what an open page has not seen yet (its notices, in every tab)."""
        table = table_of(ChatLine)
        query = (
            sql_select(table.c.id, table.c.speaker, table.c.payload)
            .where(table.c.contact_id == contact_id, table.c.id > after)
            .order_by(table.c.id.desc())
            .limit(CHAT_LINES_KEPT)
        )
        with self._session() as session:
            rows = session.execute(query).all()
        return [(line_id, speaker, payload) for line_id, speaker, payload in reversed(rows)]
