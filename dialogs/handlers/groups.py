"""A group's list (照片, 课程节次…): add a row, change or delete one, undo a deletion, finish."""

from __future__ import annotations

from dataclasses import replace

from dialogs.chinese_text import plain_number
from dialogs.commands import pick_action
from dialogs.draft_position import group_of, photo_field
from dialogs.exchange import IncomingFile
from dialogs.handlers.asking import ask, menu_entries
from dialogs.handlers.field import album_photo
from dialogs.navigation import next_gap_after
from dialogs.presentation import row_title
from dialogs.turn import Turn
from state_machines.form_machine import EDIT_PICK, field_state


def group_menu(turn: Turn, text: str, file: IncomingFile | None) -> None:
    """A message at a group's list: the entry it picks (or a photo: a new row)."""
    draft = turn.open_draft
    group = group_of(turn.form, draft)
    if file is not None and photo_field(group) is not None:
        album_photo(turn, group, file)
        return
    entries = [*menu_entries(turn), ("填写完毕，下一步", "finish")]  # finishing early is explained
    action = pick_action(text, entries) or typed_row_action(text)
    rows = draft.answers.get(group.key, [])
    cursor = turn.cursor
    if action == "add":
        turn.move("add_row", cursor.at(field_state(group.fields[0], group), len(rows)))
        ask(turn)
    elif action == "undo" and cursor.removed is not None and len(rows) < group.max_rows:
        _key, index, row = cursor.removed
        restored = [*rows[:index], row, *rows[index:]]
        draft.answers = {**draft.answers, group.key: restored}
        turn.move("remove_row", replace(cursor, removed=None))
        ask(turn, prefix=f"已恢复{row_title(group, row, min(index, len(rows)))}。")
    elif action == "finish":
        if len(rows) < group.min_rows:
            turn.say(f"至少需要 {group.min_rows} {group.item}，现在有 {len(rows)} {group.item}。")
            ask(turn)
            return
        order = turn.machine.input_states
        turn.go("finish_group", next_gap_after(turn.form, order, draft.answers, draft.state))
        ask(turn)
    elif action is not None and action.startswith(("edit:", "remove:")):
        verb, _, index_text = action.partition(":")
        index = int(index_text)
        if index >= len(rows):
            turn.say(f"没有第{index + 1}{group.item}。")
            ask(turn)
        elif verb == "remove":
            title = row_title(group, rows[index], index)
            draft.answers = {**draft.answers, group.key: [r for i, r in enumerate(rows) if i != index]}
            turn.move("remove_row", replace(cursor, removed=(group.key, index, rows[index])))
            ask(turn, prefix=f"已删除{title}。删错了请点“撤销删除”。")
        else:
            turn.move("edit_row", replace(cursor, edit_row=(group.key, index)).at(EDIT_PICK))
            ask(turn)
    else:
        turn.say("请点选下面的选项，或发送选项前的数字。")
        ask(turn)


def typed_row_action(text: str) -> str | None:
    """“删除2”, “修改 第3张” typed instead of tapped."""
    stripped = text.strip().replace(" ", "").replace("第", "")
    for word, verb in (("删除", "remove"), ("修改", "edit")):
        if stripped.startswith(word):
            number = plain_number(stripped[len(word) :].rstrip("张节项个行"))
            if number is not None:
                return f"{verb}:{number - 1}"
    return None
