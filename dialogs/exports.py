"""组联部's export, read from storage: what goes into it (``ExportContent``), gathered here and laid
out as one ZIP by the builder the core is given (``renderers.export.export_zip``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from dialogs.campaign import Campaign
from dialogs.declarations import FormDecl
from dialogs.form_records import FormRecord, Render, submission_record
from dialogs.printing import printed_form
from dialogs.supervision import by_unit, campaign_progress, city_figures, city_lines, progress_cell
from storage.repository import Repository


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
    selected: bool
    submitted_at: datetime  # aware
    record: FormRecord
    document: bytes | None = None  # the kept DOCX, reused instead of rendering again


@dataclass(frozen=True)
class ExportStatusRow:
    """One unit's line of the status overview: task name -> "1/2" style text, and its 退回 count."""

    unit_name: str
    cells: dict[str, str]
    returned: int


@dataclass(frozen=True)
class ExportContent:
    """Everything one export holds, in the campaign's time zone (``generated_at``)."""

    items: list[ExportItem]
    status: list[ExportStatusRow]
    task_names: list[str]
    city_lines: list[str]
    generated_at: datetime
    form_ids: list[str]  # the forms the campaign collects, in its order


BuildExport = Callable[[ExportContent], bytes]


def export_items(
    repository: Repository, campaign: Campaign, forms: dict[str, FormDecl], render: Render | None
) -> list[ExportItem]:
    """Every submission's current version, with its kept DOCX (printed and kept now if it had none)."""
    units = {unit.id: unit for unit in repository.units(campaign.id)}
    selected = {selection.submission_id for selection, _submission in repository.selections(campaign.id)}
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
                selected=submission.id in selected,
                submitted_at=version.submitted_at.astimezone(campaign.zone),
                record=record,
                document=document.read_bytes() if document is not None else None,
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
    """Build the export ZIP under the data folder's ``exports/`` and return its path."""
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
    content = build(
        ExportContent(
            items=export_items(repository, campaign, forms, render),
            status=status,
            task_names=[t.name for t in campaign.tasks],
            city_lines=city,
            generated_at=local,
            form_ids=list(dict.fromkeys(task.form for task in campaign.tasks)),
        )
    )
    path = repository.data_dir / "exports" / f"{campaign.id}-{local:%Y%m%d-%H%M%S}.zip"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path
