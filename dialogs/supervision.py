"""Who owes what: each unit's progress on each task against the notice's quotas and deadlines.

One place for the quota arithmetic: the dialog's /new menu, /status, /pending and (later) the nudges
all read ``Progress``.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from dialogs.campaign import Campaign, CountTarget, ShareTarget, TaskDecl, UnitDecl
from dialogs.declarations import FormDecl
from dialogs.reports import Cell, PendingReport, PendingRow, StatusReport, StatusRow
from storage.repository import ProgressTotals, Repository


@dataclass(frozen=True, slots=True)
class Progress:
    """One unit's standing on one task."""

    unit: UnitDecl
    task: TaskDecl
    records: int  # submissions (candidates, course tables, sites)
    counted: int  # what the quota counts: records, or rows (courses) in them
    returned: int  # returned by 组联部 for correction, not yet resubmitted
    accepted: int
    in_share: int = 0  # records that count toward the city's share target (village-level candidates)

    @property
    def missing(self) -> int:
        return shortfall(self.task, self.counted)

    @property
    def complete(self) -> bool:
        return is_complete(self.task, self.counted, self.returned > 0)

    def required(self) -> str:
        """“2” for an exact quota, “≥2” for a minimum."""
        task = self.task
        return f"{task.quota_min}" if task.quota_max == task.quota_min else f"≥{task.quota_min}"


def shortfall(task: TaskDecl, counted: int) -> int:
    """How many more the quota needs."""
    return max(task.quota_min - counted, 0)


def is_complete(task: TaskDecl, counted: int, has_returned: bool) -> bool:
    """A unit is done with a task when its quota is met and nothing of it is back for correction."""
    return shortfall(task, counted) == 0 and not has_returned


@dataclass(slots=True)
class AreaProgress:
    """An area's units on one task, summed: how many owe it, how many are done, what is missing."""

    area: str
    task: TaskDecl
    units: int  # units of the area that owe the task
    complete: int = 0
    missing: int = 0  # the quotas' shortfall, summed over the units
    returned: int = 0
    records: int = 0
    in_share: int = 0


def area_progress(repository: Repository, campaign: Campaign) -> list[AreaProgress]:
    """Progress per area and task, from a few hundred grouped rows instead of one per unit and task."""
    owing: dict[tuple[str, str], int] = defaultdict(int)
    for (area, kind), count in Counter((unit.area, unit.kind) for unit in campaign.units).items():
        for task in campaign.tasks_for(kind):
            owing[(area, task.id)] += count
    result: dict[tuple[str, str], AreaProgress] = {}
    for area in areas(campaign):  # every owing unit starts with nothing in
        for task in campaign.tasks:
            if units := owing[(area, task.id)]:
                result[(area, task.id)] = AreaProgress(
                    area,
                    task,
                    units,
                    complete=units * is_complete(task, 0, False),
                    missing=units * shortfall(task, 0),
                )
    for row in repository.progress_by_area(campaign.id):  # then the units with something in move up
        item = result.get((row.area, row.task_id))
        if item is None:  # a unit no longer asked for this task (the campaign file changed)
            continue
        task = item.task
        item.complete += row.units * (
            is_complete(task, row.counted, row.has_returned) - is_complete(task, 0, False)
        )
        item.missing += row.units * (shortfall(task, row.counted) - shortfall(task, 0))
        item.returned += row.returned
        item.records += row.records
        item.in_share += row.in_share
    return list(result.values())


def quota_count(task: TaskDecl, answers: dict[str, Any]) -> int:
    """What one submission adds to its task's quota: 1, or the rows of the counted group (courses)."""
    group = task.counted_group
    return len(answers.get(group) or []) if group else 1


def campaign_progress(
    repository: Repository, campaign: Campaign, unit_code: str | None = None, area: str | None = None
) -> list[Progress]:
    """Progress for every (unit, task) the notice asks of the units (or of one unit, or of one area's),
    from the stored totals."""
    if unit_code is not None:  # one unit: one indexed read, not every unit of a region
        unit = repository.unit_by_code(campaign.id, unit_code)
        assert unit is not None and unit.id is not None
        units, totals = [campaign.unit(unit_code)], repository.progress(campaign.id, unit.id)
    elif area is not None:
        units = [unit for unit in campaign.units if unit.area == area]
        totals = repository.progress(campaign.id, area=area)
    else:
        units, totals = campaign.units, repository.progress(campaign.id)
    tasks = {kind: campaign.tasks_for(kind) for kind in {unit.kind for unit in units}}
    return [
        Progress(unit, task, *totals.get((unit.code, task.id), _NOTHING))
        for unit in units
        for task in tasks[unit.kind]
    ]


_NOTHING = ProgressTotals(0, 0, 0, 0, 0)


