"""The supervisor's export: every current form, the 统计表, the recommendations and a workbook in one ZIP.

``build_export`` lays the ZIP out for 市妇联组联部:

* ``{单位}/{任务}/#{编号}-第{版本}版-{名称}.docx`` — every submission's current version, named as
  everywhere (``dialogs.form_records.record_name``: the candidate, the site; a unit's course table by
  the unit and its courses) made safe as a file name (``safe_file_name``);
* ``{单位}/{任务}/#{编号}-{名称}-{证件照}.jpg`` — every stored photo beside its form (the official form
  has no place for the candidates' 证件照 and 工作照, which the notice asks for the online vote), a
  group's numbered (``…-照片03-{说明}.jpg``);
* ``市妇联-新领域建妇联示范点统计表.docx`` over every site, and each unit's own 统计表 in its
  示范点 folder;
* ``推荐上报/{任务}/{单位}-#{编号}-….docx`` — a copy of every submission marked selected, with its
  photos; of a form whose rows are selected one by one (courses), a form of the selected rows only
  (``…-第1节-《…》.docx``);
* ``汇总.xlsx`` (``export_workbook``) — a status sheet, then one sheet per form, one row per
  submission (per course for the 课程推荐表), values written for people, each photo by its file
  name in the ZIP, 是否推荐 per course where courses are selected one by one.

Pure and deterministic: no database, no messenger (photos are read from their files); entries
sorted, every timestamp (zip entries, the workbook's core properties) taken from ``generated_at``,
so the same inputs give the same bytes. ``generated_at`` is also the date of the 统计表 and the zone
提交时间 is shown in: pass it in the campaign's time zone.

Longer than ~600 lines on purpose: the ZIP's layout (folders, names, the 统计表, the workbook) is one
contract with 组联部 and is read as one; its parts (file names, the workbook) already live apart.
"""

from __future__ import annotations

import io
import mimetypes
import shutil
import stat
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, tzinfo
from functools import partial
from pathlib import Path
from typing import Any, BinaryIO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from openpyxl.writer.excel import ExcelWriter

from dialogs.declarations import FieldDecl, FormDecl, GroupDecl, load_forms
from dialogs.exports import ExportContent, ExportItem, ExportStatusRow, ExportVideo
from dialogs.file_names import safe_file_name
from dialogs.form_records import Render, record_name
from dialogs.presentation import advice, display_value, status_label
from renderers import render_form
from renderers.records import RenderError
from renderers.registry import CITY_REPORTER, Statistics, statistics_fed_by

RECOMMENDED_FOLDER = "推荐上报"
WORKBOOK_NAME = "汇总.xlsx"
STATUS_SHEET = "报送情况"
SUBMISSION_COLUMNS = ("编号", "版本", "单位", "状态", "是否推荐", "提交时间")
PHOTO_LIST_SEPARATOR = "；"

_FOLDER_LIMIT = 60
_PHOTO_LIMIT = 80
_ZIP_UTF8 = 0x800  # general purpose flag bit 11: the name is UTF-8 (Windows Explorer reads it)
_TIME_FORMAT = 'yyyy"年"m"月"d"日" hh:mm'
_MIN_WIDTH, _MAX_WIDTH = 6, 50
_BOLD = Font(bold=True)
_HEADER_ALIGNMENT = Alignment(horizontal="center", vertical="center", wrap_text=True)
_COPY_CHUNK = 1024 * 1024
ZIP64_LIMIT = (1 << 31) - 1  # zipfile's own: a larger entry needs ZIP64 fields from the start


# --- file names ------------------------------------------------------------------------------------


def _folder(text: str) -> str:
    return safe_file_name(text, _FOLDER_LIMIT)


def _summary(item: ExportItem) -> str:
    """The record's name; a form named by its rows (a unit's courses) is the unit's, so it says so."""
    name = record_name(item.form, item.record.answers) or item.form.record_noun
    named_by_rows = any(group.key == item.form.summary_field for group in item.form.groups())
    return f"{item.unit_name}-{name}" if named_by_rows else name


