"""The contacts' part of ``Repository``: chat identities, the unit each is bound to (or 组联部), and
the draft each is filling.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, func, or_, update
from sqlalchemy import select as sql_select
from sqlmodel import col, select

from storage.models import Contact, Draft, Unit
from storage.part import RepositoryPart, is_id, table_of
from storage.units import in_campaign


class ContactStorage(RepositoryPart):
    """The contacts' side of ``Repository``."""

    def contact_by_id(self, contact_id: int) -> Contact | None:
        if not is_id(contact_id):
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
        return contact, draft  # plain (detached) records

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
                .where(in_campaign(campaign_id), col(Contact.active).is_(True))
                .group_by(Unit.code)
            )
            return {code: count for code, count in session.exec(query)}

    def contacts(self, campaign_id: str) -> list[tuple[Contact, Unit | None]]:
        """Every chat identity with the unit it is bound to (None for 组联部), oldest first."""
        with self._session() as session:
            query = (
                select(Contact, Unit)
                .join(Unit, col(Contact.unit_id) == col(Unit.id), isouter=True)
                .where(or_(col(Unit.id).is_(None), in_campaign(campaign_id)))
            )
            return [(contact, unit) for contact, unit in session.exec(query.order_by(col(Contact.id)))]

    def revoke_contact(self, contact_id: int) -> bool:
        """Unbind a chat identity: it is refused from its next message on. False if there is none."""
        if not is_id(contact_id):
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
                .where(in_campaign(campaign_id), col(Contact.active).is_(True), Contact.role == "contact")
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

    def bound_chats(self, channel: str, chat_keys: Sequence[str]) -> set[str]:
        """Which of ``chat_keys`` are still bound, active contacts on ``channel`` (one query)."""
        if not chat_keys:
            return set()
        contact = table_of(Contact).c
        query = sql_select(contact.external_id).where(
            contact.channel == channel, contact.external_id.in_(list(chat_keys)), contact.active.is_(True)
        )
        with self._session() as session:
            return set(session.execute(query).scalars())


# The statements of every message, built once (building them is a good part of their cost).
_CONTACT_COLUMNS = tuple(table_of(Contact).c.keys())
_DRAFT_COLUMNS = tuple(table_of(Draft).c.keys())
_CONTACT_WITH_DRAFT = (
    sql_select(table_of(Contact), table_of(Draft))
    .join_from(
        table_of(Contact),
        table_of(Draft),
        table_of(Draft).c.id == table_of(Contact).c.current_draft_id,
        isouter=True,
    )
    .where(
        table_of(Contact).c.channel == bindparam("chat_channel"),
        table_of(Contact).c.external_id == bindparam("chat_id"),
    )
)
