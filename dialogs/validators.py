"""Answer validators: one small pure function per rule, with Chinese messages.

A text validator takes the answer as typed (already through ``clean_text``), the ``params`` of the
form declaration and a ``ValidationContext``; it returns ``Accepted`` with the normalised value to
store, or ``Rejected`` with a message that says what is wrong and what to do. Form declarations name
text validators from ``TEXT_VALIDATORS``; the form loader calls ``check_params`` for each one at
start-up so that a wrong declaration fails there and not in a chat.

Photos and videos have their own validators, ``validate_photo`` and ``validate_video_meta``.
"""

from __future__ import annotations

import ctypes
import math
import re
import threading
import unicodedata
import warnings
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache
from io import BytesIO
from typing import Any, Literal, TypeGuard

from PIL import ExifTags, Image

from dialogs.chinese_text import plain_number, to_halfwidth_digits, word_count

__all__ = [
    "ETHNIC_GROUPS",
    "NOT_A_PHOTO",
    "PHOTO_MAX_BYTES",
    "PHOTO_MAX_PIXELS",
    "TEXT_VALIDATORS",
    "VIDEO_MAX_BYTES",
    "Accepted",
    "Rejected",
    "TextValidator",
    "ValidationContext",
    "ValidationResult",
    "check_params",
    "choice_advice",
    "cross_field_names",
    "decode_budget",
    "format_date",
    "format_period",
    "format_stored_date",
    "format_year_month",
    "id_check_digit",
    "parse_year_month",
    "photo_too_large",
    "validate_photo",
    "validate_video_meta",
    "video_too_large",
]


@dataclass(frozen=True)
class Accepted:
    """The answer is valid; ``value`` is what to store (JSON-serialisable)."""

    value: Any
    note: str | None = None  # a remark shown to the user that does not refuse the answer


@dataclass(frozen=True)
class Rejected:
    """The answer is refused; ``message`` tells the user what is wrong and what to do."""

    message: str


ValidationResult = Accepted | Rejected


@dataclass(frozen=True)
class ValidationContext:
    """What a validator may know besides the answer itself."""

    label: str  # the field's Chinese label, e.g. "主要事迹"
    today: date  # today's date in Asia/Shanghai (injected clock)
    campaign_year: int
    deadline: date | None = None  # the task's deadline
    answers: Mapping[str, Any] = field(default_factory=dict)  # other accepted answers of the record


TextValidator = Callable[[str, Mapping[str, Any], ValidationContext], ValidationResult]

_WHITESPACE = re.compile(r"\s+")


def _without_spaces(text: str) -> str:
    return _WHITESPACE.sub("", text)


def _empty(ctx: ValidationContext) -> Rejected:
    return Rejected(f"请填写{ctx.label}。")


# --- dates -------------------------------------------------------------------------------------

_SEPARATOR = r"[.\-/。]"
_SEPARATED_DATE = re.compile(
    rf"(?P<year>\d{{4}})(?:年|{_SEPARATOR})(?P<month>\d{{1,2}})"
    rf"(?:月|(?:月|{_SEPARATOR})(?P<day>\d{{1,2}})[日号]?)?"
)
_COMPACT_DATE = re.compile(r"(?P<year>\d{4})(?P<month>\d{2})(?P<day>\d{2})?")
_PLAUSIBLE_YEARS = range(1900, 2100)


def _parse_date_parts(text: str) -> tuple[int, int, int | None] | None:
    """Split a typed date into (year, month, day or None) without checking the calendar."""
    text = _without_spaces(to_halfwidth_digits(text)).rstrip("。.")
    match = _SEPARATED_DATE.fullmatch(text) or _COMPACT_DATE.fullmatch(text)
    if match is None:
        return None
    day = match.group("day")
    return int(match.group("year")), int(match.group("month")), int(day) if day else None


def _is_real_date(year: int, month: int, day: int) -> bool:
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
    if year not in _PLAUSIBLE_YEARS or not 1 <= month <= 12:
        return None
    if day is not None and not _is_real_date(year, month, day):
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
    if parts is not None and parts[0] in _PLAUSIBLE_YEARS:
        year, month, day = parts
        if not 1 <= month <= 12:
            return Rejected(f"{label}的月份应在1到12之间（现为{month}月），请核对后重新填写，例如{example}。")
        if day is not None and not _is_real_date(year, month, day):
            return Rejected(f"{year}年{month}月没有{day}日，请核对{label}后重新填写，例如{example}。")
    return Rejected(f"{label}请按{example}的格式填写。")


def _months_between(start: tuple[int, int], end: date) -> int:
    return (end.year - start[0]) * 12 + (end.month - start[1])


def validate_birth_year_month(
    text: str, params: Mapping[str, Any], ctx: ValidationContext
) -> ValidationResult:
    """A birth year-month giving an age in ``[min_age, max_age]`` at ``ctx.today``; stores "1985-03"."""
    if not text.strip():
        return _empty(ctx)
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
        return _empty(ctx)
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
        return _empty(ctx)
    example = f"请按“{ctx.campaign_year}年3月15日”或“{ctx.campaign_year}.3.15”的格式填写。"
    parts = _parse_date_parts(text)
    if parts is None:
        return Rejected(f"{ctx.label}{example}")
    year, month, day = parts
    if day is None:
        return Rejected(f"{ctx.label}需写到具体哪一天，{example}")
    if not _is_real_date(year, month, day):
        return Rejected(f"{year}年{month}月{day}日不是有效日期，请核对后重新填写。")
    typed = date(year, month, day)
    if year != ctx.campaign_year:
        return Rejected(f"{ctx.label}需在{ctx.campaign_year}年内，请核对年份。")
    if typed > ctx.today:
        return Rejected(f"{ctx.label}不能晚于今天（{_date_in_chinese(ctx.today)}），请核对后重新填写。")
    return Accepted(typed.isoformat())


