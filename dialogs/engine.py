"""The dialog engine: one plain message in, the replies out, every accepted answer committed first.

The engine knows no messenger. A channel turns its updates into ``Inbound`` and sends the ``Reply``
objects back. For each message the engine loads the contact and the draft they are filling, works out
what the message means in the draft's state (an answer, a command, a choice by number), asks the
form's machine to make the move, commits, and only then returns what to say.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from dialogs.campaign import Campaign, TaskDecl
from dialogs.chinese_text import plain_number, word_count
from dialogs.commands import (
    COMMAND_HELP,
    STALE_BUTTON,
    SUPERVISOR_ONLY,
    Command,
    asks_for_documents,
    contacts_answer,
    menu_token,
    not_understood,
    parse_command,
    pick_action,
)
from dialogs.declarations import FieldDecl, FormDecl, GroupDecl
from dialogs.documents import open_document
from dialogs.exchange import DocumentRef, Identity, Inbound, IncomingFile, OpenedDocument, Reply
from dialogs.export_jobs import Exporter, ExportJobs, VideoExporter
from dialogs.failures import failure_line
from dialogs.form_records import Render, record_name, stored_media
from dialogs.invites import FailedAttempts, invite_is_open, invite_refusal
from dialogs.lateness import can_change, deadline_label, is_past, late_note, refusal, refuses
from dialogs.navigation import Spot, first_gap, next_gap_after, next_in_group, spot_label
from dialogs.notices import NoticeButton, notice_payload, pressed_notice
from dialogs.nudges import send_due_nudges
from dialogs.presentation import (
    display_value,
    field_line,
    form_size,
    long_answer,
    review_text,
    row_title,
    step_counter,
)
from dialogs.privacy import privacy_notice
from dialogs.received_files import check_file, check_photo, check_video
from dialogs.reports import StatusReport
from dialogs.sent_files import is_named_mp4, unused_file, wrong_file
from dialogs.submission_view import (
    own_submission,
    return_reason,
    returned_to_correct,
    submission_line,
    submission_replies,
    word_file_reply,
)
from dialogs.supervision import Progress, areas, campaign_progress, quota_count, status_report
from dialogs.supervisor_desk import SupervisorDesk
from dialogs.validators import (
    NOT_A_PHOTO,
    TEXT_VALIDATORS,
    Accepted,
    Rejected,
    ValidationContext,
    ValidationResult,
    cross_field_names,
)
from state_machines.cursor import Cursor
from state_machines.form_machine import (
    CANCELLED,
    CONFIRM_CANCEL,
    EDIT_PICK,
    REVIEW,
    SUBMITTED,
    FormMachine,
    field_state,
    menu_state,
)
from storage.database import database_health, is_unavailable
from storage.models import Contact, Draft, Invite, Unit
from storage.repository import ConcurrentUpdate, Repository

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
OnCommit = Callable[[list[Reply], bool], None]

NOT_BOUND = "您好！本服务仅供各报送单位的联系人使用。请向市妇联组联部索取邀请链接，打开后按提示完成绑定。"
CONSENTED = "感谢您的同意，已登记。以后打开这里就能接着办理。"
#: Opened again with a list still to pick from (the page reloaded after 草稿 or 已交): it stays.
HELD_MENU = "上一条消息的按钮仍可点选；发送“新建”可开始填写新表。"
NO_CONSENT = "您没有同意，我们不会保存您的任何信息。如改变主意，请重新打开邀请链接。"
TOO_MANY_TRIES = "邀请码试错的次数太多了，请一分钟后再试。如邀请码有问题，请联系{contact}。"
TRY_AGAIN = (
    "抱歉，系统刚才出了点问题，您已填写的内容都已保存。请稍后再发送一次；如仍有问题，请联系{contact}。"
)


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Turn:
    """Everything one message works with: who sent it, the unit, the draft, and the replies so far."""

    contact: Contact
    unit: Unit
    now: datetime
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


class DialogEngine:
    """Walks a unit's contact through the campaign's forms.

    Args:
        campaign: the campaign being collected (units, tasks, deadlines, the notice's contact).
        forms: the form declarations by id.
        machines: one built ``FormMachine`` per form id.
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
    ) -> None:
        self.campaign = campaign
        self.trial = trial
        self.render = render
        self.invite_tries = FailedAttempts()
        self.forms = forms
        self.machines = machines
        self.repository = repository
        self.clock = clock
        self.exports = ExportJobs(repository, campaign, forms, clock, exporter, video_exporter)
        self.desk = SupervisorDesk(campaign, forms, repository, self.exports, web_url)

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
            return self.desk.answer(contact, command, self.clock(), text, inbound.menu)
        unit = (
            self.repository.unit(contact.unit_id) if contact and contact.active and contact.unit_id else None
        )
        if contact is None or unit is None:
            return [Reply(NOT_BOUND)]
        turn = Turn(contact=contact, unit=unit, now=self.clock())
        if current is not None and current.unit_id == unit.id and current.status == "open":
            turn.draft = current
        if command is not None and turn.draft is not None and contacts_answer(text, command):
            command = None
        menu_action = pick_action(text, [(str(label), str(action)) for label, action in contact.menu])
        if command is None and menu_action is None and asks_for_documents(text):
            command = Command("submissions")  # “怎么下载word”: 已交 lists them, each with its Word file
        if inbound.menu is not None and inbound.menu != self._current_menu(turn):
            turn.say(STALE_BUTTON)
            if turn.draft is not None:
                self._ask(turn)
            else:
                self._offer_new(turn)
        elif command is not None and self._global_command(turn, command):
            pass
        elif menu_action is not None:
            self._menu_action(turn, menu_action)
        elif turn.draft is not None:
            self._in_draft(turn, command, text, inbound.file)
        else:
            self._at_home(turn, text, inbound.file)
        if turn.dirty:
            self.repository.save(turn.draft, turn.contact, now=turn.now)
        return turn.replies

    # What a channel may ask besides messages ------------------------------------------------------

    @property
    def store(self) -> Repository:
        """Storage, for the delivery layer's inbox, outbox and group commit (``bot.delivery``) only:
        channels ask the engine, never the store."""
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
        return self.exports.run_due()

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
        return open_document(self.repository, self.campaign, self.forms, self.render, ref, viewer)

    # Commands that work anywhere ---------------------------------------------------------------

    def _global_command(self, turn: Turn, command: Command) -> bool:
        """Handle commands that do not depend on the draft's state; False when the draft should."""
        match command.name:
            case "start":
                if turn.draft is not None:
                    turn.say(
                        f"欢迎回来，{turn.unit.name}。继续填写《{self._form(turn.draft).short_title}》："
                    )
                    self._ask(turn)
                elif self._holds_list(turn.contact):  # the 草稿 or 已交 list last shown still answers
                    turn.say(f"欢迎回来，{turn.unit.name}。{HELD_MENU}")
                else:
                    turn.say(
                        f"您好，{turn.unit.name}的联系人！这里可以填写并报送《{self.campaign.notice}》要求的各类表格。"
                    )
                    self._offer_new(turn)
                return True
            case "new":
                self._offer_new(turn)
                return True
            case "drafts":
                self._offer_drafts(turn)
                return True
            case "submissions":
                self._offer_submissions(turn)
                return True
            case "reopen":
                self._reopen(turn, command.argument)
                return True
            case "show":
                self._show_own(turn, command.argument)
                if turn.draft is not None:
                    self._ask(turn)
                return True
            case "status":
                report = status_report(self.repository, self.campaign, self.forms, turn.now, turn.unit.code)
                turn.say(report.text())
                if turn.draft is not None:
                    self._ask(turn)
                return True
            case "help" if turn.draft is None:
                turn.say(self._general_help())
                return True
            case name if name in SUPERVISOR_ONLY:
                turn.say(f"这个命令只有{self.campaign.contact.department}可以使用。")
                if turn.draft is not None:
                    self._ask(turn)
                return True
            case _ if turn.draft is None:
                turn.say("您现在没有正在填写的表。发送“新建”开始填写，或发送“草稿”继续未填完的表。")
                return True
        return False

    def _general_help(self) -> str:
        lines = ["可以直接发送以下词语："]
        lines += [f"{name}：{purpose}" for name, purpose in COMMAND_HELP]
        lines.append(f"其他问题请联系{self.campaign.contact.line()}。")
        return "\n".join(lines).replace("30天", f"{self.campaign.cancelled_draft_days}天")

    # Outside a draft: menus remembered on the contact ----------------------------------------------

    def _set_menu(self, turn: Turn, text: str, entries: list[tuple[str, str]]) -> None:
        turn.contact.menu = [[label, action] for label, action in entries]
        turn.dirty = True
        turn.say(text, [label for label, _action in entries], menu=menu_token(turn.contact.menu))

    @staticmethod
    def _holds_list(contact: Contact) -> bool:
        """Whether the menu last shown is a list to pick from (草稿, 已交), not the home menu, which
        is shown afresh (its counts and deadlines change)."""
        return any(not str(action).startswith("new:") for _label, action in contact.menu)

    def _current_menu(self, turn: Turn) -> str:
        """The token of the options the person was last shown (a home menu, else the draft's question)."""
        if turn.contact.menu:
            return menu_token(turn.contact.menu)
        if turn.draft is not None:
            return _draft_token(turn.draft)
        return ""

    # 组联部 ------------------------------------------------------------------------------------

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

    def _at_home(self, turn: Turn, text: str, file: IncomingFile | None) -> None:
        if file is not None:
            turn.say("收到文件，但您现在没有正在填写的表。请先选择要填写的表。")
        else:
            turn.say(f"{not_understood(text)}请先选择要做什么：")
        self._offer_new(turn)

    def _menu_action(self, turn: Turn, action: str) -> None:
        """Carry out what was picked from a menu shown by /new, /drafts or /submissions."""
        kind, _, value = action.partition(":")
        if kind in ("new", "fresh"):
            self._start_draft(turn, self.campaign.task(value), fresh=kind == "fresh")
        elif kind == "resume":
            self._resume(turn, int(value))
        elif kind == "reopen":
            self._reopen(turn, value)
        elif kind == "show":
            self._show_own(turn, value)
        elif kind == "download":
            self._download_own(turn, value)

    def _progress(self, unit: Unit, task: TaskDecl) -> Progress:
        return next(p for p in campaign_progress(self.repository, self.campaign, unit.code) if p.task == task)

    def _offer_new(self, turn: Turn) -> None:
        entries, late = [], []
        for item in campaign_progress(self.repository, self.campaign, turn.unit.code):
            task = item.task
            form = self.forms[task.form]
            wanted = f"{task.quota_min}" if task.quota_max == task.quota_min else f"至少{task.quota_min}"
            noun = form.group(task.counted_group).item if task.counted_group else "份"
            deadline = deadline_label(self.campaign, task, turn.now, complete=item.complete)
            late += [form.short_title] if is_past(self.campaign, task, turn.now) and not item.complete else []
            returned = f"，{item.returned}份被退回待修改" if item.returned else ""
            label = f"{form.short_title}（已交{item.counted}{noun}{returned}，需{wanted}{noun}，{deadline}）"
            entries.append((label, f"new:{task.id}"))
        note = late_note(self.campaign, late)
        self._set_menu(turn, f"{note}\n请选择要填写的表：" if note else "请选择要填写的表：", entries)

    def _offer_drafts(self, turn: Turn) -> None:
        assert turn.unit.id is not None
        keep_since = turn.now - timedelta(days=self.campaign.cancelled_draft_days)
        entries = []
        for draft in self.repository.drafts(turn.unit.id, ("open", "cancelled")):
            if draft.status == "open" or (
                draft.cancelled_at is not None and _aware(draft.cancelled_at) >= keep_since and draft.answers
            ):  # an abandoned draft with nothing in it has nothing to restore
                entries.append((self._draft_label(draft, turn.now), f"resume:{draft.id}"))
        if not entries:
            turn.say("没有未填完的表。发送“新建”开始填写。")
            return
        self._set_menu(turn, "未填完的表（点选继续）：", entries)

    def _draft_label(self, draft: Draft, now: datetime) -> str:
        """A draft as 草稿 lists it: “继续：登记表·韦丽华（填到“民族”）” or, abandoned, “恢复：已放弃的…
        （保留至6月9日）”."""
        form = self._form(draft)
        name = record_name(form, draft.answers) or "未命名"
        if draft.status == "open" or draft.cancelled_at is None:
            closed = "，已截止，不能再提交" if self._refused_late(draft, now) else ""
            return f"继续：{form.short_title}·{name}（{self._where(draft)}{closed}）"
        until = _aware(draft.cancelled_at) + timedelta(days=self.campaign.cancelled_draft_days)
        local = until.astimezone(self.campaign.zone)
        return f"恢复：已放弃的{form.short_title}·{name}（保留至{local.month}月{local.day}日）"

    def _offer_submissions(self, turn: Turn) -> None:
        assert turn.unit.id is not None
        submissions = self.repository.submissions(turn.unit.id)
        if not submissions:
            turn.say("贵单位还没有提交过表。发送“新建”开始填写。")
            return
        lines = ["贵单位已提交："]
        entries = []
        changeable = False
        for submission in submissions:
            form = self.forms[submission.form_id]
            latest = self.repository.versions(submission.id or 0)[-1]
            lines.append(submission_line(form, submission, latest.answers))
            entries.append((f"查看 #{submission.id}", f"show:{submission.id}"))
            if latest.document_path:
                entries.append((f"下载 #{submission.id}", f"download:{submission.id}"))
            if can_change(self.campaign, self.campaign.task(submission.task_id), submission.status, turn.now):
                entries.append((f"修改 #{submission.id}", f"reopen:{submission.id}"))
                changeable = True
        lines.append("点“查看”看全部内容和照片，点“下载”取 Word 表格。")
        if changeable:
            lines.append("可以修改的表另有“修改”按钮。")
        else:
            lines.append("（已接收或已过截止时间的表不能再修改。）")
        self._set_menu(turn, "\n".join(lines), entries)

    def _show_own(self, turn: Turn, argument: str) -> None:
        """查看N号 from a unit's contact: a submission of her own unit, in full, with its Word file."""
        found = own_submission(self.repository, self.campaign, turn.unit.id, argument, "查看3号")
        if isinstance(found, str):
            turn.say(found)
            return
        turn.replies += submission_replies(self.repository, self.campaign, self.forms, found)

    def _download_own(self, turn: Turn, argument: str) -> None:
        """下载 beside a line of 已交: that submission's Word file (its latest version)."""
        found = own_submission(self.repository, self.campaign, turn.unit.id, argument, "下载 #3")
        if isinstance(found, str):
            turn.say(found)
            return
        word_file = word_file_reply(self.repository, found)
        form = self.forms[found.form_id]
        if word_file is None:
            turn.say(f"#{found.id}《{form.short_title}》没有 Word 文件。如需要，请联系{self.contact_line}。")
            return
        turn.replies.append(replace(word_file, text=f"《{form.title}》{word_file.text}"))

    # Starting, resuming, reopening ---------------------------------------------------------------

    def _earlier_drafts(self, turn: Turn, task: TaskDecl) -> list[Draft]:
        """This contact's drafts of a task with something in them that 新建 would otherwise start
        beside: open ones (not the one in hand) and abandoned ones still kept — never a correction's.
        Another contact of the unit may be filling one of her own at this very moment (two candidates,
        two 登记表): hers are in 草稿, not offered here."""
        assert turn.unit.id is not None
        keep_since = turn.now - timedelta(days=self.campaign.cancelled_draft_days)
        current = turn.draft.id if turn.draft is not None else None
        return [
            draft
            for draft in self.repository.drafts(turn.unit.id, ("open", "cancelled"))
            if draft.task_id == task.id
            and draft.started_by == turn.contact.id
            and draft.answers
            and draft.submission_id is None
            and draft.id != current
            and (draft.cancelled_at is None or _aware(draft.cancelled_at) >= keep_since)
        ][:MAX_EARLIER_DRAFTS]

    def _drop_if_untouched(self, turn: Turn) -> bool:
        """Leaving a draft nothing was answered in: it is dropped rather than kept in 草稿 (nothing
        there to continue). Whether it was."""
        draft = turn.draft
        if draft is None or draft.answers or draft.submission_id is not None or draft.status != "open":
            return False
        draft.status, draft.cancelled_at = "cancelled", turn.now
        self.repository.save(draft, None, now=turn.now)
        turn.draft = None
        return True

    def _start_draft(self, turn: Turn, task: TaskDecl, fresh: bool = False) -> None:
        form = self.forms[task.form]
        if refuses(self.campaign, task, turn.now):
            turn.say(refusal(self.campaign, task, form.short_title))
            return
        earlier = [] if fresh else self._earlier_drafts(turn, task)
        if earlier:
            entries = [(self._draft_label(draft, turn.now), f"resume:{draft.id}") for draft in earlier]
            text = f"您已有填了一部分的《{form.short_title}》，可以接着填，也可以重新开始一份："
            self._set_menu(turn, text, [*entries, ("重新开始", f"fresh:{task.id}")])
            return
        records = self._progress(turn.unit, task).records
        if task.max_records is not None and records >= task.max_records:
            assert turn.unit.id is not None
            department = self.campaign.contact.department
            to_correct = returned_to_correct(self.repository, form, turn.unit.id, task.id, department)
            if to_correct is not None:
                self._set_menu(turn, *to_correct)
                return
            turn.say(
                f"贵单位已提交 {records} 份《{form.short_title}》，已达到通知要求的数量。"
                "如需修改已提交的表，请发送“已交”选择要修改的一份。"
            )
            return
        kept = turn.draft is not None and not self._drop_if_untouched(turn)
        turn.draft = self._new_draft(turn, task.id, form.id, self.machines[form.id].input_states[0])
        if kept:
            turn.say("原来正在填写的表已保存，可随时发送“草稿”继续。")
        turn.say(f"{form.intro}{form_size(form)}，随时可发送“上一步”“查看”“帮助”。")
        self._ask(turn)

    def _new_draft(
        self,
        turn: Turn,
        task_id: str,
        form_id: str,
        state: str,
        *,
        answers: dict[str, Any] | None = None,
        reopens: int | None = None,
    ) -> Draft:
        """Store a new draft (empty, or correcting a submission) as the contact's current one."""
        assert turn.unit.id is not None and turn.contact.id is not None
        draft = Draft(
            campaign_id=self.campaign.id,
            unit_id=turn.unit.id,
            task_id=task_id,
            form_id=form_id,
            started_by=turn.contact.id,
            state=state,
            answers=answers or {},
            context=Cursor(state).context(),
            submission_id=reopens,
        )
        return self.repository.create_draft(draft, turn.contact)

    def _resume(self, turn: Turn, draft_id: int) -> None:
        draft = self.repository.draft(draft_id)
        if draft is None or draft.unit_id != turn.unit.id or draft.status not in ("open", "cancelled"):
            turn.say("这份草稿已不存在或已提交。发送“草稿”查看可继续的表。")
            return
        if turn.draft is not None and turn.draft.id != draft.id:
            self._drop_if_untouched(turn)
        turn.draft = draft
        turn.contact.current_draft_id = draft.id
        turn.contact.menu = []
        turn.dirty = True
        self._say_return_reason(turn, draft.submission_id)
        if draft.status == "cancelled":
            cursor = self._cursor(draft)
            restored = replace(cursor, before_cancel=None).at(cursor.before_cancel or REVIEW)
            self._move(turn, "restore", restored)
            draft.status, draft.cancelled_at = "open", None
            turn.say("草稿已恢复，之前填写的内容都在。")
        self._ask(turn)

    def _say_return_reason(self, turn: Turn, submission_id: int | None) -> None:
        """A returned form opened to correct starts with why 组联部 returned it."""
        submission = self.repository.submission(submission_id) if submission_id is not None else None
        reason = return_reason(self.repository, submission) if submission is not None else None
        if reason is not None:
            turn.say(f"{self.campaign.contact.department}退回的原因：{reason}")

    def _reopen(self, turn: Turn, argument: str) -> None:
        submission = own_submission(self.repository, self.campaign, turn.unit.id, argument, "修改第3号")
        if isinstance(submission, str):
            turn.say(submission)
            return
        task = self.campaign.task(submission.task_id)
        if submission.status == "accepted":
            turn.say(f"这份表已被组联部接收，不能再修改。如确需修改，请联系{self.campaign.contact.line()}。")
            return
        if not can_change(self.campaign, task, submission.status, turn.now):
            turn.say(
                f"#{submission.id}{self.forms[submission.form_id].short_title}已过截止时间，不能再修改。"
                f"如确需修改，请联系{self.campaign.contact.line()}。"
            )
            return
        existing = self.repository.open_draft_for(submission.id or 0)
        if existing is not None:
            self._resume(turn, existing.id or 0)
            return
        self._say_return_reason(turn, submission.id)
        latest = self.repository.versions(submission.id or 0)[-1]
        self._drop_if_untouched(turn)
        turn.draft = self._new_draft(
            turn,
            submission.task_id,
            submission.form_id,
            REVIEW,
            answers=dict(latest.answers),
            reopens=submission.id,
        )
        version = latest.version
        turn.say(f"已打开 #{submission.id}（第{version}版）进行修改，重新提交后成为第{version + 1}版。")
        self._ask(turn)

    # Inside a draft ----------------------------------------------------------------------------

    def _form(self, draft: Draft) -> FormDecl:
        return self.forms[draft.form_id]

    def _machine(self, draft: Draft) -> FormMachine:
        return self.machines[draft.form_id]

    def _cursor(self, draft: Draft) -> Cursor:
        return Cursor.read(draft.state, draft.context)

    def _move(self, turn: Turn, trigger: str, to: Cursor) -> None:
        """Move the draft to ``to`` through its form's machine (which refuses a move it does not have)."""
        draft = turn.draft
        assert draft is not None
        draft.state = self._machine(draft).move(draft.state, trigger, to.state)
        if trigger != "remove_row":  # 撤销删除 is offered right after a deletion, not later
            to = replace(to, removed=None)
        draft.context = to.context()
        turn.dirty = True

    def _in_draft(self, turn: Turn, command: Command | None, text: str, file: IncomingFile | None) -> None:
        """Route a message to what the draft's position answers: a field, a group's list, the review,
        the edit list or the cancel confirmation."""
        draft = turn.draft
        assert draft is not None
        kind = self._cursor(draft).kind
        if kind == "confirm_cancel":
            self._confirm_cancel(turn, command, text)
        elif command is not None:
            self._draft_command(turn, command)
        elif kind == "review":
            self._review_choice(turn, text, file)
        elif kind == "edit_pick":
            self._edit_choice(turn, text)
        elif kind == "group_menu":
            self._group_menu(turn, text, file)
        else:
            self._answer(turn, text, file)

    def _draft_command(self, turn: Turn, command: Command) -> None:
        draft = turn.draft
        assert draft is not None
        match command.name:
            case "help":
                self._help(turn)
            case "review":
                self._to_review(turn)
            case "edit":
                if draft.state != REVIEW:
                    self._to_review(turn, quiet=True)
                self._move(turn, "edit", replace(self._cursor(draft), edit_row=None).at(EDIT_PICK))
                self._ask(turn)
            case "cancel":
                cursor = self._cursor(draft)
                self._move(turn, "cancel", replace(cursor, before_cancel=cursor.state).at(CONFIRM_CANCEL))
                self._ask(turn)
            case "back":
                self._back(turn)
            case "skip":
                self._skip(turn)

    def _to_review(self, turn: Turn, *, quiet: bool = False) -> None:
        draft = turn.draft
        assert draft is not None
        cursor = replace(self._cursor(draft), returns_to=None)
        if cursor.kind != "review":
            if cursor.state in self._machine(draft).input_states:
                cursor = replace(cursor, before_review=cursor.state)
            self._move(turn, "to_review", cursor.at(REVIEW))
        if not quiet:
            self._ask(turn)

    def _confirm_cancel(self, turn: Turn, command: Command | None, text: str) -> None:
        draft = turn.draft
        assert draft is not None
        choice = pick_action(text, [("确认放弃", "discard"), ("继续填写", "keep")])
        if choice is None and command is not None and command.name in ("back", "review"):
            choice = "keep"
        cursor = self._cursor(draft)
        if choice == "discard":
            self._move(turn, "discard", cursor.at(CANCELLED))  # remembers where to restore it to
            draft.status, draft.cancelled_at = "cancelled", turn.now
            turn.contact.current_draft_id = None
            days = self.campaign.cancelled_draft_days
            turn.say(
                f"已放弃这份表。草稿会保留 {days} 天，期间发送“草稿”可以恢复。发送“新建”可以填写新的表。"
            )
        elif choice == "keep":
            self._move(turn, "keep", replace(cursor, before_cancel=None).at(cursor.before_cancel or REVIEW))
            turn.say("好的，继续填写。")
            self._ask(turn)
        else:
            self._ask(turn)

    # Asking ------------------------------------------------------------------------------------

    def _ask(self, turn: Turn, prefix: str = "") -> None:
        """Say what the draft's current state asks for, with its options."""
        draft = turn.draft
        assert draft is not None
        if turn.contact.menu:  # a menu is answerable only right after it was shown
            turn.contact.menu = []
            turn.dirty = True
        form = self._form(draft)
        lead = f"{prefix}\n" if prefix else ""
        asks_for: Literal["photo", "video"] | None = None
        pictures: tuple[DocumentRef, ...] = ()
        fill_in = ""
        match self._cursor(draft).kind:
            case "review":
                text, options = self._review_prompt(turn)
                pictures = stored_media(form, draft.answers)
            case "edit_pick":
                text, options = "请选择要修改的项：", [label for label, _ in self._edit_entries(draft)]
            case "confirm_cancel":
                text, options = f"确定放弃这份《{form.short_title}》吗？", ["确认放弃", "继续填写"]
            case "group_menu":
                text, options = self._menu_prompt(draft)
            case _:
                text, options = self._field_prompt(draft)
                group, field_decl = self._current_field(draft)
                kind = field_decl.kind
                asks_for = kind if kind in ("photo", "video") else None
                pictures = self._row_photo(draft, group) if kind != "photo" else ()
                fill_in = long_answer(field_decl, self._answers_for(draft, group).get(field_decl.key)) or ""
        turn.say(lead + text, options, menu=_draft_token(draft), asks_for=asks_for)
        if pictures or fill_in:
            turn.replies[-1] = replace(turn.replies[-1], pictures=pictures, fill_in=fill_in)

    def _row_photo(self, draft: Draft, group: GroupDecl | None) -> tuple[DocumentRef, ...]:
        """The photo of the row a question is about (its caption is asked: the photo is shown)."""
        photo = self._photo_field(group) if group is not None else None
        answer = self._answers_for(draft, group).get(photo.key) if photo is not None else None
        return (DocumentRef("photo", str(answer["sha256"])),) if isinstance(answer, dict) else ()

    def _field_prompt(self, draft: Draft) -> tuple[str, list[str]]:
        form = self._form(draft)
        group, field_decl = self._current_field(draft)
        answers = self._answers_for(draft, group)
        if group is None:
            number, steps = step_counter(form, field_decl.key)
            heading = f"（{number}/{steps}）"
        else:
            row, rows = self._row(draft), len(draft.answers.get(group.key, []))
            # photos sent at once: which one of them this question is about
            total = f"（共{rows}{group.item}）" if rows > row + 1 else ""
            heading = f"【{group.label}·第{row + 1}{group.item}{total}】"
        lines = [heading + field_decl.prompt]
        if field_decl.example:
            lines.append(f"例如：{field_decl.example}")
        if long_answer(field_decl, answers.get(field_decl.key)) is not None:
            current = str(answers[field_decl.key])
            lines.append(f"当前已填（共{word_count(current)}字）：\n{current}")
            lines.append("可复制上面的全文改好后发送，发送“跳过”保留原值。")
        elif field_decl.key in answers:
            current = display_value(field_decl, answers[field_decl.key])
            lines.append(f"当前已填：{current}。发送新内容可修改，发送“跳过”保留原值。")
        elif not field_decl.required:
            lines.append("（选填，不填请发送“跳过”）")
        options = field_decl.choice_buttons if field_decl.kind == "choice" else []
        return "\n".join(lines), options

    def _menu_prompt(self, draft: Draft) -> tuple[str, list[str]]:
        group = self._group(draft)
        rows = draft.answers.get(group.key, [])
        lines = [group.prompt]
        lines += [f"{row_title(group, row, i)}" for i, row in enumerate(rows)] or ["（还没有）"]
        if len(rows) < group.min_rows:
            lines.append(f"还需至少 {group.min_rows - len(rows)} {group.item}。")
        return "\n".join(lines), [label for label, _ in self._menu_entries(draft)]

    def _menu_entries(self, draft: Draft) -> list[tuple[str, str]]:
        group = self._group(draft)
        rows = draft.answers.get(group.key, [])
        entries: list[tuple[str, str]] = []
        removed = self._cursor(draft).removed
        if removed is not None and removed[0] == group.key:
            entries.append(("撤销删除", "undo"))
        if len(rows) < group.max_rows:
            entries.append((f"添加一{group.item}", "add"))
        for index in range(len(rows)):
            entries.append((f"修改第{index + 1}{group.item}", f"edit:{index}"))
            entries.append((f"删除第{index + 1}{group.item}", f"remove:{index}"))
        if len(rows) >= group.min_rows:
            entries.append(("填写完毕，下一步", "finish"))
        return entries

    def _review_prompt(self, turn: Turn) -> tuple[str, list[str]]:
        draft = turn.draft
        assert draft is not None
        text = review_text(self._form(draft), draft.answers)
        if first_gap(self._form(draft), draft.answers) is None:
            return text + "\n\n请核对以上内容，确认无误后提交。", ["确认提交", "修改", "放弃"]
        return text + "\n\n还有未填的项。", ["继续填写", "修改", "放弃"]

    def _help(self, turn: Turn) -> None:
        draft = turn.draft
        assert draft is not None
        if self._cursor(draft).kind in ("review", "edit_pick", "group_menu"):
            text = "请点选下面的选项，或发送选项前的数字。"
        else:
            _group, field_decl = self._current_field(draft)
            text = f"【{field_decl.label}】{field_decl.help or field_decl.prompt}"
            if field_decl.example:
                text += f"\n例如：{field_decl.example}"
            if not field_decl.required:
                text += "\n此项选填，可发送“跳过”。"
        text += f"\n常用命令：上一步、跳过、查看、修改、放弃。其他问题请联系{self.campaign.contact.line()}。"
        turn.say(text)
        self._ask(turn)

    # Answers -----------------------------------------------------------------------------------

    def _current_field(self, draft: Draft) -> tuple[GroupDecl | None, FieldDecl]:
        form = self._form(draft)
        cursor = self._cursor(draft)
        if cursor.group_key is not None:
            group = form.group(cursor.group_key)
            return group, group.field(cursor.field_key)
        return None, form.top_field(cursor.field_key)

    def _group(self, draft: Draft) -> GroupDecl:
        group_key = self._cursor(draft).group_key
        assert group_key is not None, "asked for the group of a position outside any"
        return self._form(draft).group(group_key)

    def _row(self, draft: Draft) -> int:
        return self._cursor(draft).row

    def _answers_for(self, draft: Draft, group: GroupDecl | None) -> dict[str, Any]:
        """The answers a field lives in: the draft's top level, or its group's current row."""
        if group is None:
            return draft.answers
        rows = draft.answers.get(group.key, [])
        row = self._row(draft)
        return rows[row] if row < len(rows) else {}

    def _store(
        self, draft: Draft, group: GroupDecl | None, key: str, value: Any, row: int | None = None
    ) -> None:
        if group is None:
            draft.answers = {**draft.answers, key: value}
            return
        rows = [dict(r) for r in draft.answers.get(group.key, [])]
        index = self._row(draft) if row is None else row
        while len(rows) <= index:
            rows.append({})
        rows[index][key] = value
        draft.answers = {**draft.answers, group.key: rows}

    def _context(self, draft: Draft, field_decl: FieldDecl, group: GroupDecl | None) -> ValidationContext:
        task = self.campaign.task(draft.task_id)
        answers = {**draft.answers, **self._answers_for(draft, group)}
        return ValidationContext(
            label=field_decl.label,
            today=self.clock().astimezone(self.campaign.zone).date(),
            campaign_year=self.campaign.year,
            deadline=task.deadline,
            answers=answers,
        )

    def _with_dependents(
        self, draft: Draft, field_decl: FieldDecl, group: GroupDecl | None, accepted: Accepted
    ) -> ValidationResult:
        """An answer checked against the answers whose rules name it: 单位人数 changed to 50 while
        女性人数 says 86 is refused here, naming both, not at the submit."""
        form = self._form(draft)
        fields = group.fields if group is not None else [s for s in form.steps if isinstance(s, FieldDecl)]
        answers = {**self._answers_for(draft, group), field_decl.key: accepted.value}
        notes = [accepted.note] if accepted.note else []
        for other in fields:
            if other is field_decl or other.validator is None or answers.get(other.key) is None:
                continue
            if field_decl.key not in cross_field_names(other.params):
                continue
            context = replace(self._context(draft, other, group), answers=answers)
            again = TEXT_VALIDATORS[other.validator](str(answers[other.key]), other.params, context)
            if isinstance(again, Rejected):
                return Rejected(
                    f"{field_decl.label}填{accepted.value}，与已填的{other.label}不符：{again.message}\n"
                    f"请重新填写{field_decl.label}；如果是{other.label}填错了，请先发送“跳过”，再修改{other.label}。"
                )
            notes += [again.note] if again.note else []  # a warning the change brings on (单独创建)
        return replace(accepted, note="\n".join(notes) or None)

    def _validate_text(
        self, draft: Draft, field_decl: FieldDecl, group: GroupDecl | None, text: str
    ) -> ValidationResult:
        assert field_decl.validator is not None
        if field_decl.kind == "choice":
            choice = pick_action(text, [(option, option) for option in field_decl.choice_buttons])
            text = choice if choice is not None else text
        validator = TEXT_VALIDATORS[field_decl.validator]
        return validator(text, field_decl.params, self._context(draft, field_decl, group))

    def _answer(self, turn: Turn, text: str, file: IncomingFile | None) -> None:
        draft = turn.draft
        assert draft is not None
        group, field_decl = self._current_field(draft)
        if file is not None and group is not None and field_decl.kind != "photo" and self._photo_field(group):
            self._album_photo(turn, group, file)
            return
        result: ValidationResult
        if field_decl.kind == "photo":
            if file is None or file.kind != "photo" or file.data is None:
                turn.say(wrong_file("photo", field_decl.label, file))  # a video at 证件照: says so
                self._ask(turn)
                return
            result = self._accept_photo(file, draft, group)
        elif field_decl.kind == "video":
            if file is None or file.kind == "photo" or (file.kind == "document" and not is_named_mp4(file)):
                turn.say(wrong_file("video", field_decl.label, file))
                self._ask(turn)
                return
            if file.kind == "video":
                result = file.checked or check_video(self.repository, file)
            else:  # an MP4 sent as a document: checked by its metadata, nothing stored
                result = check_video(self.repository, replace(file, data=None, checked=None))
        elif file is not None:
            turn.say(wrong_file("text", field_decl.label, file))
            self._ask(turn)
            return
        else:
            result = self._validate_text(draft, field_decl, group, text)
            if isinstance(result, Accepted):
                result = self._with_dependents(draft, field_decl, group, result)
        if isinstance(result, Rejected):
            turn.replies.append(Reply(result.message, refuses_text=file is None))
            self._ask(turn)
            return
        self._store(draft, group, field_decl.key, result.value)
        notes = [result.note] if result.note else []
        if (
            field_decl.kind == "photo"
            and file is not None
            and file.data is not None
            and text
            and group is not None
        ):
            notes += self._caption_from_file(draft, group, field_decl, text)
        self._after_answer(turn, "advance", "\n".join(notes))

    def _photo_field(self, group: GroupDecl) -> FieldDecl | None:
        return next((f for f in group.fields if f.kind == "photo"), None)

    def _accept_photo(
        self, file: IncomingFile, draft: Draft | None = None, group: GroupDecl | None = None
    ) -> ValidationResult:
        """A photo's checks (made before the transaction, or now); within a group, the same photo twice
        is refused."""
        if file.kind != "photo" or file.data is None:
            return NOT_A_PHOTO
        result = file.checked or check_photo(self.repository, file.data)
        if isinstance(result, Rejected) or draft is None or group is None:
            return result
        digest = result.value["sha256"]
        photo = self._photo_field(group)
        rows = draft.answers.get(group.key, [])
        if photo is not None and any((row.get(photo.key) or {}).get("sha256") == digest for row in rows):
            return Rejected(f"这张照片已经上传过了（{group.label}里已有），请换一张。")
        return result

    # Files -------------------------------------------------------------------------------------

    def check_file(self, file: IncomingFile) -> IncomingFile:
        """The file with its own checks made and, when it passes, stored under its content hash, before
        the transaction that handles its message (``dialogs.received_files.check_file``)."""
        return check_file(self.repository, file)

    def _caption_from_file(self, draft: Draft, group: GroupDecl, photo: FieldDecl, caption: str) -> list[str]:
        """A photo sent with a caption also answers the row's next text field (the 说明)."""
        keys = [f.key for f in group.fields]
        following = group.fields[keys.index(photo.key) + 1] if keys.index(photo.key) + 1 < len(keys) else None
        if following is None or following.kind != "text":
            return []
        result = self._validate_text(draft, following, group, caption)
        if isinstance(result, Rejected):
            return [f"照片已收到，但说明未能采用：{result.message}"]
        self._store(draft, group, following.key, result.value)
        return []

    def _album_photo(self, turn: Turn, group: GroupDecl, file: IncomingFile) -> None:
        """A photo arriving while another field of the group is asked: a new row (photo albums)."""
        draft = turn.draft
        assert draft is not None
        photo = self._photo_field(group)
        assert photo is not None
        if file.data is None:
            turn.say("请发送照片。")
            self._ask(turn)
            return
        rows = draft.answers.get(group.key, [])
        if len(rows) >= group.max_rows:
            turn.say(f"最多 {group.max_rows} {group.item}，这张没有保存。")
            self._ask(turn)
            return
        result = self._accept_photo(file, draft, group)
        if isinstance(result, Rejected):
            turn.say(result.message)
            self._ask(turn)
            return
        index = len(rows)
        self._store(draft, group, photo.key, result.value, row=index)
        draft.context = replace(self._cursor(draft), removed=None).context()  # a step since the deletion
        turn.dirty = True
        self._ask(turn, prefix=f"已收到第{index + 1}{group.item}。")

    def _after_answer(self, turn: Turn, trigger: str, note: str) -> None:
        """Move to where the dialog goes after an accepted answer (or a skip), and ask it."""
        draft = turn.draft
        assert draft is not None
        cursor = self._cursor(draft)
        editing = cursor.returns_to
        group = self._group(draft) if cursor.group_key is not None else None
        if editing == "review":
            self._go(turn, trigger, None)
        elif group is not None and editing == "menu":
            self._go(turn, trigger, Spot(menu_state(group), self._row(draft)))
        elif group is not None:
            self._go(turn, trigger, next_in_group(group, draft.answers, self._row(draft)))
        else:
            order = self._machine(draft).input_states
            self._go(turn, trigger, next_gap_after(self._form(draft), order, draft.answers, draft.state))
        self._ask(turn, prefix=note)

    def _go(self, turn: Turn, trigger: str, spot: Spot | None) -> None:
        """Move to a spot (None: the review), at the spot's row; an edit under way is over."""
        assert turn.draft is not None
        cursor = replace(self._cursor(turn.draft), returns_to=None)
        if spot is None:
            self._move(turn, trigger, cursor.at(REVIEW))
            return
        self._move(turn, trigger, cursor.at(spot.state, spot.row))

    # Back and skip -----------------------------------------------------------------------------

    def _back(self, turn: Turn) -> None:
        """上一步: the previous field; from a row's first field, the group's list or the step before it."""
        draft = turn.draft
        assert draft is not None
        machine = self._machine(draft)
        cursor = replace(self._cursor(draft), returns_to=None)
        targets = [e.dest for e in machine.edges if e.trigger == "back" and e.source == cursor.state]
        target: str | None = targets[0] if targets else None
        if cursor.kind == "review":
            target = cursor.before_review or machine.input_states[-1]
            cursor = replace(cursor, before_review=None)
        elif cursor.kind == "field" and cursor.group_key is not None:
            group = self._group(draft)
            if cursor.state == field_state(group.fields[0], group):
                rows = [row for row in draft.answers.get(group.key, []) if row]  # drop the row just begun
                draft.answers = {**draft.answers, group.key: rows}
                before = (t for t in targets if Cursor(t).kind != "group_menu")
                target = menu_state(group) if rows else next(before, None)
        if target is None:
            turn.say("已经是第一项了。")
            self._ask(turn)
            return
        landing = cursor.at(target)
        if cursor.kind == "group_menu" or landing.kind == "group_menu":  # the last row of the group
            group = self._form(draft).group(str(landing.group_key))
            landing = landing.at(target, max(len(draft.answers.get(group.key, [])) - 1, 0))
        self._move(turn, "back", landing)
        self._ask(turn)

    def _skip(self, turn: Turn) -> None:
        draft = turn.draft
        assert draft is not None
        if self._cursor(draft).kind != "field":
            turn.say("这里没有可以跳过的项，请点选下面的选项。")
            self._ask(turn)
            return
        group, field_decl = self._current_field(draft)
        answers = self._answers_for(draft, group)
        if field_decl.key in answers:
            self._after_answer(turn, "advance", f"已保留原来的{field_decl.label}。")
            return
        if field_decl.required:
            turn.say(f"“{field_decl.label}”是必填项，不能跳过。")
            self._ask(turn)
            return
        self._store(draft, group, field_decl.key, None)
        self._after_answer(turn, "skip", f"已跳过{field_decl.label}。")

    # Group menu, review, edit ------------------------------------------------------------------

    def _group_menu(self, turn: Turn, text: str, file: IncomingFile | None) -> None:
        draft = turn.draft
        assert draft is not None
        group = self._group(draft)
        if file is not None and self._photo_field(group) is not None:
            self._album_photo(turn, group, file)
            return
        entries = [*self._menu_entries(draft), ("填写完毕，下一步", "finish")]  # finishing early is explained
        action = pick_action(text, entries) or _typed_row_action(text)
        rows = draft.answers.get(group.key, [])
        cursor = self._cursor(draft)
        if action == "add":
            self._move(turn, "add_row", cursor.at(field_state(group.fields[0], group), len(rows)))
            self._ask(turn)
        elif action == "undo" and cursor.removed is not None and len(rows) < group.max_rows:
            _key, index, row = cursor.removed
            restored = [*rows[:index], row, *rows[index:]]
            draft.answers = {**draft.answers, group.key: restored}
            self._move(turn, "remove_row", replace(cursor, removed=None))
            self._ask(turn, prefix=f"已恢复{row_title(group, row, min(index, len(rows)))}。")
        elif action == "finish":
            if len(rows) < group.min_rows:
                turn.say(f"至少需要 {group.min_rows} {group.item}，现在有 {len(rows)} {group.item}。")
                self._ask(turn)
                return
            order = self._machine(draft).input_states
            self._go(
                turn, "finish_group", next_gap_after(self._form(draft), order, draft.answers, draft.state)
            )
            self._ask(turn)
        elif action is not None and action.startswith(("edit:", "remove:")):
            verb, _, index_text = action.partition(":")
            index = int(index_text)
            if index >= len(rows):
                turn.say(f"没有第{index + 1}{group.item}。")
                self._ask(turn)
            elif verb == "remove":
                title = row_title(group, rows[index], index)
                draft.answers = {**draft.answers, group.key: [r for i, r in enumerate(rows) if i != index]}
                self._move(turn, "remove_row", replace(cursor, removed=(group.key, index, rows[index])))
                self._ask(turn, prefix=f"已删除{title}。删错了请点“撤销删除”。")
            else:
                self._move(turn, "edit_row", replace(cursor, edit_row=(group.key, index)).at(EDIT_PICK))
                self._ask(turn)
        else:
            turn.say("请点选下面的选项，或发送选项前的数字。")
            self._ask(turn)

    def _review_choice(self, turn: Turn, text: str, file: IncomingFile | None) -> None:
        draft = turn.draft
        assert draft is not None
        options = self._review_prompt(turn)[1]
        choice = None
        if file is None:
            entries = [("确认提交", "submit"), ("继续填写", "resume"), ("修改", "edit"), ("放弃", "cancel")]
            choice = pick_action(text, entries, numbered=options)
        gap = first_gap(self._form(draft), draft.answers)
        if choice is None and gap is not None and (file is not None or text.strip()):
            self._go(turn, "resume", gap)  # an answer at the review: the first missing item's, kept
            self._in_draft(turn, None, text, file)
            return
        if choice is None and file is not None:
            turn.say(unused_file(self._form(draft), draft.answers, file))
            self._ask(turn)
            return
        if choice == "submit":
            self._submit(turn)
        elif choice == "resume":
            gap = first_gap(self._form(draft), draft.answers)
            if gap is not None:
                self._go(turn, "resume", gap)
            self._ask(turn)
        elif choice in ("edit", "cancel"):
            self._draft_command(turn, Command(choice))
        else:
            named = "或".join(f"“{option}”" for option in options)
            turn.say(f"请点选{named}，也可以发送选项前的数字。")
            self._ask(turn)

    def _edit_entries(self, draft: Draft) -> list[tuple[str, str]]:
        form = self._form(draft)
        edit_row = self._cursor(draft).edit_row
        if edit_row is not None:
            group_key, index = edit_row
            group = form.group(group_key)
            rows = draft.answers.get(group.key, [])
            row = rows[index] if index < len(rows) else {}
            return [(field_line(f, row), field_state(f, group)) for f in group.fields]
        entries = []
        for step in form.steps:
            if isinstance(step, FieldDecl):
                entries.append((field_line(step, draft.answers), field_state(step)))
            else:
                entries.append((f"{step.label}（添加、修改或删除）", menu_state(step)))
        return entries

    def _edit_choice(self, turn: Turn, text: str) -> None:
        draft = turn.draft
        assert draft is not None
        target = pick_action(text, self._edit_entries(draft))
        if target is None:
            turn.say("请点选要修改的项，或发送它前面的数字；不改了请发送“查看”。")
            self._ask(turn)
            return
        current = self._cursor(draft)
        cursor, edit_row = replace(current, edit_row=None), current.edit_row
        if edit_row is not None:  # a field of one row: back to the group's list after it
            landing = replace(cursor, returns_to="menu").at(target, edit_row[1])
        elif Cursor(target).kind == "field":  # a field of the form: back to the review after it
            landing = replace(cursor, returns_to="review").at(target)
        else:  # a group's list: it goes on from there
            landing = cursor.at(target)
        self._move(turn, "pick", landing)
        self._ask(turn)

    # Submitting --------------------------------------------------------------------------------

    def _final_check(self, draft: Draft) -> tuple[str, str] | None:
        """Re-check every answer against all the others (cross-field rules); the first failure."""
        for field_decl in self._form(draft).top_fields():
            value = draft.answers.get(field_decl.key)
            if value is None or field_decl.kind not in ("text", "choice"):
                continue
            result = self._validate_text(draft, field_decl, None, str(value))
            if isinstance(result, Rejected):
                return field_state(field_decl), result.message
        return None

    def _submit(self, turn: Turn) -> None:
        draft = turn.draft
        assert draft is not None
        gap = first_gap(self._form(draft), draft.answers)
        if gap is not None:
            turn.say("还有未填的项，不能提交。")
            self._go(turn, "resume", gap)
            self._ask(turn)
            return
        problem = self._final_check(draft)
        if problem is not None:
            target, message = problem
            self._move(turn, "resume", replace(self._cursor(draft), returns_to="review").at(target))
            self._ask(turn, prefix=message)
            return
        task = self.campaign.task(draft.task_id)
        form = self._form(draft)
        records = self._progress(turn.unit, task).records
        if draft.submission_id is None and task.max_records is not None and records >= task.max_records:
            turn.say(
                f"贵单位已提交 {records} 份《{form.short_title}》，已达到通知要求的数量，这份暂不能提交。"
                "如需替换，请发送“已交”修改已提交的表；这份草稿会保留。"
            )
            self._ask(turn)
            return
        reopened = self.repository.submission(draft.submission_id) if draft.submission_id else None
        if self._refused_late(draft, turn.now):
            turn.say(f"{refusal(self.campaign, task, form.short_title)}这份表没有提交，草稿会保留。")
            self._ask(turn)
            return
        self._move(turn, "submit", self._cursor(draft).at(SUBMITTED))
        late = is_past(self.campaign, task, turn.now)
        record = {
            "campaign": self.campaign.id,
            "unit": turn.unit.code,
            "task": task.id,
            "form": form.id,
            "late": late,
        }
        version = self.repository.submit(
            draft,
            turn.contact,
            record,
            with_document=self.render is not None,
            counted=quota_count(task, draft.answers),
            in_share=self.campaign.in_share(task.id, draft.answers),
        )
        turn.dirty = False  # submit stored the draft and the contact with the version
        turn.contact.current_draft_id = None
        if reopened is not None and reopened.status == "returned":
            self._tell_supervisors(
                f"【退回后重新提交】{turn.unit.name}已修改并重新提交《{form.short_title}》"
                f"#{version.submission_id}（第{version.version}版）。"
                f"发送“查看{version.submission_id}号”审核，再接收或退回。",
                NoticeButton("show", version.submission_id),
            )
        lines = [f"已提交《{form.short_title}》，编号 #{version.submission_id}（第{version.version}版）。"]
        if late:
            deadline = f"{task.deadline.month}月{task.deadline.day}日"
            lines.append(f"注意：已过截止时间（{deadline}），本次提交标记为逾期。")
        lines.append("发送“新建”可继续填写其他表，发送“已交”查看已提交的表。")
        turn.replies.append(Reply("\n".join(lines)))
        if version.document_path is not None:
            caption = (
                f"《{form.title}》#{version.submission_id}（第{version.version}版），请打印、盖章后报送。"
            )
            ref = DocumentRef("submission", str(version.submission_id), version.version)
            turn.replies.append(Reply(caption, document=ref))

    def _refused_late(self, draft: Draft, now: datetime) -> bool:
        """Whether the draft can no longer be submitted: its task is past its deadline in a campaign
        that takes no late forms, and it is not the correction of a form 组联部 returned."""
        if not refuses(self.campaign, self.campaign.task(draft.task_id), now):
            return False
        reopened = self.repository.submission(draft.submission_id) if draft.submission_id else None
        return reopened is None or reopened.status != "returned"

    def _tell_supervisors(self, text: str, *buttons: NoticeButton) -> None:
        """A notice to every 组联部 identity, on its own channel (pushed, or shown on the next look)."""
        for channel, chat_key in self.repository.supervisor_contacts():
            self.repository.enqueue_message(channel, chat_key, notice_payload(text, *buttons))

    def _where(self, draft: Draft) -> str:
        kind = self._cursor(draft).kind
        if kind == "submitted":
            return "已提交"
        if kind == "review":
            gap = first_gap(self._form(draft), draft.answers)
            return "待确认提交" if gap is None else f"还有未填的项：“{spot_label(self._form(draft), gap)}”"
        if kind in ("edit_pick", "confirm_cancel", "cancelled"):
            return "修改中"
        if kind == "group_menu":
            return f"填到“{self._group(draft).label}”"
        _group, field_decl = self._current_field(draft)
        return f"填到“{field_decl.label}”"