def _document_name(item: ExportItem) -> str:
    return f"#{item.submission_id}-第{item.version}版-{safe_file_name(_summary(item))}.docx"


@dataclass(frozen=True)
class _Photo:
    """A stored photo of a submission, and its file name in the ZIP."""

    key: str  # its field's key
    name: str
    path: Path


def _photos(item: ExportItem) -> list[_Photo]:
    """Every photo of a submission whose file is there, in the form's order: ``#3-覃美玲-证件照.jpg``;
    a group's numbered in order, with its caption (``#6-…-照片02-{说明}.jpg``)."""
    photos: list[_Photo] = []
    prefix = f"#{item.submission_id}-{_summary(item)}"

    def add(field: FieldDecl, value: Any, label: str) -> None:
        sha = value.get("sha256") if isinstance(value, Mapping) else None
        path = item.record.photo_files.get(sha) if isinstance(sha, str) else None
        if path is None or not path.is_file():
            return
        mime = str(value.get("mime") or "")
        extension = path.suffix.lower() or mimetypes.guess_extension(mime) or ".jpg"
        photos.append(_Photo(field.key, safe_file_name(f"{prefix}-{label}", _PHOTO_LIMIT) + extension, path))

    for step in item.form.steps:
        if isinstance(step, FieldDecl):
            if step.kind == "photo":
                add(step, item.record.answers.get(step.key), step.label)
            continue
        rows = item.record.answers.get(step.key)
        for number, row in enumerate(rows if isinstance(rows, list) else [], start=1):
            if not isinstance(row, Mapping):
                continue
            title = row.get(step.title_field)
            for field in (f for f in step.fields if f.kind == "photo"):
                caption = f"-{title}" if title and step.title_field != field.key else ""
                add(field, row.get(field.key), f"{field.label}{number:02d}{caption}")
    return photos


def _row_group(form: FormDecl) -> GroupDecl | None:
    """The group whose rows are shown (and selected) one by one: the first without photos (courses)."""
    return next((g for g in form.groups() if not any(f.kind == "photo" for f in g.fields)), None)


def _selected_part(item: ExportItem) -> tuple[str, ExportItem] | None:
    """Of a submission whose rows are selected one by one, the selected rows as a form of their own
    (``#4-第3版-第1节-《…》.docx``, for 推荐上报 beside the unit's name); None when none is selected."""
    group = _row_group(item.form)
    rows = item.record.answers.get(group.key) if group is not None else None
    if group is None or not isinstance(rows, list):
        return None
    chosen = sorted(row for row in item.selected_rows if 1 <= row <= len(rows))
    if not chosen:
        return None
    answers = {**item.record.answers, group.key: [rows[row - 1] for row in chosen]}
    part = replace(item, record=replace(item.record, answers=answers), document=None)
    numbers = "、".join(str(row) for row in chosen)
    name = safe_file_name(record_name(part.form, answers) or part.form.record_noun)
    return f"#{item.submission_id}-第{item.version}版-第{numbers}{group.item[0]}-{name}.docx", part


# --- the ZIP ---------------------------------------------------------------------------------------


