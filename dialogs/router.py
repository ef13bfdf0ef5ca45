"""What a contact's message means, and which handler answers it.

A message is, in this order: a press on a menu no longer shown (said so, and asked again); a command
that works anywhere; a pick from the menu last shown (新建, 草稿, 已交); inside a draft, whatever the
draft's position answers (``BY_POSITION``, commands of the draft first); at home, the home menu again.
组联部's messages go to ``dialogs.supervisor_desk`` before a turn is made.
"""

from __future__ import annotations

from collections.abc import Callable

from dialogs.commands import STALE_BUTTON, Command, asks_for_documents, contacts_answer, pick_action
from dialogs.exchange import IncomingFile
from dialogs.handlers.asking import ask
from dialogs.handlers.cancel import confirm_cancel
from dialogs.handlers.commands import draft_command, global_command
from dialogs.handlers.drafts import reopen, resume, start_draft
from dialogs.handlers.edit import edit_choice
from dialogs.handlers.field import answer
from dialogs.handlers.groups import group_menu
from dialogs.handlers.home import at_home, current_menu, download_own, offer_new, show_own
from dialogs.handlers.review import review_choice
from dialogs.turn import Turn

PositionHandler = Callable[[Turn, str, IncomingFile | None], None]

#: What answers a message (not a command) at each kind of position in a draft (``Cursor.kind``).
BY_POSITION: dict[str, PositionHandler] = {
    "field": answer,
    "group_menu": group_menu,
    "review": review_choice,
    "edit_pick": edit_choice,
}


def route(
    turn: Turn, text: str, command: Command | None, menu: str | None, file: IncomingFile | None
) -> None:
    """Hand a contact's message to the handler that answers it; the handler says what to reply."""
    if command is not None and turn.draft is not None and contacts_answer(text, command):
        command = None
    menu_action = pick_action(text, [(str(label), str(action)) for label, action in turn.contact.menu])
    if command is None and menu_action is None and asks_for_documents(text):
        command = Command("submissions")  # “怎么下载word”: 已交 lists them, each with its Word file
    if menu is not None and menu != current_menu(turn):
        turn.say(STALE_BUTTON)
        if turn.draft is not None:
            ask(turn)
        else:
            offer_new(turn)
    elif command is not None and global_command(turn, command):
        pass
    elif menu_action is not None:
        picked_from_menu(turn, menu_action)
    elif turn.draft is not None:
        in_draft(turn, command, text, file)
    else:
        at_home(turn, text, file)


def picked_from_menu(turn: Turn, action: str) -> None:
    """Carry out what was picked from a menu shown by /new, /drafts or /submissions."""
    kind, _, value = action.partition(":")
    if kind in ("new", "fresh"):
        task_id, _, notice_id = value.partition("@")  # a task of one of several notices names it
        if notice_id and not turn.enter(notice_id):
            turn.say(STALE_BUTTON)
            offer_new(turn)
            return
        start_draft(turn, turn.campaign.task(task_id), fresh=kind == "fresh")
    elif kind == "resume":
        resume(turn, int(value))
    elif kind == "reopen":
        reopen(turn, value)
    elif kind == "show":
        show_own(turn, value)
    elif kind == "download":
        download_own(turn, value)


def in_draft(turn: Turn, command: Command | None, text: str, file: IncomingFile | None) -> None:
    """Route a message to what the draft's position answers: a field, a group's list, the review,
    the edit list or the cancel confirmation (which reads 上一步 and 查看 as 继续填写)."""
    kind = turn.cursor.kind
    if kind == "confirm_cancel":
        confirm_cancel(turn, command, text)
    elif command is not None:
        draft_command(turn, command)
    else:
        BY_POSITION.get(kind, answer)(turn, text, file)