#: The earlier drafts of a form 新建 offers to go on with at most (a unit rarely has more than one).
MAX_EARLIER_DRAFTS = 3


def _draft_token(draft: Draft) -> str:
    """The token of a draft's question: its position, and for a group's list what the list offers
    (its rows, an undo), since the same position numbers its buttons differently as rows come and go."""
    cursor = Cursor.read(draft.state, draft.context)
    question = f"{draft.id}:{cursor.state}:{cursor.row}"
    if cursor.kind == "group_menu" and cursor.group_key is not None:
        question += f":{len(draft.answers.get(cursor.group_key, []))}:{cursor.removed is not None}"
    return "d" + hashlib.sha1(question.encode(), usedforsecurity=False).hexdigest()[:10]


def _document_of(payload: dict[str, Any]) -> DocumentRef | None:
    document = payload.get("document")
    return DocumentRef.from_payload(document) if isinstance(document, dict) else None


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _typed_row_action(text: str) -> str | None:
    """“删除2”, “修改 第3张” typed instead of tapped."""
    stripped = text.strip().replace(" ", "").replace("第", "")
    for word, verb in (("删除", "remove"), ("修改", "edit")):
        if stripped.startswith(word):
            number = plain_number(stripped[len(word) :].rstrip("张节项个行"))
            if number is not None:
                return f"{verb}:{number - 1}"
    return None


def _binding(contact: Contact) -> str:
    """A short tag of the contact's current binding: its row and when it consented (each invite taken
    sets that anew), so that a row bound again after a revocation is another binding."""
    bound = contact.consented_at or contact.created_at
    moment = bound.replace(tzinfo=bound.tzinfo or UTC).timestamp()
    return hashlib.sha256(f"{contact.id}|{moment:.6f}".encode()).hexdigest()[:12]
