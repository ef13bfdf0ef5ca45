"""The catalogue: every notice a deployment holds, each with its forms and its state, and what is wrong
with each file that could not be read.

Notices come from a folder (``INTAKE_CAMPAIGNS_DIR``): each ``*.toml`` in it, and each
``*/campaign.toml`` with its own ``forms/``; a notice's forms are looked up in ``forms/`` beside its file
first, then in the shipped ``dialogs/forms/``. ``roster.toml`` in the folder is the city's roster of
units (``dialogs.roster``), not a notice. A broken file — bad TOML, a form that does not exist, a bad
field, an id or 文号 another file has too — never stops the others: it is left out, with a Chinese
message naming the file, what is wrong and what to do.

A notice from a file and (with the next issue) one made in the browser are the same ``Notice``: its
campaign, its forms, and where it came from, shown to people as ``source``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path

from pydantic import ValidationError

from dialogs.campaign import Campaign, campaign_from, check_campaign_forms
from dialogs.chinese_text import to_halfwidth_digits
from dialogs.declaration_files import read_declaration_file, validation_message
from dialogs.declarations import FORMS_DIR, DeclarationError, FormDecl, load_form, load_forms
from dialogs.roster import ROSTER_FILE, Roster, roster_from, select_units

__all__ = [
    "NOTICE_FILE",
    "Catalogue",
    "Notice",
    "NoticeProblem",
    "NoticeState",
    "Printable",
    "load_catalogue",
    "load_notice_file",
]

log = logging.getLogger(__name__)

#: The file of a notice kept in a folder of its own, beside its ``forms/``.
NOTICE_FILE = "campaign.toml"

#: Which of the given forms can be printed (``renderers.registry.form_renderers``, given by the
#: composition: the core knows no renderer); raises ``OSError`` or ``ValueError`` for a Word template
#: that cannot be used.
Printable = Callable[[Mapping[str, FormDecl]], Collection[str]]


class NoticeState(StrEnum):
    DRAFT = "草稿"
    OPEN = "进行中"
    CLOSED = "已截止"
    ARCHIVED = "已归档"


@dataclass(frozen=True)
class Notice:
    """One notice: its campaign (units, tasks, dates …), the forms it can name, and where it came from."""

    campaign: Campaign
    forms: Mapping[str, FormDecl]
    source: str

    @property
    def id(self) -> str:
        return self.campaign.id

    @property
    def number(self) -> str:
        """Its 文号 (柳妇通〔2021〕29号)."""
        return self.campaign.notice

    def state(self, now: datetime) -> NoticeState:
        """草稿 when the file says so or before ``opens_on``; 已归档 when the file says so or once its
        personal data is past keeping; else 进行中 until the last task's deadline day, 已截止 after it."""
        status, today = self.campaign.status, self._today(now)
        if status == "draft":
            return NoticeState.DRAFT
        if status == "archived" or self.campaign.retention_over(now):
            return NoticeState.ARCHIVED
        if self.campaign.opens_on is not None and today < self.campaign.opens_on:
            return NoticeState.DRAFT
        return NoticeState.OPEN if today <= self.last_deadline else NoticeState.CLOSED

    def next_deadline(self, now: datetime) -> date | None:
        """The nearest task deadline from today on (today's included); None once all have passed."""
        today = self._today(now)
        return min((task.deadline for task in self.campaign.tasks if task.deadline >= today), default=None)

    @property
    def last_deadline(self) -> date:
        return max(task.deadline for task in self.campaign.tasks)

    def _today(self, now: datetime) -> date:
        return now.astimezone(self.campaign.zone).date()


@dataclass(frozen=True)
class NoticeProblem:
    """A file left out of the catalogue, and why, in Chinese (the file named in the message)."""

    source: str
    message: str


@dataclass(frozen=True)
class Catalogue:
    notices: tuple[Notice, ...]
    problems: tuple[NoticeProblem, ...] = ()