def backfill_progress(repository: Repository, campaign: Campaign) -> int:
    """Work out what older submissions count (stored before progress was kept); return how many."""
    uncounted = repository.uncounted_submissions(campaign.id)
    if uncounted:
        repository.set_counts(
            campaign.id,
            {
                key: (quota_count(campaign.task(task_id), answers), campaign.in_share(task_id, answers))
                for key, task_id, answers in uncounted
            },
        )
    return len(uncounted)


def by_unit(progress: Iterable[Progress]) -> dict[str, list[Progress]]:
    """Progress grouped by unit code (in one pass, not one scan per unit)."""
    grouped: dict[str, list[Progress]] = defaultdict(list)
    for item in progress:
        grouped[item.unit.code].append(item)
    return grouped


def deadline_phrase(campaign: Campaign, task: TaskDecl, now: datetime) -> str:
    days = campaign.days_left(task, now)
    day = f"{task.deadline.month}月{task.deadline.day}日"
    if days > 0:
        return f"{day}截止，还有{days}天"
    if days == 0:
        return f"今天（{day}）截止"
    return f"已于{day}截止"


def progress_cell(item: Progress, campaign: Campaign, forms: dict[str, FormDecl], now: datetime) -> Cell:
    """A unit's task on /status: “登记表1/2” marked done, returned or late."""
    return Cell(
        _short_name(forms, item.task),
        item.counted,
        item.required(),
        item.returned,
        done=item.complete,
        late=campaign.days_left(item.task, now) < 0,
    )


@dataclass(frozen=True)
class CountFigure:
    """A count target and where the campaign stands on it."""

    target: CountTarget
    records: int


@dataclass(frozen=True)
class ShareFigure:
    """The share target and where the campaign stands on it."""

    target: ShareTarget
    records: int
    in_share: int

    @property
    def share(self) -> float:
        return self.in_share / self.records if self.records else 0.0


@dataclass(frozen=True)
class CityFigures:
    counts: list[CountFigure]
    share: ShareFigure | None


def city_figures(campaign: Campaign, progress: Iterable[Progress | AreaProgress]) -> CityFigures:
    """The campaign's city targets, each counted over the task it names."""
    records: dict[str, int] = defaultdict(int)
    in_share: dict[str, int] = defaultdict(int)
    for item in progress:
        records[item.task.id] += item.records
        in_share[item.task.id] += item.in_share
    targets = campaign.city_targets
    share = targets.share
    return CityFigures(
        counts=[CountFigure(target, records[target.task]) for target in targets.counts],
        share=ShareFigure(share, records[share.task], in_share[share.task]) if share else None,
    )


def city_lines(figures: CityFigures) -> list[str]:
    """“全市示范点 3/10 个”, “候选人 5 名，其中村（社区）执委 3 名，占 60%（要求≥70%）”."""
    lines = [f"{c.target.label} {c.records}/{c.target.at_least} {c.target.unit}" for c in figures.counts]
    if figures.share is not None:
        share, target = figures.share, figures.share.target
        percent = f"{share.share:.0%}" if share.records else "—"
        whole, part = f"{share.records} {target.unit}", f"{share.in_share} {target.unit}"
        lines.append(
            f"{target.label} {whole}，其中{target.part} {part}，占 {percent}（要求≥{target.at_least:.0%}）"
        )
    return lines


#: Above this many units (a region's villages, not a city's 14), /status and /pending answer with a
#: line per area and take an area to list its units: 16,000 unit lines would be 140 Telegram messages.
UNIT_LINES_MAX = 100


def areas(campaign: Campaign) -> list[str]:
    """The campaign's areas, in the order of its units."""
    return list(dict.fromkeys(unit.area for unit in campaign.units))


def by_area(campaign: Campaign) -> bool:
    """Whether the whole campaign is too many units to list one per line."""
    return len(campaign.units) > UNIT_LINES_MAX


def status_report(
    repository: Repository,
    campaign: Campaign,
    forms: dict[str, FormDecl],
    now: datetime,
    unit_code: str | None = None,
    area: str | None = None,
) -> StatusReport:
    """/status: deadlines, a row per unit (or per area), then the city's figures.

    ``unit_code`` narrows it to one unit, ``area`` to the units of one area (neither: the whole city).
    """
    local = now.astimezone(campaign.zone)
    heading = f"《{campaign.notice}》报送情况（截至{local.month}月{local.day}日 {local:%H:%M}）"
    deadlines = tuple(
        f"{forms[task.form].short_title}：{deadline_phrase(campaign, task, now)}" for task in campaign.tasks
    )
    whole = unit_code is None and area is None
    totals: Sequence[Progress | AreaProgress]
    hint = ""
    if whole and by_area(campaign):
        totals = area_progress(repository, campaign)
        rows = _area_status_rows(campaign, forms, now, totals)
        hint = f"各单位明细：发送“进度 区域名”（如“进度 {areas(campaign)[0]}”）；全部数据：发送“导出”"
    else:
        totals = campaign_progress(repository, campaign, unit_code, area)
        grouped = by_unit(totals)
        rows = [
            StatusRow(unit.short_name, cells)
            for unit in campaign.units
            if (cells := tuple(progress_cell(p, campaign, forms, now) for p in grouped.get(unit.code, [])))
        ]
    figures: list[str] = []
    if whole:
        figures = [*city_lines(city_figures(campaign, totals)), *selection_lines(repository, campaign, forms)]
    return StatusReport(heading, deadlines, tuple(rows), hint, tuple(figures))