def write_video_zip(videos: Sequence[ExportVideo], generated_at: datetime, target: BinaryIO) -> None:
    """The courses' videos as one ZIP written to ``target``, each copied through in chunks (a video
    runs to hundreds of MB): ``{单位}/{任务}/#{编号}-第{节}节-{课程名称}.mp4``, stored, not deflated."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        names: set[str] = set()
        for video in sorted(videos, key=lambda v: (v.unit_name, v.task_name, v.submission_id, v.row)):
            folder = f"{_folder(video.unit_name)}/{_folder(video.task_name)}"
            title = safe_file_name(video.title) if video.title else "课程"
            name = f"{folder}/#{video.submission_id}-第{video.row}节-{title}.mp4"
            if name in names:
                continue
            names.add(name)
            info = _zip_info(name, generated_at, zipfile.ZIP_STORED)
            info.file_size = video.size
            with (
                video.path.open("rb") as source,
                archive.open(info, "w", force_zip64=video.size > ZIP64_LIMIT) as copy,
            ):
                shutil.copyfileobj(source, copy, _COPY_CHUNK)


def export_zip(content: ExportContent, target: BinaryIO) -> None:
    """The ZIP of what the core gathered for an export (``dialogs.exports``), written to ``target``:
    every form and photo, and the 统计表 each form the campaign collects says it feeds."""
    write_export_zip(
        target,
        content.items,
        content.status,
        content.task_names,
        content.city_lines,
        content.generated_at,
        content.forms,
        render=content.render,
    )


def build_export(
    items: Sequence[ExportItem],
    status: Sequence[ExportStatusRow],
    task_names: Sequence[str],
    city_lines: Sequence[str],
    generated_at: datetime,
    forms: Collection[FormDecl] | None = None,
    *,
    render: Render = render_form,
) -> bytes:
    """The supervisor's ZIP as bytes (``write_export_zip``) of the shipped forms (unless ``forms``
    are given), printed by their own renderers unless ``render`` is given (tests and the benchmark)."""
    buffer = io.BytesIO()
    if forms is None:
        forms = tuple(load_forms().values())
    write_export_zip(buffer, items, status, task_names, city_lines, generated_at, forms, render=render)
    return buffer.getvalue()


def write_export_zip(
    target: BinaryIO,
    items: Sequence[ExportItem],
    status: Sequence[ExportStatusRow],
    task_names: Sequence[str],
    city_lines: Sequence[str],
    generated_at: datetime,
    forms: Collection[FormDecl],
    *,
    render: Render,
) -> None:
    """The supervisor's ZIP (see the module docstring for its layout) written to ``target``: kept
    DOCX and photos copied through from their files, a form without a kept DOCX (and the selected
    rows of a form, on their own) printed by ``render``; the 统计表 each of ``forms`` (those the
    campaign collects) says it feeds (``statistics``), even before any is submitted. A form is never
    matched to a 统计表 by its id: one imported under a shipped form's id gives its files alone.

    Raises:
        ValueError: ``generated_at`` or a ``submitted_at`` is naive, a submission appears twice, or
            an item's form is not its record's form.
        RenderError: a record cannot be rendered (named by its number and unit).
    """
    _check_items(items, generated_at)
    ordered = _ordered(items, status, task_names)
    on = generated_at.date()
    entries: dict[str, Callable[[], bytes] | Path] = {}

    rendered: dict[int, bytes] = {}  # selected submissions, written twice, rendered once

    def document(item: ExportItem) -> Callable[[], bytes] | Path:
        if item.document is not None:
            return item.document  # copied through in chunks, never read whole

        def produce() -> bytes:
            if item.submission_id in rendered:
                return rendered[item.submission_id]
            data = _render(item, render)
            if item.selected:
                rendered[item.submission_id] = data
            return data

        return produce

    for item in ordered:
        folder = f"{_folder(item.unit_name)}/{_folder(item.task_name)}"
        recommended = f"{RECOMMENDED_FOLDER}/{_folder(item.task_name)}/{_folder(item.unit_name)}-"
        _add(entries, f"{folder}/{_document_name(item)}", document(item))
        part = None if item.selected else _selected_part(item)
        if item.selected:
            _add(entries, recommended + _document_name(item), document(item))
        elif part is not None:
            name, selected_rows = part
            _add(entries, recommended + name, partial(_render, selected_rows, render))
        for photo in _photos(item):
            _add(entries, f"{folder}/{photo.name}", photo.path)
            if item.selected:
                _add(entries, recommended + photo.name, photo.path)

    for form in forms:
        statistics = statistics_fed_by(form)
        if statistics is not None:
            mine = [item for item in ordered if item.form.id == form.id]
            _add_statistics(entries, statistics, mine, on)
    _add(
        entries,
        WORKBOOK_NAME,
        lambda: export_workbook(ordered, status, task_names, city_lines, generated_at),
    )

    with zipfile.ZipFile(target, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        for name in sorted(entries):
            # DOCX, XLSX and photos are compressed already: stored, not deflated again.
            info = _zip_info(name, generated_at, zipfile.ZIP_STORED)
            entry = entries[name]
            if isinstance(entry, Path):
                info.file_size = entry.stat().st_size
                with entry.open("rb") as source, archive.open(info, "w") as copy:
                    shutil.copyfileobj(source, copy, _COPY_CHUNK)
            else:
                archive.writestr(info, entry())


def _add_statistics(
    entries: dict[str, Callable[[], bytes] | Path],
    statistics: Statistics,
    items: Sequence[ExportItem],
    on: date,
) -> None:
    """The 统计表 of one form: the city's over all its records, and each unit's beside its documents."""
    city = [item.record for item in items]
    name = safe_file_name(f"{CITY_REPORTER}-{statistics.name}", _FOLDER_LIMIT) + ".docx"
    _add(entries, name, partial(statistics.render, CITY_REPORTER, city, on))
    for (unit_name, task_name), unit_items in _grouped(items).items():
        records = [item.record for item in unit_items]
        name = safe_file_name(f"{unit_name}-{statistics.name}", _FOLDER_LIMIT) + ".docx"
        _add(
            entries,
            f"{_folder(unit_name)}/{_folder(task_name)}/{name}",
            partial(statistics.render, unit_name, records, on),
        )


def _check_items(items: Sequence[ExportItem], generated_at: datetime) -> None:
    if generated_at.tzinfo is None or generated_at.utcoffset() is None:
        raise ValueError("generated_at must be timezone-aware (the campaign's zone)")
    seen: set[int] = set()
    for item in items:
        if item.submission_id in seen:
            raise ValueError(f"submission #{item.submission_id} appears twice in the export")
        seen.add(item.submission_id)
        if item.form.id != item.record.form_id:
            raise ValueError(
                f"submission #{item.submission_id}: form {item.form.id!r} "
                f"but a record of {item.record.form_id!r}"
            )
        if item.submitted_at.tzinfo is None or item.submitted_at.utcoffset() is None:
            raise ValueError(f"submission #{item.submission_id}: submitted_at must be timezone-aware")


def _ordered(
    items: Iterable[ExportItem], status: Sequence[ExportStatusRow], task_names: Sequence[str]
) -> list[ExportItem]:
    """Units in the status overview's order, tasks in ``task_names`` order, then by number."""
    unit_rank = {row.unit_name: index for index, row in enumerate(status)}
    task_rank = {name: index for index, name in enumerate(task_names)}
    return sorted(
        items,
        key=lambda item: (
            unit_rank.get(item.unit_name, len(unit_rank)),
            item.unit_code,
            task_rank.get(item.task_name, len(task_rank)),
            item.task_id,
            item.submission_id,
        ),
    )


