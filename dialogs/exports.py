"""组联部's export, read from storage: what goes into it (``ExportContent``), gathered here and laid
out as one ZIP by the builder the core is given (``renderers.export.export_zip``); the courses' kept
videos (``ExportVideo``) in a ZIP of their own (``renderers.export.write_video_zip``)."""

from __future__ import annotations

import glob
import hashlib
import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from dialogs.campaign import Campaign
from dialogs.declarations import FieldDecl, FormDecl
from dialogs.exchange import ExportKind
from dialogs.file_names import EXPORT_NAME_LIMIT, safe_file_name
from dialogs.form_records import FormRecord, Render, submission_record
from dialogs.printing import printed_form
from dialogs.supervision import by_unit, campaign_progress, city_figures, city_lines, progress_cell
from storage.repository import Repository
from storage.temporaries import write_whole


@dataclass(frozen=True)
class ExportItem:
    """One submission's current version, with what the export prints around it."""

    submission_id: int
    version: int
    unit_code: str
    unit_name: str
    task_id: str
    task_name: str
    form: FormDecl
    status: str  # "submitted" | "accepted" | "returned"
    selected: bool  # the whole submission is recommended to the region
    submitted_at: datetime  # aware
    record: FormRecord
    document: Path | None = None  # the kept DOCX, copied into the ZIP instead of rendering again
    selected_rows: frozenset[int] = frozenset()  # rows recommended one by one (courses), from 1


@dataclass(frozen=True)
class ExportStatusRow:
    """One unit's line of the status overview: task name -> "1/2" style text, and its 退回 count."""

    unit_name: str
    cells: dict[str, str]
    returned: int


@dataclass(frozen=True)
class ExportVideo:
    """A course's video kept with a submission's current version: where it goes in the videos' ZIP."""

    unit_name: str
    task_name: str
    submission_id: int
    row: int  # the course's number in its form, from 1
    title: str  # the course's title
    path: Path  # the kept file
    size: int


@dataclass(frozen=True)
class ExportContent:
    """Everything one export holds, in the campaign's time zone (``generated_at``)."""

    items: list[ExportItem]
    status: list[ExportStatusRow]
    task_names: list[str]
    city_lines: list[str]
    generated_at: datetime
    forms: list[FormDecl]  # the forms the campaign collects, in its order
    render: Render  # prints a record without a kept DOCX: shipped renderers and imported Word forms


#: Writes the forms' ZIP to a file object.
BuildExport = Callable[[ExportContent, BinaryIO], None]
#: Writes the videos' ZIP to a file object, streaming each video (they are hundreds of MB).
BuildVideos = Callable[[Sequence[ExportVideo], datetime, BinaryIO], None]


def export_videos(
    repository: Repository, campaign: Campaign, forms: dict[str, FormDecl]
) -> list[ExportVideo]:
    """The kept videos of every submission's current version, course by course."""
    units = {unit.id: unit for unit in repository.units(campaign.id)}
    videos = []
    for submission, version in repository.current_versions(campaign.id):
        form = forms[submission.form_id]
        for group in (step for step in form.steps if not isinstance(step, FieldDecl)):
            kinds = {f.key: f.kind for f in group.fields}
            for number, row in enumerate(version.answers.get(group.key, []), start=1):
                for key, value in row.items():
                    sha = (
                        value.get("sha256") if kinds.get(key) == "video" and isinstance(value, dict) else None
                    )
                    path = repository.file_path(str(sha)) if sha else None
                    if path is None or not path.is_file():
                        continue
                    videos.append(
                        ExportVideo(
                            unit_name=units[submission.unit_id].name,
                            task_name=campaign.task(submission.task_id).name,
                            submission_id=submission.id or 0,
                            row=number,
                            title=str(row.get(group.title_field) or ""),
                            path=path,
                            size=path.stat().st_size,
                        )
                    )
    return videos


def export_items(
    repository: Repository, campaign: Campaign, forms: dict[str, FormDecl], render: Render | None
) -> list[ExportItem]:
    """Every submission's current version, with its kept DOCX (printed and kept now if it had none)."""
    units = {unit.id: unit for unit in repository.units(campaign.id)}
    whole: set[int] = set()
    rows: dict[int, set[int]] = {}
    for selection, _submission in repository.selections(campaign.id):
        if selection.row == -1:
            whole.add(selection.submission_id)
        else:
            rows.setdefault(selection.submission_id, set()).add(selection.row)
    items = []
    for submission, version in repository.current_versions(campaign.id):
        unit = units[submission.unit_id]
        form = forms[submission.form_id]
        record = submission_record(campaign, form, unit.code, version, repository.file_path)
        document = printed_form(repository, campaign, form, unit.code, version, render)
        items.append(
            ExportItem(
                submission_id=submission.id or 0,
                version=version.version,
                unit_code=unit.code,
                unit_name=unit.name,
                task_id=submission.task_id,
                task_name=campaign.task(submission.task_id).name,
                form=form,
                status=submission.status,
                selected=submission.id in whole,
                selected_rows=frozenset(rows.get(submission.id or 0, ())),
                submitted_at=version.submitted_at.astimezone(campaign.zone),
                record=record,
                document=document,
            )
        )
    return items


