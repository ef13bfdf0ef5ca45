"""The conversation's position as one typed value: what each kind of position is, how it is stored and
read back, and that a stored position no cursor writes is refused rather than guessed at."""

from __future__ import annotations

from typing import Any

import pytest

from dialogs.engine import DialogEngine
from state_machines.cursor import BadCursor, Cursor
from state_machines.form_machine import CANCELLED, CONFIRM_CANCEL, EDIT_PICK, REVIEW, SUBMITTED
from tests.conftest import Chat, chinese_text
from tests.test_dialog_forms import start


@pytest.mark.parametrize(
    ("state", "kind", "group", "field"),
    [
        ("name", "field", None, "name"),
        ("courses.course_title", "field", "courses", "course_title"),
        ("courses.menu", "group_menu", "courses", None),
        (REVIEW, "review", None, None),
        (EDIT_PICK, "edit_pick", None, None),
        (CONFIRM_CANCEL, "confirm_cancel", None, None),
        (SUBMITTED, "submitted", None, None),
        (CANCELLED, "cancelled", None, None),
    ],
)
def test_each_state_is_one_kind_of_position(
    state: str, kind: str, group: str | None, field: str | None
) -> None:
    cursor = Cursor(state)
    assert (cursor.kind, cursor.group_key) == (kind, group)
    if field is None:
        with pytest.raises(BadCursor):
            _ = cursor.field_key
    else:
        assert cursor.field_key == field


def test_a_cursor_is_stored_and_read_back_whole() -> None:
    cursor = Cursor(
        EDIT_PICK,
        row=2,
        returns_to="menu",
        edit_row=("photos", 1),
        before_review="x",
        before_cancel="y",
        removed=("photos", 0, {"caption": "活动现场"}),
    )
    assert Cursor.read(cursor.state, cursor.context()) == cursor
    assert Cursor("name").context() == {}, "a fresh position stores nothing beside its state"
    assert Cursor.read("name", {"row": 0}) == Cursor("name"), "drafts stored before cursors read the same"
    moved = cursor.at("photos.caption", 1)
    assert (moved.state, moved.row, moved.edit_row, moved.before_cancel) == (
        "photos.caption",
        1,
        ("photos", 1),
        "y",
    )


@pytest.mark.parametrize(
    "context",
    [
        {"row": -1},
        {"row": "2"},
        {"row": True},
        {"editing": "somewhere"},
        {"edit_row": ["photos"]},
        {"edit_row": ["photos", -1]},
        {"edit_row": "photos:1"},
        {"before_review": 3},
        {"colour": "blue"},
        {"removed": ["courses", 1]},
        {"removed": ["courses", -1, {}]},
        {"removed": ["courses", 0, "row"]},
    ],
)
def test_a_stored_position_no_cursor_writes_is_refused(context: dict[str, Any]) -> None:
    with pytest.raises(BadCursor):
        Cursor.read("name", context)


def stored_cursor(engine: DialogEngine, chat: Chat) -> Cursor:
    _contact, draft = engine.repository.contact_with_draft(chat.channel, chat.user)
    assert draft is not None
    return Cursor.read(draft.state, draft.context)


def test_the_engine_keeps_the_position_of_a_row_being_edited(engine: DialogEngine, chat: Chat) -> None:
    """修改第2节课程 → a field of that row: the stored cursor says which row, and that the answer
    returns to the course list (not to the review, nor on to the next gap)."""
    start(chat, "课程推荐表")
    for number, title in enumerate(("巧用妇女议事会化解邻里矛盾", "直播带货助农增收")):
        if number:
            chat.send("添加一节课程")
        for answer in (
            title,
            "典型案例",
            chinese_text(280),
            "覃美玲",
            "1982.07",
            "鹿寨县中渡镇妇联主席",
            "跳过",
        ):
            chat.send(answer)
    assert stored_cursor(engine, chat) == Cursor("courses.menu", row=1)
    chat.send("修改第2节课程")
    assert stored_cursor(engine, chat) == Cursor(EDIT_PICK, row=1, edit_row=("courses", 1))
    chat.send("1")
    assert stored_cursor(engine, chat) == Cursor("courses.course_title", row=1, returns_to="menu")
    chat.send("乡村振兴巾帼行动")
    assert stored_cursor(engine, chat) == Cursor("courses.menu", row=1), "back at the list, edit over"
    assert "第2节课程《乡村振兴巾帼行动》" in chat.text
