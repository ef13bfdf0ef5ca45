"""The campaign: one notice as data — units, tasks, quotas, deadlines and the notice's contact.

Loaded and checked once at start-up from a TOML file in ``campaigns/``. A task names the form it
collects; a task's form must exist in the loaded form declarations. What is wrong in a campaign file is
said in Chinese, naming the place in the file (``dialogs.declaration_files``): its author is a clerk.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import date, datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from dialogs.chinese_text import to_halfwidth_digits
from dialogs.declaration_files import read_declaration_file, validation_message
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
            raise ValueError(f"写的是 {phone!r}：{checked.message}")
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
            raise ValueError(f"quota_max（{self.quota_max}）不能小于 quota_min（{self.quota_min}）")
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


#: A notice's own say on its state: ``auto`` (its dates decide: ``dialogs.catalogue.NoticeState``), or
#: ``draft`` (not sent to the units yet) and ``archived`` (put away, whatever its dates).
NoticeStatus = Literal["auto", "draft", "archived"]


class Campaign(_Frozen):
    id: str = Field(min_length=1)
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
    status: NoticeStatus = "auto"
    #: The day the notice goes out to its units; before it, the notice is a draft.
    opens_on: date | None = None

    @model_validator(mode="after")
    def _check(self) -> Campaign:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(
                f'timezone {self.timezone!r} 不是已知的时区：中国大陆请写 "Asia/Shanghai"'
            ) from error
        for kind, values in (
            ("units 的 code", [u.code for u in self.units]),
            ("tasks 的 id", [t.id for t in self.tasks]),
        ):
            repeated = sorted(value for value, times in Counter(values).items() if times > 1)
            if repeated:
                raise ValueError(f"{kind} 有重复：{'、'.join(repeated)}，每个只能出现一次")
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


def load_campaign(path: Path, forms: Mapping[str, FormDecl]) -> Campaign:
    """Read a campaign file and check it against the loaded forms."""
    data = read_declaration_file(path, path.name)
    campaign = campaign_from(data, path.name)
    check_campaign_forms(campaign, forms, path.name)
    return campaign


def campaign_from(data: Mapping[str, Any], shown_as: str) -> Campaign:
    """A campaign from its file's table; what the model refuses, said in Chinese (``shown_as``: the file)."""
    try:
        return Campaign.model_validate(data)
    except ValidationError as error:
        raise DeclarationError(f"{shown_as} 有误：{validation_message(error, data)}") from error


def check_campaign_forms(campaign: Campaign, forms: Mapping[str, FormDecl], shown_as: str) -> None:
    """Every task collects a known form (counting one of its groups, if by rows); every city target
    names a task of the campaign, and the share a choice of that task's form and one of its choices."""
    for number, task in enumerate(campaign.tasks, 1):
        where = f'{shown_as} 第 {number} 个 [[tasks]]（id = "{task.id}"）'
        form = forms.get(task.form)
        if form is None:
            raise DeclarationError(
                f'{where}的 form 写的是 "{task.form}"，没有这个表单（已有：{"、".join(sorted(forms))}）。'
                "请改成已有的表单编号，或先用 intake form import 把它的 Word 表格导入到 forms/ 中。"
            )
        group = task.counted_group
        groups = [g.key for g in form.groups()]
        if group is not None and group not in groups:
            choices = "、".join(f'"rows:{key}"' for key in groups) or "（这个表单没有可按行计数的组）"
            raise DeclarationError(
                f'{where}的 counts 写的是 "{task.counts}"，表单 {form.id} 没有“{group}”这一组。'
                f'请改成 "records"（按份数计）或 {choices}。'
            )
    _check_targets(campaign, forms, shown_as)


def _check_targets(campaign: Campaign, forms: Mapping[str, FormDecl], shown_as: str) -> None:
    tasks = {task.id: task for task in campaign.tasks}
    targets = campaign.city_targets
    named = [(f"第 {n} 个 [[city_targets.counts]]", t.task) for n, t in enumerate(targets.counts, 1)]
    named += [("[city_targets.share]", targets.share.task)] if targets.share else []
    for key, task_id in named:
        if task_id not in tasks:
            raise DeclarationError(
                f'{shown_as} {key} 的 task 写的是 "{task_id}"，本通知没有这个任务。'
                f"请改成 [[tasks]] 中的 id 之一：{'、'.join(tasks)}。"
            )
    share = targets.share
    if share is None:
        return
    form = forms[tasks[share.task].form]
    field = next((f for f in form.top_fields() if f.key == share.field), None)
    if field is None:
        choices = "、".join(f.key for f in form.top_fields() if f.kind == "choice")
        raise DeclarationError(
            f'{shown_as} [city_targets.share] 的 field 写的是 "{share.field}"，表单 {form.id} 没有这一项。'
            f"请改成它的选择题之一：{choices or '（这个表单没有选择题，请删去 [city_targets.share]）'}。"
        )
    if share.value not in field.choice_buttons:
        raise DeclarationError(
            f'{shown_as} [city_targets.share] 的 value 写的是 "{share.value}"，'
            f"不是表单 {form.id} 的 {field.key} 的选项。请改成其中之一：{'、'.join(field.choice_buttons)}。"
        )
