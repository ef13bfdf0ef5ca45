"""Commands: those that work anywhere (开始, 新建, 草稿, 已交, 修改N号, 查看N号, 进度, 帮助) and
those of a draft (帮助, 查看, 修改, 放弃, 上一步, 跳过)."""

from __future__ import annotations

from dataclasses import replace

from dialogs.commands import COMMAND_HELP, SUPERVISOR_ONLY, Command
from dialogs.draft_position import answers_for, current_field, group_of, store_answer
from dialogs.handlers.asking import ask, help_in_draft
from dialogs.handlers.drafts import reopen
from dialogs.handlers.field import after_answer
from dialogs.handlers.home import holds_list, offer_drafts, offer_new, offer_submissions, show_own
from dialogs.supervision import status_report
from dialogs.turn import Turn
from state_machines.cursor import Cursor
from state_machines.form_machine import CONFIRM_CANCEL, EDIT_PICK, REVIEW, field_state, menu_state

#: Opened again with a list still to pick from (the page reloaded after 草稿 or 已交): it stays.
HELD_MENU = "上一条消息的按钮仍可点选；发送“新建”可开始填写新表。"


def global_command(turn: Turn, command: Command) -> bool:
    """Handle commands that do not depend on the draft's state; False when the draft should."""
    match command.name:
        case "start":
            if turn.draft is not None:
                turn.say(f"欢迎回来，{turn.unit.name}。继续填写《{turn.form.short_title}》：")
                ask(turn)
            elif holds_list(turn.contact):  # the 草稿 or 已交 list last shown still answers
                turn.say(f"欢迎回来，{turn.unit.name}。{HELD_MENU}")
            else:
                numbers = [n.campaign.notice for n in turn.notices] or [turn.campaign.notice]
                asked_by = "、".join(f"《{number}》" for number in numbers)
                turn.say(f"您好，{turn.unit.name}的联系人！这里可以填写并报送{asked_by}要求的各类表格。")
                offer_new(turn)
            return True
        case "new":
            offer_new(turn)
            return True
        case "drafts":
            offer_drafts(turn)
            return True
        case "submissions":
            offer_submissions(turn)
            return True
        case "reopen":
            reopen(turn, command.argument)
            return True
        case "show":
            show_own(turn, command.argument)
            if turn.draft is not None:
                ask(turn)
            return True
        case "status":  # a unit in several notices: each notice's report (its heading names it)
            for notice in turn.notices if turn.several else [turn.notice(turn.campaign.id)]:
                assert notice is not None
                report = status_report(turn.store, notice.campaign, notice.forms, turn.now, turn.unit.code)
                turn.say(report.text())
            if turn.draft is not None:
                ask(turn)
            return True
        case "help" if turn.draft is None:
            turn.say(_general_help(turn))
            return True
        case name if name in SUPERVISOR_ONLY:
            turn.say(f"这个命令只有{turn.campaign.contact.department}可以使用。")
            if turn.draft is not None:
                ask(turn)
            return True
        case _ if turn.draft is None:
            turn.say("您现在没有正在填写的表。发送“新建”开始填写，或发送“草稿”继续未填完的表。")
            return True
    return False


def draft_command(turn: Turn, command: Command) -> None:
    """A command inside a draft, wherever in it the draft stands."""
    match command.name:
        case "help":
            help_in_draft(turn)
        case "review":
            to_review(turn)
        case "edit":
            if turn.open_draft.state != REVIEW:
                to_review(turn, quiet=True)
            turn.move("edit", replace(turn.cursor, edit_row=None).at(EDIT_PICK))
            ask(turn)
        case "cancel":
            cursor = turn.cursor
            turn.move("cancel", replace(cursor, before_cancel=cursor.state).at(CONFIRM_CANCEL))
            ask(turn)
        case "back":
            _back(turn)
        case "skip":
            _skip(turn)


def to_review(turn: Turn, *, quiet: bool = False) -> None:
    """查看: the review of everything filled (remembering the field it was asked from)."""
    cursor = replace(turn.cursor, returns_to=None)
    if cursor.kind != "review":
        if cursor.state in turn.machine.input_states:
            cursor = replace(cursor, before_review=cursor.state)
        turn.move("to_review", cursor.at(REVIEW))
    if not quiet:
        ask(turn)


def _general_help(turn: Turn) -> str:
    lines = ["可以直接发送以下词语："]
    lines += [f"{name}：{purpose}" for name, purpose in COMMAND_HELP]
    lines.append(f"其他问题请联系{turn.contact_line}。")
    return "\n".join(lines).replace("30天", f"{turn.campaign.cancelled_draft_days}天")


def _back(turn: Turn) -> None:
    """上一步: the previous field; from a row's first field, the group's list or the step before it."""
    draft = turn.open_draft
    machine = turn.machine
    cursor = replace(turn.cursor, returns_to=None)
    targets = [e.dest for e in machine.edges if e.trigger == "back" and e.source == cursor.state]
    target: str | None = targets[0] if targets else None
    if cursor.kind == "review":
        target = cursor.before_review or machine.input_states[-1]
        cursor = replace(cursor, before_review=None)
    elif cursor.kind == "field" and cursor.group_key is not None:
        group = group_of(turn.form, draft)
        if cursor.state == field_state(group.fields[0], group):
            rows = [row for row in draft.answers.get(group.key, []) if row]  # drop the row just begun
            draft.answers = {**draft.answers, group.key: rows}
            before = (t for t in targets if Cursor(t).kind != "group_menu")
            target = menu_state(group) if rows else next(before, None)
    if target is None:
        turn.say("已经是第一项了。")
        ask(turn)
        return
    landing = cursor.at(target)
    if cursor.kind == "group_menu" or landing.kind == "group_menu":  # the last row of the group
        group = turn.form.group(str(landing.group_key))
        landing = landing.at(target, max(len(draft.answers.get(group.key, [])) - 1, 0))
    turn.move("back", landing)
    ask(turn)


def _skip(turn: Turn) -> None:
    """跳过: an optional field left empty (or a filled one kept as it is)."""
    draft = turn.open_draft
    if turn.cursor.kind != "field":
        turn.say("这里没有可以跳过的项，请点选下面的选项。")
        ask(turn)
        return
    group, field_decl = current_field(turn.form, draft)
    answers = answers_for(draft, group)
    if field_decl.key in answers:
        after_answer(turn, "advance", f"已保留原来的{field_decl.label}。")
        return
    if field_decl.required:
        turn.say(f"“{field_decl.label}”是必填项，不能跳过。")
        ask(turn)
        return
    store_answer(draft, group, field_decl.key, None)
    after_answer(turn, "skip", f"已跳过{field_decl.label}。")
