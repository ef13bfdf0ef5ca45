"""The units' part of ``Repository``: a campaign's units (code, name, area, kind), written at start-up
from the campaign and read once per process.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement
from sqlmodel import col, select

from storage.models import Unit
from storage.part import RepositoryPart


class UnitStorage(RepositoryPart):
    """The units' side of ``Repository``."""

    _units: dict[int, Unit]  # by id; units change only at start-up (sync_units)
    _units_by_code: dict[tuple[str, str], Unit]  # by (campaign, code)

    def sync_units(self, campaign_id: str, units: Iterable[tuple[str, str, str, str]]) -> None:
        """Insert or update the campaign's units (code, name, area, kind)."""
        self._units.clear()
        self._units_by_code.clear()
        with self._session() as session:
            existing = {u.code: u for u in session.exec(select(Unit).where(in_campaign(campaign_id)))}
            for code, name, area, kind in units:
                unit = existing.get(code) or Unit(
                    campaign_id=campaign_id, code=code, name=name, area=area, kind=kind
                )
                unit.name, unit.area, unit.kind = name, area, kind
                session.add(unit)
            self._commit(session)

    def units(self, campaign_id: str) -> list[Unit]:
        with self._session() as session:
            return list(session.exec(select(Unit).where(in_campaign(campaign_id)).order_by(col(Unit.id))))

    def unit(self, unit_id: int) -> Unit | None:
        """A unit by id, read once per process: units change only when ``sync_units`` runs at start."""
        unit = self._units.get(unit_id)
        if unit is None:
            with self._session() as session:
                unit = session.get(Unit, unit_id)
            if unit is not None:
                self._units[unit_id] = unit
        return unit

    def unit_by_code(self, campaign_id: str, code: str) -> Unit | None:
        """A unit by its code, read once per process (as ``unit``)."""
        unit = self._units_by_code.get((campaign_id, code))
        if unit is None:
            with self._session() as session:
                unit = session.exec(select(Unit).where(in_campaign(campaign_id), Unit.code == code)).first()
            if unit is not None:
                self._units_by_code[(campaign_id, code)] = unit
        return unit


def in_campaign(campaign_id: str) -> ColumnElement[bool]:
    """The condition on ``Unit`` that picks a campaign's units: the one place that says which units a
    campaign has (each unit row belongs to one campaign today; a roster of units shared by notices
    would make this a notice's pick from the roster)."""
    return col(Unit.campaign_id) == campaign_id
