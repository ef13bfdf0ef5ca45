"""Form B: “桂姐姐履职小课堂”课程推荐表 — one per county federation, one table row per course.

Landscape A4: six columns with a 300-字 主要内容 read better wide. The two header rows repeat on
every page; a course row is never split across pages.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from renderers.docx_layout import (
    COLUMN_HEADER,
    HEADER_LINE,
    LANDSCAPE,
    SMALL,
    Align,
    FormTable,
    add_text,
    add_title,
    merge_down,
    new_document,
    to_docx_bytes,
    write_cell,
)
from renderers.records import FormRecord, answer_text, chinese_year_month

# 课程名称 | 授课形式 | 主要内容 | 主讲人: 姓名 | 出生年月 | 单位及职务 — 25.7 cm between the margins.
_WIDTHS = (3.2, 2.1, 12.0, 2.0, 2.8, 3.6)
_HEADER_CM = 0.9
_COURSE_MIN_CM = 2.0


def title(year: int) -> str:
    return f"{year}年“桂姐姐履职小课堂”课程推荐表"


def render_course_recommendation(record: FormRecord) -> bytes:
    """A county federation's 课程推荐表 as .docx bytes."""
    document = new_document(LANDSCAPE)
    add_title(document, title(record.campaign_year), space_after_pt=10)
    add_text(document, f"推荐单位（盖章）：{record.unit_name}", HEADER_LINE, keep_with_next=True)
    add_text(document, "审核人：（签字）", HEADER_LINE, space_after_pt=8, keep_with_next=True)

    table = FormTable(document, _WIDTHS)
    first = table.add_row([1, 1, 1, 3], height_cm=_HEADER_CM, cant_split=True, header=True)
    second = table.add_row([1] * 6, height_cm=_HEADER_CM, cant_split=True, header=True)
    for cell, text in zip(first, ("课程名称", "授课形式", "主要内容（300字以内）", "主讲人"), strict=True):
        write_cell(cell, text, COLUMN_HEADER)
    for cell, text in zip(second[3:], ("姓名", "出生年月", "单位及职务"), strict=True):
        write_cell(cell, text, COLUMN_HEADER)
    for column in range(3):
        merge_down([first[column], second[column]])

    for course in record.rows("courses"):
        _course_row(table, course, record.form_id)

    add_text(
        document, f"具体负责人姓名及职务：{record.text('contact_name_post')}", HEADER_LINE, space_before_pt=10
    )
    add_text(document, f"联系电话：{record.text('contact_phone')}", HEADER_LINE)
    return to_docx_bytes(
        document, title=title(record.campaign_year), author=record.unit_name, on=record.submitted_on
    )


def _course_row(table: FormTable, course: Mapping[str, Any], form_id: str) -> None:
    def text(key: str) -> str:
        return answer_text(course, key, form_id)

    cells = table.add_row([1] * 6, height_cm=_COURSE_MIN_CM, cant_split=True)
    write_cell(cells[0], text("course_title"), SMALL)
    write_cell(cells[1], text("teaching_form"), SMALL)
    write_cell(cells[2], text("summary"), SMALL, align=Align.JUSTIFY, first_line_chars=2)
    write_cell(cells[3], text("speaker_name"), SMALL)
    write_cell(cells[4], chinese_year_month(text("speaker_birth")), SMALL)
    write_cell(cells[5], text("speaker_post"), SMALL)
