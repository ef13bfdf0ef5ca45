"""The submissions' part of ``Repository``: a confirmed draft becomes an immutable submission version,
its record written as JSON in the data folder before the commit that names it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import update
from sqlmodel import col, select

from storage.files import write_atomically
from storage.models import Contact, Draft, Submission, SubmissionVersion, Unit, utc_now
from storage.part import ConcurrentUpdate, RepositoryPart, is_id
from storage.progress import refresh_progress


class SubmissionStorage(RepositoryPart):
    """The submissions' side of ``Repository``."""

    def submit(
        self,
        draft: Draft,
        contact: Contact,
        record: dict[str, Any],
        *,
        counted: int,
        in_share: bool = False,
        with_document: bool = False,
    ) -> SubmissionVersion:
        """Turn a confirmed draft into an immutable submission version, in one transaction.

        A draft that reopens a submission adds the next version to it; otherwise a new submission
        starts at version 1. The record is also written as JSON under ``submissions/``, before the
        commit that names it. ``with_document``: the version has a printed form, whose DOCX is
        written beside the record when it is first opened (``store_document``) — not in this
        transaction. ``counted`` and ``in_share`` are what this version adds to the unit's progress,
        which is brought up to date in the same transaction.
        """
        with self._session() as session:
            if draft.submission_id is not None:
                submission = session.get(Submission, draft.submission_id)
                if submission is None:
                    raise LookupError(f"submission {draft.submission_id} not found")
                submission.current_version += 1
                submission.status = "submitted"
                submission.updated_at = utc_now()
            else:
                submission = Submission(
                    campaign_id=draft.campaign_id,
                    unit_id=draft.unit_id,
                    task_id=draft.task_id,
                    form_id=draft.form_id,
                )
            submission.counted, submission.in_share = counted, in_share
            session.add(submission)
            session.flush()
            refresh_progress(session, draft.campaign_id, draft.unit_id, draft.task_id)
            assert submission.id is not None and draft.id is not None and contact.id is not None
            unit = session.get(Unit, draft.unit_id)
            assert unit is not None
            stem = Path("submissions") / unit.code / f"{submission.id}-v{submission.current_version}"
            relative = stem.with_suffix(".json")
            docx = stem.with_suffix(".docx") if with_document else None
            version = SubmissionVersion(
                submission_id=submission.id,
                version=submission.current_version,
                answers=draft.answers,
                draft_id=draft.id,
                submitted_by=contact.id,
                record_path=str(relative),
                document_path=str(docx) if docx is not None else None,
            )
            session.add(version)
            session.flush()
            changed = session.execute(
                update(Draft)
                .where(col(Draft.id) == draft.id, col(Draft.revision) == draft.revision)
                .values(
                    state=draft.state,
                    status="submitted",
                    submission_id=submission.id,
                    revision=draft.revision + 1,
                )
            )
            if changed.rowcount != 1:  # type: ignore[attr-defined]
                raise ConcurrentUpdate(f"draft {draft.id} changed concurrently")
            contact.current_draft_id = None
            session.merge(contact)
            payload = {
                "submission": submission.id,
                "version": version.version,
                "submitted_at": version.submitted_at.isoformat(),
                **record,
                "answers": draft.answers,
            }
            write_atomically(
                self.data_dir / relative, json.dumps(payload, ensure_ascii=False, indent=2).encode()
            )
            self._commit(session)
        draft.status, draft.submission_id, draft.revision = "submitted", submission.id, draft.revision + 1
        return version

    def submissions(
        self, unit_id: int, task_id: str | None = None, *, campaign_id: str | None = None
    ) -> list[Submission]:
        """A unit's submissions (of one task), oldest first: in one campaign, or (``campaign_id`` None)
        in every campaign picking the unit."""
        with self._session() as session:
            query = select(Submission).where(Submission.unit_id == unit_id)
            if task_id is not None:
                query = query.where(Submission.task_id == task_id)
            if campaign_id is not None:
                query = query.where(Submission.campaign_id == campaign_id)
            return list(session.exec(query.order_by(col(Submission.id))))

    def submission(self, submission_id: int) -> Submission | None:
        """A submission by its number; None for a number no submission can have (0, negative, too big)."""
        if not is_id(submission_id):
            return None
        with self._session() as session:
            return session.get(Submission, submission_id)

    def versions(self, submission_id: int) -> list[SubmissionVersion]:
        if not is_id(submission_id):
            return []
        with self._session() as session:
            query = (
                select(SubmissionVersion)
                .where(SubmissionVersion.submission_id == submission_id)
                .order_by(col(SubmissionVersion.version))
            )
            return list(session.exec(query))

    def current_versions(
        self, campaign_id: str, unit_id: int | None = None
    ) -> list[tuple[Submission, SubmissionVersion]]:
        """Every submission of a campaign (or of one unit) with its current version, in one query."""
        with self._session() as session:
            query = (
                select(Submission, SubmissionVersion)
                .join(
                    SubmissionVersion,
                    (col(SubmissionVersion.submission_id) == col(Submission.id))
                    & (col(SubmissionVersion.version) == col(Submission.current_version)),
                )
                .where(Submission.campaign_id == campaign_id)
                .order_by(col(Submission.id))
            )
            if unit_id is not None:
                query = query.where(Submission.unit_id == unit_id)
            return [(submission, version) for submission, version in session.exec(query)]
