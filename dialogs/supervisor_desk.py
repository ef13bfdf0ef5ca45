"""组联部's commands: see the status and what is outstanding, look at a submission, accept it, return
it with a reason, select it for the region, export everything, and remind a unit by hand.

Every decision is recorded with who and when; a return is sent to the unit's contacts at once.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime

from dialogs.campaign import Campaign, UnitDecl
from dialogs.chinese_text import plain_number
from dialogs.commands import (
    ANY_TEXT,
    STALE_BUTTON,
    SUPERVISOR_HELP,
    Command,
    asks_for_documents,
    menu_token,
    not_understood,
    parse_command,
    pick_action,
    submission_number,
)
from dialogs.declarations import FormDecl
from dialogs.exchange import Reply
from dialogs.export_jobs import ExportJobs
from dialogs.notices import NoticeButton, notice_payload
from dialogs.nudges import send_reminder_now
from dialogs.presentation import status_label
from dialogs.submission_view import selected_rows, submission_line, submission_replies
from dialogs.supervision import areas, pending_report, status_report
from dialogs.unit_invites import unit_invite_text
from storage.models import MAX_ID, Contact, Submission
from storage.repository import Repository

log = logging.getLogger(__name__)

#: Units with buttons under 未交 at most (a city's 14; a region's hundreds are reached by area).
MAX_UNIT_BUTTONS = 20
DOCUMENTS_HINT = (
    "每份提交的 Word 文件：发送“查看3号”（编号可发送“单位 单位名”查看），文件随内容一起发来；"
    "全部表格和汇总表：发送“导出”。"
)


class SupervisorDesk:
    """Answers one supervisor command with replies (and notifications queued for unit contacts).

    Made for one message, with the notice it belongs to (``campaign``, ``forms``): the engine gives
    each message its notice, so 组联部's desk never holds one notice for every message.
    """

    def __init__(
        self,
        campaign: Campaign,
        forms: dict[str, FormDecl],
        repository: Repository,
        exports: ExportJobs,
        web_url: str = "",
    ) -> None:
        self.campaign = campaign
        self.forms = forms
        self.repository = repository
        self.exports = exports
        self.web_url = web_url  # the service's public address (INTAKE_WEB_URL), for invite links

    def answer(
        self,
        contact: Contact,
        command: Command | None,
        now: datetime,
        text: str = "",
        menu: str | None = None,
    ) -> list[Reply]:
        """One message of 组联部: a command typed, or a button of the last reply pressed (its number
        with the menu's token), or the reason a 退回 button asked for."""
        shown = list(contact.menu)
        if menu is not None and menu != menu_token(shown):
            return [Reply(STALE_BUTTON)]  # the latest reply's buttons still work
        contact.menu = []  # buttons answer only the reply that showed them
        replies = self._answer(contact, shown, command, now, text)
        if contact.menu != shown:
            self.repository.save(None, contact)
        return replies

    def _answer(
        self,
        contact: Contact,
        shown: list[list[str]],
        command: Command | None,
        now: datetime,
        text: str,
    ) -> list[Reply]:
        entries = [(str(label), str(action)) for label, action in shown]
        pending_return = next((a for label, a in entries if label == ANY_TEXT), None)
        if pending_return is not None:
            if command is not None and self._is_command(command, text):
                dropped = submission_number(pending_return.removeprefix("退回"))[0]
                return [Reply(f"没有退回#{dropped}。"), *self._answer(contact, [], command, now, text)]
            command = None  # “修改第3号表的照片” is the reason asked for, not a command
        if command is None and shown:
            action = pick_action(text, [entry for entry in entries if entry[0] != ANY_TEXT])
            if action is None and pending_return is not None and text.strip():
                refused = _unfit_reason(text)
                if refused:
                    contact.menu = shown  # the reason is still asked for
                    return [Reply(refused, ("取消",), menu=menu_token(shown))]
                action = f"{pending_return} {text.strip()}"
            if action == "cancel":
                return [Reply("好的，没有退回。")]
            if action is not None and action.startswith("reason:"):
                return self._ask_reason(contact, action.removeprefix("reason:"))
            if action is not None and action.startswith("confirm:"):
                return self._decide(contact, "return", action.removeprefix("confirm:"), confirmed=True)
            command = parse_command(action) if action is not None else None
        if command is None and asks_for_documents(text):
            return [Reply(DOCUMENTS_HINT)]
        name = command.name if command is not None else "help"
        argument = command.argument if command is not None else ""
        match name:
            case "status" | "pending":
                return self._overview(contact, name, argument, now)
            case "unit":
                return self._unit(contact, argument, now)
            case "show" | "review":  # “查看” alone: which one is asked for
                return self._show(contact, argument)
            case "accept" | "return" | "select" | "unselect":
                return self._decide(contact, name, argument)
            case "remind":
                return self._remind(contact, argument, now)
            case "invite":
                unit = self._one_unit(contact, argument, "邀请")
                if isinstance(unit, Reply):
                    return [unit]
                return [Reply(unit_invite_text(self.repository, self.campaign, unit, now, self.web_url))]
            case "export":  # says UNAVAILABLE itself when this deployment has no exporter
                return self.exports.promise(
                    self.campaign, self.forms, contact.channel, contact.external_id, now
                )
        lead = not_understood(text) if command is None else ""
        return [Reply(f"{lead}\n{self.help_text()}" if lead else self.help_text())]

    def _offer(self, contact: Contact, text: str, entries: list[tuple[str, str]]) -> Reply:
        """A reply with buttons: each entry's label shown, its action (a command in words) remembered
        on the contact; an ``ANY_TEXT`` entry (last) takes the next typed message instead."""
        if not entries:
            return Reply(text)
        contact.menu = [[label, action] for label, action in entries]
        shown = [label for label, _action in entries if label != ANY_TEXT]
        return Reply(text, tuple(shown), menu=menu_token(contact.menu))

    def help_text(self) -> str:
        lines = [f"{self.campaign.contact.department}可用的命令："]
        lines += [f"{name}：{purpose}" for name, purpose in SUPERVISOR_HELP]
        return "\n".join(lines)

    # Looking ----------------------------------------------------------------------------------

    def _overview(self, contact: Contact, name: str, argument: str, now: datetime) -> list[Reply]:
        """/status and /pending for the whole campaign, for one area (“进度 城中区”) or for one unit
        by any name the bot shows it under (“未交 融水县”)."""
        query = argument.strip()
        area = self.campaign.find_area(query) if query else None
        unit_code: str | None = None
        if query and area is None:
            unit = self._one_unit(contact, query, "进度" if name == "status" else "未交")
            if isinstance(unit, Reply):
                return [unit]
            unit_code = unit.code
        if name == "status":
            report = status_report(self.repository, self.campaign, self.forms, now, unit_code, area)
            return [Reply(report.text())]
        pending = pending_report(self.repository, self.campaign, self.forms, now, area, unit_code)
        units = (
            []
            if pending.by_area or len(pending.rows) > MAX_UNIT_BUTTONS
            else [row.name for row in pending.rows]
        )
        return [self._offer(contact, pending.text(), [(unit, f"单位 {unit}") for unit in units])]

    def _one_unit(self, contact: Contact, query: str, word: str) -> UnitDecl | Reply:
        """The unit ``query`` names for 单位/提醒/进度/未交 (``word``: the command typed); else the reply
        that says what was not found, or offers the units it could mean as buttons."""
        matches = self.campaign.find_units(query) if query.strip() else []
        if len(matches) == 1:
            return matches[0]
        if 1 < len(matches) <= MAX_UNIT_BUTTONS:
            entries = [(unit.short_name, f"{word} {unit.name}") for unit in matches]
            return self._offer(contact, f"“{query.strip()}”对应{len(matches)}个单位，请点选：", entries)
        example = f"{word} {self.campaign.units[0].short_name}"
        if len(self.campaign.units) <= MAX_UNIT_BUTTONS * 3:
            choices = "可写的单位：" + "、".join(unit.short_name for unit in self.campaign.units)
        else:  # a region's thousands of units: its areas, whose 进度 lists their units
            choices = "可先发送“进度 区域名”查看区域内的单位，区域：" + "、".join(areas(self.campaign))
        if not query.strip():
            return Reply(f"请写上一个单位，例如：{example}。{choices}。")
        found = f"“{query.strip()}”对应{len(matches)}个单位" if matches else f"没有找到“{query.strip()}”"
        return Reply(f"{found}。请写上一个单位（名称、简称或区域都可以），例如：{example}。{choices}。")

    def _unit(self, contact: Contact, query: str, now: datetime) -> list[Reply]:
        unit = self._one_unit(contact, query, "单位")
        if isinstance(unit, Reply):
            return [unit]
        lines = [status_report(self.repository, self.campaign, self.forms, now, unit.code).text(), ""]
        stored = self.repository.unit_by_code(self.campaign.id, unit.code)
        assert stored is not None and stored.id is not None
        versions = self.repository.current_versions(self.campaign.id, stored.id)
        lines += [self._line(submission, version.answers) for submission, version in versions] or [
            "尚无提交。"
        ]
        entries = [(f"查看#{submission.id}", f"查看{submission.id}号") for submission, _version in versions]
        return [self._offer(contact, "\n".join(lines), entries)]

    def _line(self, submission: Submission, answers: dict[str, object]) -> str:
        return submission_line(self.forms[submission.form_id], submission, answers)

    def _submission(self, argument: str, example: str) -> tuple[Submission | Reply, str]:
        """The submission an argument names, and the rest of the argument; or the reply saying that no
        number was given (with ``example``) or that there is no such submission."""
        number, rest = submission_number(argument)
        if number is None:
            return Reply(f"请写上提交编号，例如：{example}。发送“单位 单位名”可查看某单位的编号。"), rest
        submission = self.repository.submission(number)
        if submission is None or submission.campaign_id != self.campaign.id:
            shown = f"#{number}" if number <= MAX_ID else "这个编号"
            return Reply(f"没有{shown}这份提交。发送“单位 单位名”可查看某单位的编号。"), rest
        return submission, rest

    def _show(self, contact: Contact, argument: str) -> list[Reply]:
        submission, _rest = self._submission(argument, "查看3号")
        if isinstance(submission, Reply):
            return [submission]
        replies = submission_replies(self.repository, self.campaign, self.forms, submission)
        version = self.repository.versions(submission.id or 0)[-1]
        decisions = self._decisions(submission, version.answers)
        if decisions:
            replies.append(self._offer(contact, f"#{submission.id} 要怎样处理？", decisions))
        return replies

    def _decisions(self, submission: Submission, answers: dict[str, object]) -> list[tuple[str, str]]:
        """The buttons under a submission, by where it stands: 接收 and 退回 while it waits for review;
        推荐上报 (each 节 of a course form) and 退回 once accepted; none while the unit corrects it."""
        number = submission.id
        task = self.campaign.task(submission.task_id)
        give_back = ("退回（写原因）", f"reason:{number}")
        if submission.status == "submitted":
            return [("接收", f"接收{number}号"), give_back]
        if submission.status != "accepted":
            return []
        chosen = selected_rows(self.repository, self.campaign, number or 0)
        select: list[tuple[str, str]] = []
        if task.select_deadline is not None and task.counted_group is not None:
            item = self.forms[task.form].group(task.counted_group).item
            rows = answers.get(task.counted_group, [])
            for row in range(1, (len(rows) if isinstance(rows, list) else 0) + 1):
                if row not in chosen:
                    select.append((f"推荐上报第{row}{item[0]}", f"推荐{number}号 第{row}{item[0]}"))
        elif task.select_deadline is not None and -1 not in chosen:
            select.append(("推荐上报", f"推荐{number}号"))
        return [*select, give_back]

    def _ask_reason(self, contact: Contact, number: str) -> list[Reply]:
        submission, _rest = self._submission(number, "退回3号")
        if isinstance(submission, Reply):
            return [submission]
        form = self.forms[submission.form_id]
        accepted = (
            f"#{submission.id}已经接收，退回会作废接收、由该单位修改后重新提交（写原因后还会请您确认）。"
            if submission.status == "accepted"
            else ""
        )
        text = (
            f"{accepted}请写退回#{submission.id}《{form.short_title}》的原因，下一条消息会原样发给该单位的"
            "联系人，例如：照片不清晰，请重新上传。如要改做别的，直接发送命令即可（不会退回）。"
        )
        return [self._offer(contact, text, [("取消", "cancel"), (ANY_TEXT, f"退回{submission.id}号")])]

    # Deciding ---------------------------------------------------------------------------------

    def _is_command(self, command: Command, text: str) -> bool:
        """Whether a message typed while a 退回's reason is asked for is exactly one of 组联部's
        commands (a word with what it needs and nothing more), not a reason that starts like one."""
        if text.strip().startswith("/") or text.strip() in SHORTCUT_WORDS:
            return True
        match command.name:
            case "show" | "accept":
                number, rest = submission_number(command.argument)
                return number is not None and not rest
            case "return":
                return submission_number(command.argument)[0] is not None
            case "select" | "unselect":
                number, rest = submission_number(command.argument)
                return number is not None and (not rest or re.fullmatch(r"第?\d+节\S{0,2}", rest) is not None)
            case "unit" | "remind" | "status" | "pending" | "invite":
                query = command.argument
                return bool(self.campaign.find_area(query) or self.campaign.find_units(query))
        return command.name in ("review", "export", "help")

    def _decide(self, contact: Contact, action: str, argument: str, confirmed: bool = False) -> list[Reply]:
        example = ACTION_EXAMPLES[action]
        submission, rest = self._submission(argument, example)
        if isinstance(submission, Reply):
            return [submission]
        assert contact.id is not None
        form = self.forms[submission.form_id]
        title = f"#{submission.id}《{form.short_title}》"
        if action == "accept" and submission.status == "accepted":
            return [Reply(f"{title}第{submission.current_version}版已经接收过，无需再接收。")]
        if action == "return" and rest and submission.status == "accepted" and not confirmed:
            text = (
                f"{title}第{submission.current_version}版已经接收。退回后它会变为“{status_label('returned')}”，"
                f"接收作废，该单位需修改后重新提交，原因会发给该单位的联系人：{rest}\n确认退回吗？"
            )
            entries = [("确认退回", f"confirm:{submission.id} {rest}"), ("取消", "cancel")]
            return [self._offer(contact, text, entries)]
        if action == "accept":
            self.repository.decide(submission, "accept", contact.id, status="accepted")
            self._notify(
                submission,
                f"贵单位的{title}（第{submission.current_version}版）已被{self._department}接收。"
                f"发送“查看{submission.id}号”可查看内容和 Word 表格。",
                NoticeButton("show", submission.id),
            )
            return [Reply(f"已接收{title}第{submission.current_version}版。")]
        if action == "return":
            if not rest:
                return [Reply("退回时请写明原因，例如：退回3号 照片不清晰，请重新上传")]
            self.repository.decide(submission, "return", contact.id, reason=rest, status="returned")
            self._notify(
                submission,
                f"贵单位的{title}被{self._department}退回修改，原因：{rest}\n"
                f"请发送“修改第{submission.id}号”修改后重新提交。",
                NoticeButton("reopen", submission.id),
                NoticeButton("show", submission.id),
            )
            return [Reply(f"已退回{title}，原因已发给该单位的联系人。")]
        return self._select(contact, submission, action, rest, title)

    def _select(
        self, contact: Contact, submission: Submission, action: str, rest: str, title: str
    ) -> list[Reply]:
        assert contact.id is not None
        task = self.campaign.task(submission.task_id)
        row: int | None = None
        if task.counted_group is not None:
            item = self.forms[task.form].group(task.counted_group).item  # “节课程”
            row = plain_number(rest.strip().removeprefix("第").split(item[0])[0])
            if row is None:
                example = f"{ACTION_WORDS[action]}{submission.id}号 第2{item[0]}"
                return [Reply(f"请写上第几{item}，例如：{example}")]
            rows = self.repository.versions(submission.id or 0)[-1].answers.get(task.counted_group, [])
            if not 1 <= row <= len(rows):
                return [Reply(f"{title}只有 {len(rows)} {item}。")]
        if action == "select" and submission.status != "accepted":
            return [Reply(f"{title}还没有接收，请先发送“接收{submission.id}号”。")]
        self.repository.decide(submission, action, contact.id, row=row)
        chosen = sum(
            1
            for _selection, selected in self.repository.selections(self.campaign.id)
            if selected.task_id == task.id
        )
        target = f"/{task.select_target}" if task.select_target else ""
        what = f"{title}第{row}节" if row is not None else title
        verb = "已推荐" if action == "select" else "已取消推荐"
        return [Reply(f"{verb}{what}。《{task.name}》推荐上报现为 {chosen}{target}。")]

    def _remind(self, contact: Contact, query: str, now: datetime) -> list[Reply]:
        unit = self._one_unit(contact, query, "提醒")
        if isinstance(unit, Reply):
            return [unit]
        reminded, contacts = send_reminder_now(self.repository, self.campaign, self.forms, unit.code, now)
        if not contacts:
            text = f"{unit.name}还没有联系人绑定，无法提醒。可以点“邀请”生成邀请链接，发给该单位的联系人。"
            return [self._offer(contact, text, [("邀请", f"邀请 {unit.name}")])]
        if not reminded:
            return [Reply(f"{unit.name}各项任务均已报齐，无需提醒。")]
        return [Reply(f"已提醒{unit.name}（{contacts}名联系人，{reminded}项任务）。")]

    # Telling the unit --------------------------------------------------------------------------

    @property
    def _department(self) -> str:
        return self.campaign.contact.department

    def _notify(self, submission: Submission, text: str, *buttons: NoticeButton) -> None:
        unit = next(u for u in self.repository.units(self.campaign.id) if u.id == submission.unit_id)
        for channel, chat_key in self.repository.unit_contacts(self.campaign.id).get(unit.code, []):
            self.repository.enqueue_message(channel, chat_key, notice_payload(text, *buttons))


#: The fewest characters a 退回's reason is taken with: “不行” tells the unit nothing to correct.
MIN_REASON = 4


def _unfit_reason(text: str) -> str:
    """Why a typed reason is refused (too short to act on), or "" when it will do."""
    if len("".join(text.split())) >= MIN_REASON:
        return ""
    return (
        f"退回的原因太短（至少{MIN_REASON}个字），该单位会不知道要改什么。请写明要修改哪一项、怎样改，"
        "例如：照片不清晰，请重新上传。不退回请点“取消”。"
    )


#: 组联部's shortcut words, as the web page's quick row shows them.
SHORTCUT_WORDS = ("进度", "未交", "导出", "帮助")

#: How each decision is asked for, in the words the bot understands (``dialogs.commands``).
ACTION_WORDS = {"accept": "接收", "return": "退回", "select": "推荐", "unselect": "取消推荐"}
ACTION_EXAMPLES = {
    "accept": "接收3号",
    "return": "退回3号 照片不清晰，请重新上传",
    "select": "推荐3号",
    "unselect": "取消推荐3号",
}
