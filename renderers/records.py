"""What a renderer is given — one submitted, validated record (``dialogs.form_records.FormRecord``,
the core's) — and how dates are printed on a form."""

from __future__ import annotations

from datetime import date

from dialogs.form_records import FormRecord, RenderError, answer_text
from dialogs.validators import format_date, format_year_month

__all__ = [
    "FormRecord",
    "RenderError",
    "answer_text",
    "chinese_date",
    "chinese_stored_date",
    "chinese_year_month",
]


def chinese_date(day: date) -> str:
    """``date(2021, 6, 18)`` → ``"2021年6月18日"``."""
    return format_date(day.isoformat())


def chinese_year_month(stored: str) -> str:
    """A stored ``"1985-03"`` → ``"1985年3月"``."""
    return format_year_month(stored)


def chinese_stored_date(stored: str) -> str:
    """A stored ``"2021-06-18"`` → ``"2021年6月18日"``."""
    return format_date(stored)