# --- free text, names, choices -----------------------------------------------------------------


def validate_text(text: str, params: Mapping[str, Any], ctx: ValidationContext) -> ValidationResult:
    """Free text of ``min_chars``–``max_chars`` 字 as ``word_count`` counts them, with at least
    ``min_hanzi`` Chinese characters where the field names something in Chinese (a post, an address,
    a title): “x” is no 工作单位及职务."""
    if not text.strip():
        return _empty(ctx)
    count = word_count(text)
    min_chars, max_chars = params.get("min_chars", 0), params["max_chars"]
    if count > max_chars:
        limit = f"需 {min_chars}-{max_chars} 字" if min_chars else f"需在 {max_chars} 字以内"
        return Rejected(
            f"超出 {count - max_chars} 字，{ctx.label}{limit}（现为 {count} 字），请删减后重新发送。"
        )
    if count < min_chars:
        return Rejected(
            f"还差 {min_chars - count} 字，{ctx.label}需 {min_chars}-{max_chars} 字（现为 {count} 字）。"
        )
    min_hanzi = params.get("min_hanzi", 0)
    hanzi = sum(1 for char in text if _is_cjk_ideograph(char)) if min_hanzi else 0
    if hanzi < min_hanzi:
        return Rejected(f"{ctx.label}请用中文写清楚，至少要有 {min_hanzi} 个汉字（现有 {hanzi} 个）。")
    return Accepted(text)


_NAME_DOTS = re.compile("[·•‧・．.･∙⋅﹒]")  # U+00B7, U+2022, U+2027, U+30FB, U+FF0E, …
_NAME_SEPARATORS = re.compile("[、,;/]")  # after to_halfwidth_digits: ，；／ are , ; /
_NAME_EXAMPLE = "例如：韦丽华、阿依古丽·买买提"
# Spaces are kept only between Latin letters ("Ayi Guli"); next to anything else they are dropped.
_NOT_LATIN = r"[^\sA-Za-z\u00C0-\u024F]"
_SPACE_NEXT_TO_NON_LATIN = re.compile(rf"\s+(?={_NOT_LATIN})|(?<={_NOT_LATIN})\s+")


def _is_cjk_ideograph(char: str) -> bool:
    return unicodedata.name(char, "").startswith(("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH"))


def _is_latin_letter(char: str) -> bool:
    return char.isalpha() and unicodedata.name(char, "").startswith("LATIN ")


#: The longest name in Chinese characters alone taken as a name (复姓 and long minority names in
#: 4–6 字 pass); a longer one without a “·” is a sentence, not a name.
MAX_PLAIN_NAME = 6


def validate_person_name(text: str, params: Mapping[str, Any], ctx: ValidationContext) -> ValidationResult:
    """A person's name: Chinese, with a middle dot (阿依古丽·买买提), or in Latin letters (Ayi Guli).

    Every kind of dot becomes U+00B7, spaces next to Chinese characters or dots are removed and
    other runs of spaces become one space. 2–20 characters.
    """
    name = unicodedata.normalize("NFC", to_halfwidth_digits(text)).strip()
    if not name:
        return _empty(ctx)
    name = _NAME_DOTS.sub("·", name)
    name = re.sub(r"\s*·\s*", "·", name)
    name = _SPACE_NEXT_TO_NON_LATIN.sub("", name)
    name = _WHITESPACE.sub(" ", name)
    problem: str | None = None
    if any(char.isdigit() for char in name):
        problem = "姓名中不能有数字"
    elif _NAME_SEPARATORS.search(name):
        problem = "一次只填写一个人的姓名"
    elif any(not (_is_cjk_ideograph(c) or _is_latin_letter(c) or c in "· ") for c in name):
        problem = "姓名只能由汉字或字母组成，少数民族姓名中间可用间隔号“·”"
    elif name.startswith("·") or name.endswith("·"):
        problem = "间隔号“·”不能在姓名的开头或结尾"
    elif "··" in name:
        problem = "间隔号“·”不能连用"
    elif len(name) < 2:
        problem = "姓名至少2个字"
    elif len(name) > 20:
        problem = f"姓名最多20个字（现为{len(name)}个）"
    elif len(name) > MAX_PLAIN_NAME and all(_is_cjk_ideograph(c) for c in name):
        problem = (
            f"汉字姓名一般不超过{MAX_PLAIN_NAME}个字（现为{len(name)}个），请只填写姓名；"
            "少数民族姓名较长的，请在各部分之间加间隔号“·”"
        )
    if problem:
        return Rejected(f"{problem}，请重新填写{ctx.label}，{_NAME_EXAMPLE}。")
    return Accepted(name)


def _fold(text: str) -> str:
    """Key for case- and width-insensitive matching."""
    return unicodedata.normalize("NFKC", _without_spaces(text)).casefold()


