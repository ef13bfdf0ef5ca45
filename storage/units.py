"""The units' part of ``Repository``: the city's roster of units (code, name, area, kind) and the units
each campaign picks from it (``CampaignUnit``), written at start-up from the campaigns and read once per
process.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import ColumnElement, delete
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from storage.models import CampaignUnit, Draft, Submission, Unit
from storage.part import RepositoryPart


class UnitStorage(RepositoryPart):
    """The units' side of ``Repository``."""

    _units: dict[int, Unit]  # by id; units change only at start-up (sync_units)
    _units_by_code: dict[tuple[str, str], Unit]  # by (campaign, code): a unit the campaign picks

    def sync_units(self, campaign_id: str, units: Iterable[tuple[str, str, str, str]]) -> None:
        """Insert or update the roster's units (code, name, area, kind) and make them the campaign's pick.

        A unit the campaign no longer lists leaves its pick, unless it has a draft or a submission in
        the campaign (what a campaign holds keeps its unit: its exports and totals name it). It stays
        in the roster and in the other campaigns that pick it, and keeps its contacts.
        """
        self._units.clear()
        self._units_by_code.clear()
        listed = {code: (name, area, kind) for code, name, area, kind in units}
        with self._session() as session:
            roster = {unit.code: unit for unit in session.exec(select(Unit))}
            for code, (name, area, kind) in listed.items():
                unit = roster.get(code) or Unit(code=code, name=name, area=area, kind=kind)
                unit.name, unit.area, unit.kind = name, area, kind
                session.add(unit)
                roster[code] = unit
            session.flush()
            picked = {roster[code].id for code in listed}
            linked = set(
                session.exec(select(CampaignUnit.unit_id).where(CampaignUnit.campaign_id == campaign_id))
            )
            dropped = linked - picked
            if dropped:
                holding = (
                    select(Draft.unit_id)
                    .where(Draft.campaign_id == campaign_id)
                    .union(select(Submission.unit_id).where(Submission.campaign_id == campaign_id))
                )
                dropped -= set(session.execute(holding).scalars())
            if dropped:
                session.execute(
                    delete(CampaignUnit).where(
                        col(CampaignUnit.campaign_id) == campaign_id, col(CampaignUnit.unit_id).in_(dropped)
                    )
                )
            for unit_id in sorted(unit_id for unit_id in picked - linked if unit_id is not None):
                session.add(CampaignUnit(campaign_id=campaign_id, unit_id=unit_id))
            self._commit(session)

    def units(self, campaign_id: str) -> list[Unit]:
        """The units a campaign picks, in roster order."""
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
        """A unit by its code, if the campaign picks it; read once per process (as ``unit``)."""
        unit = self._units_by_code.get((campaign_id, code))
        if unit is None:
            with self._session() as session:
                unit = session.exec(select(Unit).where(Unit.code == code, in_campaign(campaign_id))).first()
            if unit is not None:
                self._units_by_code[(campaign_id, code)] = unit
        return unit


def in_campaign(campaign_id: str) -> ColumnElement[bool]:
    """The condition on ``Unit`` that picks a campaign's units: the one place that says which units a
    campaign has (the roster's units it links to in ``CampaignUnit``)."""
    return col(Unit.id).in_(select(CampaignUnit.unit_id).where(CampaignUnit.campaign_id == campaign_id))


def picked_elsewhere(campaign_id: str) -> SelectOfScalar[int]:
    """The ids of the units another campaign than ``campaign_id`` picks (what a purge of this campaign
    must leave their contacts and invites for)."""
    return select(CampaignUnit.unit_id).where(CampaignUnit.campaign_id != campaign_id)
