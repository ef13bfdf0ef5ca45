"""Saying what a draft's position asks: a field's question, a group's list, the review, the edit list
or the cancel confirmation, with the options each offers (a handler ends with ``ask``)."""

from __future__ import annotations

from dataclasses import replace
from typing import Literal

from dialogs.chinese_text import word_count
from dialogs.declarations import FieldDecl, GroupDecl
from dialogs.draft_position import answers_for, current_field, cursor_of, draft_token, group_of, photo_field
from dialogs.exchange import DocumentRef
from dialogs.form_records import stored_media
from dialogs.navigation import first_gap
from dialogs.presentation import display_value, field_line, long_answer, review_text, row_title, step_counter
from dialogs.turn import Turn
from state_machines.form_machine import field_state, menu_state
from storage.models import Draft


def ask(turn: Turn, prefix: str = "") -> None:
    """Say what the draft's current state asks for, with its options."""
    draft = turn.open_draft
    turn.contact.menu = []  # a menu is answerable only right after it was shown
    form = turn.form
    lead = f"{prefix}\n" if prefix else ""
    asks_for: Literal["photo", "video"] | None = None
    pictures: tuple[DocumentRef, ...] = ()
    fill_in = ""
    match turn.cursor.kind:
        case "review":
            text, options = review_prompt(turn)
            pictures = stored_media(form, draft.answers)
        case "edit_pick":
            text, options = "请选择要修改的项：", [label for label, _ in edit_entries(turn)]
        case "confirm_cancel":
            text, options = f"确定放弃这份《{form.short_title}》吗？", ["确认放弃", "继续填写"]
        case "group_menu":
            text, options = _menu_prompt(turn)
        case _:
            text, options = _field_prompt(turn)
            group, field_decl = current_field(form, draft)
            kind = field_decl.kind
            asks_for = kind if kind in ("photo", "video") else None
            pictures = _row_photo(draft, group) if kind != "photo" else ()
            fill_in = long_answer(field_decl, answers_for(draft, group).get(field_decl.key)) or ""
    turn.say(lead + text, options, menu=draft_token(draft), asks_for=asks_for)
    if pictures or fill_in:
        turn.replies[-1] = replace(turn.replies[-1], pictures=pictures, fill_in=fill_in)


def help_in_draft(turn: Turn) -> None:
    """帮助 inside a draft: what the current field wants (or how to pick), then the question again."""
    if turn.cursor.kind in ("review", "edit_pick", "group_menu"):
        text = "请点选下面的选项，或发送选项前的数字。"
    else:
        _group, field_decl = current_field(turn.form, turn.open_draft)
        text = f"【{field_decl.label}】{field_decl.help or field_decl.prompt}"
        if field_decl.example:
            text += f"\n例如：{field_decl.example}"
        if not field_decl.required:
            text += "\n此项选填，可发送“跳过”。"
    text += f"\n常用命令：上一步、跳过、查看、修改、放弃。其他问题请联系{turn.contact_line}。"
    turn.say(text)
    ask(turn)


def review_prompt(turn: Turn) -> tuple[str, list[str]]:
    draft = turn.open_draft
    text = review_text(turn.form, draft.answers)
    if first_gap(turn.form, draft.answers) is None:
        return text + "\n\n请核对以上内容，确认无误后提交。", ["确认提交", "修改", "放弃"]
    return text + "\n\n还有未填的项。", ["继续填写", "修改", "放弃"]


def menu_entries(turn: Turn) -> list[tuple[str, str]]:
    """A group's list: undo a deletion, add a row, change or delete each row, finish."""
    draft = turn.open_draft
    group = group_of(turn.form, draft)
    rows = draft.answers.get(group.key, [])
    entries: list[tuple[str, str]] = []
    removed = cursor_of(draft).removed
    if removed is not None and removed[0] == group.key:
        entries.append(("撤销删除", "undo"))
    if len(rows) < group.max_rows:
        entries.append((f"添加一{group.item}", "add"))
    for index in range(len(rows)):
        entries.append((f"修改第{index + 1}{group.item}", f"edit:{index}"))
        entries.append((f"删除第{index + 1}{group.item}", f"remove:{index}"))
    if len(rows) >= group.min_rows:
        entries.append(("填写完毕，下一步", "finish"))
    return entries


def edit_entries(turn: Turn) -> list[tuple[str, str]]:
    """The edit list: every item of the form (or of one row), each with the state it goes to."""
    draft = turn.open_draft
    form = turn.form
    edit_row = cursor_of(draft).edit_row
    if edit_row is not None:
        group_key, index = edit_row
        group = form.group(group_key)
        rows = draft.answers.get(group.key, [])
        row = rows[index] if index < len(rows) else {}
        return [(field_line(f, row), field_state(f, group)) for f in group.fields]
    entries = []
    for step in form.steps:
        if isinstance(step, FieldDecl):
            entries.append((field_line(step, draft.answers), field_state(step)))
        else:
            entries.append((f"{step.label}（添加、修改或删除）", menu_state(step)))
    return entries


def _row_photo(draft: Draft, group: GroupDecl | None) -> tuple[DocumentRef, ...]:
    """The photo of the row a question is about (its caption is asked: the photo is shown)."""
    photo = photo_field(group) if group is not None else None
    answer = answers_for(draft, group).get(photo.key) if photo is not None else None
    return (DocumentRef("photo", str(answer["sha256"])),) if isinstance(answer, dict) else ()


def _field_prompt(turn: Turn) -> tuple[str, list[str]]:
    draft = turn.open_draft
    form = turn.form
    group, field_decl = current_field(form, draft)
    answers = answers_for(draft, group)
    if group is None:
        number, steps = step_counter(form, field_decl.key)
        heading = f"（{number}/{steps}）"
    else:
        row, rows = cursor_of(draft).row, len(draft.answers.get(group.key, []))
        # photos sent at once: which one of them this question is about
        total = f"（共{rows}{group.item}）" if rows > row + 1 else ""
        heading = f"【{group.label}·第{row + 1}{group.item}{total}】"
    lines = [heading + field_decl.prompt]
    if field_decl.example:
        lines.append(f"例如：{field_decl.example}")
    if long_answer(field_decl, answers.get(field_decl.key)) is not None:
        current = str(answers[field_decl.key])
        lines.append(f"当前已填（共{word_count(current)}字）：\n{current}")
        lines.append("可复制上面的全文改好后发送，发送“跳过”保留原值。")
    elif field_decl.key in answers:
        current = display_value(field_decl, answers[field_decl.key])
        lines.append(f"当前已填：{current}。发送新内容可修改，发送“跳过”保留原值。")
    elif not field_decl.required:
        lines.append("（选填，不填请发送“跳过”）")
    options = field_decl.choice_buttons if field_decl.kind == "choice" else []
    return "\n".join(lines), options


def _menu_prompt(turn: Turn) -> tuple[str, list[str]]:
    group = group_of(turn.form, turn.open_draft)
    rows = turn.open_draft.answers.get(group.key, [])
    lines = [group.prompt]
    lines += [f"{row_title(group, row, i)}" for i, row in enumerate(rows)] or ["（还没有）"]
    if len(rows) < group.min_rows:
        lines.append(f"还需至少 {group.min_rows - len(rows)} {group.item}。")
    return "\n".join(lines), [label for label, _ in menu_entries(turn)]
