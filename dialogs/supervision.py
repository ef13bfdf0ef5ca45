"""Who owes what: each unit's progress on each task against the notice's quotas and deadlines.

One place for the quota arithmetic: the dialog's /new menu, /status, /pending and (later) the nudges
all read ``Progress``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from dialogs.campaign import Campaign, TaskDecl, UnitDecl
from dialogs.declarations import FormDecl
from storage.models import Submission, SubmissionVersion
from storage.repository import Repository

VILLAGE_LEVEL = "村（社区）妇联执委"


@dataclass(frozen=True)
class Progress:
    """One unit's standing on one task."""

    unit: UnitDecl
    task: TaskDecl
    records: int  # submissions (candidates, course tables, sites)
    counted: int  # what the quota counts: records, or rows (courses) in them
    returned: int  # returned by 组联部 for correction, not yet resubmitted
    accepted: int

    @property
    def missing(self) -> int:
        return max(self.task.quota_min - self.counted, 0)

    @property
    def complete(self) -> bool:
        return self.missing == 0 and self.returned == 0

    def required(self) -> str:
        """“2” for an exact quota, “≥2” for a minimum."""
        task = self.task
        return f"{task.quota_min}" if task.quota_max == task.quota_min else f"≥{task.quota_min}"


def progress_of(
    campaign: Campaign,
    units: Iterable[UnitDecl],
    submissions: Sequence[tuple[Submission, SubmissionVersion]],
    unit_codes: dict[int, str],
) -> list[Progress]:
    """Progress for every (unit, task) the notice asks of the unit, from the current submissions."""
    by_unit_task: dict[tuple[str, str], list[tuple[Submission, SubmissionVersion]]] = defaultdict(list)
    for submission, version in submissions:
        by_unit_task[(unit_codes[submission.unit_id], submission.task_id)].append((submission, version))
    result = []
    for unit in units:
        for task in campaign.tasks_for(unit.kind):
            rows = by_unit_task[(unit.code, task.id)]
            group = task.counted_group
            counted = sum(len(v.answers.get(group, [])) for _s, v in rows) if group else len(rows)
            result.append(
                Progress(
                    unit=unit,
                    task=task,
                    records=len(rows),
                    counted=counted,
                    returned=sum(s.status == "returned" for s, _v in rows),
                    accepted=sum(s.status == "accepted" for s, _v in rows),
                )
            )
    return result


def campaign_progress(
    repository: Repository,
    campaign: Campaign,
    unit_code: str | None = None,
    submissions: Sequence[tuple[Submission, SubmissionVersion]] | None = None,
) -> list[Progress]:
    """Progress of every unit (or of one), read in one query (or from ``submissions`` already read)."""
    if unit_code is not None:  # one unit: no need to read every unit of a region
        unit = repository.unit_by_code(campaign.id, unit_code)
        assert unit is not None and unit.id is not None
        submissions = repository.current_versions(campaign.id, unit.id)
        return progress_of(campaign, [campaign.unit(unit_code)], submissions, {unit.id: unit_code})
    codes = {unit.id: unit.code for unit in repository.units(campaign.id) if unit.id is not None}
    if submissions is None:
        submissions = repository.current_versions(campaign.id)
    return progress_of(campaign, campaign.units, submissions, codes)


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


def progress_cell(item: Progress, campaign: Campaign, forms: dict[str, FormDecl], now: datetime) -> str:
    """“登记表1/2” with marks: ✓ done, 退回N, 逾期 when short after the deadline."""
    name = forms[item.task.form].short_title.removesuffix("推荐表").removesuffix("申报表")
    cell = f"{name}{item.counted}/{item.required()}"
    if item.returned:
        cell += f"（退回{item.returned}）"
    if item.complete:
        cell += "✓"
    elif campaign.days_left(item.task, now) < 0:
        cell += "逾期"
    return cell


@dataclass(frozen=True)
class CityFigures:
    sites: int
    sites_target: int
    candidates: int
    village_candidates: int
    village_share_target: float

    @property
    def village_share(self) -> float:
        return self.village_candidates / self.candidates if self.candidates else 0.0


def city_figures(
    campaign: Campaign, submissions: Sequence[tuple[Submission, SubmissionVersion]]
) -> CityFigures:
    sites = sum(1 for s, _v in submissions if s.task_id == "sites")
    candidates = [v for s, v in submissions if s.task_id == "cadres"]
    village = sum(1 for v in candidates if v.answers.get("cadre_level") == VILLAGE_LEVEL)
    return CityFigures(
        sites=sites,
        sites_target=campaign.city_targets.sites,
        candidates=len(candidates),
        village_candidates=village,
        village_share_target=campaign.city_targets.village_cadre_share,
    )


def status_report(
    repository: Repository,
    campaign: Campaign,
    forms: dict[str, FormDecl],
    now: datetime,
    unit_code: str | None = None,
) -> str:
    """The /status text: deadlines, one line per unit, then the city's figures (for the whole city)."""
    local = now.astimezone(campaign.zone)
    lines = [f"《{campaign.notice}》报送情况（截至{local.month}月{local.day}日 {local:%H:%M}）"]
    for task in campaign.tasks:
        lines.append(f"· {forms[task.form].short_title}：{deadline_phrase(campaign, task, now)}")
    lines.append("")
    every = repository.current_versions(campaign.id) if unit_code is None else None  # read once, used twice
    grouped = by_unit(campaign_progress(repository, campaign, unit_code, every))
    for unit in campaign.units:
        cells = [progress_cell(p, campaign, forms, now) for p in grouped.get(unit.code, [])]
        if cells:
            lines.append(f"{unit.short_name}  " + "  ".join(cells))
    if every is not None:
        figures = city_figures(campaign, every)
        lines.append("")
        lines.append(f"全市示范点 {figures.sites}/{figures.sites_target} 个")
        share = f"{figures.village_share:.0%}" if figures.candidates else "—"
        lines.append(
            f"候选人 {figures.candidates} 名，其中村（社区）执委 {figures.village_candidates} 名，"
            f"占 {share}（要求≥{figures.village_share_target:.0%}）"
        )
        lines += selection_lines(repository, campaign, forms)
    return "\n".join(lines)


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
    contacts: dict[str, int],
) -> str:
    """The /pending text: only what is outstanding, grouped by unit, with how many contacts it has."""
    lines = ["尚未报齐："]
    short = [p for p in campaign_progress(repository, campaign) if not p.complete]
    grouped = by_unit(short)
    for unit in campaign.units:
        items = grouped.get(unit.code, [])
        if not items:
            continue
        parts = []
        for item in items:
            title = forms[item.task.form].short_title
            noun = (
                forms[item.task.form].group(item.task.counted_group).item if item.task.counted_group else "份"
            )
            part = f"{title}还差{item.missing}{noun}" if item.missing else title
            if item.returned:
                part += f"（{item.returned}份退回待改）"
            parts.append(part + f"，{deadline_phrase(campaign, item.task, now)}")
        reach = f"联系人{contacts.get(unit.code, 0)}名" if contacts.get(unit.code) else "尚无联系人绑定"
        lines.append(f"{unit.name}（{reach}）：" + "；".join(parts))
    if len(lines) == 1:
        return "各单位均已报齐。"
    return "\n".join(lines)
