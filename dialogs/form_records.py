"""From stored answers to what a renderer takes: the record with its unit, date and photo files."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from dialogs.campaign import Campaign
from dialogs.declarations import FieldDecl, FormDecl
from renderers import FormRecord
from storage.models import SubmissionVersion


def photo_hashes(form: FormDecl, answers: Mapping[str, Any]) -> Iterator[str]:
    """The sha256 of every photo in a set of answers (top-level fields and group rows)."""
    for step in form.steps:
        if isinstance(step, FieldDecl):
            if step.kind == "photo" and isinstance(answers.get(step.key), dict):
                yield str(answers[step.key]["sha256"])
            continue
        photo_keys = [f.key for f in step.fields if f.kind == "photo"]
        for row in answers.get(step.key, []):
            for key in photo_keys:
                if isinstance(row.get(key), dict):
                    yield str(row[key]["sha256"])


def form_record(
    campaign: Campaign,
    form: FormDecl,
    unit_code: str,
    answers: Mapping[str, Any],
    submitted_on: date,
    file_path: Callable[[str], Path | None],
) -> FormRecord:
    """The renderer's record of one submission; ``file_path`` finds a stored photo by its sha256."""
    unit = campaign.unit(unit_code)
    files = {sha: path for sha in photo_hashes(form, answers) if (path := file_path(sha)) is not None}
    return FormRecord(
        form_id=form.id,
        answers=answers,
        unit_name=unit.name,
        unit_area=unit.area,
        city=campaign.city,
        campaign_year=campaign.year,
        submitted_on=submitted_on,
        photo_files=files,
    )


def submission_record(
    campaign: Campaign,
    form: FormDecl,
    unit_code: str,
    version: SubmissionVersion,
    file_path: Callable[[str], Path | None],
) -> FormRecord:
    """The renderer's record of a stored version, dated the day it was submitted in the campaign's
    time zone (a form submitted at 07:30 in 柳州 is dated that day, not the day before in UTC)."""
    return form_record(
        campaign, form, unit_code, version.answers, local_day(campaign, version.submitted_at), file_path
    )


def local_day(campaign: Campaign, moment: datetime) -> date:
    """The campaign's calendar day of a stored moment (SQLite gives stored times back without a zone:
    they are UTC)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return aware.astimezone(campaign.zone).date()
