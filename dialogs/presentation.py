"""How answers look to a person: one line per answer for the review, and the row titles of groups."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dialogs.chinese_text import word_count
from dialogs.declarations import FieldDecl, FormDecl, GroupDecl
from dialogs.validators import choice_advice, format_date, format_year_month

#: A submission's status as 组联部 and the unit read it: one list for the chat, /show and the export.
STATUS_LABELS = {"submitted": "待审核", "accepted": "已接收", "returned": "已退回修改"}

_SHORT = 24
_DATE_VALIDATORS = {"campaign_date"}
_YEAR_MONTH_VALIDATORS = {"birth_year_month", "service_start"}


def status_label(status: str) -> str:
    """“待审核”, “已接收”, “已退回修改” (an unknown status as it is stored)."""
    return STATUS_LABELS.get(status, status)


def display_value(field_decl: FieldDecl, value: Any, *, full: bool = False) -> str:
    """An answer as shown in chat; long text is shortened unless ``full``."""
    if value is None:
        return "（已跳过）"
    if field_decl.kind == "photo":
        return f"已上传照片（{value.get('width')}×{value.get('height')}）"
    if field_decl.kind == "video":
        return _video_line(value)
    if field_decl.validator in _YEAR_MONTH_VALIDATORS:
        return format_year_month(str(value))
    if field_decl.validator in _DATE_VALIDATORS:
        return format_date(str(value))
    if field_decl.validator == "integer":
        return f"{value}{field_decl.params.get('unit', '')}"
    text = str(value)
    if full or len(text) <= _SHORT:
        return text
    return f"{text[:_SHORT]}……（共{word_count(text)}字）"


def long_answer(field_decl: FieldDecl, value: Any) -> str | None:
    """A text answer too long to show whole in a line (a 500-字 主要事迹): the text, to be shown in
    full and given back to edit when the field is asked again; None for anything shorter or else."""
    if field_decl.kind != "text" or not isinstance(value, str) or len(value) <= _SHORT:
        return None
    return value


def _video_line(value: dict[str, Any]) -> str:
    duration = value.get("duration_s")
    if duration:
        return f"已上传视频（{duration // 60}分{duration % 60:02d}秒）"
    return "已上传视频"


def row_title(group: GroupDecl, row: dict[str, Any], index: int) -> str:
    """A group row as listed in menus: “第2节课程《…》”."""
    title = row.get(group.title_field)
    name = f"第{index + 1}{group.item}"
    if not title:
        return name
    shown = str(title) if len(str(title)) <= _SHORT else str(title)[:_SHORT] + "…"
    opening, closing = group.title_quotes[0], group.title_quotes[1]
    return f"{name}{opening}{shown}{closing}"


def field_line(field_decl: FieldDecl, answers: dict[str, Any], *, full: bool = False) -> str:
    if field_decl.key not in answers:
        mark = "（未填）" if field_decl.required else "（选填，未填）"
        return f"{field_decl.label}：{mark}"
    return f"{field_decl.label}：{display_value(field_decl, answers[field_decl.key], full=full)}"


def review_text(form: FormDecl, answers: dict[str, Any], *, full: bool = False) -> str:
    """Everything filled so far, one line per answer, groups listed row by row; long texts shortened
    (the person just typed them) unless ``full`` (组联部 reviewing them)."""
    lines = [f"《{form.short_title}》已填内容："]
    number = 0
    for step in form.steps:
        number += 1
        if isinstance(step, FieldDecl):
            lines.append(f"{number}. {field_line(step, answers, full=full)}")
            continue
        rows = answers.get(step.key, [])
        lines.append(
            f"{number}. {step.label}：已填 {len(rows)} {step.item}（至少 {step.min_rows} {step.item}）"
        )
        for index, row in enumerate(rows):
            lines.append(f"   {row_title(step, row, index)}")
            for group_field in step.fields:
                lines.append(f"     {field_line(group_field, row, full=full)}")
    lines += advice(form, answers)
    return "\n".join(lines)


def form_size(form: FormDecl) -> str:
    """How much a form asks, as its first message says: “共 16 项”; a group is one of them, its rows'
    questions told apart: “共 3 项，其中第1项推荐课程每节 7 项（至少 2 节课程）”. The questions count
    the same way (``step_counter``), and so do the review's and the edit list's numbers."""
    rows = "；".join(
        f"第{step_counter(form, g.key)[0]}项{g.label}每{g.item[0]} {len(g.fields)} 项"
        f"（至少 {g.min_rows} {g.item}）"
        for g in form.groups()
    )
    return f"共 {len(form.steps)} 项，其中{rows}" if rows else f"共 {len(form.steps)} 项"


def step_counter(form: FormDecl, key: str) -> tuple[int, int]:
    """Where a step (a field or a group, by key) stands among the form's: (3, 17) is shown “（3/17）”."""
    return [step.key for step in form.steps].index(key) + 1, len(form.steps)


def advice(form: FormDecl, answers: Mapping[str, Any]) -> list[str]:
    """The warnings the answers bring on (an organisation of 30 women or more not 单独创建): shown
    when the answer is given, in the review, in 组联部's /show and in the export's workbook."""
    return [
        note
        for step in form.steps
        if isinstance(step, FieldDecl) and step.validator == "choice" and "advise" in step.params
        if (note := choice_advice(step.params, answers.get(step.key), answers)) is not None
    ]
