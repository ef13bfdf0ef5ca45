"""The dialog engine: one plain message in, the replies out, every accepted answer committed first.

The engine knows no messenger. A channel turns its updates into ``Inbound`` and sends the ``Reply``
objects back. ``DialogEngine`` is the facade every channel, the delivery layer, the bench and the tests
call; a message's turn reads load → route → handle → save:

- load: the contact and the draft they are filling, their unit, the notice (``dialogs.turn.Turn``):
  the draft's notice, else the unit's served notice nearest its deadline, the unit's others beside it
  (``dialogs.served_notices``; with one notice, always that one);
  an invite or a consent is answered before (binding, below), 组联部 by ``dialogs.supervisor_desk``;
- route: ``dialogs.router`` works out what the message means (a command, a pick from a menu, an
  answer at the draft's position) and hands the turn to one handler of ``dialogs.handlers``;
- handle: the handler moves the draft through its form's machine and says what to reply;
- save: what the turn changed (``Turn.effects``: the drafts, the contact's pointers, messages for
  others), once, in the message's transaction; only then are the replies returned.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from dialogs.campaign import Campaign
from dialogs.commands import parse_command, pick_action
from dialogs.declarations import FormDecl
from dialogs.documents import open_document
from dialogs.exchange import DocumentRef, Identity, Inbound, IncomingFile, OpenedDocument, Reply
from dialogs.export_jobs import Exporter, ExportJobs, VideoExporter
from dialogs.failures import failure_line
from dialogs.form_records import Render
from dialogs.invites import FailedAttempts, invite_is_open, invite_refusal
from dialogs.notices import pressed_notice
from dialogs.nudges import send_due_nudges
from dialogs.privacy import privacy_notice
from dialogs.received_files import check_file
from dialogs.reports import StatusReport
from dialogs.router import route
from dialogs.served_notices import ServedNotice, notices_of_unit
from dialogs.supervision import areas, status_report
from dialogs.supervisor_desk import SupervisorDesk
from dialogs.turn import Effects, Turn
from state_machines.form_machine import FormMachine
from storage.database import database_health, is_unavailable
from storage.models import Contact, Invite
from storage.repository import ConcurrentUpdate, Repository

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
OnCommit = Callable[[list[Reply], bool], None]

NOT_BOUND = "您好！本服务仅供各报送单位的联系人使用。请向市妇联组联部索取邀请链接，打开后按提示完成绑定。"
CONSENTED = "感谢您的同意，已登记。以后打开这里就能接着办理。"
NO_CONSENT = "您没有同意，我们不会保存您的任何信息。如改变主意，请重新打开邀请链接。"
TOO_MANY_TRIES = "邀请码试错的次数太多了，请一分钟后再试。如邀请码有问题，请联系{contact}。"
TRY_AGAIN = (
    "抱歉，系统刚才出了点问题，您已填写的内容都已保存。请稍后再发送一次；如仍有问题，请联系{contact}。"
)


def system_clock() -> datetime:
    return datetime.now(UTC)


class DialogEngine:
    """Walks a unit's contact through the forms of the notices that pick her unit.

    Args:
        campaign: the notice nearest its deadline, or the only one (units, tasks, deadlines, the
            notice's contact): 组联部's desk, reminders, status, exports and the privacy notice
            still work on it alone.
        forms: its form declarations by id.
        machines: one built ``FormMachine`` per form id.
        others: the other notices served (by a folder of notices), each with its forms and machines.
        repository: the storage door.
        clock: returns the current time (aware); tests inject a fixed one.
        exporter: builds 组联部's export ZIP (for /export, made after the answer: ``run_export_jobs``).
        video_exporter: builds (or reuses) the courses' videos' ZIP, made and sent the same way.
        render: prints a record as its official form (``renderers.render_form``); a submission's
            DOCX is rendered when it is first opened, outside the transaction that submits it.
        trial: a trial run on this computer (``intake run --trial``): the privacy notice says so.
    """

    def __init__(
        self,
        *,
        campaign: Campaign,
        forms: dict[str, FormDecl],
        machines: dict[str, FormMachine],
        repository: Repository,
        clock: Clock = system_clock,
        exporter: Exporter | None = None,
        video_exporter: VideoExporter | None = None,
        render: Render | None = None,
        trial: bool = False,
        web_url: str = "",
        others: Sequence[ServedNotice] = (),
    ) -> None:
        if len({campaign.id, *(notice.id for notice in others)}) != 1 + len(others):
            raise ValueError("two served notices have one id: their units' answers would mix")
        self.campaign = campaign
        self.others = tuple(others)
        self.trial = trial
        self.render = render
        self.invite_tries = FailedAttempts()
        self.forms = forms
        self.machines = machines
        self.repository = repository
        self.clock = clock
        self.web_url = web_url
        self.exports = ExportJobs(repository, clock, exporter, video_exporter)

    # Entry point -------------------------------------------------------------------------------

    def handle(
        self,
        inbound: Inbound,
        on_commit: OnCommit | None = None,
        claim: Callable[[], bool] | None = None,
        *,
        in_batch: bool = False,
    ) -> list[Reply]:
        """Process one message in one transaction. A failure becomes an apology to the person; only an
        unavailable database (``storage.database.is_unavailable``) is raised, since then nothing can be
        recorded: the channel answers “try later” and keeps the message (and ``in_batch`` raises all).

        Args:
            inbound: the message.
            on_commit: called with the replies (and whether handling failed) inside the same
                transaction, so a channel can mark its update done and queue the replies atomically
                with the dialog's effects.
            claim: called first inside the transaction; when it returns False (another worker has
                the message, or an earlier one of the same chat), nothing is done and [] returned.
            in_batch: the caller holds a unit of work around several messages (one commit for all):
                an error is raised to it, to roll the batch back and handle its messages one by one.
        """
        if in_batch:
            return self._once(inbound, on_commit, claim)
        for _attempt in range(3):
            try:
                return self._once(inbound, on_commit, claim)
            except ConcurrentUpdate:
                log.info("concurrent update on one draft; retrying the message")
            except Exception as error:
                if is_unavailable(error):
                    raise  # nothing was done: the channel says “try later” and keeps the message
                log.error("message handling failed: %s", failure_line(error))
                break
        replies = [Reply(TRY_AGAIN.format(contact=self.campaign.contact.line()))]
        if on_commit is not None:
            with self.repository.unit_of_work():
                if claim is None or claim():
                    on_commit(replies, True)
        return replies

    def _once(
        self, inbound: Inbound, on_commit: OnCommit | None, claim: Callable[[], bool] | None
    ) -> list[Reply]:
        """One attempt at a message, in one unit of work (inside the caller's, when it holds one)."""
        with self.repository.unit_of_work():
            if claim is not None and not claim():
                return []
            replies = self._handle(inbound)
            if on_commit is not None:
                on_commit(replies, False)
        return replies

    def _handle(self, inbound: Inbound) -> list[Reply]:
        pressed = pressed_notice(inbound.menu, inbound.text)
        if pressed is not None:  # a notice's button: its command, as if typed
            inbound = replace(inbound, text=pressed, menu=None)
        text = inbound.text  # cleaned when the Inbound was made
        command = parse_command(text)
        consenting = inbound.consent_for is not None
        inviting = command is not None and command.name == "start" and bool(command.argument)
        if (consenting or inviting) and not self.invite_tries.allowed((inbound.channel, inbound.user_id)):
            code = inbound.consent_for if command is None or not inviting else command.argument
            if not self.invite_usable(code or ""):  # a right code goes through: only guesses wait
                return [Reply(TOO_MANY_TRIES.format(contact=self.campaign.contact.line()))]
        if inbound.consent_for is not None:
            return self._consent(inbound, inbound.consent_for, text)
        if inviting:
            assert command is not None
            return self._offer_invite(inbound, command.argument)
        contact, current = self.repository.contact_with_draft(inbound.channel, inbound.user_id)
        if contact is not None and contact.active and contact.role == "supervisor":
            desk = SupervisorDesk(self.campaign, self.forms, self.repository, self.exports, self.web_url)
            return desk.answer(contact, command, self.clock(), text, inbound.menu)
        unit = (
            self.repository.unit(contact.unit_id) if contact and contact.active and contact.unit_id else None
        )
        if contact is None or unit is None:
            return [Reply(NOT_BOUND)]
        now, served = self.clock(), self.served
        held = current is not None and current.unit_id == unit.id and current.status == "open"
        unit_notices = notices_of_unit(served.values(), unit.code, now) if self.others else ()
        if held and current is not None and current.campaign_id in served:
            notice = served[current.campaign_id]
        else:
            held = False  # a draft of a notice not served here is left as it is
            notice = unit_notices[0] if unit_notices else served[self.campaign.id]
        turn = Turn(
            contact=contact,
            unit=unit,
            now=now,
            campaign=notice.campaign,
            forms=notice.forms,
            machines=notice.machines,
            store=self.repository,
            prints=self.render is not None,
            notices=unit_notices,
        )
        if held and current is not None:
            turn.draft = turn.hold(current)
        route(turn, text, command, inbound.menu, inbound.file)
        self._save(turn.effects(), turn.now)
        return turn.replies

    def _save(self, effects: Effects, now: datetime) -> None:
        """Store what a turn changed, in the message's transaction: each draft changed (checked
        against a concurrent change), the contact's pointers, the messages for others."""
        for draft in effects.drafts:
            self.repository.save(draft, None, now=now)
        if effects.contact is not None:
            self.repository.save(None, effects.contact)
        for channel, chat_key, payload in effects.messages:
            self.repository.enqueue_message(channel, chat_key, payload)

    # What a channel may ask besides messages ------------------------------------------------------

    @property
    def served(self) -> dict[str, ServedNotice]:
        """The notices served, by id: ``campaign`` (as it stands: a test may change it) and the others."""
        first = ServedNotice(self.campaign, self.forms, self.machines)
        return {first.id: first, **{notice.id: notice for notice in self.others}}

    @property
    def store(self) -> Repository:
        """Storage, for the delivery layer's inbox, outbox and group commit (``bot.delivery``), and for
        what a channel keeps of its own (a messenger's access token; the numbered list a chat without
        buttons was last asked): for anything of the dialog, channels ask the engine, never the store."""
        return self.repository

    @property
    def contact_line(self) -> str:
        """Who to ask when the bot cannot help: “市妇联组联部（联系人：…，电话：…，邮箱：…）”."""
        return self.campaign.contact.line()

    def invite_usable(self, code: str) -> bool:
        """Whether ``code`` is an invite that can be used now (a right code is never held up by the
        limit on wrong ones: codes are too long to guess)."""
        return self.repository.usable_invite(code.strip().upper(), self.clock()) is not None

    def identity(self, channel: str, user_id: str) -> Identity | None:
        """A bound, active contact of a channel's user, or None."""
        contact = self.repository.contact(channel, user_id)
        if contact is None or not contact.active or contact.id is None:
            return None
        return self._identity(contact)

    def identity_of(self, contact_id: int, binding: str | None = None) -> Identity | None:
        """The bound, active contact with this id (a download link or a 企业微信 member's web session
        names its contact so), or None; with ``binding``, only while it is still that binding."""
        contact = self.repository.contact_by_id(contact_id)
        if contact is None or not contact.active or contact.id is None:
            return None
        identity = self._identity(contact)
        if binding is not None and not hmac.compare_digest(identity.binding, binding):
            return None
        return identity

    def invite_rebinds(self, code: str, contact: Identity) -> bool:
        """Whether invite ``code`` would bind ``contact`` anew: it is open, for another unit or role.
        (A link opened again, or one for where they already are, just reopens their chat.)"""
        invite = self.repository.invite(code.strip().upper())
        if not invite_is_open(invite, self.clock()):
            return False
        assert invite is not None
        return (invite.unit_id, invite.role) != (contact.unit_id, contact.role)

    def _identity(self, contact: Contact) -> Identity:
        assert contact.id is not None
        unit = self.repository.unit(contact.unit_id) if contact.unit_id is not None else None
        who = unit.name if unit is not None else self.campaign.contact.department
        role: Literal["contact", "supervisor"] = "supervisor" if contact.role == "supervisor" else "contact"
        return Identity(
            contact.id, contact.channel, contact.external_id, role, contact.unit_id, who, _binding(contact)
        )

    def supervisor_chats(self, channel: str) -> list[str]:
        """The user ids of 组联部 on a channel (their command menus differ)."""
        return self.repository.supervisor_chats(channel)

    def notices(
        self, channel: str, user_id: str, keep: Callable[[list[Reply]], None] | None = None
    ) -> list[Reply]:
        """Messages queued for someone who reads them when they next look (the web page, the console):
        returns, reminders, a file made for them later (the videos' ZIP). Each is given once; ``keep``
        (the web chat keeping its conversation) runs in the same transaction, so none is taken and
        then lost."""
        if not self.have_notices(channel, [user_id]):  # a read, no commit: the usual case
            return []
        with self.repository.unit_of_work():
            replies = [
                Reply(
                    str(m.payload.get("text", "")),
                    tuple(m.payload.get("options", ())),
                    document=_document_of(m.payload),
                    menu=str(m.payload.get("menu", "")),
                )
                for m in self.repository.take_messages(channel, user_id, self.clock())
            ]
            if keep is not None and replies:
                keep(replies)
        return replies

    def spool_path(self) -> Path:
        """Where a channel writes a large upload as it arrives (``IncomingFile.spooled``)."""
        return self.repository.spool_path()

    def remember_chat(self, contact_id: int, lines: Sequence[tuple[str, dict[str, Any]]]) -> None:
        """Keep lines of a web conversation (who said it, what), the last ones only, for a reload."""
        self.repository.add_chat_lines(contact_id, lines)

    def last_chat_line(self, contact_id: int) -> int:
        """The id of a web conversation's last kept line (0 for none)."""
        return self.repository.last_chat_line(contact_id)

    def chat_lines_after(self, contact_id: int, after: int) -> list[tuple[int, str, dict[str, Any]]]:
        """The kept lines of a web conversation after line ``after``, with their ids, oldest first."""
        return self.repository.chat_lines_after(contact_id, after)

    def still_bound(self, channel: str, user_ids: Sequence[str]) -> set[str]:
        """Which of these people are still bound (the others were revoked)."""
        return self.repository.bound_chats(channel, user_ids)

    def have_notices(self, channel: str, user_ids: Sequence[str]) -> set[str]:
        """Which of these people have notices waiting (``notices`` would give them some)."""
        return self.repository.chats_with_messages(channel, user_ids, self.clock())

    def areas(self) -> list[str]:
        return areas(self.campaign)

    def status(self, viewer: Identity, area: str | None = None) -> StatusReport | None:
        """/status for ``viewer``: 组联部 the whole campaign (or one ``area``), a unit's contact their
        unit. None for an area the campaign does not have."""
        now = self.clock()
        if viewer.supervisor:
            if area is not None and area not in areas(self.campaign):
                return None
            return status_report(self.repository, self.campaign, self.forms, now, area=area)
        unit = self.repository.unit(viewer.unit_id) if viewer.unit_id is not None else None
        return status_report(self.repository, self.campaign, self.forms, now, unit.code if unit else "")

    def run_export_jobs(self) -> int:
        """Make the exports promised (``dialogs.export_jobs``) and queue their messages; how many.
        Slow: from a worker thread, never inside a message's transaction."""
        return self.exports.run_due(self.campaign, self.forms)

    def queue_reminders(self) -> int:
        """Queue the deadline reminders (and the digest) due now; how many (see ``dialogs.nudges``)."""
        return send_due_nudges(self.repository, self.campaign, self.forms, self.clock())

    def check_health(self) -> None:
        """Raise when the database cannot answer (or its file is gone)."""
        database_health(self.repository.engine)

    def handle_once(self, inbound: Inbound, key: int, *, in_batch: bool = False) -> list[Reply] | None:
        """Handle a message that its channel names by ``key`` (the web page's own id), once: the key
        is recorded in the transaction that handles it. None when it was handled before (its answer
        was lost on the way and the channel sent it again)."""
        recorded = False

        def claim() -> bool:
            nonlocal recorded
            recorded = self.repository.record_handled(inbound.channel, key, inbound.user_id)
            return recorded

        replies = self.handle(inbound, claim=claim, in_batch=in_batch)
        return replies if recorded or replies else None

    # Documents ---------------------------------------------------------------------------------

    def open_document(self, ref: DocumentRef, viewer: Identity | None = None) -> OpenedDocument | None:
        """The file of a document reference, or None when there is none (or ``viewer`` may not see it:
        a unit's contact sees the unit's own submissions, 组联部 every one and the exports)."""
        return open_document(self.repository, self.served, self.render, ref, viewer)

    def check_file(self, file: IncomingFile) -> IncomingFile:
        """The file with its own checks made and, when it passes, stored under its content hash, before
        the transaction that handles its message (``dialogs.received_files.check_file``)."""
        return check_file(self.repository, file)

    # Binding by invite, with consent -----------------------------------------------------------

    def _offer_invite(self, inbound: Inbound, argument: str) -> list[Reply]:
        """/start CODE: show the privacy notice; nothing is stored until the person agrees."""
        code = argument.strip().upper()
        invite, now = self.repository.invite(code), self.clock()
        if not invite_is_open(invite, now):
            return self._invite_refused(inbound, invite, now)
        assert invite is not None
        unit = self.repository.unit(invite.unit_id) if invite.unit_id is not None else None
        unit_name = None if invite.role == "supervisor" or unit is None else unit.name
        notice = privacy_notice(self.campaign, inbound.channel, unit_name, trial=self.trial)
        return [Reply(notice, ("同意", "不同意"), consent_for=code)]

    def _consent(self, inbound: Inbound, code: str, text: str) -> list[Reply]:
        if pick_action(text, [("同意", "yes"), ("不同意", "no")]) != "yes":
            return [Reply(NO_CONSENT)]
        contact = self.repository.redeem_invite(code, inbound.channel, inbound.user_id, self.clock())
        if contact is None:
            return self._invite_refused(inbound, self.repository.invite(code), self.clock())
        log.info("contact %s bound by invite (role %s)", contact.id, contact.role)
        return [
            Reply(CONSENTED),
            *self._handle(Inbound(inbound.channel, inbound.user_id, "/start")),
        ]

    def _invite_refused(self, inbound: Inbound, invite: Invite | None, now: datetime) -> list[Reply]:
        """An invite that cannot bind: opened again by the one it bound, the chat where they left off;
        else why not (never there, expired, used by another phone), counted as a failed try."""
        contact = self.repository.contact(inbound.channel, inbound.user_id)
        if invite is not None and contact is not None and contact.active and invite.used_by == contact.id:
            return self._handle(Inbound(inbound.channel, inbound.user_id, "/start"))
        self.invite_tries.failed((inbound.channel, inbound.user_id))
        return [Reply(invite_refusal(invite, now, self.campaign.contact.line()))]


def _document_of(payload: dict[str, Any]) -> DocumentRef | None:
    document = payload.get("document")
    return DocumentRef.from_payload(document) if isinstance(document, dict) else None


def _binding(contact: Contact) -> str:
    """A short tag of the contact's current binding: its row and when it consented (each invite taken
    sets that anew), so that a row bound again after a revocation is another binding."""
    bound = contact.consented_at or contact.created_at
    moment = bound.replace(tzinfo=bound.tzinfo or UTC).timestamp()
    return hashlib.sha256(f"{contact.id}|{moment:.6f}".encode()).hexdigest()[:12]
