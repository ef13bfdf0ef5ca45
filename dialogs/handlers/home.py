"""Outside a draft: the home menu (the notice's forms, what each still needs, by when), the lists of
草稿 and 已交, and a submission of the unit's own shown or downloaded. A menu shown is remembered on
the contact, so a button pressed later is read against the menu it belonged to.

A unit in several notices gets each list across them: 新建 each notice's forms under its name (a
button names its notice, and its action too: ``new:task@notice``), 草稿 and 已交 each line under its
notice; what she picks is done in its own notice."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from dialogs.campaign import TaskDecl
from dialogs.commands import menu_token, not_understood
from dialogs.draft_position import draft_token, where
from dialogs.exchange import IncomingFile
from dialogs.form_records import record_name
from dialogs.lateness import can_change, deadline_label, is_past, late_note, refuses
from dialogs.served_notices import ServedNotice
from dialogs.submission_view import own_submission, submission_line, submission_replies, word_file_reply
from dialogs.supervision import Progress
from dialogs.turn import Turn, aware
from storage.models import Contact, Draft, Submission


def at_home(turn: Turn, text: str, file: IncomingFile | None) -> None:
    """A message with no draft open and nothing to pick from: why it was not understood, and the menu."""
    if file is not None:
        turn.say("收到文件，但您现在没有正在填写的表。请先选择要填写的表。")
    else:
        turn.say(f"{not_understood(text)}请先选择要做什么：")
    offer_new(turn)


def offer_new(turn: Turn) -> None:
    """新建: the notice's forms, each with what the unit has sent, what it needs and by when (in
    several notices: each notice's under its name)."""
    if not turn.several:
        entries, note = _new_entries(turn)
        set_menu(turn, f"{note}\n请选择要填写的表：" if note else "请选择要填写的表：", entries)
        return
    lines, entries = ["请选择要填写的表："], []
    for notice in turn.notices:
        with turn.within(notice):
            own, note = _new_entries(turn)
        lines += [notice.title, *(f"· {label}" for label, _action in own), *([note] if note else [])]
        entries += [(f"{notice.title}{label}", action) for label, action in own]
    set_menu(turn, "\n".join(lines), entries)


def task_action(turn: Turn, kind: str, task: TaskDecl) -> str:
    """A menu action on a task (``new:…``, ``fresh:…``): naming its notice when there are several."""
    return f"{kind}:{task.id}@{turn.campaign.id}" if turn.several else f"{kind}:{task.id}"


def _new_entries(turn: Turn) -> tuple[list[tuple[str, str]], str]:
    """The turn's notice's forms as 新建 offers them, and what it says of those past their deadline."""
    entries, late = [], []
    for item in turn.progress():
        task = item.task
        form = turn.forms[task.form]
        wanted = f"{task.quota_min}" if task.quota_max == task.quota_min else f"至少{task.quota_min}"
        noun = form.group(task.counted_group).item if task.counted_group else "份"
        deadline = deadline_label(turn.campaign, task, turn.now, complete=item.complete)
        late += [form.short_title] if is_past(turn.campaign, task, turn.now) and not item.complete else []
        returned = f"，{item.returned}份被退回待修改" if item.returned else ""
        label = f"{form.short_title}（已交{item.counted}{noun}{returned}，需{wanted}{noun}，{deadline}）"
        entries.append((label, task_action(turn, "new", task)))
    return entries, late_note(turn.campaign, late)


def offer_drafts(turn: Turn) -> None:
    """草稿: the unit's open drafts and the abandoned ones still kept (each named by its notice, in
    several)."""
    entries = []
    for notice in _listed(turn):
        with turn.within(notice):
            keep_since = turn.now - timedelta(days=turn.campaign.cancelled_draft_days)
            prefix = notice.title if turn.several else ""
            for draft in turn.unit_drafts():
                kept = draft.cancelled_at is not None and aware(draft.cancelled_at) >= keep_since
                if draft.status == "open" or (kept and draft.answers):  # an empty one: nothing to restore
                    entries.append((prefix + draft_label(turn, draft), f"resume:{draft.id}"))
    if not entries:
        turn.say("没有未填完的表。发送“新建”开始填写。")
        return
    set_menu(turn, "未填完的表（点选继续）：", entries)


def draft_label(turn: Turn, draft: Draft) -> str:
    """A draft as 草稿 lists it: “继续：登记表·韦丽华（填到“民族”）” or, abandoned, “恢复：已放弃的…
    （保留至6月9日）”."""
    form = turn.form_of(draft)
    name = record_name(form, draft.answers) or "未命名"
    if draft.status == "open" or draft.cancelled_at is None:
        closed = "，已截止，不能再提交" if refused_late(turn, draft) else ""
        return f"继续：{form.short_title}·{name}（{where(form, draft)}{closed}）"
    until = aware(draft.cancelled_at) + timedelta(days=turn.campaign.cancelled_draft_days)
    local = until.astimezone(turn.campaign.zone)
    return f"恢复：已放弃的{form.short_title}·{name}（保留至{local.month}月{local.day}日）"


