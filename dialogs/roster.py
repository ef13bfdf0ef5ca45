"""The city's roster of units, kept apart from the notices, and how a notice picks its units from it.

The roster is one file beside the notices (``roster.toml`` in the campaigns folder) listing every unit
once — code, name, short name, area, kind — in the ``[[units]]`` tables a campaign file has today. A
notice then either lists its units inline (as every campaign file does today) or picks them:

    units = "all"                              # every unit of the roster
    units = { kinds = ["county", "new_area"] } # the units of these kinds
    units = { codes = ["yufeng", "liunan"] }   # these units (kinds and codes together: either)

The pick is resolved into the inline list before the campaign is checked, so the engine sees one kind
of notice whichever way its units were written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from dialogs.campaign import UnitDecl, UnitKind
from dialogs.declaration_files import validation_message
from dialogs.declarations import DeclarationError

__all__ = ["ROSTER_FILE", "Roster", "UnitSelection", "roster_from", "select_units"]

ROSTER_FILE = "roster.toml"


class Roster(BaseModel):
    """Every unit of the city, once."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    units: list[UnitDecl] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> Roster:
        codes = [unit.code for unit in self.units]
        repeated = sorted(code for code, times in Counter(codes).items() if times > 1)
        if repeated:
            raise ValueError(f"units 的 code 有重复：{'、'.join(repeated)}，每个单位只能写一次")
        return self


class UnitSelection(BaseModel):
    """A notice's pick of the roster's units: by kind, by code, or both (a unit either names)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kinds: list[UnitKind] = Field(default_factory=list)
    codes: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _check(self) -> UnitSelection:
        if not self.kinds and not self.codes:
            raise ValueError('请写上 kinds（单位类别）或 codes（单位代码），或写 units = "all"')
        return self


class _Pick(BaseModel):
    """A notice's ``units`` alone: its errors located as in the notice's file (``[units] 的 kinds``)."""

    units: UnitSelection


def roster_from(data: Mapping[str, Any], shown_as: str) -> Roster:
    """The roster from its file's table; what is wrong in it, said in Chinese."""
    try:
        return Roster.model_validate(data)
    except ValidationError as error:
        raise DeclarationError(f"{shown_as} 有误：{validation_message(error, data)}") from error


def select_units(data: Mapping[str, Any], roster: Roster | None, shown_as: str) -> dict[str, Any]:
    """A notice's table with its ``units`` as inline ``[[units]]`` tables: unchanged when it lists them,
    else its pick (``"all"`` or a ``UnitSelection``) resolved against the roster."""
    picked = data.get("units")
    if picked is None or isinstance(picked, list):
        return dict(data)
    if roster is None:
        raise DeclarationError(
            f"{shown_as} 的 units 要从名册中选单位，但通知目录里没有名册 {ROSTER_FILE}："
            "请在目录中放一份名册（[[units]] 列出全市单位），或在通知里直接列出 [[units]]。"
        )
    if picked == "all":
        chosen = list(roster.units)
    elif isinstance(picked, Mapping):
        try:
            selection = _Pick.model_validate({"units": picked}).units
        except ValidationError as error:
            message = validation_message(error, {"units": picked})
            raise DeclarationError(f"{shown_as} 有误：{message}") from error
        chosen = _picked(selection, roster, shown_as)
    else:
        raise DeclarationError(
            f'{shown_as} 的 units 写的是 {picked!r}：请写 "all"（名册中全部单位）、'
            '{ kinds = ["county"] }（某几类单位）、{ codes = ["yufeng"] }（某几个单位），'
            "或直接列出 [[units]]。"
        )
    return {**data, "units": [unit.model_dump() for unit in chosen]}


def _picked(selection: UnitSelection, roster: Roster, shown_as: str) -> list[UnitDecl]:
    known = {unit.code for unit in roster.units}
    unknown = [code for code in selection.codes if code not in known]
    if unknown:
        raise DeclarationError(
            f"{shown_as} 的 units.codes 中 {'、'.join(unknown)} 不在名册 {ROSTER_FILE} 里："
            "请改成名册中的单位代码，或先把这个单位加进名册。"
        )
    chosen = [u for u in roster.units if u.kind in selection.kinds or u.code in selection.codes]
    if not chosen:
        kinds = "、".join(selection.kinds)
        raise DeclarationError(
            f"{shown_as} 的 units 选不出任何单位：名册里没有 {kinds} 类的单位。请改正 kinds，或改用 codes。"
        )
    return chosen
