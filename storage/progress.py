"""The progress part of ``Repository``: each unit's totals per task (``UnitProgress``), derived from the
submissions and brought up to date in the transaction that changes them.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import Connection, Select, bindparam, delete, func
from sqlalchemy import insert as sql_insert
from sqlalchemy import select as sql_select
from sqlmodel import Session, col, select

from storage.models import Submission, SubmissionVersion, Unit, UnitProgress
from storage.part import RepositoryPart, table_of


class ProgressTotals(NamedTuple):
    """A unit's totals on a task (see ``UnitProgress``)."""

    records: int
    counted: int
    returned: int
    accepted: int
    in_share: int


class AreaTotals(NamedTuple):
    """Units of an area with the same standing on a task, and their totals (see ``progress_by_area``)."""

    area: str
    task_id: str
    counted: int  # each of these units' counted total
    has_returned: bool
    units: int
    returned: int
    records: int
    in_share: int


class ProgressStorage(RepositoryPart):
    """The progress side of ``Repository``."""

    def progress(
        self, campaign_id: str, unit_id: int | None = None, area: str | None = None
    ) -> dict[tuple[str, str], ProgressTotals]:
        """Each unit's totals per task, by (unit code, task id): one small row each, no answers read.

        Units without a submission for a task have no row. ``unit_id`` or ``area`` narrow it down; one
        unit's are counted from its submissions (a few indexed rows), so they are exact even inside a
        unit of work that has submitted for it and not yet refreshed its stored rows.
        """
        if unit_id is not None:
            unit = self.unit(unit_id)
            assert unit is not None
            counted = _progress_totals(campaign_id, unit_id)
            with self._session() as session:
                rows = session.connection().execute(counted)
                return {(unit.code, row[2]): ProgressTotals._make(row[3:]) for row in rows}
        totals, units = table_of(UnitProgress).c, table_of(Unit).c
        query = sql_select(
            units.code,
            totals.task_id,
            totals.records,
            totals.counted,
            totals.returned,
            totals.accepted,
            totals.in_share,
        ).join_from(table_of(UnitProgress), table_of(Unit), units.id == totals.unit_id)
        query = query.where(totals.campaign_id == campaign_id)
        if area is not None:
            query = query.where(units.area == area)
        with self._session() as session:
            return {
                (row[0], row[1]): ProgressTotals._make(row[2:]) for row in session.connection().execute(query)
            }

    def progress_by_area(self, campaign_id: str) -> list[AreaTotals]:
        """The units' totals summed per area and task, kept apart by what decides a unit's standing
        (its counted total, and whether it has a return open): a few hundred rows for a region."""
        totals, units = table_of(UnitProgress).c, table_of(Unit).c
        has_returned = totals.returned > 0
        query = (
            sql_select(
                units.area,
                totals.task_id,
                totals.counted,
                has_returned,
                func.count(),
                func.sum(totals.returned),
                func.sum(totals.records),
                func.sum(totals.in_share),
            )
            .join_from(table_of(UnitProgress), table_of(Unit), units.id == totals.unit_id)
            .where(totals.campaign_id == campaign_id)
            .group_by(units.area, totals.task_id, totals.counted, has_returned)
        )
        with self._session() as session:
            return [AreaTotals._make(row) for row in session.connection().execute(query)]

    def uncounted_submissions(self, campaign_id: str) -> list[tuple[int, str, dict[str, Any]]]:
        """(id, task, current answers) of submissions stored before progress was kept (counted unset)."""
        with self._session() as session:
            query = (
                select(Submission.id, Submission.task_id, SubmissionVersion.answers)
                .join(
                    SubmissionVersion,
                    (col(SubmissionVersion.submission_id) == col(Submission.id))
                    & (col(SubmissionVersion.version) == col(Submission.current_version)),
                )
                .where(Submission.campaign_id == campaign_id, col(Submission.counted).is_(None))
            )
            return [(row[0], row[1], row[2]) for row in session.execute(query)]

    def set_counts(self, campaign_id: str, counts: dict[int, tuple[int, bool]]) -> None:
        """Store (counted, in_share) for the given submissions and rebuild the campaign's progress."""
        with self._session() as session:
            if counts:
                table = table_of(Submission)
                session.connection().execute(
                    table.update()
                    .where(table.c.id == bindparam("submission_id"))
                    .values(counted=bindparam("new_counted"), in_share=bindparam("new_in_share")),
                    [
                        {"submission_id": key, "new_counted": counted, "new_in_share": in_share}
                        for key, (counted, in_share) in counts.items()
                    ],
                )
            rebuild_progress(session, campaign_id)
            self._commit(session)


