"""Form A: 广西“最美基层妇联干部”登记表 — a cover page, then the eight-row table.

The cover is its own section, so its “广西壮族自治区妇女联合会制” line sits in that section's footer
and stays at the foot of the page however long the unit's name is; the table section has an empty
footer. Eligibility answers, the web story and the two photos are stored but not printed (see each
field's ``printed`` in ``dialogs/forms/cadre_registration.toml``).
"""

from __future__ import annotations

from docx.document import Document as DocxDocument
from docx.enum.section import WD_SECTION

from renderers.docx_layout import (
    COVER_FIELD,
    COVER_TITLE,
    LONG_TEXT,
    PORTRAIT,
    Align,
    FormTable,
    VAlign,
    add_spacer,
    add_text,
    apply_page,
    blank_footer,
    new_document,
    set_footer_text,
    stamp_area,
    to_docx_bytes,
    underline_cell,
    write_cell,
    write_label,
)
from renderers.records import FormRecord, chinese_date, chinese_year_month

TITLE = "广西“最美基层妇联干部”登记表"
ISSUER_LINE = "广西壮族自治区妇女联合会制"
STORY_LABEL = "主要事迹\n（500-\n1000字）"

# Six grid columns, 15.8 cm (A4 less 2.6 cm margins): label, value, label, value, label, value.
_WIDTHS = (2.5, 2.9, 2.3, 2.6, 2.5, 3.0)
_COVER_WIDTHS = (3.9, 0.6, 9.5)
_ROW_CM = 1.1
_STORY_MIN_CM = 11.0
_STAMP_CM = 4.0


def render_registration(record: FormRecord) -> bytes:
    """The 登记表 of one candidate as .docx bytes."""
    document = new_document(PORTRAIT)
    _cover(document, record)
    document.add_section(WD_SECTION.NEW_PAGE)
    cover, body = document.sections
    set_footer_text(cover, ISSUER_LINE, COVER_FIELD, distance_cm=3.5)
    apply_page(body, PORTRAIT)
    blank_footer(body)
    add_spacer(document)
    _table(document, record)
    return to_docx_bytes(
        document, title=f"{TITLE}（{record.text('name')}）", author=record.unit_name, on=record.submitted_on
    )


def cover_area(record: FormRecord) -> str:
    """The cover's 市（县、区）: the unit's area within the city, e.g. 柳州市鱼峰区."""
    area = record.unit_area
    return area if area.startswith(record.city) else f"{record.city}{area}"


def _cover(document: DocxDocument, record: FormRecord) -> None:
    add_text(document, TITLE, COVER_TITLE, align=Align.CENTER, space_before_pt=110)
    add_text(document, "", COVER_FIELD, space_before_pt=90)
    table = FormTable(document, _COVER_WIDTHS, borders=False)
    fields = (
        ("市（县、区）", cover_area(record)),
        ("姓名", record.text("name")),
        ("单位", record.unit_name),
        ("填表时间", chinese_date(record.submitted_on)),
    )
    for label, value in fields:
        label_cell, colon_cell, value_cell = table.add_row([1, 1, 1], height_cm=1.4)
        write_cell(label_cell, label, COVER_FIELD, align=Align.DISTRIBUTE, valign=VAlign.BOTTOM)
        write_cell(colon_cell, "：", COVER_FIELD, align=Align.LEFT, valign=VAlign.BOTTOM)
        write_cell(value_cell, value, COVER_FIELD, align=Align.CENTER, valign=VAlign.BOTTOM)
        underline_cell(value_cell)


def _table(document: DocxDocument, record: FormRecord) -> None:
    table = FormTable(document, _WIDTHS)

    for pairs in (
        (("姓名", record.text("name")), ("性别", record.text("gender")),
         ("出生年月", chinese_year_month(record.text("birth")))),
        (("民族", record.text("ethnicity")), ("文化程度", record.text("education")),
         ("政治面貌", record.text("political_status"))),
    ):  # fmt: skip
        cells = table.add_row([1] * 6, height_cm=_ROW_CM, cant_split=True)
        for index, (label, value) in enumerate(pairs):
            write_label(cells[2 * index], label)
            write_cell(cells[2 * index + 1], value)

    for label, key in (("工作单位\n及职务", "employer_post"), ("通讯地址", "address")):
        label_cell, value_cell = table.add_row([1, 5], height_cm=_ROW_CM, cant_split=True)
        write_label(label_cell, label)
        write_cell(value_cell, record.text(key), align=Align.LEFT)

    cells = table.add_row([1, 1, 1, 3], height_cm=_ROW_CM, cant_split=True)
    write_label(cells[0], "邮编")
    write_cell(cells[1], record.text("postcode"))
    write_label(cells[2], "联系电话")
    write_cell(cells[3], record.text("phone"))

    label_cell, story_cell = table.add_row([1, 5], height_cm=_STORY_MIN_CM)
    write_label(label_cell, STORY_LABEL)
    write_cell(
        story_cell,
        record.text("story"),
        LONG_TEXT,
        align=Align.JUSTIFY,
        valign=VAlign.TOP,
        first_line_chars=2,
    )

    for label in ("推荐单位\n审批意见", "市妇联\n审批意见"):
        label_cell, opinion_cell = table.add_row([1, 5], height_cm=_STAMP_CM, cant_split=True)
        write_label(label_cell, label)
        stamp_area(opinion_cell)
