"""Rendering: ms per DOCX for each form (``renderers.render_form`` on ``renderers.samples`` records,
maximum-length answers), and the supervisor's export (``renderers.export.build_export``) of many
submissions, with its workbook (``export_workbook``) at region scale.

The export module is optional: when ``renderers/export.py`` (or the names used here) is missing, the
export rows say so instead of a figure.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.scenario import percentile
from renderers import FORM_IDS, render_form, sample_record, sample_sites


@dataclass
class RenderResult:
    form_id: str
    first_ms: float  # the first render in the process (photos prepared, caches cold)
    times_ms: list[float]
    size_kb: float

    @property
    def median(self) -> float:
        return percentile(self.times_ms, 0.5)

    @property
    def p90(self) -> float:
        return percentile(self.times_ms, 0.9)


def time_renders(photo_dir: Path, repeats: int) -> list[RenderResult]:
    """Render each form's sample ``repeats`` times (after one first, cold render)."""
    results = []
    for form_id in FORM_IDS:
        record = sample_record(form_id, photo_dir)
        began = time.perf_counter()
        data = render_form(record)
        first = (time.perf_counter() - began) * 1000
        times = []
        for _ in range(repeats):
            began = time.perf_counter()
            render_form(record)
            times.append((time.perf_counter() - began) * 1000)
        results.append(RenderResult(form_id, first, times, len(data) / 1024))
    return results


@dataclass
class ExportResult:
    items: int
    seconds: float
    size_mb: float
    entries: str = ""


def export_items(
    photo_dir: Path, count: int, selected_every: int = 20
) -> tuple[list[Any], list[Any], list[str]]:
    """``count`` submissions for an export, mixed as a campaign's are (per unit: two 登记表, a
    课程推荐表 for county federations, 申报表 for the rest), each a sample record; every
    ``selected_every``-th is recommended to the region. Returns (items, status rows, task names).

    Raises:
        ImportError: ``renderers.export`` is not there (yet).
    """
    from bench.setup_db import region_campaign
    from bot.app import load_declarations
    from bot.settings import Settings
    from renderers.export import ExportItem, ExportStatusRow

    declarations = load_declarations(Settings())
    forms = declarations.forms
    records = {
        "cadre_registration": [sample_record("cadre_registration", photo_dir)],
        "course_recommendation": [sample_record("course_recommendation", photo_dir)],
        "site_application": sample_sites(photo_dir),
    }
    campaign = region_campaign(declarations.campaign, max(14, count // 4 + 1))
    zone = campaign.zone
    items: list[Any] = []
    status: list[Any] = []
    for unit in campaign.units:
        tasks = [task for task in campaign.tasks_for(unit.kind)]
        for task in tasks:
            for _ in range(2 if task.id == "cadres" else 1):
                if len(items) >= count:
                    break
                pool = records[task.form]
                number = len(items) + 1
                items.append(
                    ExportItem(
                        submission_id=number,
                        version=1,
                        unit_code=unit.code,
                        unit_name=unit.name,
                        task_id=task.id,
                        task_name=task.name,
                        form=forms[task.form],
                        status=("submitted", "accepted", "returned")[number % 3],
                        selected=number % selected_every == 0,
                        submitted_at=datetime(2021, 5, 20, 10, tzinfo=zone),
                        record=pool[number % len(pool)],
                    )
                )
        status.append(ExportStatusRow(unit.name, {task.name: "1/2" for task in tasks}, 0))
        if len(items) >= count:
            break
    return items, status, [task.name for task in campaign.tasks]


def time_export(photo_dir: Path, count: int) -> ExportResult:
    """Build the export ZIP of ``count`` submissions once."""
    from renderers.export import build_export

    items, status, task_names = export_items(photo_dir, count)
    generated = datetime(2021, 5, 26, 9, tzinfo=items[0].submitted_at.tzinfo)
    began = time.perf_counter()
    data = build_export(items, status, task_names, ["全市示范点 5/10 个"], generated)
    seconds = time.perf_counter() - began
    return ExportResult(len(items), seconds, len(data) / 1e6)


def time_workbook(photo_dir: Path, count: int) -> ExportResult:
    """Build only the export's 汇总.xlsx over ``count`` submissions (no DOCX rendering)."""
    from renderers.export import export_workbook

    items, status, task_names = export_items(photo_dir, count)
    generated = datetime(2021, 5, 26, 9, tzinfo=items[0].submitted_at.tzinfo)
    began = time.perf_counter()
    data = export_workbook(items, status, task_names, ["全市示范点 5/10 个"], generated)
    seconds = time.perf_counter() - began
    return ExportResult(len(items), seconds, len(data) / 1e6)
