"""Dates, year-months and periods as typed on a phone: parsed, checked against today and the
campaign, stored as ISO strings and printed in Chinese."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from dialogs.chinese_text import to_halfwidth_digits
from dialogs.validation import (
    Accepted,
    Rejected,
    ValidationContext,
    ValidationResult,
    empty_answer,
    without_spaces,
)

# --- dates -------------------------------------------------------------------------------------

_SEPARATOR = r"[.\-/。]"
_SEPARATED_DATE = re.compile(
    rf"(?P<year>\d{{4}})(?:年|{_SEPARATOR})(?P<month>\d{{1,2}})"
    rf"(?:月|(?:月|{_SEPARATOR})(?P<day>\d{{1,2}})[日号]?)?"
)
_COMPACT_DATE = re.compile(r"(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})?")
PLAUSIBLE_YEARS = range(1900, 2100)


def _parse_date_parts(text: str) -> tuple[int, int, int | None] | None:
    """Split a typed date into (year, month, day or None) without checking the calendar."""
    text = without_spaces(to_halfwidth_digits(text)).rstrip("。.")
    match = _SEPARATED_DATE.fullmatch(text) or _COMPACT_DATE.fullmatch(text)
    if match is None:
        return None
    day = match.group("day")
    return int(match.group("year")), int(match.group("month")), int(day) if day else None


def is_real_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def parse_year_month(text: str) -> tuple[int, int] | None:
    """Parse a year and month typed the usual ways, or return None.

    Accepts ``1985.3``, ``1985.03``, ``1985-3``, ``1985/3``, ``1985年3月``, ``198503``, full dates
    (``1985.3.12``, ``1985年3月12日``, ``19850312``; the day is checked, then dropped), full-width
    digits and spaces. Years outside 1900–2099 and impossible months or days give None.
    """
    parts = _parse_date_parts(text)
    if parts is None:
        return None
    year, month, day = parts
    if year not in PLAUSIBLE_YEARS or not 1 <= month <= 12:
        return None
    if day is not None and not is_real_date(year, month, day):
        return None
    return year, month


def format_year_month(value: str) -> str:
    """``"1985-03"`` → ``"1985年3月"`` (for review screens and documents)."""
    year, month = value.split("-")
    return f"{int(year)}年{int(month)}月"


def format_date(value: str) -> str:
    """``"2021-03-15"`` → ``"2021年3月15日"`` (for review screens and documents)."""
    day = date.fromisoformat(value)
    return f"{day.year}年{day.month}月{day.day}日"


def _date_in_chinese(day: date) -> str:
    return format_date(day.isoformat())


def _year_month_format_hint(label: str, example_year: int, text: str = "") -> Rejected:
    """Why a year-month was not read: a month or day that cannot be (“1985年13月”), said as such;
    else the formats that work."""
    example = f"“{example_year}.03”或“{example_year}年3月”"
    parts = _parse_date_parts(text) if text else None
    if parts is not None and parts[0] in PLAUSIBLE_YEARS:
        year, month, day = parts
        if not 1 <= month <= 12:
            return Rejected(f"{label}的月份应在1到12之间（现为{month}月），请核对后重新填写，例如{example}。")
        if day is not None and not is_real_date(year, month, day):
            return Rejected(f"{year}年{month}月没有{day}日，请核对{label}后重新填写，例如{example}。")
    return Rejected(f"{label}请按{example}的格式填写。")


def _months_between(start: tuple[int, int], end: date) -> int:
    return (end.year - start[0]) * 12 + (end.month - start[1])


def validate_birth_year_month(
    text: str, params: Mapping[str, Any], ctx: ValidationContext
) -> ValidationResult:
    """A birth year-month giving an age in ``[min_age, max_age]`` at ``ctx.today``; stores "1985-03"."""
    if not text.strip():
        return empty_answer(ctx)
    parsed = parse_year_month(text)
    if parsed is None:
        return _year_month_format_hint(ctx.label, 1985, text)
    min_age, max_age = params["min_age"], params["max_age"]
    age = _months_between(parsed, ctx.today) // 12  # whole years completed, counted by month
    stored = f"{parsed[0]:04d}-{parsed[1]:02d}"
    if not min_age <= age <= max_age:
        return Rejected(
            f"{ctx.label}为{format_year_month(stored)}，年龄不在{min_age}-{max_age}岁之间，请核对后重新填写。"
        )
    return Accepted(stored)


def validate_service_start(text: str, params: Mapping[str, Any], ctx: ValidationContext) -> ValidationResult:
    """When the person started 妇联 work: at least ``min_years`` full years before the deadline.

    Counted by month: a start in May 2020 is one full year before a deadline on 25 May 2021.
    Without a deadline, today is the reference date.
    """
    if not text.strip():
        return empty_answer(ctx)
    parsed = parse_year_month(text)
    if parsed is None:
        return _year_month_format_hint(ctx.label, 2019, text)
    stored = f"{parsed[0]:04d}-{parsed[1]:02d}"
    if _months_between(parsed, ctx.today) < 0:
        return Rejected(f"{ctx.label}（{format_year_month(stored)}）晚于当前月份，请核对后重新填写。")
    min_years = params["min_years"]
    reference = ctx.deadline or ctx.today
    if _months_between(parsed, reference) < min_years * 12:
        return Rejected(
            f"候选人须从事妇联工作{min_years}年以上（截至{_date_in_chinese(reference)}），"
            f"按所填时间{format_year_month(stored)}计算不足{min_years}年，不符合推荐条件。"
            "如时间填错，请重新填写。"
        )
    return Accepted(stored)


def validate_campaign_date(text: str, params: Mapping[str, Any], ctx: ValidationContext) -> ValidationResult:
    """A real date within the campaign year and not after today; stores "2021-03-15"."""
    if not text.strip():
        return empty_answer(ctx)
    example = f"请按“{ctx.campaign_year}年3月15日”或“{ctx.campaign_year}.3.15”的格式填写。"
    parts = _parse_date_parts(text)
    if parts is None:
        return Rejected(f"{ctx.label}{example}")
    year, month, day = parts
    if day is None:
        return Rejected(f"{ctx.label}需写到具体哪一天，{example}")
    if not is_real_date(year, month, day):
        return Rejected(f"{year}年{month}月{day}日不是有效日期，请核对后重新填写。")
    typed = date(year, month, day)
    if year != ctx.campaign_year:
        return Rejected(f"{ctx.label}需在{ctx.campaign_year}年内，请核对年份。")
    if typed > ctx.today:
        return Rejected(f"{ctx.label}不能晚于今天（{_date_in_chinese(ctx.today)}），请核对后重新填写。")
    return Accepted(typed.isoformat())


def validate_date(text: str, params: Mapping[str, Any], ctx: ValidationContext) -> ValidationResult:
    """A date to the month or to the day, not after today — or, with ``max_years_ahead``, up to that
    many years after it (预计毕业时间); stored "2019-03" or "2019-03-15"."""
    if not text.strip():
        return empty_answer(ctx)
    parts = _parse_date_parts(text)
    if parts is not None and parts[0] in PLAUSIBLE_YEARS and not 1 <= parts[1] <= 12:
        return Rejected(f"{ctx.label}的月份应在1到12之间（现为{parts[1]}月），请核对后重新填写。")
    if parts is None or parts[0] not in PLAUSIBLE_YEARS:
        return Rejected(f"{ctx.label}请按“2019年3月”或“2019.3.15”的格式填写。")
    year, month, day = parts
    if day is not None and not is_real_date(year, month, day):
        return Rejected(f"{year}年{month}月{day}日不是有效日期，请核对后重新填写。")
    stored = f"{year:04d}-{month:02d}" + (f"-{day:02d}" if day is not None else "")
    ahead = int(params.get("max_years_ahead", 0))
    if ahead and year > ctx.today.year + ahead:
        return Rejected(f"{ctx.label}不能晚于{ctx.today.year + ahead}年，请核对后重新填写。")
    if not ahead and (year, month, day or 1) > (ctx.today.year, ctx.today.month, ctx.today.day):
        return Rejected(f"{ctx.label}不能晚于今天（{_date_in_chinese(ctx.today)}），请核对后重新填写。")
    return Accepted(stored)


def format_stored_date(value: str) -> str:
    """A stored "2019-03" or "2019-03-15" in Chinese: "2019年3月", "2019年3月15日"."""
    return format_date(value) if len(value) == 10 else format_year_month(value)


_PERIOD_SPLIT = re.compile(r"\s*(?:至|到|—+|–|－|~|～|-(?=\s*(?:\d{4}|今)))\s*")
_UNTIL_NOW = re.compile(r"(?:至|到|—+|-|~|～)?(?:至今|今天|现在|今)$")


def validate_period(text: str, params: Mapping[str, Any], ctx: ValidationContext) -> ValidationResult:
    """A period from one month to another (or 至今): "2019.03-2021.06", "2019年3月至今"; stored
    "2019-03至2021-06" or "2019-03至今"."""
    typed = without_spaces(to_halfwidth_digits(text))
    if not typed:
        return empty_answer(ctx)
    hint = f"{ctx.label}请按“2019.03-2021.06”或“2019年3月至今”的格式填写起止年月。"
    typed = _UNTIL_NOW.sub("至今", typed)
    pieces = [piece for piece in _PERIOD_SPLIT.split(typed, maxsplit=1) if piece]
    if len(pieces) != 2:
        return Rejected(hint)
    start = parse_year_month(pieces[0])
    if start is None:
        return Rejected(hint)
    start_text = f"{start[0]:04d}-{start[1]:02d}"
    if pieces[1] == "今":
        return Accepted(f"{start_text}至今")
    end = parse_year_month(pieces[1])
    if end is None:
        return Rejected(hint)
    if end < start:
        return Rejected(f"{ctx.label}的结束时间早于开始时间，请核对后重新填写。")
    return Accepted(f"{start_text}至{end[0]:04d}-{end[1]:02d}")


def format_period(value: str) -> str:
    """A stored "2019-03至2021-06" in Chinese: "2019年3月至2021年6月"."""
    start, end = value.split("至")
    return f"{format_year_month(start)}至{end if end == '今' else format_year_month(end)}"
