"""The edit list (修改): an item picked goes to its field, which returns to the review (or, for a row's
field, to the group's list) once answered."""

from __future__ import annotations

from dataclasses import replace

from dialogs.commands import pick_action
from dialogs.exchange import IncomingFile
from dialogs.handlers.asking import ask, edit_entries
from dialogs.turn import Turn
from state_machines.cursor import Cursor


def edit_choice(turn: Turn, text: str, _file: IncomingFile | None = None) -> None:
    """A message at the edit list: the item it picks (a file picks nothing)."""
    target = pick_action(text, edit_entries(turn))
    if target is None:
        turn.say("请点选要修改的项，或发送它前面的数字；不改了请发送“查看”。")
        ask(turn)
        return
    current = turn.cursor
    cursor, edit_row = replace(current, edit_row=None), current.edit_row
    if edit_row is not None:  # a field of one row: back to the group's list after it
        landing = replace(cursor, returns_to="menu").at(target, edit_row[1])
    elif Cursor(target).kind == "field":  # a field of the form: back to the review after it
        landing = replace(cursor, returns_to="review").at(target)
    else:  # a group's list: it goes on from there
        landing = cursor.at(target)
    turn.move("pick", landing)
    ask(turn)