def write_export(
    repository: Repository,
    campaign: Campaign,
    forms: dict[str, FormDecl],
    now: datetime,
    render: Render,
    build: BuildExport,
) -> Path:
    """Build the forms' export ZIP under the data folder's ``exports/`` and return its path (the
    courses' videos go apart: ``write_video_export``)."""
    local = now.astimezone(campaign.zone)
    progress = campaign_progress(repository, campaign)
    grouped = by_unit(progress)
    status = [
        ExportStatusRow(
            unit_name=unit.name,
            cells={
                p.task.name: progress_cell(p, campaign, forms, now).text() for p in grouped.get(unit.code, [])
            },
            returned=sum(p.returned for p in grouped.get(unit.code, [])),
        )
        for unit in campaign.units
    ]
    city = city_lines(city_figures(campaign, progress))
    content = ExportContent(
        items=export_items(repository, campaign, forms, render),
        status=status,
        task_names=[t.name for t in campaign.tasks],
        city_lines=city,
        generated_at=local,
        forms=[forms[form_id] for form_id in dict.fromkeys(task.form for task in campaign.tasks)],
        render=render,
    )
    folder = repository.data_dir / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / export_file_name(campaign, ZIP_WORDS[ExportKind.FORMS], local)
    write_whole(path, lambda target: build(content, target))
    return path


def export_file_name(campaign: Campaign, what: str, local: datetime) -> str:
    """An export's file name as 组联部 see it in their downloads: the notice's 文号, what it holds and
    when it was made, “柳妇通〔2021〕29号-导出-12月8日09时30分.zip”."""
    stamp = f"{local.month}月{local.day}日{local:%H}时{local:%M}分"
    return safe_file_name(f"{export_prefix(campaign)}-{what}-{stamp}.zip", EXPORT_NAME_LIMIT)


def export_prefix(campaign: Campaign) -> str:
    """What every export file of a campaign starts with: its notice's 文号 (or its name, without
    one), made fit for a file name (``dialogs.file_names``)."""
    return safe_file_name(campaign.notice or campaign.name)


#: What each export ZIP is called in its file name.
ZIP_WORDS = {ExportKind.FORMS: "导出", ExportKind.VIDEOS: "课程视频"}
_VIDEO_EXPORTS = threading.Lock()  # one videos' ZIP written at a time: a second 导出 reuses it


def write_video_export(
    repository: Repository,
    campaign: Campaign,
    forms: dict[str, FormDecl],
    now: datetime,
    build: BuildVideos,
) -> Path | None:
    """The courses' kept videos as one ZIP under ``exports/`` (None when there are none). It runs to
    GBs — no messenger carries it, and it is slow to write — so it is made apart from the forms' ZIP,
    outside any transaction, and made again only when the videos changed: the last one is reused
    (its contents' key kept beside it), and an older one is deleted when a new one is made."""
    videos = export_videos(repository, campaign, forms)
    if not videos:
        return None
    key = hashlib.sha256(
        json.dumps(
            sorted([v.path.name, v.unit_name, v.task_name, v.submission_id, v.row, v.title] for v in videos)
        ).encode()
    ).hexdigest()
    folder = repository.data_dir / "exports"
    folder.mkdir(parents=True, exist_ok=True)
    index = folder / f"{campaign.id}-videos.key"
    with _VIDEO_EXPORTS:
        kept = index.read_text().split() if index.exists() else []
        if len(kept) == 2 and kept[0] == key and (folder / kept[1]).is_file():
            return folder / kept[1]
        local = now.astimezone(campaign.zone)
        word = ZIP_WORDS[ExportKind.VIDEOS]
        path = folder / export_file_name(campaign, word, local)
        write_whole(path, lambda target: build(videos, local, target))
        write_whole(index, lambda target: target.write(f"{key} {path.name}".encode()))
        for older in folder.glob(f"{glob.escape(export_prefix(campaign))}-{word}-*.zip"):  # this campaign's
            if older != path:
                older.unlink(missing_ok=True)
        return path
