"""The campaign: one year's notice as data — units, tasks, quotas, deadlines and the notice's contact.

Loaded and checked once at start-up from a TOML file in ``campaigns/``. A task names the form it
collects; a task's form must exist in the loaded form declarations.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from datetime import date, datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from dialogs.chinese_text import to_halfwidth_digits
from dialogs.declarations import DeclarationError, FormDecl
from dialogs.validators import Rejected, ValidationContext, validate_phone

CAMPAIGNS_DIR = Path(__file__).resolve().parent.parent / "campaigns"
DEFAULT_CAMPAIGN = CAMPAIGNS_DIR / "liuzhou-2021.toml"

UnitKind = Literal["county", "new_area", "city_org"]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class NoticeContact(_Frozen):
    department: str
    people: list[str] = Field(min_length=1)
    phone: str  # as people dial it from anywhere: a mobile, or a landline with its area code
    email: str

    @field_validator("phone")
    @classmethod
    def _dialable(cls, phone: str) -> str:
        """The phone every help message shows, normalised (“0772-2823290”); a landline without its
        area code is refused at load, since a unit outside the city could not call it."""
        checked = validate_phone(phone, {}, ValidationContext("contact.phone", date.today(), 2000))
        if isinstance(checked, Rejected):
            raise ValueError(f"contact.phone {phone!r}: {checked.message}")
        return str(checked.value)

    def line(self) -> str:
        """One line for help messages: who to ask when the bot cannot answer."""
        return (
            f"{self.department}（联系人：{'、'.join(self.people)}，电话：{self.phone}，邮箱：{self.email}）"
        )


class CountTarget(_Frozen):
    """At least ``at_least`` records of one task across the campaign: “全市示范点 3/10 个”."""

    task: str
    at_least: int = Field(ge=0)
    label: str = Field(min_length=1)  # 全市示范点
    unit: str = Field(min_length=1)  # 个


class ShareTarget(_Frozen):
    """At least ``at_least`` of one task's records answer ``field`` with ``value``:
    “候选人 5 名，其中村（社区）执委 3 名，占 60%（要求≥70%）”."""

    task: str
    field: str
    value: str
    at_least: float = Field(ge=0, le=1)
    label: str = Field(min_length=1)  # 候选人
    unit: str = Field(min_length=1)  # 名
    part: str = Field(min_length=1)  # 村（社区）执委

    def holds(self, task_id: str, answers: Mapping[str, Any]) -> bool:
        """Whether a record of ``task_id`` with these answers counts toward the share."""
        return task_id == self.task and answers.get(self.field) == self.value


class CityTargets(_Frozen):
    """What 组联部 watches across the campaign, beside each unit's quotas."""

    counts: list[CountTarget] = Field(default_factory=list)
    share: ShareTarget | None = None


class NudgeSchedule(_Frozen):
    """When reminders go out, in the campaign's time zone."""

    days_before: list[int] = Field(default_factory=lambda: [7, 3, 1, 0])
    days_after: int = Field(default=3, ge=0)
    hour: int = Field(default=9, ge=0, le=23)
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    digest: bool = True

    def is_quiet(self, moment: time) -> bool:
        if self.quiet_start <= self.quiet_end:
            return self.quiet_start <= moment < self.quiet_end
        return moment >= self.quiet_start or moment < self.quiet_end


class UnitDecl(_Frozen):
    code: str = Field(pattern=r"^[a-z][a-z0-9_-]*$")
    name: str
    short_name: str
    area: str
    kind: UnitKind


