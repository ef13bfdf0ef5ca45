"""A task past its deadline, as a unit's contact is told before she starts: the 新建 menu says 逾期
on the task and what 组联部 has said about late forms (the campaign's ``late_submissions``) — still
taken and marked 逾期, or no longer taken.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from dialogs.campaign import Campaign, TaskDecl


def is_past(campaign: Campaign, task: TaskDecl, now: datetime) -> bool:
    """Whether the task's deadline day has ended."""
    return now > campaign.deadline_end(task)


def can_change(campaign: Campaign, task: TaskDecl, status: str, now: datetime) -> bool:
    """Whether a unit may still change a submission (修改第N号): not once 组联部 accepted it; a returned
    one always; otherwise until its task's deadline day ends."""
    return status != "accepted" and (status == "returned" or not is_past(campaign, task, now))


def refuses(campaign: Campaign, task: TaskDecl, now: datetime) -> bool:
    """Whether a new form of the task is refused now: past its deadline, in a campaign that takes no
    late forms (a form 组联部 returned may still be corrected and sent again)."""
    return campaign.late_submissions == "refused" and is_past(campaign, task, now)


def deadline_label(campaign: Campaign, task: TaskDecl, now: datetime, *, complete: bool) -> str:
    """The deadline on a 新建 entry: “5月25日前”; after it, “逾期，5月25日已截止” while forms are owed,
    “不再接收” added when late forms are refused; “5月25日已截止” once the quota is met."""
    day = f"{task.deadline.month}月{task.deadline.day}日"
    if not is_past(campaign, task, now):
        return f"{day}前"
    if complete:
        return f"{day}已截止"
    return f"逾期，{day}已截止，不再接收" if refuses(campaign, task, now) else f"逾期，{day}已截止"


def late_note(campaign: Campaign, titles: Sequence[str]) -> str:
    """What the 新建 menu says under its entries when some are past their deadline: what 组联部 said."""
    if not titles:
        return ""
    tasks = "".join(f"《{title}》" for title in titles)
    department = campaign.contact.department
    if campaign.late_submissions == "refused":
        return (
            f"{tasks}已过截止时间，{department}不再接收逾期提交。"
            f"如有特殊情况，请联系{campaign.contact.line()}。"
        )
    return f"{tasks}已过截止时间，现在提交会标记为逾期；{department}仍接收逾期提交，由其决定是否采用。"


def refusal(campaign: Campaign, task: TaskDecl, title: str) -> str:
    """The reply to a form of a task that takes no late forms, started or sent after its deadline."""
    day = f"{task.deadline.month}月{task.deadline.day}日"
    return (
        f"《{title}》已于{day}截止，{campaign.contact.department}不再接收逾期提交。"
        f"如有特殊情况，请联系{campaign.contact.line()}。"
    )