def validate_choice(text: str, params: Mapping[str, Any], ctx: ValidationContext) -> ValidationResult:
    """One of ``choices``, matched exactly, then ignoring case and width, then through ``aliases``.

    A choice listed in ``refusals`` is recognised but refused with the declared message; one the
    ``advise_*`` rule warns of is accepted with its note (``choice_advice``).
    """
    choices: list[str] = params["choices"]
    typed = _without_spaces(text)
    if not typed:
        return _empty(ctx)
    chosen = typed if typed in choices else None
    if chosen is None:
        folded = {_fold(choice): choice for choice in choices}
        folded_aliases = {_fold(alias): choice for alias, choice in params.get("aliases", {}).items()}
        chosen = folded.get(_fold(typed)) or folded_aliases.get(_fold(typed))
    if chosen is None:
        listed = "、".join(choices[:10]) + ("等" if len(choices) > 10 else "")
        return Rejected(f"请从以下选项中选择：{listed}")
    refusal: str | None = params.get("refusals", {}).get(chosen)
    if refusal is not None:
        return Rejected(refusal)
    return Accepted(chosen, note=choice_advice(params, chosen, ctx.answers))


def choice_advice(params: Mapping[str, Any], chosen: Any, answers: Mapping[str, Any]) -> str | None:
    """A warning, not a refusal: ``advise`` (its ``{count}`` filled in) when the answer named by
    ``advise_field`` is at least ``advise_at_least`` and the choice is not ``advise_unless`` — an
    organisation of 30 women or more should build its own federation (单独创建), FORMS.md."""
    field = params.get("advise_field")
    count = answers.get(field) if isinstance(field, str) else None
    if not _is_int(count) or count < params["advise_at_least"] or chosen in (None, params["advise_unless"]):
        return None
    return str(params["advise"]).format(count=count)


# The 56 recognised ethnic groups: the five of this region first, then the official (GB 3304) order.
ETHNIC_GROUPS: tuple[str, ...] = (
    "汉族", "壮族", "苗族", "侗族", "瑶族",
    "蒙古族", "回族", "藏族", "维吾尔族", "彝族", "布依族", "朝鲜族", "满族", "白族", "土家族",
    "哈尼族", "哈萨克族", "傣族", "黎族", "傈僳族", "佤族", "畲族", "高山族", "拉祜族", "水族",
    "东乡族", "纳西族", "景颇族", "柯尔克孜族", "土族", "达斡尔族", "仫佬族", "羌族", "布朗族",
    "撒拉族", "毛南族", "仡佬族", "锡伯族", "阿昌族", "普米族", "塔吉克族", "怒族", "乌孜别克族",
    "俄罗斯族", "鄂温克族", "德昂族", "保安族", "裕固族", "京族", "塔塔尔族", "独龙族", "鄂伦春族",
    "赫哲族", "门巴族", "珞巴族", "基诺族",
)  # fmt: skip


def validate_ethnic_group(text: str, params: Mapping[str, Any], ctx: ValidationContext) -> ValidationResult:
    """One of the 56 ethnic groups, with or without the trailing 族 ("壮" → "壮族")."""
    typed = _without_spaces(text)
    if not typed:
        return _empty(ctx)
    for candidate in (typed, typed + "族"):
        if candidate in ETHNIC_GROUPS:
            return Accepted(candidate)
    return Rejected(f"没有找到这个民族，请填写民族的全称，例如：{'、'.join(ETHNIC_GROUPS[:5])}。")


# --- numbers -----------------------------------------------------------------------------------


def validate_postcode(text: str, params: Mapping[str, Any], ctx: ValidationContext) -> ValidationResult:
    """A six-digit postcode; spaces and full-width digits are tolerated."""
    code = _without_spaces(to_halfwidth_digits(text))
    if not code:
        return _empty(ctx)
    if not code.isascii() or not code.isdigit():
        return Rejected(f"{ctx.label}只能是数字，应为6位数字，例如 545001。")
    if len(code) != 6:
        return Rejected(f"{ctx.label}应为6位数字（现为{len(code)}位），例如 545001。")
    return Accepted(code)


_PhoneKind = Literal["mobile", "landline"]
_MOBILE = re.compile(r"1[3-9]\d{9}")
_PHONE_PUNCTUATION = re.compile(r"[\s\-–—‐−.()]")
_LANDLINE_EXAMPLE = "0772-2823290"


