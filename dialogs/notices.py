"""Notices with buttons: a message queued for someone (a 退回, an 已接收, a form back to 组联部, a
reminder) carries a button for each thing it suggests (“修改第1号”, “查看1号”, “新建”, “已交”).

A notice arrives whenever, between questions, so its buttons cannot be a remembered menu: its menu
token names the commands themselves (``n.reopen1.show1``). A press — the button's number with that
token, as every channel sends a press — is read back as the command typed, with the same checks as a
typed one; a forged token can ask nothing a person could not type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from dialogs.chinese_text import plain_number

#: What a notice's menu token starts with (a remembered menu's starts with m, a question's with d,
#: a privacy notice's with i).
NOTICE_MENU = "n."

#: The commands a notice may suggest: the label its button shows (with the submission's number).
_LABELS = {"reopen": "修改第{}号", "show": "查看{}号", "new": "新建", "submissions": "已交"}
_BUTTON = re.compile(r"^([a-z]+)(\d*)$")


@dataclass(frozen=True)
class NoticeButton:
    """One thing a notice suggests: a command (``dialogs.commands``), with a submission's number."""

    command: str
    number: int | None = None

    def __post_init__(self) -> None:
        if self.command not in _LABELS:
            raise ValueError(f"a notice cannot suggest {self.command!r}")

    @property
    def label(self) -> str:
        return _LABELS[self.command].format(self.number if self.number is not None else "")

    @property
    def code(self) -> str:
        return f"{self.command}{self.number if self.number is not None else ''}"


def notice_payload(text: str, *buttons: NoticeButton) -> dict[str, Any]:
    """A notice as the outbox keeps it: its text, and its buttons with the token that names them."""
    if not buttons:
        return {"text": text}
    menu = NOTICE_MENU + ".".join(button.code for button in buttons)
    return {"text": text, "options": [button.label for button in buttons], "menu": menu}


def pressed_notice(menu: str | None, text: str) -> str | None:
    """The command a press on a notice's button means, as a slash command (“/reopen 1”); None when
    ``menu`` is no notice's, or the press names no button of it."""
    if menu is None or not menu.startswith(NOTICE_MENU):
        return None
    codes = menu.removeprefix(NOTICE_MENU).split(".")
    index = plain_number(text.strip())
    if index is None or not 1 <= index <= len(codes):
        return None
    found = _BUTTON.match(codes[index - 1])
    if found is None or found.group(1) not in _LABELS:
        return None
    command, number = found.groups()
    return f"/{command} {number}".strip()