def _progress_totals(campaign_id: str, unit_id: int | None = None) -> Select[Any]:
    """Progress per (unit, task) worked out from the submissions themselves: a campaign's, or one
    unit's in it (a unit of the roster may be picked by several campaigns). One unit's are found by the
    unit's index: the campaign is compared as ``campaign_id || ''``, which no index serves, or SQLite
    walks the campaign's index instead."""
    submissions = table_of(Submission).c
    which = (
        submissions.campaign_id == campaign_id
        if unit_id is None
        else (submissions.unit_id == unit_id) & (submissions.campaign_id.concat("") == campaign_id)
    )
    return (
        sql_select(
            submissions.campaign_id,
            submissions.unit_id,
            submissions.task_id,
            func.count(),
            func.coalesce(func.sum(submissions.counted), 0),
            func.count().filter(submissions.status == "returned"),
            func.count().filter(submissions.status == "accepted"),
            func.count().filter(submissions.in_share.is_(True)),
        )
        .where(which)
        .group_by(submissions.campaign_id, submissions.unit_id, submissions.task_id)
    )


_PROGRESS_COLUMNS = ("campaign_id", "unit_id", "task_id", "records", "counted", "returned", "accepted")


#: session.info key: the (unit, task, campaign) whose progress rows a unit of work has made stale.
_STALE_PROGRESS = "stale_progress"


def refresh_progress(session: Session, campaign_id: str, unit_id: int, task_id: str) -> None:
    """Bring one unit's progress row for one task up to date, in the caller's transaction: now, or —
    inside a unit of work — just before it commits, with every other unit it touched, in unit order.

    Many messages share one transaction (group commit); locking units in the order messages come
    would let two workers' groups deadlock (one submits for A then B, the other for B then A).
    Reads of one unit's progress count its submissions directly, so they are exact meanwhile.
    """
    stale = session.info.get(_STALE_PROGRESS)
    if stale is not None:
        stale.add((unit_id, task_id, campaign_id))
        return
    _recompute_progress(session, campaign_id, unit_id, task_id)


def defer_progress(session: Session) -> None:
    """Make ``refresh_progress`` in this session (a unit of work's) note the rows it would recompute,
    for ``refresh_deferred_progress`` to recompute just before the session commits."""
    session.info[_STALE_PROGRESS] = set()


def refresh_deferred_progress(session: Session) -> None:
    """Recompute the rows noted since ``defer_progress``, in unit order (see ``refresh_progress``)."""
    stale = session.info.get(_STALE_PROGRESS) or set()
    for unit_id, task_id, campaign_id in sorted(stale):
        _recompute_progress(session, campaign_id, unit_id, task_id)
    stale.clear()


def _recompute_progress(session: Session, campaign_id: str, unit_id: int, task_id: str) -> None:
    """Recompute one unit's row for one task from its submissions.

    The unit's row is locked first (PostgreSQL; SQLite writes one at a time anyway): two workers
    submitting for one unit at once then recompute one after the other, the second seeing the first's
    submission, instead of both deleting and inserting the same row. The lock is FOR NO KEY UPDATE
    (``key_share=True``): the submission's foreign key already holds KEY SHARE on the unit, which
    FOR UPDATE would wait on — two such transactions deadlocked.
    """
    session.execute(
        sql_select(table_of(Unit).c.id).where(table_of(Unit).c.id == unit_id).with_for_update(key_share=True)
    )
    session.execute(
        delete(UnitProgress).where(
            col(UnitProgress.campaign_id) == campaign_id,
            col(UnitProgress.unit_id) == unit_id,
            col(UnitProgress.task_id) == task_id,
        )
    )
    totals = _progress_totals(campaign_id, unit_id).where(table_of(Submission).c.task_id == task_id)
    session.execute(sql_insert(UnitProgress).from_select([*_PROGRESS_COLUMNS, "in_share"], totals))


def rebuild_progress(session: Session | Connection, campaign_id: str) -> None:
    """Recompute every progress row of a campaign (after a backfill or a purge)."""
    session.execute(delete(UnitProgress).where(col(UnitProgress.campaign_id) == campaign_id))
    session.execute(
        sql_insert(UnitProgress).from_select([*_PROGRESS_COLUMNS, "in_share"], _progress_totals(campaign_id))
    )