def _parse_phone(text: str) -> tuple[_PhoneKind, str] | Rejected:
    """Normalise a typed phone number into ("mobile", "13877212345") or ("landline", "0772-2823290")."""
    typed = to_halfwidth_digits(text).strip().lower()
    if re.search("转|分机|ext", typed):
        return Rejected(f"暂不支持分机号，请填写总机号码（区号加号码，例如 {_LANDLINE_EXAMPLE}）或手机号码。")
    digits = _PHONE_PUNCTUATION.sub("", typed)
    international = digits.startswith(("+86", "0086"))
    digits = digits.removeprefix("+86").removeprefix("0086") if international else digits
    if not digits.isascii() or not digits.isdigit():
        return Rejected(f"电话号码只能包含数字，请填写手机号码或带区号的固定电话，例如 {_LANDLINE_EXAMPLE}。")
    if international and not re.match("1[3-9]", digits):
        digits = "0" + digits  # a landline drops the 0 of its area code: +86 772 2823290
    elif not international and len(digits) == 13 and _MOBILE.fullmatch(digits.removeprefix("86")):
        digits = digits.removeprefix("86")
    if digits.startswith("1"):
        if len(digits) != 11:
            return Rejected(f"手机号码应为11位数字（现为{len(digits)}位），请核对后重新填写。")
        if not _MOBILE.fullmatch(digits):
            return Rejected("这不是有效的手机号码（第二位应为3-9），请核对后重新填写。")
        return "mobile", digits
    if digits.startswith("0"):
        area_length = 3 if digits.startswith(("010", "02")) else 4
        area, number = digits[:area_length], digits[area_length:]
        if not 7 <= len(number) <= 8:
            return Rejected(
                f"固定电话应为区号加7-8位号码（例如 {_LANDLINE_EXAMPLE}），"
                f"现为{len(digits)}位数字，请核对后重新填写。"
            )
        if number[0] in "01":
            return Rejected(f"区号后的号码不能以0或1开头，请核对，例如 {_LANDLINE_EXAMPLE}。")
        return "landline", f"{area}-{number}"
    if 7 <= len(digits) <= 8:
        return Rejected(f"固定电话请加区号，例如 {_LANDLINE_EXAMPLE}。")
    return Rejected(
        f"电话号码位数不对（现为{len(digits)}位数字）：手机号码为11位，"
        f"固定电话为区号加7-8位号码，例如 {_LANDLINE_EXAMPLE}。"
    )


def validate_phone(text: str, params: Mapping[str, Any], ctx: ValidationContext) -> ValidationResult:
    """A mainland mobile number (stored as 11 digits) or a landline with area code ("0772-2823290")."""
    if not text.strip():
        return _empty(ctx)
    parsed = _parse_phone(text)
    if isinstance(parsed, Rejected):
        return parsed
    return Accepted(parsed[1])


def validate_mobile(text: str, params: Mapping[str, Any], ctx: ValidationContext) -> ValidationResult:
    """A mainland mobile number only, stored as 11 digits."""
    if not text.strip():
        return _empty(ctx)
    parsed = _parse_phone(text)
    if isinstance(parsed, Rejected):
        return parsed
    kind, number = parsed
    if kind != "mobile":
        return Rejected("这里需要手机号码（11位），请填写手机号码，不要填固定电话。")
    return Accepted(number)


_UNIT_WORDS = ("人", "名", "个", "位")
_THOUSANDS_COMMA = re.compile(r"(?<=\d),(?=\d{3}\b)")


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def validate_integer(text: str, params: Mapping[str, Any], ctx: ValidationContext) -> ValidationResult:
    """A whole number in ``[min, max]``, optionally bounded by other answers of the same record.

    ``at_most_field``/``at_most_label``: at most that answer (女性人数 ≤ 单位人数).
    ``more_than_sum_of``/``more_than_plus``/``more_than_label``: more than the sum of those answers
    plus a constant (执委人数 > 1 主席 + 副主席人数). A cross-field rule is skipped while one of its
    answers is missing.
    """
    unit: str = params.get("unit", "")
    typed = _without_spaces(to_halfwidth_digits(text))
    if not typed:
        return _empty(ctx)
    for word in (unit, *_UNIT_WORDS):
        if word:
            typed = typed.removesuffix(word)
    typed = _THOUSANDS_COMMA.sub("", typed)
    if re.fullmatch(r"-\d+(\.\d+)?", typed):
        return Rejected(f"{ctx.label}不能是负数，请填写阿拉伯数字，例如 12。")
    if re.fullmatch(r"\d+\.\d+", typed):
        return Rejected(f"{ctx.label}需为整数，不能有小数，请重新填写。")
    value = plain_number(typed)
    if value is None and re.fullmatch(r"[0-9]+", typed):  # more digits than any count here
        return Rejected(f"{ctx.label}需在{params['min']}-{params['max']}{unit}之间，请核对。")
    if value is None:
        return Rejected(f"{ctx.label}请只填写阿拉伯数字，例如 12。")
    low, high = params["min"], params["max"]
    if not low <= value <= high:
        return Rejected(f"{ctx.label}需在{low}-{high}{unit}之间（现为{value}{unit}），请核对。")
    at_most_field = params.get("at_most_field")
    if at_most_field is not None:
        bound = ctx.answers.get(at_most_field)
        if _is_int(bound) and value > bound:
            return Rejected(f"{ctx.label}（{value}）不能多于{params['at_most_label']}（{bound}），请核对。")
    sum_fields: list[str] | None = params.get("more_than_sum_of")
    if sum_fields is not None:
        others = [ctx.answers.get(name) for name in sum_fields]
        known = [other for other in others if _is_int(other)]
        if len(known) == len(others):
            total = sum(known) + params.get("more_than_plus", 0)
            if value <= total:
                return Rejected(
                    f"{ctx.label}需多于{params['more_than_label']}（现为{value}{unit}），请核对。"
                )
    return Accepted(value)


# --- identity numbers, amounts, e-mail, dates and periods of imported forms ---------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_check_digit(first17: str) -> str:
    """The GB 11643-1999 check character of a citizen ID number's first 17 digits (ISO 7064 MOD 11-2)."""
    return _ID_CHECK[
        sum(int(digit) * weight for digit, weight in zip(first17, _ID_WEIGHTS, strict=True)) % 11
    ]


