"""The review (查看): everything filled, then 确认提交 — every answer checked again against the others,
the task's quota and deadline, and the submission stored with its version and Word file."""

from __future__ import annotations

from dataclasses import replace

from dialogs.commands import Command, pick_action
from dialogs.exchange import DocumentRef, IncomingFile, Reply
from dialogs.handlers.asking import ask, review_prompt
from dialogs.handlers.commands import draft_command
from dialogs.handlers.field import validate_text
from dialogs.handlers.home import progress, refused_late
from dialogs.lateness import is_past, refusal
from dialogs.navigation import first_gap
from dialogs.notices import NoticeButton, notice_payload
from dialogs.sent_files import unused_file
from dialogs.supervision import quota_count
from dialogs.turn import Turn
from dialogs.validators import Rejected
from state_machines.form_machine import SUBMITTED, field_state


def review_choice(turn: Turn, text: str, file: IncomingFile | None) -> None:
    """A message at the review: 确认提交, 继续填写, 修改, 放弃 — or an answer to the first missing item."""
    draft = turn.open_draft
    options = review_prompt(turn)[1]
    choice = None
    if file is None:
        entries = [("确认提交", "submit"), ("继续填写", "resume"), ("修改", "edit"), ("放弃", "cancel")]
        choice = pick_action(text, entries, numbered=options)
    gap = first_gap(turn.form, draft.answers)
    if choice is None and gap is not None and (file is not None or text.strip()):
        from dialogs.router import in_draft  # the router imports this module: imported when needed

        turn.go("resume", gap)  # an answer at the review: the first missing item's, kept
        in_draft(turn, None, text, file)
        return
    if choice is None and file is not None:
        turn.say(unused_file(turn.form, draft.answers, file))
        ask(turn)
        return
    if choice == "submit":
        _submit(turn)
    elif choice == "resume":
        gap = first_gap(turn.form, draft.answers)
        if gap is not None:
            turn.go("resume", gap)
        ask(turn)
    elif choice in ("edit", "cancel"):
        draft_command(turn, Command(choice))
    else:
        named = "或".join(f"“{option}”" for option in options)
        turn.say(f"请点选{named}，也可以发送选项前的数字。")
        ask(turn)


def _submit(turn: Turn) -> None:
    draft = turn.open_draft
    form = turn.form
    gap = first_gap(form, draft.answers)
    if gap is not None:
        turn.say("还有未填的项，不能提交。")
        turn.go("resume", gap)
        ask(turn)
        return
    problem = _final_check(turn)
    if problem is not None:
        target, message = problem
        turn.move("resume", replace(turn.cursor, returns_to="review").at(target))
        ask(turn, prefix=message)
        return
    task = turn.campaign.task(draft.task_id)
    records = progress(turn, task).records
    if draft.submission_id is None and task.max_records is not None and records >= task.max_records:
        turn.say(
            f"贵单位已提交 {records} 份《{form.short_title}》，已达到通知要求的数量，这份暂不能提交。"
            "如需替换，请发送“已交”修改已提交的表；这份草稿会保留。"
        )
        ask(turn)
        return
    reopened = turn.submission(draft.submission_id) if draft.submission_id else None
    if refused_late(turn, draft):
        turn.say(f"{refusal(turn.campaign, task, form.short_title)}这份表没有提交，草稿会保留。")
        ask(turn)
        return
    turn.move("submit", turn.cursor.at(SUBMITTED))
    late = is_past(turn.campaign, task, turn.now)
    record = {
        "campaign": turn.campaign.id,
        "unit": turn.unit.code,
        "task": task.id,
        "form": form.id,
        "late": late,
    }
    version = turn.submit(
        record,
        counted=quota_count(task, draft.answers),
        in_share=turn.campaign.in_share(task.id, draft.answers),
    )
    if reopened is not None and reopened.status == "returned":
        _tell_supervisors(
            turn,
            f"【退回后重新提交】{turn.unit.name}已修改并重新提交《{form.short_title}》"
            f"#{version.submission_id}（第{version.version}版）。"
            f"发送“查看{version.submission_id}号”审核，再接收或退回。",
            NoticeButton("show", version.submission_id),
        )
    lines = [f"已提交《{form.short_title}》，编号 #{version.submission_id}（第{version.version}版）。"]
    if late:
        deadline = f"{task.deadline.month}月{task.deadline.day}日"
        lines.append(f"注意：已过截止时间（{deadline}），本次提交标记为逾期。")
    lines.append("发送“新建”可继续填写其他表，发送“已交”查看已提交的表。")
    turn.replies.append(Reply("\n".join(lines)))
    if version.document_path is not None:
        caption = f"《{form.title}》#{version.submission_id}（第{version.version}版），请打印、盖章后报送。"
        ref = DocumentRef("submission", str(version.submission_id), version.version)
        turn.replies.append(Reply(caption, document=ref))


def _final_check(turn: Turn) -> tuple[str, str] | None:
    """Re-check every answer against all the others (cross-field rules); the first failure."""
    draft = turn.open_draft
    for field_decl in turn.form.top_fields():
        value = draft.answers.get(field_decl.key)
        if value is None or field_decl.kind not in ("text", "choice"):
            continue
        result = validate_text(turn, field_decl, None, str(value))
        if isinstance(result, Rejected):
            return field_state(field_decl), result.message
    return None


def _tell_supervisors(turn: Turn, text: str, *buttons: NoticeButton) -> None:
    """A notice to every 组联部 identity, on its own channel (pushed, or shown on the next look)."""
    turn.tell(turn.store.supervisor_contacts(), notice_payload(text, *buttons))
