"""组联部's export, read from storage: every current DOCX, the 统计表, the workbook, one ZIP."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from dialogs.campaign import Campaign
from dialogs.declarations import FormDecl
from dialogs.form_records import submission_record
from dialogs.supervision import by_unit, campaign_progress, city_figures, city_lines, progress_cell
from renderers import STATISTICS
from renderers.export import ExportItem, StatusRow, build_export
from storage.repository import Repository


def export_items(repository: Repository, campaign: Campaign, forms: dict[str, FormDecl]) -> list[ExportItem]:
    """Every submission's current version, with its stored DOCX when there is one."""
    units = {unit.id: unit for unit in repository.units(campaign.id)}
    selected = {selection.submission_id for selection, _submission in repository.selections(campaign.id)}
    items = []
    for submission, version in repository.current_versions(campaign.id):
        unit = units[submission.unit_id]
        form = forms[submission.form_id]
        record = submission_record(campaign, form, unit.code, version, repository.file_path)
        document = repository.data_dir / version.document_path if version.document_path else None
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
                document=document.read_bytes() if document is not None and document.is_file() else None,
            )
        )
    return items


def write_export(
    repository: Repository, campaign: Campaign, forms: dict[str, FormDecl], now: datetime
) -> Path:
    """Build the export ZIP under the data folder's ``exports/`` and return its path."""
    local = now.astimezone(campaign.zone)
    progress = campaign_progress(repository, campaign)
    grouped = by_unit(progress)
    status = [
        StatusRow(
            unit_name=unit.name,
            cells={
                p.task.name: progress_cell(p, campaign, forms, now).text() for p in grouped.get(unit.code, [])
            },
            returned=sum(p.returned for p in grouped.get(unit.code, [])),
        )
        for unit in campaign.units
    ]
    city = city_lines(city_figures(campaign, progress))
    collected = dict.fromkeys(task.form for task in campaign.tasks if task.form in STATISTICS)
    content = build_export(
        export_items(repository, campaign, forms),
        status,
        [t.name for t in campaign.tasks],
        city,
        local,
        collected,
    )
    path = repository.data_dir / "exports" / f"{campaign.id}-{local:%Y%m%d-%H%M%S}.zip"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path