def validate_id_number(text: str, params: Mapping[str, Any], ctx: ValidationContext) -> ValidationResult:
    """An 18-character citizen ID number with its GB 11643 check digit and a real birth date; stored
    with a capital X. When the record has them (``birth_field``, ``gender_field``), the birth month and
    the gender written in the number must agree with those answers. Messages never repeat the number."""
    typed = _without_spaces(to_halfwidth_digits(text)).upper().replace("×", "X")
    if not typed:
        return _empty(ctx)
    if not re.fullmatch(r"\d{17}[\dX]", typed):
        problem = (
            f"应为18位（现为{len(typed)}位）" if len(typed) != 18 else "前17位应为数字，最后一位为数字或X"
        )
        return Rejected(f"{ctx.label}{problem}，请对照身份证逐位核对后重新填写。")
    year, month, day = int(typed[6:10]), int(typed[10:12]), int(typed[12:14])
    if (
        year not in _PLAUSIBLE_YEARS
        or not _is_real_date(year, month, day)
        or date(year, month, day) > ctx.today
    ):
        return Rejected(f"{ctx.label}中的出生日期（第7-14位）不是有效日期，请逐位核对后重新填写。")
    if id_check_digit(typed[:17]) != typed[17]:
        return Rejected(
            f"{ctx.label}的校验位（最后一位）不对，可能有数字写错或顺序颠倒，请逐位核对后重新填写。"
        )
    birth = ctx.answers.get(params.get("birth_field", ""))
    if isinstance(birth, str) and birth[:7] != f"{year:04d}-{month:02d}":
        return Rejected(
            f"{ctx.label}中的出生年月（{year}年{month}月）与所填出生年月（{format_year_month(birth[:7])}）"
            "不一致，请核对后重新填写（如出生年月填错，可先修改出生年月）。"
        )
    gender = ctx.answers.get(params.get("gender_field", ""))
    written = "男" if int(typed[16]) % 2 else "女"
    if gender in ("男", "女") and gender != written:
        return Rejected(
            f"{ctx.label}第17位表示性别为{written}，与所填性别（{gender}）不一致，请核对后重新填写。"
        )
    return Accepted(typed)


def validate_amount(text: str, params: Mapping[str, Any], ctx: ValidationContext) -> ValidationResult:
    """A sum of money in ``unit`` (元 or 万元), not negative, at most two decimals; stored as typed
    digits ("12.5")."""
    unit: str = params.get("unit", "元")
    typed = _without_spaces(to_halfwidth_digits(text))
    if not typed:
        return _empty(ctx)
    if unit == "万元" and typed.endswith("元") and not typed.endswith("万元"):
        return Rejected(f"{ctx.label}的单位是万元，请换算成万元后填写，例如 5000元 填 0.5。")
    typed = _THOUSANDS_COMMA.sub("", typed.removesuffix(unit).removesuffix("元"))
    if re.fullmatch(r"-\d+(\.\d+)?", typed):
        return Rejected(f"{ctx.label}不能是负数，请填写金额数字（单位：{unit}），例如 12.5。")
    if not re.fullmatch(r"\d{1,12}(\.\d{1,2})?", typed):
        return Rejected(f"{ctx.label}请只填写金额数字（单位：{unit}），最多两位小数，例如 12.5。")
    return Accepted(str(Decimal(typed)))


_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+")


def validate_email(text: str, params: Mapping[str, Any], ctx: ValidationContext) -> ValidationResult:
    """An e-mail address; full-width ＠ and dots are tolerated."""
    typed = unicodedata.normalize("NFKC", _without_spaces(text)).replace("。", ".")
    if not typed:
        return _empty(ctx)
    if not _EMAIL.fullmatch(typed):
        return Rejected(f"{ctx.label}格式不对，请填写完整的邮箱地址，例如 fulian@163.com。")
    return Accepted(typed.lower())


def validate_date(text: str, params: Mapping[str, Any], ctx: ValidationContext) -> ValidationResult:
    """A date to the month or to the day, not after today; stored "2019-03" or "2019-03-15"."""
    if not text.strip():
        return _empty(ctx)
    parts = _parse_date_parts(text)
    if parts is not None and parts[0] in _PLAUSIBLE_YEARS and not 1 <= parts[1] <= 12:
        return Rejected(f"{ctx.label}的月份应在1到12之间（现为{parts[1]}月），请核对后重新填写。")
    if parts is None or parts[0] not in _PLAUSIBLE_YEARS:
        return Rejected(f"{ctx.label}请按“2019年3月”或“2019.3.15”的格式填写。")
    year, month, day = parts
    if day is not None and not _is_real_date(year, month, day):
        return Rejected(f"{year}年{month}月{day}日不是有效日期，请核对后重新填写。")
    stored = f"{year:04d}-{month:02d}" + (f"-{day:02d}" if day is not None else "")
    if (year, month, day or 1) > (ctx.today.year, ctx.today.month, ctx.today.day):
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
    typed = _without_spaces(to_halfwidth_digits(text))
    if not typed:
        return _empty(ctx)
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


_CHOICE_SEPARATORS = re.compile(r"[、,，;；/／\s]+")


