"""The vocabulary of form labels: what a label's words say about the answer's kind and check.

One table, read top to bottom, the first entry whose pattern matches the cleaned label wins; every
validator named is one of ``dialogs.validators.TEXT_VALIDATORS``. A label no entry knows becomes
plain text with the form's limit or a plausible default, and is marked ``fallback`` so the import
report names it instead of guessing silently. Check boxes written in the blank win over the
vocabulary: the form's own options are the choices.

A label that asks several things at once (荣誉称号及评定时间, 何时何地受过何种奖励, 出生年月及籍贯) is
no single kind: checking it as a date because it says 时间 would refuse every true answer. It is text
with the form's limit or ``COMPOUND_TEXT``, and named in the import report; the reader asks its parts
apart only where the form prints a blank for each (``label_parts``). Entries written for a joint
answer (工作单位及职务, 姓名及职务) keep their kind.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "COMPOUND_TEXT",
    "DEFAULT_LONG_TEXT",
    "DEFAULT_SHORT_TEXT",
    "PLACEHOLDER_EXAMPLE",
    "Inferred",
    "infer",
    "label_parts",
]

Kind = Literal["text", "choice", "photo"]

#: Plain text with no limit written: a short answer, or a long one when the label asks for an account.
DEFAULT_SHORT_TEXT = 100
DEFAULT_LONG_TEXT = 2000
#: A label asking several things at once with no limit written: room for each of them in a few words.
COMPOUND_TEXT = 200
#: The example of a text field the vocabulary has none for; the import report asks for a real one.
PLACEHOLDER_EXAMPLE = "……"

_POLITICAL = {
    "choices": ["中共党员", "中共预备党员", "共青团员", "民主党派", "无党派人士", "群众"],
    "aliases": {"党员": "中共党员", "预备党员": "中共预备党员", "团员": "共青团员"},
}
_EDUCATION = {
    "choices": ["研究生", "大学本科", "大学专科", "中专", "高中", "初中及以下"],
    "aliases": {
        "本科": "大学本科",
        "大专": "大学专科",
        "专科": "大学专科",
        "硕士": "研究生",
        "博士": "研究生",
        "初中": "初中及以下",
        "小学": "初中及以下",
    },
}


@dataclass(frozen=True)
class Inferred:
    """What a label says: a stable key, the field's kind, validator and params, and an example."""

    key: str
    kind: Kind
    validator: str | None
    params: dict[str, Any] = field(default_factory=dict)
    example: str = ""
    options: tuple[str, ...] = ()
    fallback: bool = False
    compound: bool = False  # the label asks several things at once: text, named in the report


@dataclass(frozen=True)
class _Entry:
    pattern: str
    key: str
    validator: str
    params: dict[str, Any] = field(default_factory=dict)
    example: str = ""
    kind: Kind = "text"
    options: tuple[str, ...] = ()
    joint: bool = False  # written for a label asking two things as one answer (工作单位及职务)


_VOCABULARY: tuple[_Entry, ...] = (
    # a blank after a yes/no question is a choice of its two answers: 有无出国（境）证件
    _Entry("^有无", "has", "choice", {"choices": ["有", "无"]}, kind="choice"),
    _Entry("^是否", "yes_no", "choice", {"choices": ["是", "否"]}, kind="choice"),
    _Entry("身份证", "id_number", "id_number", example="450203198503120021"),
    _Entry(
        "姓名.*职务|职务.*姓名",
        "name_post",
        "text",
        {"min_hanzi": 4, "max_chars": 40},
        "韦丽华 妇联主席",
        joint=True,
    ),
    # a phone is a phone whoever's it is: 填报人手机号码, 联系人电话; a label naming a landline too
    # (联系电话/手机, 手机或座机) takes either
    _Entry("^(?!.*(?:电话|座机|固话)).*手机", "mobile", "mobile", example="13877212345"),
    _Entry("电话|座机|固话|联系方式", "phone", "phone", example="13877212345 或 0772-2823290"),
    _Entry("姓名|名字|负责人|联系人|填报人|填表人", "name", "person_name", example="韦丽华"),
    _Entry("^性别$", "gender", "choice", {"choices": ["女", "男"]}, kind="choice"),
    _Entry(
        "出生年月|出生日期|出生时间", "birth", "birth_year_month", {"min_age": 0, "max_age": 120}, "1985.03"
    ),
    _Entry(
        "^民族$", "ethnicity", "ethnic_group", kind="choice", options=("汉族", "壮族", "苗族", "侗族", "瑶族")
    ),
    _Entry("籍贯", "native_place", "text", {"min_hanzi": 2, "max_chars": 30}, "广西柳州"),
    _Entry("政治面貌", "political_status", "choice", _POLITICAL, kind="choice"),
    _Entry("学历|文化程度", "education", "choice", _EDUCATION, kind="choice"),
    _Entry("邮编|邮政编码", "postcode", "postcode", example="545001"),
    _Entry("邮箱|信箱|电子邮件|(?i:e-?mail)", "email", "email", example="fulian@163.com"),
    _Entry("起止|期限|期间", "period", "period", example="2019.03-2021.06"),
    _Entry("年龄", "age", "integer", {"min": 0, "max": 120, "unit": "岁"}, "35"),
    _Entry("工龄|教龄|党龄|会龄", "years", "integer", {"min": 0, "max": 80, "unit": "年"}, "12"),
    _Entry("人数|人口|数量|个数|户数|次数", "count", "integer", {"min": 0, "max": 10_000_000}, "12"),
    _Entry("万元", "amount", "amount", {"unit": "万元"}, "12.5"),
    _Entry("金额|资金|经费|投入|预算|（元）", "amount", "amount", {"unit": "元"}, "5000"),
    # a date still to come: 预计毕业时间, 计划完成日期
    _Entry(
        "(?:预计|计划|拟)[^，。]{0,6}(?:日期|时间|年月)",
        "planned_date",
        "date",
        {"max_years_ahead": 10},
        "2025年6月",
    ),
    _Entry("日期|时间|年月", "date", "date", example="2019年3月 或 2019.3.15"),
    _Entry(
        "单位.*职务|职务.*单位",
        "employer_post",
        "text",
        {"min_hanzi": 4, "max_chars": 60},
        "柳江区拉堡镇妇联主席",
        joint=True,
    ),
    _Entry("职务|职称|职业", "post", "text", {"min_hanzi": 2, "max_chars": 30}, "妇联主席"),
    _Entry("地址|住址|地点", "address", "text", {"min_hanzi": 6, "max_chars": 80}, "柳州市城中区文昌路1号"),
    _Entry("单位", "org_name", "text", {"min_hanzi": 2, "max_chars": 60}, "柳州市城中区妇联"),
    _Entry("名称", "title", "text", {"min_hanzi": 2, "max_chars": 60}, PLACEHOLDER_EXAMPLE),
    _Entry(
        "事迹|情况|简介|简历|经历|说明|方案|做法|成效|业绩|理由|内容|介绍",
        "account",
        "text",
        {"max_chars": DEFAULT_LONG_TEXT},
        PLACEHOLDER_EXAMPLE,
    ),
)


