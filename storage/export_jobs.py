"""Storage of the exports promised to 组联部 (``ExportJob``): recorded with the promise, claimed by
one worker at a time for a while (renewed as it writes), and finished — marked done and its message
queued — in one transaction, so each is sent once however often it was started.

Part of the one door to storage: ``Repository`` takes these methods from here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import col, select

from storage.models import ExportJob
from storage.part import RepositoryPart


@dataclass(frozen=True, slots=True)
class ExportOrder:
    """A claimed export job (a record, not the table)."""

    id: int
    campaign_id: str
    kind: str  # forms | videos
    channel: str
    chat_key: str
    requested_at: datetime
    attempts: int  # this one included


class ExportJobStorage(RepositoryPart):
    """The export jobs' side of ``Repository``."""

    def add_export_job(self, campaign_id: str, kind: str, channel: str, chat_key: str, at: datetime) -> None:
        """Record an export to make (inside the unit of work that promises it, when there is one)."""
        with self._session() as session:
            job = ExportJob(
                campaign_id=campaign_id, kind=kind, channel=channel, chat_key=chat_key, requested_at=at
            )
            session.add(job)
            self._commit(session)

    def export_pending(self, campaign_id: str, kind: str, channel: str, chat_key: str) -> bool:
        """Whether this person already waits for an export of this kind."""
        with self._session() as session:
            query = select(ExportJob.id).where(
                ExportJob.campaign_id == campaign_id,
                ExportJob.kind == kind,
                ExportJob.channel == channel,
                ExportJob.chat_key == chat_key,
                ExportJob.status == "pending",
            )
            return session.exec(query).first() is not None

    def claim_export_job(self, campaign_id: str, now: datetime, until: datetime) -> ExportOrder | None:
        """The oldest pending export that no worker holds (or whose worker stopped renewing its hold:
        it was killed), now held by the caller until ``until``; None when there is none."""
        for candidate in self._unheld_exports(campaign_id, now):
            with self._session() as session:
                claimed = session.execute(
                    update(ExportJob)
                    .where(col(ExportJob.id) == candidate, col(ExportJob.status) == "pending")
                    .where(or_(col(ExportJob.claimed_until).is_(None), col(ExportJob.claimed_until) < now))
                    .values(claimed_until=until, attempts=col(ExportJob.attempts) + 1)
                )
                job = session.get(ExportJob, candidate) if claimed.rowcount == 1 else None  # type: ignore[attr-defined]
                order = _order(job) if job is not None else None
                self._commit(session)
            if order is not None:
                return order
        return None

    def _unheld_exports(self, campaign_id: str, now: datetime) -> Iterator[int]:
        with self._session() as session:
            query = (
                select(ExportJob.id)
                .where(ExportJob.campaign_id == campaign_id, ExportJob.status == "pending")
                .where(or_(col(ExportJob.claimed_until).is_(None), col(ExportJob.claimed_until) < now))
                .order_by(col(ExportJob.id))
                .limit(10)
            )
            ids = [job_id for job_id in session.exec(query) if job_id is not None]
        yield from ids

    def hold_export_job(self, job_id: int, until: datetime) -> None:
        """Keep holding a job being made (a worker that stops renewing is taken to be gone)."""
        with self._session() as session:
            session.execute(
                update(ExportJob)
                .where(col(ExportJob.id) == job_id, col(ExportJob.status) == "pending")
                .values(claimed_until=until)
            )
            self._commit(session)

    def finish_export_job(
        self, job_id: int, status: str, now: datetime, message: dict[str, Any] | None
    ) -> bool:
        """Mark a job ``done`` (or ``failed``) and queue its message, in one transaction: only the first
        worker to finish it queues anything. True when this call finished it."""
        with self.unit_of_work():
            with self._session() as session:
                finished = session.execute(
                    update(ExportJob)
                    .where(col(ExportJob.id) == job_id, col(ExportJob.status) == "pending")
                    .values(status=status, finished_at=now, claimed_until=None)
                )
                first = bool(finished.rowcount == 1)  # type: ignore[attr-defined]
                job = session.get(ExportJob, job_id) if first else None
                chat = (job.channel, job.chat_key) if job is not None else None
            if chat is not None and message is not None:
                self.enqueue_message(*chat, message)  # in the same transaction
        return first


def _order(job: ExportJob) -> ExportOrder:
    assert job.id is not None
    return ExportOrder(
        id=job.id,
        campaign_id=job.campaign_id,
        kind=job.kind,
        channel=job.channel,
        chat_key=job.chat_key,
        requested_at=job.requested_at if job.requested_at.tzinfo else job.requested_at.replace(tzinfo=UTC),
        attempts=job.attempts,
    )