def validate_choices(text: str, params: Mapping[str, Any], ctx: ValidationContext) -> ValidationResult:
    """Several of ``choices`` (可多选), separated by 、，；/ or spaces, each matched as in
    ``validate_choice``; stored "A、B" in the form's order."""
    choices: list[str] = params["choices"]
    typed = [part for part in _CHOICE_SEPARATORS.split(text) if part]
    if not typed:
        return _empty(ctx)
    folded = {_fold(choice): choice for choice in choices}
    chosen: set[str] = set()
    for part in typed:
        match = folded.get(_fold(part))
        if match is None:
            listed = "、".join(choices)
            return Rejected(
                f"“{part}”不是{ctx.label}的选项。可选：{listed}；选几项就用顿号隔开，例如“{choices[0]}、{choices[-1]}”。"
            )
        chosen.add(match)
    return Accepted("、".join(choice for choice in choices if choice in chosen))


def cross_field_names(params: Mapping[str, Any]) -> set[str]:
    """The other answers a field's rule reads (``at_most_field``, ``more_than_sum_of``): when one of
    them changes, the rule is run again."""
    keys = ("at_most_field", "advise_field", "birth_field", "gender_field")
    names = {params[key] for key in keys if isinstance(params.get(key), str)}
    return names | set(params.get("more_than_sum_of") or [])


# --- the registry and its declaration check ----------------------------------------------------

TEXT_VALIDATORS: dict[str, TextValidator] = {
    "text": validate_text,
    "person_name": validate_person_name,
    "choice": validate_choice,
    "ethnic_group": validate_ethnic_group,
    "birth_year_month": validate_birth_year_month,
    "service_start": validate_service_start,
    "postcode": validate_postcode,
    "phone": validate_phone,
    "mobile": validate_mobile,
    "integer": validate_integer,
    "campaign_date": validate_campaign_date,
    "id_number": validate_id_number,
    "amount": validate_amount,
    "email": validate_email,
    "date": validate_date,
    "period": validate_period,
    "choices": validate_choices,
}

_ParamType = Literal["int", "str", "list[str]", "dict[str, str]"]


@dataclass(frozen=True)
class _Param:
    type: _ParamType
    required: bool = False


_PARAMS: dict[str, dict[str, _Param]] = {
    "text": {
        "max_chars": _Param("int", required=True),
        "min_chars": _Param("int"),
        "min_hanzi": _Param("int"),
    },
    "person_name": {},
    "choice": {
        "choices": _Param("list[str]", required=True),
        "aliases": _Param("dict[str, str]"),
        "refusals": _Param("dict[str, str]"),
        "advise_field": _Param("str"),
        "advise_at_least": _Param("int"),
        "advise_unless": _Param("str"),
        "advise": _Param("str"),
    },
    "ethnic_group": {},
    "birth_year_month": {"min_age": _Param("int", required=True), "max_age": _Param("int", required=True)},
    "service_start": {"min_years": _Param("int", required=True)},
    "postcode": {},
    "phone": {},
    "mobile": {},
    "integer": {
        "min": _Param("int", required=True),
        "max": _Param("int", required=True),
        "unit": _Param("str"),
        "at_most_field": _Param("str"),
        "at_most_label": _Param("str"),
        "more_than_sum_of": _Param("list[str]"),
        "more_than_plus": _Param("int"),
        "more_than_label": _Param("str"),
    },
    "campaign_date": {},
    "id_number": {"birth_field": _Param("str"), "gender_field": _Param("str")},
    "amount": {"unit": _Param("str")},
    "email": {},
    "date": {},
    "period": {},
    "choices": {"choices": _Param("list[str]", required=True)},
}


def _has_type(value: Any, expected: _ParamType) -> bool:
    if expected == "int":
        return _is_int(value)
    if expected == "str":
        return isinstance(value, str)
    if expected == "list[str]":
        return isinstance(value, list) and all(isinstance(item, str) for item in value)
    return isinstance(value, dict) and all(
        isinstance(key, str) and isinstance(item, str) for key, item in value.items()
    )


def check_params(name: str, params: Mapping[str, Any]) -> None:
    """Check a form declaration's validator name and params; called by the form loader at start-up.

    Raises:
        ValueError: for an unknown validator, an unknown, missing or wrongly typed param, or params
            that contradict each other (e.g. ``min_chars`` above ``max_chars``).
    """
    if name not in TEXT_VALIDATORS:
        known = ", ".join(sorted(TEXT_VALIDATORS))
        raise ValueError(f"unknown validator {name!r}; known validators: {known}")
    spec = _PARAMS[name]
    unknown = sorted(set(params) - set(spec))
    if unknown:
        allowed = ", ".join(spec) or "none"
        raise ValueError(f"validator {name!r}: unknown param(s) {', '.join(unknown)}; allowed: {allowed}")
    for key, param in spec.items():
        if key not in params:
            if param.required:
                raise ValueError(f"validator {name!r}: missing required param {key!r} ({param.type})")
        elif not _has_type(params[key], param.type):
            raise ValueError(f"validator {name!r}: param {key!r} must be {param.type}, got {params[key]!r}")
    _check_param_consistency(name, params)


