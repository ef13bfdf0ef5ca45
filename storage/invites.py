"""The invites' part of ``Repository``: one-time codes that bind a chat identity to a unit (or to
组联部) when redeemed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlmodel import col, select

from storage.models import Contact, Invite
from storage.part import ConcurrentUpdate, RepositoryPart, aware


class InviteStorage(RepositoryPart):
    """The invites' side of ``Repository``."""

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
        if invite is None or invite.used_at is not None or aware(invite.expires_at) <= now:
            return None
        return invite

    def redeem_invite(self, code: str, channel: str, external_id: str, now: datetime) -> Contact | None:
        """Use an invite once: bind the identity, noting when it consented; None if the code is unusable."""
        with self._session() as session:
            invite = session.exec(select(Invite).where(Invite.code == code)).first()
            if invite is None or invite.used_at is not None or aware(invite.expires_at) <= now:
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
