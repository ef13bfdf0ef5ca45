"""What one message's turn writes beyond a draft's save, each in one statement: a new draft inserted
(the contact's pointer to it is saved with the rest of the turn), an update claimed and marked done
at once (its replies are queued together by ``storage.outbox``).

Part of the one door to storage: ``Repository`` takes these methods from here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, bindparam, or_, select, update

from storage.inbox import Incoming
from storage.models import Draft, InboxUpdate
from storage.part import RepositoryPart, table_of

_INBOX = table_of(InboxUpdate)
_CLAIMED = _INBOX.alias("claimed")
_EARLIER = _INBOX.alias("earlier")
#: An update taken: still pending, not locked by another worker (``SKIP LOCKED`` on PostgreSQL), no
#: earlier update of its chat pending — and marked done, its payload dropped, in the same statement.
_TAKE = (
    update(_INBOX)
    .where(
        _INBOX.c.id.in_(
            select(_CLAIMED.c.id)
            .where(
                _CLAIMED.c.id == bindparam("item_id"),
                _CLAIMED.c.status == "pending",
                ~select(_EARLIER.c.id)
                .where(
                    _EARLIER.c.channel == bindparam("item_channel"),
                    _EARLIER.c.chat_key == bindparam("item_chat"),
                    _EARLIER.c.status == "pending",
                    or_(
                        _EARLIER.c.sequence < bindparam("item_sequence"),
                        and_(
                            _EARLIER.c.sequence == bindparam("item_sequence"),
                            _EARLIER.c.id < bindparam("item_id"),
                        ),
                    ),
                )
                .exists(),
            )
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
    )
    .values(status="done", payload={}, processed_at=bindparam("at"), attempts=bindparam("new_attempts"))
    .returning(_INBOX.c.id)
)


class TurnStorage(RepositoryPart):
    """The turn's side of ``Repository``."""

    def insert_draft(self, draft: Draft) -> Draft:
        """Store a new draft, which gets its id; nothing else (the contact's pointer to it is saved
        at the end of the turn, with the contact's other changes)."""
        with self._session() as session:
            session.add(draft)
            session.flush()
            self._commit(session)
        return draft

    def take_update(self, item: Incoming, now: datetime) -> bool:
        """Claim a stored update and mark it done, in one statement inside the caller's transaction
        (``claim_update`` and ``finish_update`` at once): False when another worker holds it, it is
        done already, or an earlier update of its chat is still pending. Should the transaction roll
        back, the update is pending again."""
        with self._session() as session:
            taken = session.connection().execute(
                _TAKE,
                {
                    "item_id": item.id,
                    "item_channel": item.channel,
                    "item_chat": item.chat_key,
                    "item_sequence": item.sequence,
                    "at": now,
                    "new_attempts": item.attempts + 1,
                },
            )
            return taken.first() is not None