def _check_param_consistency(name: str, params: Mapping[str, Any]) -> None:
    def fail(problem: str) -> None:
        raise ValueError(f"validator {name!r}: {problem}")

    if name == "text" and not 0 <= params.get("min_chars", 0) <= params["max_chars"]:
        fail("need 0 <= min_chars <= max_chars")
    if name == "birth_year_month" and not 0 <= params["min_age"] <= params["max_age"]:
        fail("need 0 <= min_age <= max_age")
    if name == "service_start" and params["min_years"] < 0:
        fail("min_years must not be negative")
    if name == "integer":
        if params["min"] > params["max"]:
            fail("min is greater than max")
        if ("at_most_field" in params) != ("at_most_label" in params):
            fail("at_most_field and at_most_label go together")
        if ("more_than_sum_of" in params) != ("more_than_label" in params):
            fail("more_than_sum_of and more_than_label go together")
        if "more_than_plus" in params and "more_than_sum_of" not in params:
            fail("more_than_plus needs more_than_sum_of")
    if name in ("choice", "choices"):
        choices = params["choices"]
        if not choices or len(set(choices)) != len(choices):
            fail("choices must be a non-empty list without duplicates")
        for alias, target in params.get("aliases", {}).items():
            if target not in choices:
                fail(f"alias {alias!r} points to {target!r}, which is not a choice")
        for refused in params.get("refusals", {}):
            if refused not in choices:
                fail(f"refusal for {refused!r}, which is not a choice")


# --- photos and videos -------------------------------------------------------------------------

_PHOTO_MIME = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "HEIF": "image/heif"}
NOT_A_PHOTO = Rejected("无法识别为照片，请发送 JPG 或 PNG 格式的照片。")
_ORIENTATIONS_SWAPPING_SIDES = {5, 6, 7, 8}  # EXIF orientations that rotate by 90 or 270 degrees


@cache
def photo_formats() -> tuple[str, ...]:
    """Pillow format names accepted as photos; HEIF (iPhone photos) only when pillow_heif is installed.

    Call it before opening a stored photo with Pillow: it registers the HEIF opener.
    """
    try:
        from pillow_heif import register_heif_opener
    except ImportError:
        return ("JPEG", "PNG", "WEBP")
    register_heif_opener()
    return ("JPEG", "PNG", "WEBP", "HEIF")


def _megabytes(size: int) -> str:
    """A file's size as a phone shows it: decimal megabytes, one decimal at most (``10.6``, ``80``),
    rounded up — a file just over a limit never reads as the limit itself."""
    return f"{math.ceil(size / 100_000) / 10:.1f}".removesuffix(".0")


#: The largest photo file taken on any channel, stated once: the web's upload limit is this too.
PHOTO_MAX_BYTES = 10_000_000
#: The most pixels a photo may have: a phone's 48-50 MP mode fits, a screenshot-sized bomb does not.
PHOTO_MAX_PIXELS = 50_000_000


def photo_too_large(size: int | None = None) -> str:
    """What a person reads when a photo file is over ``PHOTO_MAX_BYTES`` (its size, when known)."""
    actual = f"（{_megabytes(size)} MB）" if size is not None else ""
    limit = _megabytes(PHOTO_MAX_BYTES)
    return f"照片太大{actual}，请发送不超过 {limit} MB 的照片（可先在相册里压缩后再发送）。"


VIDEO_MAX_BYTES = 300_000_000  # a course video of about five minutes, at a phone's usual quality


def video_too_large(size: int | None = None) -> str:
    """What a person reads when a video file is over ``VIDEO_MAX_BYTES`` (its size, when known)."""
    actual = f"（{_megabytes(size)} MB）" if size is not None else ""
    limit = _megabytes(VIDEO_MAX_BYTES)
    return f"视频太大{actual}，请发送不超过 {limit} MB 的视频（可在剪辑软件中降低清晰度后导出为 MP4）。"


class DecodeBudget:
    """How many pixels this process decodes at once, across threads.

    A decode takes its share of the budget before it starts and gives it back after, waiting while
    the others hold too much, so several people uploading large PNGs at once cannot multiply the
    memory a decode costs. A single decode larger than the whole budget waits for the budget to be
    free, then runs alone.

    Taking turns is not enough by itself: glibc keeps one heap per thread and holds on to what a
    decode freed in it (Pillow allocates pixels in 16 MB blocks, under glibc's moving mmap
    threshold), so ten threads each decoding in turn still kept ten decodes' worth. The budget
    therefore fixes that threshold (``mallopt``) where glibc is the C library: pixel blocks are
    mapped on their own and handed back to the system as soon as they are freed.
    """

    def __init__(self, capacity: int) -> None:
        _return_freed_blocks_at_once()
        self.capacity = capacity
        self._in_use = 0
        self._free = threading.Condition()

    @contextmanager
    def hold(self, pixels: int) -> Iterator[None]:
        share = max(min(pixels, self.capacity), 1)
        with self._free:
            self._free.wait_for(lambda: self._in_use + share <= self.capacity)
            self._in_use += share
        try:
            yield
        finally:
            with self._free:
                self._in_use -= share
                self._free.notify_all()