def load_catalogue(directory: Path, printable: Printable | None = None) -> Catalogue:
    """Every notice in ``directory``, and a problem for each file that could not be taken."""
    shown = str(directory)
    if not directory.is_dir():
        return Catalogue((), (NoticeProblem(shown, _NO_FOLDER.format(folder=shown)),))
    files = sorted(
        [p for p in directory.glob("*.toml") if p.name != ROSTER_FILE]
        + list(directory.glob(f"*/{NOTICE_FILE}"))
    )
    if not files:
        return Catalogue((), (NoticeProblem(shown, _EMPTY_FOLDER.format(folder=shown)),))
    return _Loader(directory, printable, shown_from=directory).catalogue(files)


def load_notice_file(path: Path, printable: Printable | None = None) -> Catalogue:
    """The one notice of ``INTAKE_CAMPAIGN_FILE`` (a roster beside it, if any, to pick its units from)."""
    return _Loader(path.parent, printable).catalogue([path])


_NO_FOLDER = "找不到通知目录 {folder}：请检查 INTAKE_CAMPAIGNS_DIR，或建立这个目录并放入通知文件。"
_EMPTY_FOLDER = (
    "通知目录 {folder} 里没有通知：每个通知是目录中的一个 .toml 文件，"
    f"或一个子目录里的 {NOTICE_FILE}（表单放在它旁边的 forms/ 中）。"
)


def _shown(path: Path, directory: Path | None) -> str:
    """A file as people see it: under the folder's own name (``campaigns/sanba/campaign.toml``)."""
    if directory is None:
        return str(path)
    try:
        return str(Path(directory.name) / path.relative_to(directory))
    except ValueError:
        return str(path)


