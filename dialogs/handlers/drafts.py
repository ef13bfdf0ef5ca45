"""Starting a form, going back to a draft (one of 草稿, or an abandoned one restored), and opening a
submitted form again to correct it."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from dialogs.campaign import TaskDecl
from dialogs.draft_position import cursor_of
from dialogs.handlers.asking import ask
from dialogs.handlers.home import draft_label, own_in_notice, progress, set_menu, task_action
from dialogs.lateness import can_change, refusal, refuses
from dialogs.presentation import form_size
from dialogs.submission_view import return_reason, returned_to_correct
from dialogs.turn import Turn, aware
from state_machines.cursor import Cursor
from state_machines.form_machine import REVIEW
from storage.models import Draft

#: The earlier drafts of a form 新建 offers to go on with at most (a unit rarely has more than one).
MAX_EARLIER_DRAFTS = 3


def start_draft(turn: Turn, task: TaskDecl, fresh: bool = False) -> None:
    """A form picked from the home menu: its first question (or the drafts of it to go on with, or
    why none can be started)."""
    form = turn.forms[task.form]
    if refuses(turn.campaign, task, turn.now):
        turn.say(refusal(turn.campaign, task, form.short_title))
        return
    earlier = [] if fresh else _earlier_drafts(turn, task)
    if earlier:
        entries = [(draft_label(turn, draft), f"resume:{draft.id}") for draft in earlier]
        text = f"您已有填了一部分的《{form.short_title}》，可以接着填，也可以重新开始一份："
        set_menu(turn, text, [*entries, ("重新开始", task_action(turn, "fresh", task))])
        return
    records = progress(turn, task).records
    if task.max_records is not None and records >= task.max_records:
        assert turn.unit.id is not None
        to_correct = returned_to_correct(turn.store, turn.campaign, form, turn.unit.id, task.id)
        if to_correct is not None:
            set_menu(turn, *to_correct)
            return
        turn.say(
            f"贵单位已提交 {records} 份《{form.short_title}》，已达到通知要求的数量。"
            "如需修改已提交的表，请发送“已交”选择要修改的一份。"
        )
        return
    kept = turn.draft is not None and not _drop_if_untouched(turn)
    _new_draft(turn, task.id, form.id, turn.machines[form.id].input_states[0])
    if kept:
        turn.say("原来正在填写的表已保存，可随时发送“草稿”继续。")
    turn.say(f"{form.intro}{form_size(form)}，随时可发送“上一步”“查看”“帮助”。")
    ask(turn)


def resume(turn: Turn, draft_id: int) -> None:
    """A draft picked from 草稿: where it was left (an abandoned one restored first)."""
    draft = turn.held_draft(draft_id)
    if draft is None or draft.unit_id != turn.unit.id or draft.status not in ("open", "cancelled"):
        turn.say("这份草稿已不存在或已提交。发送“草稿”查看可继续的表。")
        return
    turn.enter(draft.campaign_id)  # a draft of another of the unit's notices takes the turn there
    if turn.draft is not None and turn.draft.id != draft.id:
        _drop_if_untouched(turn)
    turn.draft = draft
    turn.contact.current_draft_id = draft.id
    turn.contact.menu = []
    _say_return_reason(turn, draft.submission_id)
    if draft.status == "cancelled":
        cursor = cursor_of(draft)
        restored = replace(cursor, before_cancel=None).at(cursor.before_cancel or REVIEW)
        turn.move("restore", restored)
        draft.status, draft.cancelled_at = "open", None
        turn.say("草稿已恢复，之前填写的内容都在。")
    ask(turn)


def reopen(turn: Turn, argument: str) -> None:
    """修改N号: a submission of the unit opened again at its review, to correct and submit anew."""
    found = own_in_notice(turn, argument, "修改第3号")
    if isinstance(found, str):
        turn.say(found)
        return
    submission, notice = found
    turn.enter(notice.id)  # corrected in its own notice
    task = turn.campaign.task(submission.task_id)
    if submission.status == "accepted":
        turn.say(f"这份表已被组联部接收，不能再修改。如确需修改，请联系{turn.contact_line}。")
        return
    if not can_change(turn.campaign, task, submission.status, turn.now):
        turn.say(
            f"#{submission.id}{turn.forms[submission.form_id].short_title}已过截止时间，不能再修改。"
            f"如确需修改，请联系{turn.contact_line}。"
        )
        return
    existing = turn.store.open_draft_for(submission.id or 0)
    if existing is not None:
        resume(turn, existing.id or 0)
        return
    _say_return_reason(turn, submission.id)
    latest = turn.store.versions(submission.id or 0)[-1]
    _drop_if_untouched(turn)
    _new_draft(
        turn,
        submission.task_id,
        submission.form_id,
        REVIEW,
        answers=dict(latest.answers),
        reopens=submission.id,
    )
    version = latest.version
    turn.say(f"已打开 #{submission.id}（第{version}版）进行修改，重新提交后成为第{version + 1}版。")
    ask(turn)


def _earlier_drafts(turn: Turn, task: TaskDecl) -> list[Draft]:
    """This contact's drafts of a task with something in them that 新建 would otherwise start
    beside: open ones (not the one in hand) and abandoned ones still kept — never a correction's.
    Another contact of the unit may be filling one of her own at this very moment (two candidates,
    two 登记表): hers are in 草稿, not offered here."""
    keep_since = turn.now - timedelta(days=turn.campaign.cancelled_draft_days)
    current = turn.draft.id if turn.draft is not None else None
    return [
        draft
        for draft in turn.unit_drafts()
        if draft.task_id == task.id
        and draft.started_by == turn.contact.id
        and draft.answers
        and draft.submission_id is None
        and draft.id != current
        and (draft.cancelled_at is None or aware(draft.cancelled_at) >= keep_since)
    ][:MAX_EARLIER_DRAFTS]


def _drop_if_untouched(turn: Turn) -> bool:
    """Leaving a draft nothing was answered in: it is dropped rather than kept in 草稿 (nothing
    there to continue; the turn stores it so). Whether it was."""
    draft = turn.draft
    if draft is None or draft.answers or draft.submission_id is not None or draft.status != "open":
        return False
    draft.status, draft.cancelled_at = "cancelled", turn.now
    turn.draft = None
    return True


def _new_draft(
    turn: Turn,
    task_id: str,
    form_id: str,
    state: str,
    *,
    answers: dict[str, Any] | None = None,
    reopens: int | None = None,
) -> Draft:
    """A new draft (empty, or correcting a submission), stored as the contact's current one."""
    assert turn.unit.id is not None and turn.contact.id is not None
    draft = Draft(
        campaign_id=turn.campaign.id,
        unit_id=turn.unit.id,
        task_id=task_id,
        form_id=form_id,
        started_by=turn.contact.id,
        state=state,
        answers=answers or {},
        context=Cursor(state).context(),
        submission_id=reopens,
    )
    return turn.start_draft(draft)


def _say_return_reason(turn: Turn, submission_id: int | None) -> None:
    """A returned form opened to correct starts with why 组联部 returned it."""
    submission = turn.submission(submission_id) if submission_id is not None else None
    reason = return_reason(turn.store, submission) if submission is not None else None
    if reason is not None:
        turn.say(f"{turn.campaign.contact.department}退回的原因：{reason}")
