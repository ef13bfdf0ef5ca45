"""Form C1: 新领域建妇联示范点申报表 — one per site, nine table rows, photos with captions.

The 图片及说明 row holds up to ``PHOTOS_IN_CELL`` photos, two side by side, each above its numbered
caption. They are laid out as rows of the main table (the label merged down beside them, the
borders between them hidden) rather than as a nested table, because Word and LibreOffice split
outer rows cleanly across pages but clip nested ones. The other photos (the notice allows
“可附后”) follow the table, larger, under the heading “图片及说明（续）”, and the row says which
ones are there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from docx.document import Document as DocxDocument
from docx.table import _Cell

from renderers.docx_layout import (
    DATE_BLANK,
    HEADING,
    LONG_TEXT,
    PORTRAIT,
    SEAL_LABEL,
    SMALL,
    Align,
    FormTable,
    VAlign,
    add_picture,
    add_split_line,
    add_text,
    add_title,
    format_paragraph,
    merge_down,
    new_document,
    set_cell_borders,
    set_vertical_alignment,
    stamp_area,
    to_docx_bytes,
    write_cell,
    write_label,
)
from renderers.photos import PreparedPhoto, prepare_photo
from renderers.records import FormRecord, answer_text, chinese_date

PHOTOS_IN_CELL = 4
CONTINUATION_HEADING = "图片及说明（续）"
PHOTO_LABEL = "图片及说明\n（不少于3张，\n可附后）"

# label | value | (value) | (value) | value — 15.8 cm. The value area divides at 4.4 cm (单位人数 |
# 女性人数) and, for the photos, into two halves of 6.15 cm.
_WIDTHS = (3.5, 4.4, 1.75, 0.85, 5.3)
_ROW_CM = 1.1
_SITUATION_MIN_CM = 7.0
_STAMP_CM = 3.2
_CELL_BOX = (5.7, 4.3)  # a photo in the table: at most 5.7 × 4.3 cm
_APPENDIX_GRID = (7.9, 7.9)
_APPENDIX_BOX = (7.4, 5.6)  # a photo after the table


Photo = tuple[PreparedPhoto, str]


def title(year: int) -> str:
    return f"{year}年新领域建妇联示范点申报表"


def render_site_application(record: FormRecord) -> bytes:
    """One site's 申报表 as .docx bytes."""
    photos = [
        (_photo(record, row), answer_text(row, "caption", record.form_id)) for row in record.rows("photos")
    ]
    in_table, appended = photos[:PHOTOS_IN_CELL], photos[PHOTOS_IN_CELL:]

    document = new_document(PORTRAIT)
    add_title(document, title(record.campaign_year))
    add_split_line(
        document, f"填报单位：{record.unit_name}", f"填报时间：{chinese_date(record.submitted_on)}", PORTRAIT
    )
    table = FormTable(document, _WIDTHS)

    label, value = table.add_row([1, 4], height_cm=_ROW_CM, cant_split=True)
    write_label(label, "申报单位\n名称")
    write_cell(value, record.text("org_name"), align=Align.LEFT)

    cells = table.add_row([1, 1, 2, 1], height_cm=_ROW_CM, cant_split=True)
    write_label(cells[0], "单位人数")
    write_cell(cells[1], f"{record.text('staff_count')}人")
    write_label(cells[2], "女性人数")
    write_cell(cells[3], f"{record.text('female_count')}人")

    for caption, name_key, phone_key in (
        ("申报单位\n负责人", "leader_name", "leader_phone"),
        ("填报人", "filler_name", "filler_phone"),
    ):
        cells = table.add_row([1, 1, 2, 1], height_cm=_ROW_CM, cant_split=True)
        write_label(cells[0], caption)
        write_cell(cells[1], record.text(name_key))
        write_label(cells[2], "手机号码")
        write_cell(cells[3], record.text(phone_key))

    label, value = table.add_row([1, 4], height_cm=_SITUATION_MIN_CM)
    write_label(label, "创建情况\n（创建做法、\n亮点及成效，\n500字以内）")
    write_cell(
        value, record.text("situation"), LONG_TEXT, align=Align.JUSTIFY, valign=VAlign.TOP, first_line_chars=2
    )

    _photo_rows(table, in_table, appended_from=PHOTOS_IN_CELL + 1 if appended else None, last=len(photos))

    for caption in ("申报单位意见", "推荐单位意见", "市妇联\n审核意见"):
        label, value = table.add_row([1, 4], height_cm=_STAMP_CM, cant_split=True)
        write_label(label, caption)
        stamp_area(value, seal_label=SEAL_LABEL, date_line=DATE_BLANK)

    if appended:
        _appendix(document, appended, first_number=PHOTOS_IN_CELL + 1)
    return to_docx_bytes(
        document,
        title=f"{title(record.campaign_year)}（{record.text('org_name')}）",
        author=record.unit_name,
        on=record.submitted_on,
    )


