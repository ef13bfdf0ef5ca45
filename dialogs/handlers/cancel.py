"""放弃, confirmed: the draft abandoned (kept for the campaign's days, restorable from 草稿) or kept."""

from __future__ import annotations

from dataclasses import replace

from dialogs.commands import Command, pick_action
from dialogs.handlers.asking import ask
from dialogs.turn import Turn
from state_machines.form_machine import CANCELLED, REVIEW


def confirm_cancel(turn: Turn, command: Command | None, text: str) -> None:
    """A message at “确定放弃这份表吗？”: 确认放弃, 继续填写 (上一步 and 查看 keep it too)."""
    draft = turn.open_draft
    choice = pick_action(text, [("确认放弃", "discard"), ("继续填写", "keep")])
    if choice is None and command is not None and command.name in ("back", "review"):
        choice = "keep"
    cursor = turn.cursor
    if choice == "discard":
        turn.move("discard", cursor.at(CANCELLED))  # remembers where to restore it to
        draft.status, draft.cancelled_at = "cancelled", turn.now
        turn.contact.current_draft_id = None
        days = turn.campaign.cancelled_draft_days
        turn.say(f"已放弃这份表。草稿会保留 {days} 天，期间发送“草稿”可以恢复。发送“新建”可以填写新的表。")
    elif choice == "keep":
        turn.move("keep", replace(cursor, before_cancel=None).at(cursor.before_cancel or REVIEW))
        turn.say("好的，继续填写。")
        ask(turn)
    else:
        ask(turn)