class TaskDecl(_Frozen):
    """One task of the notice: which units owe which form, how many, by when."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name: str
    form: str
    unit_kinds: list[UnitKind] = Field(min_length=1)
    counts: str = Field(pattern=r"^(records|rows:[a-z][a-z0-9_]*)$")
    quota_min: int = Field(ge=1)
    quota_max: int | None = None
    records_max: int | None = None
    deadline: date
    select_target: int | None = None
    select_deadline: date | None = None

    @model_validator(mode="after")
    def _check(self) -> TaskDecl:
        if self.quota_max is not None and self.quota_max < self.quota_min:
            raise ValueError(f"task {self.id!r}: quota_max < quota_min")
        return self

    @property
    def max_records(self) -> int | None:
        """How many records (submissions) a unit may have for this task, if bounded."""
        if self.counts == "records":
            return self.quota_max
        return self.records_max

    @property
    def counted_group(self) -> str | None:
        return self.counts.removeprefix("rows:") if self.counts.startswith("rows:") else None


class Campaign(_Frozen):
    id: str
    name: str
    notice: str
    issuer: str
    city: str
    year: int
    timezone: str
    cancelled_draft_days: int = Field(ge=1)
    personal_data_kept_until: date
    contact: NoticeContact
    city_targets: CityTargets
    nudges: NudgeSchedule = Field(default_factory=NudgeSchedule)
    #: After a task's deadline: still taken and marked 逾期 (组联部 decides), or no longer taken.
    late_submissions: Literal["accepted", "refused"] = "accepted"
    units: list[UnitDecl] = Field(min_length=1)
    tasks: list[TaskDecl] = Field(min_length=1)

    @model_validator(mode="after")
    def _check(self) -> Campaign:
        ZoneInfo(self.timezone)
        for kind, values in (("unit", [u.code for u in self.units]), ("task", [t.id for t in self.tasks])):
            if len(set(values)) != len(values):
                raise ValueError(f"duplicate {kind} code in campaign {self.id!r}")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def unit(self, code: str) -> UnitDecl:
        for unit in self.units:
            if unit.code == code:
                return unit
        raise KeyError(code)

    def task(self, task_id: str) -> TaskDecl:
        for task in self.tasks:
            if task.id == task_id:
                return task
        raise KeyError(task_id)

    def tasks_for(self, unit_kind: str) -> list[TaskDecl]:
        return [task for task in self.tasks if unit_kind in task.unit_kinds]

    def deadline_end(self, task: TaskDecl) -> datetime:
        """The last moment a task is on time: the end of its deadline day, in the campaign's zone."""
        return datetime.combine(task.deadline, time(23, 59, 59), tzinfo=self.zone)

    def days_left(self, task: TaskDecl, now: datetime) -> int:
        """Whole calendar days from today to the deadline day (0 on the day, negative after it)."""
        return (task.deadline - now.astimezone(self.zone).date()).days

    def in_share(self, task_id: str, answers: Mapping[str, Any]) -> bool:
        """Whether a record counts toward the city's share target (a village-level candidate)."""
        share = self.city_targets.share
        return share is not None and share.holds(task_id, answers)

    def retention_over(self, now: datetime) -> bool:
        """True once ``personal_data_kept_until`` has passed: the privacy notice would promise a
        deletion date in the past, so the campaign may no longer collect (only a trial may run)."""
        return now.astimezone(self.zone).date() > self.personal_data_kept_until

    def find_units(self, query: str) -> list[UnitDecl]:
        """The units someone means by what they typed. Every name the bot shows a unit under counts —
        its name, short name (the 进度 table's rows), area, and code — written with or without spaces,
        in full- or half-width forms, with or without a trailing 妇联. A unit named exactly comes first
        (“鱼峰区” is the unit, though the area of that name may hold more); then an area's units
        (“柳州市”: both city organisations); then the units with the words in one of their names."""
        text = _comparable(query)
        if not text:
            return []
        for wanted in dict.fromkeys((text, text.removesuffix("妇联") or text)):
            named = [u for u in self.units if wanted in _unit_names(u)[:3]]
            if named:
                return named
            in_area = [u for u in self.units if wanted == _unit_names(u)[3]]
            if in_area:
                return in_area
        return [u for u in self.units if any(text in name for name in _unit_names(u))]

    def find_area(self, query: str) -> str | None:
        """The area ``query`` names, written as the bot shows it (spaces and width aside); else None."""
        text = _comparable(query)
        if not text:
            return None
        return next((unit.area for unit in self.units if _unit_names(unit)[3] == text), None)


def _comparable(name: str) -> str:
    """A name as typed and as declared compare alike: no spaces, half-width forms, lower case."""
    return "".join(to_halfwidth_digits(name).split()).lower()


def _unit_names(unit: UnitDecl) -> tuple[str, str, str, str]:
    """The unit's code, name, short name and area, comparable (``_comparable``)."""
    return _names_of(unit.code, unit.name, unit.short_name, unit.area)


@lru_cache(maxsize=32_768)  # a region's thousands of units, looked up on every 单位/提醒/进度
def _names_of(code: str, name: str, short_name: str, area: str) -> tuple[str, str, str, str]:
    return (_comparable(code), _comparable(name), _comparable(short_name), _comparable(area))


def load_campaign(path: Path, forms: dict[str, FormDecl]) -> Campaign:
    """Read a campaign file and check it against the loaded forms."""
    try:
        with path.open("rb") as handle:
            campaign = Campaign.model_validate(tomllib.load(handle))
    except FileNotFoundError as error:
        raise DeclarationError(f"campaign file not found: {path}") from error
    except (tomllib.TOMLDecodeError, ValidationError, ValueError) as error:
        raise DeclarationError(f"{path.name}: {error}") from error
    for task in campaign.tasks:
        form = forms.get(task.form)
        if form is None:
            raise DeclarationError(f"{path.name}: task {task.id!r} names unknown form {task.form!r}")
        group = task.counted_group
        if group is not None and group not in {g.key for g in form.groups()}:
            raise DeclarationError(f"{path.name}: task {task.id!r} counts unknown group {group!r}")
    _check_targets(path, campaign, forms)
    return campaign


def _check_targets(path: Path, campaign: Campaign, forms: dict[str, FormDecl]) -> None:
    """Every city target names a task of the campaign; the share, a choice of that task's form and one
    of its choices."""
    tasks = {task.id: task for task in campaign.tasks}
    targets = campaign.city_targets
    named = [(f"city_targets.counts[{n}]", t.task) for n, t in enumerate(targets.counts)]
    named += [("city_targets.share", targets.share.task)] if targets.share else []
    for key, task_id in named:
        if task_id not in tasks:
            raise DeclarationError(f"{path.name}: {key} names unknown task {task_id!r}")
    share = targets.share
    if share is None:
        return
    form = forms[tasks[share.task].form]
    field = next((f for f in form.top_fields() if f.key == share.field), None)
    if field is None:
        raise DeclarationError(
            f"{path.name}: city_targets.share reads {share.field!r}, no field of {form.id!r}"
        )
    if share.value not in field.choice_buttons:
        raise DeclarationError(
            f"{path.name}: city_targets.share counts {share.value!r}, not a choice of {form.id!r}.{field.key}"
        )