def infer(
    label: str,
    *,
    min_chars: int | None = None,
    max_chars: int | None = None,
    raw_label: str = "",
    options: tuple[str, ...] = (),
    multiple: bool = False,
    photo: bool = False,
    figure: bool = False,
) -> Inferred:
    """The kind and check of one blank from its cleaned ``label`` and what its label and blank wrote.

    Args:
        label: the cleaned label ("主要事迹").
        min_chars, max_chars: a limit written in the label, which wins over the vocabulary's.
        raw_label: the label as written ("项目金额（万元）"), for units written in brackets.
        options: check boxes written in the blank, which make the field a choice of them.
        multiple: the boxes allow several (可多选).
        photo: the blank is a photo cell.
        figure: the blank is a cell of a table of figures: a whole number unless its words name an
            amount (金额, （万元）).
    """
    if photo:
        return Inferred("photo", "photo", None)
    entry = next(
        (e for e in _VOCABULARY if re.search(e.pattern, label) or re.search(e.pattern, raw_label)), None
    )
    if figure and (entry is None or entry.validator not in ("integer", "amount")):
        entry = next(e for e in _VOCABULARY if e.key == "count")
    if options:
        choices = {"choices": list(options)}
        if multiple:
            return Inferred(
                entry.key if entry else "choices", "text", "choices", choices, "、".join(options[:2])
            )
        return Inferred(entry.key if entry else "choice", "choice", "choice", choices)
    if is_compound(label):
        params = (
            _text_limits(min_chars, max_chars) if min_chars or max_chars else {"max_chars": COMPOUND_TEXT}
        )
        return Inferred("text", "text", "text", params, PLACEHOLDER_EXAMPLE, compound=True)
    if entry is not None:
        written_limit = entry.validator == "text" and bool(min_chars or max_chars)
        params = _text_limits(min_chars, max_chars) if written_limit else dict(entry.params)
        return Inferred(entry.key, entry.kind, entry.validator, params, entry.example, entry.options)
    if min_chars or max_chars:
        return Inferred("text", "text", "text", _text_limits(min_chars, max_chars), PLACEHOLDER_EXAMPLE)
    return Inferred(
        "text", "text", "text", {"max_chars": DEFAULT_SHORT_TEXT}, PLACEHOLDER_EXAMPLE, fallback=True
    )


def _text_limits(min_chars: int | None, max_chars: int | None) -> dict[str, Any]:
    high = max_chars or max(DEFAULT_LONG_TEXT, 3 * (min_chars or 0))
    params: dict[str, Any] = {"max_chars": high}
    if min_chars:
        params["min_chars"] = min_chars
    return params


#: Words joining two asks in one label (荣誉称号及评定时间), and labels asking when and where at once;
#: 电话/手机 and 电话或手机 offer a choice of one answer, not two asks.
#: Not inside words that hold one of them (参与, 涉及, 普及, 及时, 和谐, 和睦, 与会, 总和).
_JOINS = re.compile(r"以及|(?<![涉普])及(?![时格])|(?<![总温平])和(?![谐睦平])|(?<![参给])与(?!会)|、")
_WHEN_AND_WHERE = re.compile(r"何时|何地|时间.{0,2}地点|地点.{0,2}时间")


def _entry(label: str) -> _Entry | None:
    return next((e for e in _VOCABULARY if re.search(e.pattern, label)), None)


def label_parts(label: str) -> tuple[str, ...]:
    """What a cleaned label asks for, one part per thing: ``荣誉称号及评定时间`` → (荣誉称号, 评定时间);
    a label the vocabulary reads as one answer (工作单位及职务, 与户主关系) is its only part."""
    joint = _entry(label)
    if joint is not None and joint.joint:
        return (label,)
    parts = tuple(part for part in _JOINS.split(label) if part)
    if len(parts) < 2 or any(len(part) < 2 for part in parts):
        return (label,)
    keys = {entry.key if (entry := _entry(part)) else None for part in parts}
    return parts if len(keys) > 1 else (label,)


def is_compound(label: str) -> bool:
    """The label asks several things at once (see ``label_parts``), or when and where at once."""
    return len(label_parts(label)) > 1 or bool(_WHEN_AND_WHERE.search(label))
