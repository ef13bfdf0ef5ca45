"""Deadline reminders: to the units still short on a task, at the campaign's slots, each at most once.

A slot is a moment of the schedule (09:00 seven, three and one days before a deadline, on the day,
then daily for a few days after it). At any moment only the latest slot that has come is current:
slots missed while the service was down collapse into that one, and nothing is sent in quiet hours
(the current slot waits for them to end). Each (campaign, unit, task, slot) is recorded, unique by
key, in the same transaction that queues its messages — so a restart, a second process or a clock
change never sends it twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from dialogs.campaign import Campaign, TaskDecl
from dialogs.declarations import FormDecl
from dialogs.notices import NoticeButton, notice_payload
from dialogs.supervision import Progress, campaign_progress, status_report
from storage.repository import NudgeToSend, Repository

#: How long the last slot of a task stays current.
LAST_SLOT_LIFETIME = timedelta(days=1)


@dataclass(frozen=True)
class Slot:
    task: TaskDecl
    at: datetime


def task_slots(campaign: Campaign, task: TaskDecl) -> list[Slot]:
    """Every reminder moment of a task, in order."""
    schedule = campaign.nudges
    days = sorted({-d for d in schedule.days_before} | set(range(1, schedule.days_after + 1)))
    return [
        Slot(
            task,
            datetime.combine(task.deadline + timedelta(days=d), time(schedule.hour), tzinfo=campaign.zone),
        )
        for d in days
    ]


def current_slot(campaign: Campaign, task: TaskDecl, now: datetime) -> Slot | None:
    """The slot to send now, if any: the latest one that has come, unless it is quiet or too late."""
    if campaign.nudges.is_quiet(now.astimezone(campaign.zone).time()):
        return None
    slots = task_slots(campaign, task)
    past = [slot for slot in slots if slot.at <= now]
    if not past:
        return None
    if past[-1] is slots[-1] and now - past[-1].at > LAST_SLOT_LIFETIME:
        return None
    return past[-1]


def nudge_text(campaign: Campaign, form: FormDecl, item: Progress, now: datetime) -> str:
    """What a unit is told: how long is left, what is in, what is missing, and how to start."""
    task = item.task
    days = campaign.days_left(task, now)
    day = f"{task.deadline.month}月{task.deadline.day}日"
    when = (
        f"距《{form.short_title}》截止（{day}）还有{days}天"
        if days > 0
        else f"今天（{day}）是《{form.short_title}》的截止日"
    )
    if days < 0:
        when = f"《{form.short_title}》已于{day}截止"
    noun = form.group(task.counted_group).item if task.counted_group else "份"
    parts = [f"{when}，贵单位已交{item.counted}{noun}"]
    if item.missing and days < 0 and campaign.late_submissions == "refused":
        parts.append(f"还差{item.missing}{noun}，{campaign.contact.department}不再接收逾期提交")
    elif item.missing:
        late = "，现在提交会标记为逾期" if days < 0 else ""
        parts.append(f"还差{item.missing}{noun}{late}，发送“新建”开始填写")
    if item.returned:
        parts.append(f"有{item.returned}份被退回待修改，发送“已交”查看并修改")
    return "【提醒】" + "，".join(parts) + "。"


def send_due_nudges(
    repository: Repository, campaign: Campaign, forms: dict[str, FormDecl], now: datetime
) -> int:
    """Record and queue every reminder that is due now and not yet sent; return how many were queued.

    Called every minute while a slot stays current for days, so the already-recorded keys of the due
    slots are read in one query and only the missing reminders are written, all in one transaction.
    """
    queued = 0
    due = {
        task.id: slot for task in campaign.tasks if (slot := current_slot(campaign, task, now)) is not None
    }
    if due:
        recipients = repository.unit_contacts(campaign.id)
        recorded = repository.nudge_keys(campaign.id, {slot.at for slot in due.values()})
        nudges = []
        for item in campaign_progress(repository, campaign):
            slot = due.get(item.task.id)
            contacts = recipients.get(item.unit.code)
            if slot is None or item.complete or not contacts:
                continue
            key = f"{campaign.id}:{item.unit.code}:{item.task.id}:{slot.at.isoformat()}"
            if key not in recorded:
                nudges.append(_nudge(campaign, forms, item, key, "scheduled", slot.at, contacts, now))
        queued += repository.record_nudges(campaign.id, nudges)
    if campaign.nudges.digest:
        queued += _digest(repository, campaign, forms, now)
    return queued


def send_reminder_now(
    repository: Repository, campaign: Campaign, forms: dict[str, FormDecl], unit_code: str, now: datetime
) -> tuple[int, int]:
    """/remind UNIT: remind a unit of everything it still owes, now; (tasks reminded, contacts)."""
    contacts = repository.unit_contacts(campaign.id).get(unit_code, [])
    if not contacts:
        return 0, 0
    nudges = [
        _nudge(
            campaign,
            forms,
            item,
            f"{campaign.id}:{unit_code}:{item.task.id}:manual:{now.isoformat()}",
            "manual",
            now,
            contacts,
            now,
        )
        for item in campaign_progress(repository, campaign, unit_code)
        if not item.complete
    ]
    return repository.record_nudges(campaign.id, nudges), len(contacts)


def _nudge(
    campaign: Campaign,
    forms: dict[str, FormDecl],
    item: Progress,
    key: str,
    kind: str,
    slot: datetime,
    contacts: list[tuple[str, str]],
    now: datetime,
) -> NudgeToSend:
    text = nudge_text(campaign, forms[item.task.form], item, now)
    buttons = [NoticeButton("new")] if item.missing else []  # what nudge_text suggests
    buttons += [NoticeButton("submissions")] if item.returned else []
    payload = notice_payload(text, *buttons)
    return NudgeToSend(key, item.unit.code, item.task.id, kind, slot, contacts, text, payload)


def _digest(repository: Repository, campaign: Campaign, forms: dict[str, FormDecl], now: datetime) -> int:
    local = now.astimezone(campaign.zone)
    first, last = _campaign_span(campaign)
    at = datetime.combine(local.date(), time(campaign.nudges.hour), tzinfo=campaign.zone)
    if not first <= local.date() <= last or local < at or campaign.nudges.is_quiet(local.time()):
        return 0
    supervisors = repository.supervisor_contacts()
    key = f"{campaign.id}:digest:{local.date()}"
    if not supervisors or key in repository.nudge_keys(campaign.id, [at]):
        return 0
    text = "【每日报送情况】\n" + status_report(repository, campaign, forms, now).text()
    return repository.record_nudges(
        campaign.id, [NudgeToSend(key, None, "", "digest", at, supervisors, text)]
    )


def _campaign_span(campaign: Campaign) -> tuple[date, date]:
    """The days a digest is useful: from the first reminder to the end of the last one."""
    slots = [slot.at.date() for task in campaign.tasks for slot in task_slots(campaign, task)]
    return min(slots), max(slots)