def _photo(record: FormRecord, row: Mapping[str, Any]) -> PreparedPhoto:
    return prepare_photo(record.photo_path(row.get("photo")))


def _photo_rows(table: FormTable, photos: Sequence[Photo], *, appended_from: int | None, last: int) -> None:
    """The 图片及说明 row: two photos per table row, the label merged down beside them."""
    label_cells: list[_Cell] = []
    rows: list[list[_Cell]] = []
    for start in range(0, len(photos), 2):
        label, left, right = table.add_row([1, 2, 2], cant_split=True)
        label_cells.append(label)
        rows.append([left, right])
        for offset, cell in enumerate((left, right)):
            if start + offset < len(photos):
                _photo_cell(cell, photos[start + offset], start + offset + 1, _CELL_BOX)
    if appended_from is not None:
        label, note = table.add_row([1, 4], cant_split=True)
        label_cells.append(label)
        rows.append([note])
        shown = f"图{appended_from}" if appended_from == last else f"图{appended_from}至图{last}"
        write_cell(note, f"（{shown}见表后“{CONTINUATION_HEADING}”）", SMALL)
    write_label(label_cells[0], PHOTO_LABEL)
    if len(label_cells) > 1:
        merge_down(label_cells)
    # One block on one page: each row's paragraphs keep with the next row (Word's way of keeping
    # table rows together), so the label never stays behind with the photos on the next page.
    for row in rows[:-1]:
        for cell in row:
            for paragraph in cell.paragraphs:
                paragraph.paragraph_format.keep_with_next = True
    for paragraph in label_cells[0].paragraphs:
        paragraph.paragraph_format.keep_with_next = True
    # One cell to the eye: hide the borders between the photos.
    for index, row in enumerate(rows):
        for position, cell in enumerate(row):
            hidden = []
            if index > 0:
                hidden.append("top")
            if index < len(rows) - 1:
                hidden.append("bottom")
            if position > 0:
                hidden.append("left")
            if position < len(row) - 1:
                hidden.append("right")
            set_cell_borders(cell, hidden=hidden)


def _photo_cell(cell: _Cell, photo: Photo, number: int, box: tuple[float, float]) -> None:
    """A photo centred above its caption “图N　…”."""
    prepared, caption = photo
    set_vertical_alignment(cell, VAlign.TOP)
    picture = cell.paragraphs[0]
    # An exact line height would crop the picture.
    format_paragraph(picture, SMALL, align=Align.CENTER, space_before_pt=6, exact_line=False)
    add_picture(picture, prepared, *box)
    add_text(cell, f"图{number}　{caption}", SMALL, align=Align.CENTER, space_after_pt=6)


def _appendix(document: DocxDocument, photos: Sequence[Photo], *, first_number: int) -> None:
    heading = add_text(
        document, CONTINUATION_HEADING, HEADING, align=Align.CENTER, space_after_pt=8, keep_with_next=True
    )
    heading.paragraph_format.page_break_before = True
    table = FormTable(document, _APPENDIX_GRID, borders=False)
    for start in range(0, len(photos), 2):
        cells = table.add_row([1, 1], cant_split=True)
        for offset, cell in enumerate(cells):
            if start + offset < len(photos):
                _photo_cell(cell, photos[start + offset], first_number + start + offset, _APPENDIX_BOX)