@dataclass
class _Loader:
    """One reading of the folder: the shipped forms, each ``forms/`` folder and the roster read once."""

    directory: Path
    printable: Printable | None
    shown_from: Path | None = None
    problems: list[NoticeProblem] = field(default_factory=list)
    _shipped: dict[str, FormDecl] | None = None
    _beside: dict[Path, dict[str, FormDecl] | DeclarationError] = field(default_factory=dict)
    _roster: Roster | DeclarationError | None = None
    _roster_read: bool = False

    def catalogue(self, files: list[Path]) -> Catalogue:
        notices = [notice for notice in map(self._notice, files) if notice is not None]
        notices = self._without_clashes(notices)
        return Catalogue(tuple(notices), tuple(self.problems))

    def shown(self, path: Path) -> str:
        return _shown(path, self.shown_from)

    def _notice(self, path: Path) -> Notice | None:
        shown = self.shown(path)
        try:
            data = read_declaration_file(path, shown)
            picks = not isinstance(data.get("units", []), list)  # "all" or a pick, not inline [[units]]
            data = select_units(data, self._roster_for(path) if picks else None, shown)
            campaign = campaign_from(data, shown)
            forms = self._forms_beside(path, shown)
            check_campaign_forms(campaign, forms, shown)
            self._check_printing(campaign, forms, shown)
        except DeclarationError as error:
            self.problems.append(NoticeProblem(shown, str(error)))
            return None
        except Exception as error:  # a file must never stop the others: said, logged, left out
            log.warning("notice file %s could not be read", shown, exc_info=True)
            message = (
                f"{shown} 读取时出了意外的错误（{type(error).__name__}）：请把这个文件交给维护人员检查。"
            )
            self.problems.append(NoticeProblem(shown, message))
            return None
        return Notice(campaign, forms, shown)

    def _roster_for(self, path: Path) -> Roster | None:
        """The roster of the folder, read the first time a notice picks from it; a broken roster is
        said once, and again (shortly) by every notice that picks from it."""
        if not self._roster_read:
            self._roster_read = True
            roster_file = self.directory / ROSTER_FILE
            if roster_file.is_file():
                shown = self.shown(roster_file)
                try:
                    self._roster = roster_from(read_declaration_file(roster_file, shown), shown)
                except DeclarationError as error:
                    self._roster = error
                    self.problems.append(NoticeProblem(shown, str(error)))
        if isinstance(self._roster, DeclarationError):
            raise DeclarationError(
                f"{self.shown(path)} 没有载入：它的单位来自名册 {ROSTER_FILE}，而名册有误（见上）。"
            )
        return self._roster

    def _forms_beside(self, path: Path, shown: str) -> dict[str, FormDecl]:
        """The shipped forms, then those in ``forms/`` beside the notice's file (which win)."""
        if self._shipped is None:
            self._shipped = load_forms()
        folder = path.parent / "forms"
        if folder not in self._beside:
            self._beside[folder] = self._read_forms(folder)
        own = self._beside[folder]
        if isinstance(own, DeclarationError):
            raise DeclarationError(f"{shown} 没有载入：{own}")
        return {**self._shipped, **own}

    def _read_forms(self, folder: Path) -> dict[str, FormDecl] | DeclarationError:
        if not folder.is_dir() or folder.resolve() == FORMS_DIR.resolve():
            return {}
        forms: dict[str, FormDecl] = {}
        for form_file in sorted(folder.glob("*.toml")):
            shown = self.shown(form_file)
            try:
                form = _form(form_file, shown)
            except DeclarationError as error:
                return error
            if form.id in forms:
                return DeclarationError(
                    f"表单 {shown} 的 id {form.id} 与同目录另一个表单重复：请改掉其中一个的 id（和文件名）。"
                )
            forms[form.id] = form
        return forms

    def _check_printing(self, campaign: Campaign, forms: Mapping[str, FormDecl], shown: str) -> None:
        if self.printable is None:
            return
        collected = {task.form: forms[task.form] for task in campaign.tasks}
        try:
            printable = self.printable(collected)
        except (OSError, ValueError) as error:
            raise DeclarationError(f"{shown} 的表单没法打印：{error}") from error
        for number, task in enumerate(campaign.tasks, 1):
            if task.form not in printable:
                raise DeclarationError(
                    f'{shown} 第 {number} 个 [[tasks]]（id = "{task.id}"）的表单 {task.form} 没法打印：'
                    "它既没有 Word 模板，也没有程序里的版式。请用 intake form import 从它的 Word 表格导入。"
                )

    def _without_clashes(self, notices: list[Notice]) -> list[Notice]:
        """Two files with one id (or one 文号) would mix their units' answers: neither is taken."""
        clashing: dict[str, list[str]] = {}
        for what, key in (("id", lambda n: n.id), ("文号", lambda n: _comparable(n.number))):
            for group in _groups(notices, key):
                for notice in group:
                    others = "、".join(other.source for other in group if other is not notice)
                    value = notice.id if what == "id" else notice.number
                    clashing.setdefault(notice.source, []).append(f"{what}“{value}”与 {others} 相同")
        for source, clashes in clashing.items():
            self.problems.append(
                NoticeProblem(
                    source,
                    f"{source} 没有载入：{'；'.join(clashes)}。两个文件是同一个通知时请删去一个；"
                    "是不同的通知时请改掉其中一个的 id 和文号（已有提交的通知不要改 id）。",
                )
            )
        return [notice for notice in notices if notice.source not in clashing]


def _groups(notices: list[Notice], key: Callable[[Notice], str]) -> Iterator[list[Notice]]:
    by_key: dict[str, list[Notice]] = {}
    for notice in notices:
        by_key.setdefault(key(notice), []).append(notice)
    return (group for group in by_key.values() if len(group) > 1)


def _comparable(number: str) -> str:
    """A 文号 as written with or without spaces, in full- or half-width digits."""
    return "".join(to_halfwidth_digits(number).split())


def _form(path: Path, shown: str) -> FormDecl:
    """One form beside a notice; what is wrong in it, said in Chinese where the model says what."""
    data = read_declaration_file(path, f"表单 {shown}")
    try:
        return load_form(path)
    except DeclarationError as error:
        cause = error.__cause__
        detail = validation_message(cause, data) if isinstance(cause, ValidationError) else str(error)
        raise DeclarationError(f"表单 {shown} 有误：{detail}") from error
