"""One message's turn: what was loaded for it and what it has said so far.

The engine loads a turn (the contact, their unit, the draft they are filling, the notice the turn
belongs to with its forms and machines, the time), the router hands it to one handler, and the engine
saves it. Handlers read the notice from the turn, never from the engine, so that turns of different
notices can run side by side.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Literal

from dialogs.campaign import Campaign
from dialogs.declarations import FormDecl
from dialogs.draft_position import cursor_of
from dialogs.exchange import Reply
from dialogs.navigation import Spot
from state_machines.cursor import Cursor
from state_machines.form_machine import REVIEW, FormMachine
from storage.models import Contact, Draft, Unit
from storage.repository import Repository


@dataclass
class Turn:
    """Everything one message works with: who sent it, the unit, the notice, the draft, the replies.

    Attributes:
        contact: the bound contact who sent the message (their remembered menu is changed in place).
        unit: the contact's unit.
        now: the time of the turn (aware), read once from the engine's clock.
        campaign: the notice this turn belongs to (units, tasks, deadlines, the notice's contact).
        forms: the notice's form declarations by id.
        machines: one built ``FormMachine`` per form id.
        store: the storage door, for what a handler must read or write beyond the draft and contact.
        prints: whether a submission gets its Word file (a renderer is configured).
        draft: the open draft the contact is filling, if any.
        replies: what the turn says, in order.
        dirty: the draft or the contact changed and must be saved at the end of the turn.
    """

    contact: Contact
    unit: Unit
    now: datetime
    campaign: Campaign
    forms: dict[str, FormDecl]
    machines: dict[str, FormMachine]
    store: Repository
    prints: bool = False
    draft: Draft | None = None
    replies: list[Reply] = field(default_factory=list)
    dirty: bool = False

    def say(
        self,
        text: str,
        options: tuple[str, ...] | list[str] = (),
        menu: str = "",
        asks_for: Literal["photo", "video"] | None = None,
    ) -> None:
        # A question without buttons keeps its token too: it tells a page that the menu shown before
        # is no longer the one a press answers.
        self.replies.append(Reply(text, tuple(options), menu=menu, asks_for=asks_for))

    @property
    def contact_line(self) -> str:
        """Who to ask when the bot cannot help: “市妇联组联部（联系人：…，电话：…，邮箱：…）”."""
        return self.campaign.contact.line()

    # The draft in hand ---------------------------------------------------------------------------

    @property
    def open_draft(self) -> Draft:
        """The draft in hand, for handlers that only run inside one."""
        assert self.draft is not None
        return self.draft

    def form_of(self, draft: Draft) -> FormDecl:
        return self.forms[draft.form_id]

    @property
    def form(self) -> FormDecl:
        return self.forms[self.open_draft.form_id]

    @property
    def machine(self) -> FormMachine:
        return self.machines[self.open_draft.form_id]

    @property
    def cursor(self) -> Cursor:
        return cursor_of(self.open_draft)

    def move(self, trigger: str, to: Cursor) -> None:
        """Move the draft to ``to`` through its form's machine (which refuses a move it does not have)."""
        draft = self.open_draft
        draft.state = self.machine.move(draft.state, trigger, to.state)
        if trigger != "remove_row":  # 撤销删除 is offered right after a deletion, not later
            to = replace(to, removed=None)
        draft.context = to.context()
        self.dirty = True

    def go(self, trigger: str, spot: Spot | None) -> None:
        """Move to a spot (None: the review), at the spot's row; an edit under way is over."""
        cursor = replace(self.cursor, returns_to=None)
        if spot is None:
            self.move(trigger, cursor.at(REVIEW))
            return
        self.move(trigger, cursor.at(spot.state, spot.row))


def aware(moment: datetime) -> datetime:
    """A moment read back from SQLite (naive, in UTC) made aware."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
