"""How one submission is shown, to 组联部 and to its own unit's contact alike: its line in a list,
what 查看N号 answers (every answer in full with its photos and videos, the decisions on it, its Word
file), and the reason it was returned."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from dialogs.campaign import Campaign
from dialogs.commands import submission_number
from dialogs.declarations import FormDecl
from dialogs.exchange import DocumentRef, Reply
from dialogs.form_records import record_name, stored_media
from dialogs.presentation import review_text, row_title, status_label
from storage.models import MAX_ID, Submission
from storage.repository import Repository

#: How each decision reads in a submission's 处理记录.
ACTION_NAMES = {"accept": "接收", "return": "退回", "select": "推荐上报", "unselect": "取消推荐"}


def submission_line(form: FormDecl, submission: Submission, answers: Mapping[str, object]) -> str:
    """“#1 登记表·韦丽华（第2版，已接收）”: a submission as 已交 and 单位 list it."""
    name, status = record_name(form, answers), status_label(submission.status)
    return f"#{submission.id} {form.short_title}·{name}（第{submission.current_version}版，{status}）"


def submission_replies(
    repository: Repository, campaign: Campaign, forms: dict[str, FormDecl], submission: Submission
) -> list[Reply]:
    """查看N号: the latest version's answers in full, with its photos and videos and the decisions
    taken on it; then its Word file, when it has one."""
    version = repository.versions(submission.id or 0)[-1]
    form = forms[submission.form_id]
    unit = repository.unit(submission.unit_id)
    unit_name = unit.name if unit is not None else ""
    lines = [
        f"{unit_name} {submission_line(form, submission, version.answers)}",
        review_text(form, version.answers, full=True),
    ]
    if chosen := selected_part(repository, campaign, forms, submission, version.answers):
        lines.append(f"已推荐上报：{chosen}")
    history = repository.decisions(submission.id or 0)
    if history:
        lines.append("处理记录：")
        for decision in history:
            when = decision.decided_at.astimezone(campaign.zone)
            reason = f"：{decision.reason}" if decision.reason else ""
            row = f"第{decision.row}节" if decision.row is not None else ""
            action = ACTION_NAMES[decision.action]
            lines.append(f"· {when:%m-%d %H:%M} 第{decision.version}版 {action}{row}{reason}")
    replies = [Reply("\n".join(lines), pictures=stored_media(form, version.answers))]
    word_file = word_file_reply(repository, submission)
    if word_file is not None:
        replies.append(word_file)
    return replies


def selected_rows(repository: Repository, campaign: Campaign, submission_id: int) -> set[int]:
    """The rows of a submission recommended to the region; -1 the whole submission."""
    return {
        selection.row
        for selection, _submission in repository.selections(campaign.id)
        if selection.submission_id == submission_id
    }


def selected_part(
    repository: Repository,
    campaign: Campaign,
    forms: dict[str, FormDecl],
    submission: Submission,
    answers: Mapping[str, object],
) -> str:
    """What of a submission is recommended, for 查看: “全表”, or its courses (“第1节《…》”)."""
    rows = selected_rows(repository, campaign, submission.id or 0)
    task = campaign.task(submission.task_id)
    if -1 in rows or task.counted_group is None:
        return "全表" if rows else ""
    group = forms[task.form].group(task.counted_group)
    given = answers.get(group.key)
    listed = given if isinstance(given, list) else []
    return "、".join(
        row_title(group, listed[row - 1], row - 1) if row <= len(listed) else f"第{row}{group.item[0]}"
        for row in sorted(rows)
    )


def word_file_reply(repository: Repository, submission: Submission) -> Reply | None:
    """The Word file of a submission's latest version, as a message; None when it has none."""
    version = repository.versions(submission.id or 0)[-1]
    if not version.document_path:
        return None
    ref = DocumentRef("submission", str(submission.id), version.version)
    return Reply(f"#{submission.id} 第{version.version}版", document=ref)


def return_reason(repository: Repository, submission: Submission) -> str | None:
    """Why 组联部 returned a submission (its latest 退回), while it stands returned."""
    if submission.status != "returned":
        return None
    returns = [d for d in repository.decisions(submission.id or 0) if d.action == "return"]
    return returns[-1].reason if returns else None


def own_submission(
    repository: Repository, campaign_ids: Collection[str], unit_id: int | None, argument: str, example: str
) -> Submission | str:
    """The submission of a contact's own unit, in one of the notices ``campaign_ids`` (those her turn
    works in), that a command names (“查看1号”), or what to say: no number given (with ``example``),
    or no such submission of the unit — the same words whether the number is another unit's, another
    notice's or no one's, so nothing is given away."""
    number, _rest = submission_number(argument)
    if number is None:
        return f"请写上贵单位已提交的表的编号，例如：{example}。发送“已交”可查看编号。"
    submission = repository.submission(number)
    if submission is None or submission.campaign_id not in campaign_ids or submission.unit_id != unit_id:
        shown = f"#{number}" if number <= MAX_ID else "这个编号"
        return f"贵单位没有{shown}这份提交。发送“已交”可查看贵单位已提交的表和编号。"
    return submission


def returned_to_correct(
    repository: Repository, campaign: Campaign, form: FormDecl, unit_id: int, task_id: str
) -> tuple[str, list[tuple[str, str]]] | None:
    """What 新建 says for a task whose quota is reached while some of it stands returned: each returned
    submission with 组联部's reason, and a 修改第N号 button for it (the correction is what is owed, not
    a new form); None when none of the task's submissions is returned."""
    department = campaign.contact.department
    submissions = repository.submissions(unit_id, task_id, campaign_id=campaign.id)
    returned = [s for s in submissions if s.status == "returned"]
    if not returned:
        return None
    lines = [
        f"贵单位的《{form.short_title}》有{len(returned)}份被{department}退回待修改，"
        "修改后重新提交即可，不必新建："
    ]
    for submission in returned:
        answers = repository.versions(submission.id or 0)[-1].answers
        reason = return_reason(repository, submission)
        lines.append(submission_line(form, submission, answers) + (f"，退回原因：{reason}" if reason else ""))
    lines.append("请点下面的“修改第N号”按钮开始修改。")
    return "\n".join(lines), [(f"修改第{s.id}号", f"reopen:{s.id}") for s in returned]
