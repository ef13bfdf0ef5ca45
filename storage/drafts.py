"""The drafts' part of ``Repository``: a form being filled, its position and answers, saved after each
message under a revision that detects a concurrent change.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import bindparam, update
from sqlmodel import col, select

from storage.models import Contact, Draft, utc_now
from storage.part import ConcurrentUpdate, RepositoryPart, is_id


class DraftStorage(RepositoryPart):
    """The drafts' side of ``Repository``."""

    def draft(self, draft_id: int) -> Draft | None:
        if not is_id(draft_id):
            return None
        with self._session() as session:
            return session.get(Draft, draft_id)

    def drafts(
        self, unit_id: int, statuses: Sequence[str] = ("open",), *, campaign_id: str | None = None
    ) -> list[Draft]:
        """A unit's drafts in these statuses, oldest first: in one campaign, or (``campaign_id`` None)
        in every campaign picking the unit."""
        with self._session() as session:
            query = select(Draft).where(Draft.unit_id == unit_id, col(Draft.status).in_(statuses))
            if campaign_id is not None:
                query = query.where(Draft.campaign_id == campaign_id)
            return list(session.exec(query.order_by(col(Draft.id))))

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

    def open_draft_for(self, submission_id: int) -> Draft | None:
        """The open or cancelled draft that is correcting a submission, if any."""
        with self._session() as session:
            query = select(Draft).where(
                Draft.submission_id == submission_id, col(Draft.status).in_(("open", "cancelled"))
            )
            return session.exec(query).first()


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
