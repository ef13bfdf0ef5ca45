"""Where a draft stands, read from its stored position (``Cursor``) and its form: the field asked, the
group and row it is in, the answers that field lives in, and a short line saying so for 草稿."""

from __future__ import annotations

import hashlib
from typing import Any

from dialogs.declarations import FieldDecl, FormDecl, GroupDecl
from dialogs.navigation import first_gap, spot_label
from state_machines.cursor import Cursor
from storage.models import Draft


def cursor_of(draft: Draft) -> Cursor:
    return Cursor.read(draft.state, draft.context)


def current_field(form: FormDecl, draft: Draft) -> tuple[GroupDecl | None, FieldDecl]:
    """The field the draft's position asks, and the group it belongs to (None at the top level)."""
    cursor = cursor_of(draft)
    if cursor.group_key is not None:
        group = form.group(cursor.group_key)
        return group, group.field(cursor.field_key)
    return None, form.top_field(cursor.field_key)


def group_of(form: FormDecl, draft: Draft) -> GroupDecl:
    group_key = cursor_of(draft).group_key
    assert group_key is not None, "asked for the group of a position outside any"
    return form.group(group_key)


def answers_for(draft: Draft, group: GroupDecl | None) -> dict[str, Any]:
    """The answers a field lives in: the draft's top level, or its group's current row."""
    if group is None:
        return draft.answers
    rows = draft.answers.get(group.key, [])
    row = cursor_of(draft).row
    return rows[row] if row < len(rows) else {}


def store_answer(draft: Draft, group: GroupDecl | None, key: str, value: Any, row: int | None = None) -> None:
    """Write one answer into the draft: at the top level, or in a row of a group (the current one
    unless ``row`` is given), adding empty rows up to it."""
    if group is None:
        draft.answers = {**draft.answers, key: value}
        return
    rows = [dict(r) for r in draft.answers.get(group.key, [])]
    index = cursor_of(draft).row if row is None else row
    while len(rows) <= index:
        rows.append({})
    rows[index][key] = value
    draft.answers = {**draft.answers, group.key: rows}


def photo_field(group: GroupDecl) -> FieldDecl | None:
    return next((f for f in group.fields if f.kind == "photo"), None)


def where(form: FormDecl, draft: Draft) -> str:
    """Where a draft stands, as 草稿 lists it: “填到“民族””, “待确认提交”, “修改中”…"""
    kind = cursor_of(draft).kind
    if kind == "submitted":
        return "已提交"
    if kind == "review":
        gap = first_gap(form, draft.answers)
        return "待确认提交" if gap is None else f"还有未填的项：“{spot_label(form, gap)}”"
    if kind in ("edit_pick", "confirm_cancel", "cancelled"):
        return "修改中"
    if kind == "group_menu":
        return f"填到“{group_of(form, draft).label}”"
    _group, field_decl = current_field(form, draft)
    return f"填到“{field_decl.label}”"


def draft_token(draft: Draft) -> str:
    """The token of a draft's question: its position, and for a group's list what the list offers
    (its rows, an undo), since the same position numbers its buttons differently as rows come and go."""
    cursor = cursor_of(draft)
    question = f"{draft.id}:{cursor.state}:{cursor.row}"
    if cursor.kind == "group_menu" and cursor.group_key is not None:
        question += f":{len(draft.answers.get(cursor.group_key, []))}:{cursor.removed is not None}"
    return "d" + hashlib.sha1(question.encode(), usedforsecurity=False).hexdigest()[:10]