def _grouped(items: Iterable[ExportItem]) -> dict[tuple[str, str], list[ExportItem]]:
    groups: dict[tuple[str, str], list[ExportItem]] = {}
    for item in items:
        groups.setdefault((item.unit_name, item.task_name), []).append(item)
    return groups


def _render(item: ExportItem, render: Render) -> bytes:
    try:
        return render(item.record)
    except (RenderError, ValueError) as error:
        raise RenderError(f"#{item.submission_id}（{item.unit_name}）无法生成：{error}") from error


def _add(
    entries: dict[str, Callable[[], bytes] | Path], name: str, produce: Callable[[], bytes] | Path
) -> None:
    """Add an entry; a name already taken (two names made alike by cleaning) gets “（2）”, “（3）”…"""
    candidate, number = name, 1
    while candidate in entries:
        number += 1
        stem, dot, extension = name.rpartition(".")
        candidate = f"{stem}（{number}）{dot}{extension}" if dot else f"{name}（{number}）"
    entries[candidate] = produce


def _zip_info(name: str, stamp: datetime, compression: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(
        name, date_time=(stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
    )
    info.compress_type = compression
    # Made on Unix, names in UTF-8 (flag bit 11): Debian's unzip reads a name made on “MS-DOS” in the
    # old OEM code page whatever the flag says (城中区 came out as Ճ������); made on Unix, it, 7-Zip,
    # Windows 10's Explorer and the usual Chinese unzippers all read the flag.
    info.create_system = 3
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    info.flag_bits |= _ZIP_UTF8
    return info


# --- the workbook ----------------------------------------------------------------------------------


def export_workbook(
    items: Sequence[ExportItem],
    status: Sequence[ExportStatusRow],
    task_names: Sequence[str],
    city_lines: Sequence[str],
    generated_at: datetime,
) -> bytes:
    """``汇总.xlsx``: the status overview, then one sheet per form present in ``items``, in task order.

    Raises:
        ValueError: as ``build_export``.
    """
    _check_items(items, generated_at)
    ordered = _ordered(items, status, task_names)
    workbook = Workbook(write_only=True)  # rows go straight to the file: no cell is kept in memory
    _write_status(workbook.create_sheet(STATUS_SHEET), status, task_names, city_lines, generated_at)

    forms: dict[str, list[ExportItem]] = {}
    for item in ordered:
        forms.setdefault(item.form.id, []).append(item)
    task_rank = {name: index for index, name in enumerate(task_names)}
    sheets = sorted(
        forms.values(),
        key=lambda its: (min(task_rank.get(i.task_name, len(task_rank)) for i in its), its[0].form.id),
    )
    titles = {STATUS_SHEET}
    for form_items in sheets:
        title = _sheet_title(form_items[0].form.short_title, titles)
        titles.add(title)
        _write_form_sheet(workbook.create_sheet(title), form_items[0].form, form_items, generated_at)
    return _deterministic_xlsx(workbook, generated_at)


def _write_status(
    sheet: WriteOnlyWorksheet,
    status: Sequence[ExportStatusRow],
    task_names: Sequence[str],
    city_lines: Sequence[str],
    generated_at: datetime,
) -> None:
    header = ["单位", *task_names, "退回待改"]
    table: list[list[Any]] = [header]
    table += [
        [row.unit_name, *(row.cells.get(task, "") for task in task_names), row.returned] for row in status
    ]
    _write_table(sheet, table)  # widths from the table: the city lines below may run on past column A
    stamp = f"导出时间：{generated_at.year}年{generated_at.month}月{generated_at.day}日 {generated_at:%H:%M}"
    sheet.append([])
    sheet.append([_cell(sheet, "全市情况", font=_BOLD)])
    for line in [*city_lines, stamp]:
        sheet.append(_row(sheet, [line]))


@dataclass(frozen=True)
class _Column:
    label: str
    value: Callable[[ExportItem, Mapping[str, Any]], Any]  # (item, the row of the expanded group)


def _columns(form: FormDecl, zone: tzinfo | None) -> tuple[list[_Column], GroupDecl | None]:
    """The sheet's columns, and the group whose rows become sheet rows (the first without photos)."""
    expanded = _row_group(form)
    columns = [
        _Column("编号", lambda item, _row: item.submission_id),
        _Column("版本", lambda item, _row: item.version),
        _Column("单位", lambda item, _row: item.unit_name),
        _Column("状态", lambda item, _row: status_label(item.status)),
        _Column(
            "是否推荐",
            lambda item, row: "是" if item.selected or row.get("#") in item.selected_rows else "否",
        ),
        _Column(
            "提交时间",
            lambda item, _row: item.submitted_at.astimezone(zone).replace(tzinfo=None, microsecond=0),
        ),
    ]
    for step in form.steps:
        if isinstance(step, FieldDecl):
            columns.append(
                _Column(step.label, _photo_files(step) if step.kind == "photo" else _top_value(step))
            )
        elif step is expanded:
            columns.append(_Column(f"{step.label}序号", lambda _item, row: row.get("#")))
            columns += [_Column(field.label, _row_value(field)) for field in step.fields]
        else:
            columns += [column for field in step.fields for column in _summarised(step, field)]
    if any(isinstance(step, FieldDecl) and "advise" in step.params for step in form.steps):
        columns.append(
            _Column("提示", lambda item, _row: "；".join(advice(item.form, item.record.answers)) or None)
        )
    return columns, expanded


def _top_value(field: FieldDecl) -> Callable[[ExportItem, Mapping[str, Any]], Any]:
    return lambda item, _row: _cell_value(field, item.record.answers.get(field.key))


def _row_value(field: FieldDecl) -> Callable[[ExportItem, Mapping[str, Any]], Any]:
    return lambda _item, row: _cell_value(field, row.get(field.key))


def _photo_files(field: FieldDecl) -> Callable[[ExportItem, Mapping[str, Any]], Any]:
    """A photo field's files in the ZIP, by name, joined with “；”."""

    def names(item: ExportItem, _row: Mapping[str, Any]) -> str | None:
        return PHOTO_LIST_SEPARATOR.join(p.name for p in _photos(item) if p.key == field.key) or None

    return names


def _summarised(group: GroupDecl, field: FieldDecl) -> list[_Column]:
    """A group kept on one line: photos and videos counted (“照片数”, and the photos' file names in the
    ZIP), other answers joined with “；”."""

    def rows(item: ExportItem) -> list[Mapping[str, Any]]:
        value = item.record.answers.get(group.key)
        return [row for row in value if isinstance(row, Mapping)] if isinstance(value, list) else []

    if field.kind in ("photo", "video"):
        counted = _Column(
            f"{field.label}数", lambda item, _row: sum(1 for r in rows(item) if r.get(field.key))
        )
        return (
            [counted, _Column(f"{field.label}文件", _photo_files(field))]
            if field.kind == "photo"
            else [counted]
        )

    def joined(item: ExportItem, _row: Mapping[str, Any]) -> str | None:
        values = [_cell_value(field, row.get(field.key)) for row in rows(item)]
        return PHOTO_LIST_SEPARATOR.join(str(v) for v in values if v not in (None, "")) or None

    return [_Column(field.label, joined)]


def _cell_value(field: FieldDecl, value: Any) -> Any:
    """An answer for a person reading the sheet: numbers as numbers, dates in Chinese, skipped blank."""
    if value is None or value == "":
        return None
    if field.validator == "integer" and not isinstance(value, bool):
        try:
            return int(value)
        except (TypeError, ValueError):
            return str(value)
    try:
        return display_value(field, value, full=True)
    except (AttributeError, KeyError, TypeError, ValueError):  # an unexpected stored shape: show it raw
        return str(value)


def _write_form_sheet(
    sheet: WriteOnlyWorksheet, form: FormDecl, items: Sequence[ExportItem], generated_at: datetime
) -> None:
    columns, expanded = _columns(form, generated_at.tzinfo)
    table: list[list[Any]] = [[column.label for column in columns]]
    for item in items:
        rows: list[Mapping[str, Any]] = [{}]
        if expanded is not None:
            group_rows = item.record.answers.get(expanded.key)
            if isinstance(group_rows, list) and group_rows:
                rows = [{**row, "#": number} for number, row in enumerate(group_rows, start=1)]
        table += [[column.value(item, row) for column in columns] for row in rows]
    if len(table) > 1:
        sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{len(table)}"
    _write_table(sheet, table, time_column=SUBMISSION_COLUMNS.index("提交时间"))


def _write_table(
    sheet: WriteOnlyWorksheet, table: Sequence[Sequence[Any]], *, time_column: int | None = None
) -> None:
    """``table`` from the sheet's first row: the header bold, centred and frozen, each column as wide
    as its contents, the values of ``time_column`` (counted from 0) as Chinese date and time.

    A write-only sheet takes its column widths and frozen rows before its first row.
    """
    _fit_columns(sheet, table)
    sheet.freeze_panes = "A2"
    sheet.append([_cell(sheet, label, font=_BOLD, alignment=_HEADER_ALIGNMENT) for label in table[0]])
    for values in table[1:]:
        row = _row(sheet, values)
        if time_column is not None:
            row[time_column] = _cell(sheet, values[time_column], number_format=_TIME_FORMAT)
        sheet.append(row)


def _row(sheet: WriteOnlyWorksheet, values: Iterable[Any]) -> list[Any]:
    """Plain values, but text the sheet would take for a formula (“=HYPERLINK(…)” typed in a chat)
    goes in a cell that keeps it text."""
    row = []
    for value in values:
        value = _without_illegal_characters(value)
        row.append(_cell(sheet, value) if isinstance(value, str) and value.startswith("=") else value)
    return row


def _cell(sheet: WriteOnlyWorksheet, value: Any, **style: Any) -> WriteOnlyCell:
    """A cell with ``style`` (``font``, ``alignment``, ``number_format``); text is always text."""
    cell = WriteOnlyCell(sheet, _without_illegal_characters(value))
    if isinstance(value, str):
        cell.data_type = "s"
    for name, setting in style.items():
        setattr(cell, name, setting)
    return cell


def _without_illegal_characters(value: Any) -> Any:
    """Text loses the characters XML cannot carry."""
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def _fit_columns(sheet: WriteOnlyWorksheet, table: Sequence[Sequence[Any]]) -> None:
    widths: dict[int, int] = {}
    for number, values in enumerate(table):
        for column, value in enumerate(values, start=1):
            widest = widths.get(column, 0)
            if widest + 2 >= _MAX_WIDTH:
                continue  # as wide as a column gets: no need to measure the rest
            widths[column] = max(widest, _display_width(value) + (2 if number == 0 else 0))
    for column, width in widths.items():
        sheet.column_dimensions[get_column_letter(column)].width = min(max(width + 2, _MIN_WIDTH), _MAX_WIDTH)


def _display_width(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, datetime):
        return 18
    text = str(value)[:_MAX_WIDTH]  # wider than the cap never matters
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(char) in "WF" else 1 for char in text)


def _sheet_title(text: str, taken: set[str]) -> str:
    """A worksheet title Excel accepts (31 characters, none of ``[]:*?/\\``), unique in the book."""
    base = "".join("_" if char in "[]:*?/\\" else char for char in text).strip("'")[:31] or "表"
    title, number = base, 1
    while title in taken:
        number += 1
        suffix = f"（{number}）"
        title = base[: 31 - len(suffix)] + suffix
    return title


def _deterministic_xlsx(workbook: Workbook, generated_at: datetime) -> bytes:
    """Save ``workbook`` with ``generated_at`` as its created/modified time and every zip timestamp.

    openpyxl dates its zip entries now, and ``Workbook.save`` the modified time too: ``ExcelWriter``
    (what ``Workbook.save`` runs) writes the package uncompressed to a temporary file, and it is
    copied entry by entry with fixed timestamps, deflated once, never held uncompressed in memory.
    """
    stamp = generated_at.astimezone(UTC).replace(tzinfo=None, microsecond=0)
    workbook.properties.creator = "fulian-intake"
    workbook.properties.last_modified_by = None
    workbook.properties.created = stamp
    workbook.properties.modified = stamp
    output = io.BytesIO()
    with tempfile.TemporaryFile() as saved:
        ExcelWriter(workbook, zipfile.ZipFile(saved, "w", zipfile.ZIP_STORED)).save()
        with zipfile.ZipFile(saved) as source, zipfile.ZipFile(output, "w") as target:
            for entry in source.infolist():
                info = _zip_info(entry.filename, generated_at, zipfile.ZIP_DEFLATED)
                with source.open(entry) as data, target.open(info, "w") as copy:
                    shutil.copyfileobj(data, copy, _COPY_CHUNK)
    return output.getvalue()


__all__ = [
    "ExportItem",
    "ExportStatusRow",
    "build_export",
    "export_workbook",
    "export_zip",
    "safe_file_name",
    "write_export_zip",
    "write_video_zip",
]