def offer_submissions(turn: Turn) -> None:
    """已交: the unit's submissions, each to see, download and (while it may) change (in several
    notices, each under its notice's name)."""
    lines = ["贵单位已提交："]
    entries: list[tuple[str, str]] = []
    changeable = False
    for notice in _listed(turn):
        with turn.within(notice):
            submissions = turn.submissions()
            lines += [notice.title] if submissions and turn.several else []
            for submission, latest in submissions:
                form = turn.forms[submission.form_id]
                lines.append(submission_line(form, submission, latest.answers))
                entries.append((f"查看 #{submission.id}", f"show:{submission.id}"))
                if latest.document_path:
                    entries.append((f"下载 #{submission.id}", f"download:{submission.id}"))
                task = turn.campaign.task(submission.task_id)
                if can_change(turn.campaign, task, submission.status, turn.now):
                    entries.append((f"修改 #{submission.id}", f"reopen:{submission.id}"))
                    changeable = True
    if not entries:
        turn.say("贵单位还没有提交过表。发送“新建”开始填写。")
        return
    lines.append("点“查看”看全部内容和照片，点“下载”取 Word 表格。")
    if changeable:
        lines.append("可以修改的表另有“修改”按钮。")
    else:
        lines.append("（已接收或已过截止时间的表不能再修改。）")
    set_menu(turn, "\n".join(lines), entries)


def _listed(turn: Turn) -> tuple[ServedNotice, ...]:
    """The notices a list goes through: the unit's several, else the turn's own."""
    if turn.several:
        return turn.notices
    return (ServedNotice(turn.campaign, turn.forms, turn.machines),)


def own_in_notice(turn: Turn, argument: str, example: str) -> tuple[Submission, ServedNotice] | str:
    """The unit's submission a command names, in any of the unit's notices, with its notice; or what
    to say (``dialogs.submission_view.own_submission``)."""
    found = own_submission(turn.store, turn.notice_ids, turn.unit.id, argument, example)
    if isinstance(found, str):
        return found
    notice = turn.notice(found.campaign_id)
    assert notice is not None  # own_submission keeps to the turn's notices
    return found, notice


def show_own(turn: Turn, argument: str) -> None:
    """查看N号 from a unit's contact: a submission of her own unit, in full, with its Word file."""
    found = own_in_notice(turn, argument, "查看3号")
    if isinstance(found, str):
        turn.say(found)
        return
    submission, notice = found
    turn.replies += submission_replies(turn.store, notice.campaign, notice.forms, submission)


def download_own(turn: Turn, argument: str) -> None:
    """下载 beside a line of 已交: that submission's Word file (its latest version)."""
    found = own_in_notice(turn, argument, "下载 #3")
    if isinstance(found, str):
        turn.say(found)
        return
    submission, notice = found
    word_file = word_file_reply(turn.store, submission)
    form = notice.forms[submission.form_id]
    if word_file is None:
        turn.say(f"#{submission.id}《{form.short_title}》没有 Word 文件。如需要，请联系{turn.contact_line}。")
        return
    turn.replies.append(replace(word_file, text=f"《{form.title}》{word_file.text}"))


def set_menu(turn: Turn, text: str, entries: list[tuple[str, str]]) -> None:
    """Show a menu and remember it on the contact: the next message may pick from it."""
    turn.contact.menu = [[label, action] for label, action in entries]
    turn.say(text, [label for label, _action in entries], menu=menu_token(turn.contact.menu))


def holds_list(contact: Contact) -> bool:
    """Whether the menu last shown is a list to pick from (草稿, 已交), not the home menu, which
    is shown afresh (its counts and deadlines change)."""
    return any(not str(action).startswith("new:") for _label, action in contact.menu)


def current_menu(turn: Turn) -> str:
    """The token of the options the person was last shown (a home menu, else the draft's question)."""
    if turn.contact.menu:
        return menu_token(turn.contact.menu)
    if turn.draft is not None:
        return draft_token(turn.draft)
    return ""


def progress(turn: Turn, task: TaskDecl) -> Progress:
    """How far the turn's unit is with one task."""
    return next(p for p in turn.progress() if p.task == task)


def refused_late(turn: Turn, draft: Draft) -> bool:
    """Whether the draft can no longer be submitted: its task is past its deadline in a campaign
    that takes no late forms, and it is not the correction of a form 组联部 returned."""
    if not refuses(turn.campaign, turn.campaign.task(draft.task_id), turn.now):
        return False
    reopened = turn.submission(draft.submission_id) if draft.submission_id else None
    return reopened is None or reopened.status != "returned"