def _area_status_rows(
    campaign: Campaign, forms: dict[str, FormDecl], now: datetime, totals: Iterable[AreaProgress]
) -> list[StatusRow]:
    """“城中区（120个单位）  登记表齐80/120（退回3）  …”: per area and task, the units done of those owing."""
    units = Counter(unit.area for unit in campaign.units)
    cells: dict[str, list[Cell]] = defaultdict(list)
    for item in totals:
        cells[item.area].append(
            Cell(
                f"{_short_name(forms, item.task)}齐",
                item.complete,
                str(item.units),
                item.returned,
                done=item.complete == item.units,
                late=campaign.days_left(item.task, now) < 0,
            )
        )
    return [StatusRow(f"{area}（{units[area]}个单位）", tuple(cells[area]), area) for area in areas(campaign)]


def selection_lines(repository: Repository, campaign: Campaign, forms: dict[str, FormDecl]) -> list[str]:
    """The city's recommendations to the region so far, against the notice's numbers and dates."""
    chosen: dict[str, int] = defaultdict(int)
    for _selection, submission in repository.selections(campaign.id):
        chosen[submission.task_id] += 1
    lines = []
    for task in campaign.tasks:
        if task.select_deadline is None:
            continue
        target = f"/{task.select_target}" if task.select_target else ""
        day = f"{task.select_deadline.month}月{task.select_deadline.day}日前"
        lines.append(f"推荐上报《{forms[task.form].short_title}》{chosen[task.id]}{target}（{day}）")
    return lines


def pending_report(
    repository: Repository,
    campaign: Campaign,
    forms: dict[str, FormDecl],
    now: datetime,
    area: str | None = None,
    unit_code: str | None = None,
) -> PendingReport:
    """/pending: only what is outstanding, by unit with how many contacts it has (or by area).

    ``unit_code`` narrows it to one unit, ``area`` to the units of one area (neither: the whole city).
    """
    if area is None and unit_code is None and by_area(campaign):
        rows = _area_pending_rows(campaign, forms, now, area_progress(repository, campaign))
        hint = f"各单位明细：发送“未交 区域名”（如“未交 {areas(campaign)[0]}”）"
        return PendingReport(tuple(rows), by_area=True, hint=hint)
    progress = campaign_progress(repository, campaign, unit_code, area)
    short = [p for p in progress if not p.complete]
    contacts = repository.contacts_per_unit(campaign.id) if short else {}
    grouped = by_unit(short)
    pending = []
    for unit in campaign.units:
        items = grouped.get(unit.code, [])
        if not items:
            continue
        owed = []
        for item in items:
            title = forms[item.task.form].short_title
            part = f"{title}还差{item.missing}{_noun(forms, item.task)}" if item.missing else title
            if item.returned:
                part += f"（{item.returned}份退回待改）"
            owed.append(part + f"，{deadline_phrase(campaign, item.task, now)}")
        reach = f"联系人{contacts[unit.code]}名" if contacts.get(unit.code) else "尚无联系人绑定"
        pending.append(PendingRow(unit.name, reach, tuple(owed)))
    scope = campaign.unit(unit_code).name if unit_code is not None else area or "各单位"
    return PendingReport(tuple(pending), scope=scope)


def _area_pending_rows(
    campaign: Campaign, forms: dict[str, FormDecl], now: datetime, totals: Iterable[AreaProgress]
) -> list[PendingRow]:
    """“城中区：登记表40个单位未报齐（还差52份，退回3份），5月25日截止，还有7天；…”."""
    owed: dict[str, list[str]] = defaultdict(list)
    for item in totals:
        short = item.units - item.complete
        if not short:
            continue
        detail = [f"还差{item.missing}{_noun(forms, item.task)}"] if item.missing else []
        detail += [f"退回{item.returned}份"] if item.returned else []
        title = f"{forms[item.task.form].short_title}{short}个单位未报齐（{'，'.join(detail)}）"
        owed[item.area].append(f"{title}，{deadline_phrase(campaign, item.task, now)}")
    return [PendingRow(area, "", tuple(owed[area])) for area in areas(campaign) if owed[area]]


def _short_name(forms: dict[str, FormDecl], task: TaskDecl) -> str:
    """“登记表”, “课程”, “示范点”: a form's name short enough for a phone-width line."""
    return forms[task.form].short_title.removesuffix("推荐表").removesuffix("申报表")


def _noun(forms: dict[str, FormDecl], task: TaskDecl) -> str:
    """What a task's quota counts: “份”, or the counted rows' noun (“节”)."""
    return forms[task.form].group(task.counted_group).item if task.counted_group else "份"
