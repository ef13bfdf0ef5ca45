"""The review part of ``Repository``: 组联部's decisions on submissions and the rows it selected."""

from __future__ import annotations

from sqlalchemy import update
from sqlmodel import col, select

from storage.models import ReviewDecision, Selection, Submission, utc_now
from storage.part import RepositoryPart
from storage.progress import refresh_progress


class ReviewStorage(RepositoryPart):
    """The review side of ``Repository``."""

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
                refresh_progress(session, submission.campaign_id, submission.unit_id, submission.task_id)
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