def _return_freed_blocks_at_once(threshold: int = 4 << 20) -> None:
    """Allocations from ``threshold`` bytes up get their own mapping, returned when freed (glibc)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (musl maps large blocks on its own anyway; macOS, Windows)
        return
    libc.mallopt(_M_MMAP_THRESHOLD, threshold)


_M_MMAP_THRESHOLD = -3  # glibc's malloc.h

#: Shared by the photo check and the renderer: one full-size worst case at a time (~200 MB decoded).
decode_budget = DecodeBudget(PHOTO_MAX_PIXELS)


def validate_photo(
    data: bytes, *, min_short_side: int = 300, max_bytes: int = PHOTO_MAX_BYTES
) -> ValidationResult:
    """Check that ``data`` really is a photo (JPEG, PNG, WEBP, or HEIC/HEIF with pillow_heif).

    The size in pixels is read from the header first: above ``PHOTO_MAX_PIXELS`` nothing is decoded.
    A JPEG is decoded at 1/8 scale; other formats in full, within ``decode_budget``.
    The width and height reported respect the EXIF orientation. Accepted value:
    ``{"format": "JPEG", "mime": "image/jpeg", "width": w, "height": h, "bytes": len(data)}``.
    """
    if len(data) > max_bytes:
        return Rejected(photo_too_large(len(data)))
    formats = photo_formats()
    with warnings.catch_warnings():
        # A decompression bomb must be refused, not merely warned about.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(BytesIO(data), formats=formats) as image:
                image_format = image.format or ""
                width, height = image.size  # from the header: nothing decoded yet
                if width * height > PHOTO_MAX_PIXELS:
                    return Rejected(
                        f"照片像素过大（约 {width * height // 10_000} 万像素），"
                        f"请发送不超过 {PHOTO_MAX_PIXELS // 10_000} 万像素的照片（手机拍照的默认设置即可）。"
                    )
                image.verify()  # the container's structure and checksums, without decoding
            with Image.open(BytesIO(data), formats=formats) as image:
                decoded = width * height
                if image_format == "JPEG":
                    # Grey at 1/8 scale, libjpeg still reads all the compressed data: a truncated
                    # or broken file fails as in a full decode, at a fraction of the cost.
                    image.draft("L", (max(width // 8, 1), max(height // 8, 1)))
                    decoded = image.width * image.height
                with decode_budget.hold(decoded):
                    image.load()  # verify() does not decode pixels; load() catches truncated files
                    orientation = image.getexif().get(ExifTags.Base.Orientation)  # a PNG's: after its pixels
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            return Rejected("照片像素过大，无法处理，请发送普通尺寸的照片。")
        except Exception:  # Pillow raises many exception types on malformed input
            return NOT_A_PHOTO
    if orientation in _ORIENTATIONS_SWAPPING_SIDES:
        width, height = height, width
    short_side = min(width, height)
    if short_side < min_short_side:
        return Rejected(f"照片太小（短边 {short_side} 像素），请发送原图，短边至少 {min_short_side} 像素。")
    return Accepted(
        {
            "format": image_format,
            "mime": _PHOTO_MIME.get(image_format, "application/octet-stream"),
            "width": width,
            "height": height,
            "bytes": len(data),
        }
    )


def _duration_in_chinese(seconds: int) -> str:
    minutes, rest = divmod(seconds, 60)
    if minutes == 0:
        return f"{rest}秒"
    return f"{minutes}分钟" if rest == 0 else f"{minutes}分{rest}秒"


def validate_video_meta(
    *,
    mime: str | None,
    file_name: str | None,
    duration_s: int | None,
    width: int | None,
    height: int | None,
    size_bytes: int | None,
    max_download_bytes: int | None = None,
) -> ValidationResult:
    """Check a course video from the metadata the messenger reports, without downloading it.

    MP4 only; about 5 minutes (refused under 1 minute or over 15 minutes, accepted silently between
    3 and 8 minutes, otherwise accepted with a note); short side at least 480 pixels. What the
    messenger does not report is accepted with a note saying it could not be checked.
    """
    notes: list[str] = []
    is_mp4_mime = mime is not None and mime.lower() == "video/mp4"
    is_mp4_name = file_name is not None and file_name.lower().endswith(".mp4")
    if not (is_mp4_mime or is_mp4_name):
        if mime is not None or file_name is not None:
            return Rejected("请上传 MP4 格式的视频，可在剪辑软件中导出为 MP4 后重新发送。")
        notes.append("无法确认视频格式，请确保是 MP4 格式。")

    if duration_s is None:
        notes.append("无法读取视频时长，请确认时长在 5 分钟左右。")
    elif duration_s < 60 or duration_s > 15 * 60:
        return Rejected(
            f"视频时长 {_duration_in_chinese(duration_s)}，方案要求 5 分钟左右"
            "（可接受 1-15 分钟），请调整后重新上传。"
        )
    elif duration_s < 3 * 60:
        notes.append(f"视频时长 {_duration_in_chinese(duration_s)}，方案要求 5 分钟左右，建议补充内容。")
    elif duration_s > 8 * 60:
        notes.append(f"视频时长 {_duration_in_chinese(duration_s)}，方案要求 5 分钟左右，建议剪辑。")

    if width is None or height is None:
        notes.append("无法读取视频分辨率，请确认画面清晰。")
    elif min(width, height) < 480:
        return Rejected(
            f"视频画面不够清晰（分辨率 {width}×{height}），请上传 480P 及以上（短边至少 480 像素）的视频。"
        )

    if size_bytes is not None and max_download_bytes is not None and size_bytes > max_download_bytes:
        notes.append(
            f"视频文件较大（{_megabytes(size_bytes)} MB），已记录视频信息，但无法在聊天中保存原文件，"
            "请留存原视频备用。"
        )
    metadata = {
        "mime": mime,
        "file_name": file_name,
        "duration_s": duration_s,
        "width": width,
        "height": height,
        "size_bytes": size_bytes,
    }
    return Accepted(metadata, note="\n".join(notes) or None)
