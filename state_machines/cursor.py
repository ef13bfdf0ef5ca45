"""Where a draft's conversation is, as one frozen value: the ``Cursor``.

A cursor is the form machine's state (``name``, ``courses.course_title``, ``courses.menu``,
``review`` …) plus what that state alone does not say: the row of a repeating group it is about,
where an answer given while editing returns to, the row the edit list is about, and where 查看 and
放弃 were asked from. It is stored in the draft's ``state`` and ``context`` columns and read back
validated (``Cursor.read``): a context that is not a cursor's is a programming error and raises,
never a silently wrong question.

The engine reads the cursor's ``kind`` to know which handler answers (a field, a group's list, the
review, the edit list, the cancel confirmation) and never parses the state string itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from state_machines.form_machine import CANCELLED, CONFIRM_CANCEL, EDIT_PICK, REVIEW, SUBMITTED

Kind = Literal["field", "group_menu", "review", "edit_pick", "confirm_cancel", "submitted", "cancelled"]
ReturnsTo = Literal["review", "menu"]

_KINDS: dict[str, Kind] = {
    REVIEW: "review",
    EDIT_PICK: "edit_pick",
    CONFIRM_CANCEL: "confirm_cancel",
    SUBMITTED: "submitted",
    CANCELLED: "cancelled",
}
_MENU = "menu"
_KEYS = frozenset({"row", "editing", "edit_row", "before_review", "before_cancel", "removed"})


class BadCursor(ValueError):
    """A stored position that no cursor writes."""


@dataclass(frozen=True)
class Cursor:
    """One conversation's position in its form.

    Attributes:
        state: the form machine's state.
        row: inside a repeating group, the row (0-based) the question is about.
        returns_to: an answer given while editing goes back to the review or to its group's list
            instead of on to the next gap.
        edit_row: the edit list is about this row of this group (``修改第2张``), not the whole form.
        before_review: the field 查看 was asked from (上一步 at the review goes back there).
        before_cancel: the state 放弃 was asked from (继续填写 goes back there).
        removed: the row just deleted from a group's list — (group, row, its answers) — until the next
            move: 撤销删除 puts it back where it was.
    """

    state: str
    row: int = 0
    returns_to: ReturnsTo | None = None
    edit_row: tuple[str, int] | None = None
    before_review: str | None = None
    before_cancel: str | None = None
    removed: tuple[str, int, dict[str, Any]] | None = None

    @property
    def kind(self) -> Kind:
        if self.state in _KINDS:
            return _KINDS[self.state]
        return "group_menu" if self.state.endswith(f".{_MENU}") else "field"

    @property
    def group_key(self) -> str | None:
        """The repeating group a field or a group's list belongs to; None at the top level."""
        if self.kind not in ("field", "group_menu") or "." not in self.state:
            return None
        return self.state.split(".", 1)[0]

    @property
    def field_key(self) -> str:
        """The field a field position asks."""
        if self.kind != "field":
            raise BadCursor(f"{self.state!r} asks no field")
        return self.state.split(".", 1)[-1]

    def at(self, state: str, row: int | None = None) -> Cursor:
        """The same conversation moved to ``state`` (and ``row``), keeping what it remembers."""
        return replace(self, state=state, row=self.row if row is None else row)

    # Storage ---------------------------------------------------------------------------------------

    @classmethod
    def read(cls, state: str, context: Mapping[str, Any]) -> Cursor:
        """The cursor a draft's ``state`` and ``context`` columns hold; ``BadCursor`` when they are not
        one's."""
        unknown = set(context) - _KEYS
        if unknown:
            raise BadCursor(f"unknown position keys {sorted(unknown)}")
        row = context.get("row", 0)
        returns_to = context.get("editing")
        edit_row = context.get("edit_row")
        if not isinstance(row, int) or isinstance(row, bool) or row < 0:
            raise BadCursor(f"row {row!r} is not a row number")
        if returns_to not in (None, "review", "menu"):
            raise BadCursor(f"editing {returns_to!r} is neither review nor menu")
        if edit_row is not None and not (
            isinstance(edit_row, list | tuple)
            and len(edit_row) == 2
            and isinstance(edit_row[0], str)
            and isinstance(edit_row[1], int)
            and edit_row[1] >= 0
        ):
            raise BadCursor(f"edit_row {edit_row!r} is not [group, row]")
        removed = context.get("removed")
        if removed is not None and not (
            isinstance(removed, list | tuple)
            and len(removed) == 3
            and isinstance(removed[0], str)
            and isinstance(removed[1], int)
            and removed[1] >= 0
            and isinstance(removed[2], dict)
        ):
            raise BadCursor("removed is not [group, row, answers]")
        for key in ("before_review", "before_cancel"):
            if context.get(key) is not None and not isinstance(context[key], str):
                raise BadCursor(f"{key} {context[key]!r} is not a state")
        return cls(
            state=state,
            row=row,
            returns_to=returns_to,
            edit_row=(edit_row[0], edit_row[1]) if edit_row is not None else None,
            before_review=context.get("before_review"),
            before_cancel=context.get("before_cancel"),
            removed=(removed[0], removed[1], removed[2]) if removed is not None else None,
        )

    def context(self) -> dict[str, Any]:
        """What the draft's ``context`` column stores (only what differs from a fresh cursor)."""
        stored: dict[str, Any] = {
            "row": self.row or None,
            "editing": self.returns_to,
            "edit_row": list(self.edit_row) if self.edit_row is not None else None,
            "before_review": self.before_review,
            "before_cancel": self.before_cancel,
            "removed": list(self.removed) if self.removed is not None else None,
        }
        return {key: value for key, value in stored.items() if value is not None}
