"""What a renderer is given: one submitted, validated record, with everything printed around it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from dialogs.validators import format_date, format_year_month


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


def chinese_date(day: date) -> str:
    """``date(2021, 6, 18)`` → ``"2021年6月18日"``."""
    return format_date(day.isoformat())


def chinese_year_month(stored: str) -> str:
    """A stored ``"1985-03"`` → ``"1985年3月"``."""
    return format_year_month(stored)


def chinese_stored_date(stored: str) -> str:
    """A stored ``"2021-06-18"`` → ``"2021年6月18日"``."""
    return format_date(stored)
