"""What a renderer takes — one submitted form's record, with its unit, its date and its photo files —
and how it is made from stored answers. The core's type: renderers depend on it, never the other way."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from dialogs.campaign import Campaign
from dialogs.declarations import FieldDecl, FormDecl
from dialogs.exchange import DocumentRef
from storage.models import SubmissionVersion

#: Turns a record into its official form's bytes (``renderers.render_form``, given to the engine).
Render = Callable[["FormRecord"], bytes]


class RenderError(ValueError):
    """A record cannot be rendered: an answer or a photo file the form prints is missing."""


@dataclass(frozen=True)
class FormRecord:
    """One submitted form.

    ``answers`` are the stored answers, keyed as in ``dialogs/forms/*.toml``; a group is a list of
    row dicts; a photo answer is ``{"sha256": ..., "width": ..., "height": ..., "mime": ...}`` and
    ``photo_files`` maps that sha256 to the stored file.
    """

    form_id: str
    answers: Mapping[str, Any]
    unit_name: str
    unit_area: str
    city: str
    campaign_year: int
    submitted_on: date
    photo_files: Mapping[str, Path] = field(default_factory=dict)

    def text(self, key: str) -> str:
        """A printed top-level answer as text."""
        return answer_text(self.answers, key, self.form_id)

    def rows(self, group: str) -> list[Mapping[str, Any]]:
        """The rows of a repeating group (courses, photos)."""
        rows = self.answers.get(group)
        if not isinstance(rows, list):
            raise RenderError(f"{self.form_id}: group {group!r} is missing from the answers")
        return rows

    def photo_path(self, photo: Any) -> Path:
        """The stored file of a photo answer."""
        sha = photo.get("sha256") if isinstance(photo, Mapping) else None
        if not isinstance(sha, str):
            raise RenderError(f"{self.form_id}: a photo answer has no sha256: {photo!r}")
        path = self.photo_files.get(sha)
        if path is None:
            raise RenderError(f"{self.form_id}: no stored file for photo {sha}")
        return path


def answer_text(answers: Mapping[str, Any], key: str, form_id: str = "") -> str:
    """An answer as printed; a missing or empty answer is an error, not a blank on the form."""
    value = answers.get(key)
    if value is None or value == "":
        raise RenderError(f"{form_id}: answer {key!r} is missing")
    return str(value)


def record_name(form: FormDecl, answers: Mapping[str, Any]) -> str:
    """What a record is called in lists and file names: its ``summary_field`` answer (the candidate's
    name, the site), or for a form summarised by a group the titles of its rows, quoted
    (“《巧用议事会》《家风课堂》”, “《…》《…》等3节课程” past two); empty while nothing names it."""
    step = next((s for s in form.steps if s.key == form.summary_field), None)
    if isinstance(step, FieldDecl) or step is None:
        value = answers.get(form.summary_field)
        return str(value) if value not in (None, "") else ""
    rows = answers.get(step.key)
    titles = [
        f"{step.title_quotes[0]}{row[step.title_field]}{step.title_quotes[1]}"
        for row in (rows if isinstance(rows, list) else [])
        if isinstance(row, Mapping) and row.get(step.title_field)
    ]
    if len(titles) > _TITLES_NAMED:
        return "".join(titles[:_TITLES_NAMED]) + f"等{len(titles)}{step.item}"
    return "".join(titles)


_TITLES_NAMED = 2  # a record named by its rows names this many, then counts the rest


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


def stored_media(form: FormDecl, answers: Mapping[str, Any]) -> tuple[DocumentRef, ...]:
    """Every stored photo and video of a set of answers, in the form's order (top-level fields, then
    each row of a group): what 查看 and the review show beside the text. A video known only by its
    metadata (no bytes came with it) has nothing to show."""
    refs: list[DocumentRef] = []

    def add(field_decl: FieldDecl, value: Any) -> None:
        if field_decl.kind in ("photo", "video") and isinstance(value, Mapping):
            sha = value.get("sha256")
            if isinstance(sha, str):
                refs.append(DocumentRef("photo" if field_decl.kind == "photo" else "video", sha))

    for step in form.steps:
        if isinstance(step, FieldDecl):
            add(step, answers.get(step.key))
            continue
        rows = answers.get(step.key)
        for row in rows if isinstance(rows, list) else []:
            for group_field in step.fields:
                add(group_field, row.get(group_field.key))
    return tuple(refs)


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
