"""Citizen identity numbers (GB 11643-1999): length, birth date, check digit, and agreement with
the birth month and gender the same record gives."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any

from dialogs.chinese_text import to_halfwidth_digits
from dialogs.date_validators import PLAUSIBLE_YEARS, format_year_month, is_real_date
from dialogs.validation import (
    Accepted,
    Rejected,
    ValidationContext,
    ValidationResult,
    empty_answer,
    without_spaces,
)

__all__ = ["id_check_digit", "validate_id_number"]


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
    typed = without_spaces(to_halfwidth_digits(text)).upper().replace("×", "X")
    if not typed:
        return empty_answer(ctx)
    if not re.fullmatch(r"\d{17}[\dX]", typed):
        problem = (
            f"应为18位（现为{len(typed)}位）" if len(typed) != 18 else "前17位应为数字，最后一位为数字或X"
        )
        return Rejected(f"{ctx.label}{problem}，请对照身份证逐位核对后重新填写。")
    year, month, day = int(typed[6:10]), int(typed[10:12]), int(typed[12:14])
    if (
        year not in PLAUSIBLE_YEARS
        or not is_real_date(year, month, day)
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
