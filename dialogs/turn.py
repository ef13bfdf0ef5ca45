"""One message's turn: what was loaded for it, what it has said, and what it leaves to store.

The engine loads a turn (the contact, their unit, the draft they are filling, the notice the turn
belongs to with its forms and machines, the time), the router hands it to one handler, and the engine
saves what the turn changed (``Turn.effects``), once, at the end of the message. Handlers read the
notice from the turn, never from the engine, so that turns of different notices can run side by side;
they change the drafts and the contact in hand and say what else to store through the turn, never
writing to storage themselves. What a handler must read mid-turn (the unit's progress, its drafts, its
submissions) the turn reads once, when first asked.

A unit picked by several notices (``dialogs.served_notices``): the turn holds them all, and is in one
at a time — the draft's, else the one nearest its deadline. Listing across notices (新建, 草稿, 已交)
steps into each in turn (``Turn.within``); resuming a draft or reopening a submission enters its own.

Two writes cannot wait for the end, since what they return is in the replies: a new draft gets its
number (a question's menu token names it) and a submission its number and version; the turn makes
them (``start_draft``, ``submit``) when asked, each in as few statements as it takes.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, Literal

from dialogs.campaign import Campaign
from dialogs.declarations import FormDecl
from dialogs.draft_position import cursor_of
from dialogs.exchange import Reply
from dialogs.navigation import Spot
from dialogs.served_notices import ServedNotice
from dialogs.supervision import Progress, campaign_progress
from state_machines.cursor import Cursor
from state_machines.form_machine import REVIEW, FormMachine
from storage.models import Contact, Draft, Submission, SubmissionVersion, Unit
from storage.repository import Repository


@dataclass(frozen=True)
class Effects:
    """What a turn leaves to store: the drafts it changed, the contact when its pointers (current
    draft, menu) changed, and messages for other people (channel, chat, payload)."""

    drafts: list[Draft]
    contact: Contact | None
    messages: list[tuple[str, str, dict[str, Any]]]


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
        store: the storage door, for what a handler reads beyond what the turn holds (never a write).
        prints: whether a submission gets its Word file (a renderer is configured).
        notices: the notices that pick the unit, the turn's own among them (empty: only the turn's).
        draft: the open draft the contact is filling, if any (``hold`` it when it comes from storage).
        replies: what the turn says, in order.
    """

    contact: Contact
    unit: Unit
    now: datetime
    campaign: Campaign
    forms: dict[str, FormDecl]
    machines: dict[str, FormMachine]
    store: Repository
    prints: bool = False
    notices: tuple[ServedNotice, ...] = ()
    draft: Draft | None = None
    replies: list[Reply] = field(default_factory=list)
    _held: list[tuple[Draft, tuple[Any, ...]]] = field(default_factory=list, repr=False)
    _contact_seen: tuple[Any, ...] = field(default=(), repr=False)
    _messages: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list, repr=False)
    _reads: dict[Any, Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._contact_seen = _contact_state(self.contact)
        if self.draft is not None:
            self.hold(self.draft)

    # What the turn leaves to store ----------------------------------------------------------------

    def hold(self, draft: Draft) -> Draft:
        """A draft read from storage comes into the turn: saved at the end if the turn changes it."""
        self._held.append((draft, _draft_state(draft)))
        return draft

    def held_draft(self, draft_id: int) -> Draft | None:
        """A draft of storage by id, held (the one in hand when it is that one)."""
        for draft, _seen in self._held:
            if draft.id == draft_id:
                return draft
        found = self.store.draft(draft_id)
        if found is None or found.campaign_id not in self.notice_ids:  # a notice the unit is not in
            return None
        return self.hold(found)

    def start_draft(self, draft: Draft) -> Draft:
        """Store a new draft now (its number names its questions) and make it the one in hand."""
        self.store.insert_draft(draft)
        self.hold(draft)
        self.draft = draft
        self.contact.current_draft_id = draft.id
        self.contact.menu = []
        self._reads.pop((self.campaign.id, "drafts"), None)  # the unit's drafts, listed again, show it
        return draft

    def submit(self, record: dict[str, Any], *, counted: int, in_share: bool) -> SubmissionVersion:
        """Submit the draft in hand now (its number and version are in the replies); the draft and
        the contact are stored with it."""
        draft = self.open_draft
        version = self.store.submit(
            draft, self.contact, record, with_document=self.prints, counted=counted, in_share=in_share
        )
        self._held = [(held, _draft_state(held) if held is draft else seen) for held, seen in self._held]
        self._contact_seen = _contact_state(self.contact)
        self._reads.clear()  # the unit's progress, drafts and submissions have changed
        return version

    def tell(self, recipients: list[tuple[str, str]], payload: dict[str, Any]) -> None:
        """A message for other people (channel, chat), queued with the turn's effects."""
        self._messages += [(channel, chat, payload) for channel, chat in recipients]

    def effects(self) -> Effects:
        """What the turn changed since it was loaded, for the engine to store."""
        drafts = [draft for draft, seen in self._held if _draft_state(draft) != seen]
        contact = self.contact if _contact_state(self.contact) != self._contact_seen else None
        return Effects(drafts, contact, list(self._messages))

    # What the turn reads once, when first asked ----------------------------------------------------

    def _read_once(self, what: Any, read: Callable[[], Any]) -> Any:
        key = (self.campaign.id, what)  # each notice's reads apart
        if key not in self._reads:
            self._reads[key] = read()
        return self._reads[key]

    def progress(self) -> list[Progress]:
        """The unit's standing on each task of the notice."""
        result: list[Progress] = self._read_once(
            "progress", lambda: campaign_progress(self.store, self.campaign, self.unit.code)
        )
        return result

    def unit_drafts(self) -> list[Draft]:
        """The unit's open and abandoned drafts, as stored when the turn first asked (to list them)."""
        assert self.unit.id is not None
        unit_id = self.unit.id
        result: list[Draft] = self._read_once(
            "drafts",
            lambda: self.store.drafts(unit_id, ("open", "cancelled"), campaign_id=self.campaign.id),
        )
        return result

    def submissions(self) -> list[tuple[Submission, SubmissionVersion]]:
        """The unit's submissions in this notice, each with its current version."""
        unit_id = self.unit.id
        result: list[tuple[Submission, SubmissionVersion]] = self._read_once(
            "submissions", lambda: self.store.current_versions(self.campaign.id, unit_id)
        )
        return result

    def submission(self, submission_id: int) -> Submission | None:
        """A submission of this notice by its number (None for another notice's)."""
        result: Submission | None = self._read_once(
            ("submission", submission_id), lambda: self.store.submission(submission_id)
        )
        return result if result is not None and result.campaign_id == self.campaign.id else None

    # Which notice ----------------------------------------------------------------------------------

    @property
    def notice_ids(self) -> tuple[str, ...]:
        """The ids of the notices this turn may work in (the turn's own, and the unit's others)."""
        return (self.campaign.id, *(notice.id for notice in self.notices))

    @property
    def several(self) -> bool:
        """Whether the unit works in more than one notice (lists then name each line's notice)."""
        return len(self.notices) > 1

    def notice(self, campaign_id: str) -> ServedNotice | None:
        """One of the unit's notices by id (the turn's own too), or None."""
        if campaign_id == self.campaign.id:
            return ServedNotice(self.campaign, self.forms, self.machines)
        return next((notice for notice in self.notices if notice.id == campaign_id), None)

    def enter(self, campaign_id: str) -> bool:
        """Make one of the unit's notices the turn's (a draft resumed, a submission opened, a task
        picked); False, and the turn unchanged, for a notice the unit is not in."""
        notice = self.notice(campaign_id)
        if notice is None:
            return False
        self.campaign, self.forms, self.machines = notice.campaign, notice.forms, notice.machines
        return True

    @contextmanager
    def within(self, notice: ServedNotice) -> Iterator[None]:
        """The turn in another of the unit's notices for a while (to list what it holds there)."""
        kept = ServedNotice(self.campaign, self.forms, self.machines)
        self.campaign, self.forms, self.machines = notice.campaign, notice.forms, notice.machines
        try:
            yield
        finally:
            self.campaign, self.forms, self.machines = kept.campaign, kept.forms, kept.machines

    # Saying ---------------------------------------------------------------------------------------

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


def _draft_state(draft: Draft) -> tuple[Any, ...]:
    """What a turn may change of a draft, copied (answers are dicts of lists of dicts)."""
    return copy.deepcopy(
        (draft.state, draft.status, draft.answers, draft.context, draft.cancelled_at, draft.submission_id)
    )


def _contact_state(contact: Contact) -> tuple[Any, ...]:
    """What a turn may change of a contact: its pointers (current draft, menu)."""
    return contact.current_draft_id, copy.deepcopy(contact.menu)
