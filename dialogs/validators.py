"""Answer validators: one small pure function per rule, with Chinese messages.

A text validator takes the answer as typed (already through ``clean_text``), the ``params`` of the
form declaration and a ``ValidationContext``; it returns ``Accepted`` with the normalised value to
store, or ``Rejected`` with a message that says what is wrong and what to do. Form declarations name
text validators from ``TEXT_VALIDATORS``; the form loader calls ``check_params`` for each one at
start-up so that a wrong declaration fails there and not in a chat.

This module is the registry and the one import surface: the rules themselves live by what they
check — result types in ``dialogs.validation``, dates and periods in ``dialogs.date_validators``,
identity numbers in ``dialogs.identity_validators``, photos and videos (``validate_photo``,
``validate_video_meta``) in ``dialogs.media_validators`` — and text, names, choices and numbers here.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal, TypeGuard

from dialogs.chinese_text import plain_number, to_halfwidth_digits, word_count
from dialogs.date_validators import (
    format_date,
    format_period,
    format_stored_date,
    format_year_month,
    parse_year_month,
    validate_birth_year_month,
    validate_campaign_date,
    validate_date,
    validate_period,
    validate_service_start,
)
from dialogs.identity_validators import id_check_digit, validate_id_number
from dialogs.media_validators import (
    NOT_A_PHOTO,
    PHOTO_MAX_BYTES,
    PHOTO_MAX_PIXELS,
    VIDEO_MAX_BYTES,
    DecodeBudget,
    decode_budget,
    photo_formats,
    photo_too_large,
    validate_photo,
    validate_video_meta,
    video_too_large,
)
from dialogs.validation import (
    Accepted,
    Rejected,
    TextValidator,
    ValidationContext,
    ValidationResult,
    empty_answer,
    without_spaces,
)

__all__ = [
    "ETHNIC_GROUPS",
    "NOT_A_PHOTO",
    "PHOTO_MAX_BYTES",
    "PHOTO_MAX_PIXELS",
    "TEXT_VALIDATORS",
    "VIDEO_MAX_BYTES",
    "Accepted",
    "DecodeBudget",
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
    "photo_formats",
    "photo_too_large",
    "validate_photo",
    "validate_video_meta",
    "video_too_large",
]


# --- free text, names, choices -----------------------------------------------------------------


def validate_text(text: str, params: Mapping[str, Any], ctx: ValidationContext) -> ValidationResult:
    """Free text of ``min_chars``–``max_chars`` 字 as ``word_count`` counts them, with at least
    ``min_hanzi`` Chinese characters where the field names something in Chinese (a post, an address,
    a title): “x” is no 工作单位及职务."""
    if not text.strip():
        return empty_answer(ctx)
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
        return empty_answer(ctx)
    name = _NAME_DOTS.sub("·", name)
    name = re.sub(r"\s*·\s*", "·", name)
    name = _SPACE_NEXT_TO_NON_LATIN.sub("", name)
    name = re.sub(r"\s+", " ", name)
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
    return unicodedata.normalize("NFKC", without_spaces(text)).casefold()


def validate_choice(text: str, params: Mapping[str, Any], ctx: ValidationContext) -> ValidationResult:
    """One of ``choices``, matched exactly, then ignoring case and width, then through ``aliases``.

    A choice listed in ``refusals`` is recognised but refused with the declared message; one the
    ``advise_*`` rule warns of is accepted with its note (``choice_advice``).
    """
    choices: list[str] = params["choices"]
    typed = without_spaces(text)
    if not typed:
        return empty_answer(ctx)
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
    typed = without_spaces(text)
    if not typed:
        return empty_answer(ctx)
    for candidate in (typed, typed + "族"):
        if candidate in ETHNIC_GROUPS:
            return Accepted(candidate)
    return Rejected(f"没有找到这个民族，请填写民族的全称，例如：{'、'.join(ETHNIC_GROUPS[:5])}。")


# --- numbers -----------------------------------------------------------------------------------


def validate_postcode(text: str, params: Mapping[str, Any], ctx: ValidationContext) -> ValidationResult:
    """A six-digit postcode; spaces and full-width digits are tolerated."""
    code = without_spaces(to_halfwidth_digits(text))
    if not code:
        return empty_answer(ctx)
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
        return empty_answer(ctx)
    parsed = _parse_phone(text)
    if isinstance(parsed, Rejected):
        return parsed
    return Accepted(parsed[1])


def validate_mobile(text: str, params: Mapping[str, Any], ctx: ValidationContext) -> ValidationResult:
    """A mainland mobile number only, stored as 11 digits."""
    if not text.strip():
        return empty_answer(ctx)
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
    typed = without_spaces(to_halfwidth_digits(text))
    if not typed:
        return empty_answer(ctx)
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


def validate_amount(text: str, params: Mapping[str, Any], ctx: ValidationContext) -> ValidationResult:
    """A sum of money in ``unit`` (元 or 万元), not negative, at most two decimals; stored as typed
    digits ("12.5")."""
    unit: str = params.get("unit", "元")
    typed = without_spaces(to_halfwidth_digits(text))
    if not typed:
        return empty_answer(ctx)
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
    typed = unicodedata.normalize("NFKC", without_spaces(text)).replace("。", ".")
    if not typed:
        return empty_answer(ctx)
    if not _EMAIL.fullmatch(typed):
        return Rejected(f"{ctx.label}格式不对，请填写完整的邮箱地址，例如 fulian@163.com。")
    return Accepted(typed.lower())


_CHOICE_SEPARATORS = re.compile(r"[、,，;；/／\s]+")


def validate_choices(text: str, params: Mapping[str, Any], ctx: ValidationContext) -> ValidationResult:
    """Several of ``choices`` (可多选), separated by 、，；/ or spaces, each matched as in
    ``validate_choice``; stored "A、B" in the form's order."""
    choices: list[str] = params["choices"]
    typed = [part for part in _CHOICE_SEPARATORS.split(text) if part]
    if not typed:
        return empty_answer(ctx)
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
    "date": {"max_years_ahead": _Param("int")},
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
