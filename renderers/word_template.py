"""Filling the very Word file a form was imported from: each answer in its cell, nothing else touched.

The template is the notice's own .docx (``FormDecl.template``); each field's ``cell`` names where its
answer goes (``word_grid`` addresses). Fonts, borders, widths, merged cells and every other text of
the original stay as they are:

* a blank cell gets the answer in its first paragraph's format and font (the paragraph mark's run
  properties, where Word keeps a blank cell's font); a long text keeps its paragraphs;
* a cell holding its own label (``工作简历：``) gets the answer in paragraphs after the label;
* check boxes: the chosen options' □/☐ become ☑ (○ becomes ●), the text is not otherwise changed;
  options printed in cells of their own have the chosen one's box ticked, or a √ written in the blank
  cell under it (是 | 否 columns);
* a photo cell: the placeholder text gives way to the photo, scaled into the cell keeping its aspect;
* a repeating table: one blank row per answer row, more rows copied from the last blank row (its
  format, borders and merges) when the answers need them;
* photos announced in a cell (图片…（可附后）) are printed after the table, each with its caption;
* blanks in lines outside the tables are filled in place: ``推荐单位（盖章）：____`` gets the unit's
  name on the line, ``填表日期：  年  月  日`` the date.

The template is read once (``read_template``, by ``template_renderer`` at start-up); each filling
works on a copy of its document part, and only that part (with a photo's image) is written anew:
the template's other parts are copied through as they are (``template_package``).
"""

from __future__ import annotations

import copy
import io
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.table import CT_Row, CT_Tc
from docx.shared import Cm, Emu
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

from dialogs.declarations import FieldDecl, FormDecl, GroupDecl
from dialogs.validators import format_date, format_period, format_stored_date, format_year_month
from renderers.photos import prepare_photo
from renderers.records import FormRecord, RenderError, chinese_date
from renderers.template_package import WordTemplate
from renderers.word_bracket_blanks import BRACKET
from renderers.word_cell_text import BOXES
from renderers.word_form_lines import LINE_BLANK
from renderers.word_grid import CellIndex
from renderers.word_import import open_word_form

__all__ = ["answer_in_words", "fill_word_form", "read_template", "template_renderer"]

_CHECKED = {"□": "☑", "☐": "☑", "○": "●", "◯": "●"}
_PRINTED: dict[str, Callable[[str], str]] = {
    "birth_year_month": format_year_month,
    "service_start": format_year_month,
    "campaign_date": format_date,
    "date": format_stored_date,
    "period": format_period,
}
_CELL_MARGIN_EMU = int(Cm(0.4))
_AFTER_TABLE_MAX = (int(Cm(14)), int(Cm(9)))
_TWIPS_TO_EMU = 635


def answer_in_words(field: FieldDecl, value: Any) -> str:
    """A stored answer as printed on the form: dates in Chinese, numbers as typed."""
    printed = _PRINTED.get(field.validator or "")
    return printed(str(value)) if printed is not None else str(value)


def fill_word_form(form: FormDecl, template: WordTemplate | bytes, record: FormRecord) -> bytes:
    """The template filled with ``record``'s answers, as .docx bytes.

    ``template`` is best read once (``read_template``), as ``template_renderer`` does: given as
    bytes, it is read for this one filling.
    """
    if isinstance(template, bytes):
        template = read_template(f"{form.id}.docx", template)
    document = CellIndex(template.new_document())
    # Every target is found before anything is written: added rows shift the rows below them.
    writes: list[Callable[[], None]] = []
    for step in form.steps:
        if isinstance(step, FieldDecl):
            if step.cell and (step.key in record.answers or step.required):
                writes.append(_field_write(document, step, record, record.answers))
        elif step.cell and any(field.kind == "photo" and not field.cell for field in step.fields):
            writes.append(_photos_after(document, step, record))
        elif step.cell:
            writes.append(_rows_write(document, step, record))
    for address, source in form.filled_from.items():
        writes.append(_line_write(document, address, _known(form, source, record)))
    for write in writes:
        write()
    return template.save(document.document)


def read_template(name: str, data: bytes) -> WordTemplate:
    """A Word form's file read once for filling (a damaged file: ``WordFormError``)."""
    return WordTemplate.read(open_word_form(name, data), data)


def _known(form: FormDecl, source: str, record: FormRecord) -> str:
    """What a blank filled without asking holds: the unit's name, the date, or an answer given to
    the same question elsewhere on the form."""
    if source == "unit_name":
        return record.unit_name
    if source == "submitted_on":
        return chinese_date(record.submitted_on)
    key = source.removeprefix("answer:")
    value = record.answers.get(key)
    return "" if value is None else answer_in_words(form.top_field(key), value)


def template_renderer(form: FormDecl) -> Callable[[FormRecord], bytes]:
    """The renderer of an imported form: its template read once, every cell its fields name checked
    to be there (a wrong address is an error at start-up, not when a form is printed)."""
    path = Path(form.template)
    template = read_template(path.name, path.read_bytes())
    document = CellIndex(template.new_document())
    addresses = [step.cell for step in form.steps if step.cell]
    addresses += [f.cell for group in form.groups() for f in group.fields if f.cell]
    addresses += [address for field in form.all_fields() for address in field.option_cells.values()]
    addresses += list(form.filled_from)
    for address in addresses:
        try:
            if address.startswith("P"):
                document.paragraph(address)
            else:
                document.cell(re.split("[:#]", address)[0])
        except (KeyError, IndexError) as error:
            raise RenderError(f"{form.id}: {Path(form.template).name} has no {address}") from error
    return lambda record: fill_word_form(form, template, record)


# --- one cell -----------------------------------------------------------------------------------


def _field_write(
    document: CellIndex, field: FieldDecl, record: FormRecord, answers: Mapping[str, Any]
) -> Callable[[], None]:
    if ":" in field.cell:  # a blank in a line: P3:申报单位, or in a cell of several, T1R1C1:姓名
        text = _answer(field, answers, record)
        return _line_write(document, field.cell, text)
    if "#" in field.cell and not field.option_cells:  # a blank in brackets: T1R5C2#1 for 第（  ）名
        return _bracket_write(document, field.cell, _answer(field, answers, record))
    if field.option_cells:
        return _marks_write(document, field, answers, record)
    cell = document.cell(field.cell)
    return _cell_write(cell, field, answers, record)


def _chosen(field: FieldDecl, text: str) -> list[str]:
    """The options an answer chose (several joined by 、), each one that ``option_cells`` places."""
    chosen = [option for option in (text.split("、") if field.validator == "choices" else [text]) if option]
    missing = [option for option in chosen if option not in field.option_cells]
    if field.option_cells and missing:
        raise RenderError(f"{field.key}: no cell for the options {missing}")
    return chosen


def _marks_write(
    document: CellIndex, field: FieldDecl, answers: Mapping[str, Any], record: FormRecord
) -> Callable[[], None]:
    """Options printed in cells of their own: each chosen option's box ticked in its cell, or a √
    written in its blank cell (是 | 否 columns)."""
    chosen = _chosen(field, _answer(field, answers, record))
    if any("#" in address for address in field.option_cells.values()):  # 是（  ） 否（  ）
        ticks = [_bracket_write(document, field.option_cells[option], "√") for option in chosen]

        def tick_brackets() -> None:
            for tick in ticks:
                tick()

        return tick_brackets
    cells = {option: document.cell(address) for option, address in field.option_cells.items()}

    def write() -> None:
        for option in chosen:
            cell = cells[option]
            if any(box in cell.text for box in BOXES):
                _tick(cell, [option])
            else:
                _write_text(cell, "√")

    return write


def _answer(field: FieldDecl, answers: Mapping[str, Any], record: FormRecord) -> str:
    value = answers.get(field.key)
    if value is None or value == "":
        if field.required:
            raise RenderError(f"{record.form_id}: answer {field.key!r} is missing")
        return ""
    return answer_in_words(field, value)


def _cell_write(
    cell: _Cell, field: FieldDecl, answers: Mapping[str, Any], record: FormRecord
) -> Callable[[], None]:
    if field.kind == "photo":
        photo = answers.get(field.key)
        if photo is None:
            return lambda: None
        path = record.photo_path(photo)
        return lambda: _photo_in_cell(cell, path)
    text = _answer(field, answers, record)
    if field.validator in ("choice", "choices") and any(box in cell.text for box in BOXES):
        chosen = text.split("、") if field.validator == "choices" else [text]
        return lambda: _tick(cell, chosen)
    return lambda: _write_text(cell, text)


def _is_blank(text: str) -> bool:
    return not re.sub(r"[\s\u3000_＿]", "", text)


def _run_properties(paragraph: Any) -> Any:
    """The font of a paragraph: its first run's properties, else its paragraph mark's."""
    run = paragraph.find(qn("w:r"))
    props = run.find(qn("w:rPr")) if run is not None else None
    if props is None:
        ppr = paragraph.find(qn("w:pPr"))
        props = ppr.find(qn("w:rPr")) if ppr is not None else None
    return copy.deepcopy(props) if props is not None else None


def _new_paragraph(model: Any, text: str, props: Any) -> Any:
    paragraph = OxmlElement("w:p")
    ppr = model.find(qn("w:pPr")) if model is not None else None
    if ppr is not None:
        paragraph.append(copy.deepcopy(ppr))
    run = OxmlElement("w:r")
    if props is not None:
        run.append(copy.deepcopy(props))
    t = OxmlElement("w:t")
    t.text = text
    t.set(qn("xml:space"), "preserve")
    run.append(t)
    paragraph.append(run)
    return paragraph


def _write_text(cell: _Cell, text: str) -> None:
    """The answer in the cell: in place of a blank, or after the cell's own label."""
    tc = cell._tc
    paragraphs = tc.findall(qn("w:p"))
    model = paragraphs[0] if paragraphs else None
    props = _run_properties(model) if model is not None else None
    lines = text.split("\n") or [""]
    texts = ["".join(t.text or "" for t in p.iter(qn("w:t"))) for p in paragraphs]
    last_written = max((i for i, text in enumerate(texts) if not _is_blank(text)), default=-1)
    for paragraph in paragraphs[last_written + 1 :]:  # the blank lines are the space to write in
        tc.remove(paragraph)
    anchor = paragraphs[last_written] if last_written >= 0 else None
    if anchor is not None:
        model = anchor
    for line in lines:
        new = _new_paragraph(model, line, props)
        if anchor is None:
            tc.append(new)
        else:
            anchor.addnext(new)
        anchor = new


def _tick(cell: _Cell, chosen: list[str]) -> None:
    """Mark the chosen options' boxes, wherever Word split the runs."""
    texts = list(cell._tc.iter(qn("w:t")))
    whole = "".join(t.text or "" for t in texts)
    for option in chosen:
        # the option as printed may hold a blank of its own (□有，持有    证。), read without it
        printed = r"[\s\u3000_＿]*".join(map(re.escape, option))
        match = re.search(f"([{BOXES}])\\s*{printed}(?![^{BOXES}\\s，,、;；。.])", whole)
        if match is None:
            raise RenderError(f"option {option!r} has no box in its cell")
        position, offset = match.start(1), 0
        for t in texts:
            length = len(t.text or "")
            if offset <= position < offset + length:
                at = position - offset
                t.text = t.text[:at] + _CHECKED[t.text[at]] + t.text[at + 1 :]
                break
            offset += length
        whole = "".join(t.text or "" for t in texts)


def _cell_size(cell: _Cell) -> tuple[int, int]:
    """A cell's inner width and height in EMU (height from its rows' set heights, else 4:3 of its width)."""
    tc: CT_Tc = cell._tc
    tcw = tc.tcPr.find(qn("w:tcW")) if tc.tcPr is not None else None
    width = int(Cm(4))  # when Word gives no width in twips ("auto", "pct")
    if tcw is not None and tcw.get(qn("w:w")) and tcw.get(qn("w:type"), "dxa") == "dxa":
        width = int(tcw.get(qn("w:w"))) * _TWIPS_TO_EMU
    height = 0
    tr = tc.getparent()
    rows = 1
    if tc.vMerge == "restart":
        following = tr.itersiblings(qn("w:tr"))
        column = _tc_grid_column(tc)
        for sibling in following:
            below = _tc_at(sibling, column)
            if below is None or below.vMerge != "continue":
                break
            rows += 1
    row = tr
    for _ in range(rows):
        trh = row.trPr.find(qn("w:trHeight")) if row.trPr is not None else None
        height += int(trh.get(qn("w:val"))) * _TWIPS_TO_EMU if trh is not None else int(Cm(1))
        row = row.getnext() if row.getnext() is not None else row
    return max(width - _CELL_MARGIN_EMU, int(Cm(1))), max(height - _CELL_MARGIN_EMU // 2, int(Cm(1)))


def _tc_grid_column(tc: CT_Tc) -> int:
    tr = tc.getparent()
    column = tr.grid_before
    for other in tr.tc_lst:
        if other is tc:
            return column
        column += other.grid_span
    return column


def _tc_at(tr: CT_Row, column: int) -> CT_Tc | None:
    at = tr.grid_before
    for tc in tr.tc_lst:
        if at == column:
            return tc
        at += tc.grid_span
    return None


def _fit(width_px: int, height_px: int, box: tuple[int, int]) -> tuple[int, int]:
    scale = min(box[0] / width_px, box[1] / height_px)
    return int(width_px * scale), int(height_px * scale)


def _photo_in_cell(cell: _Cell, path: Any) -> None:
    photo = prepare_photo(path)
    width, height = _fit(photo.width_px, photo.height_px, _cell_size(cell))
    paragraphs = cell.paragraphs
    for extra in paragraphs[1:]:
        cell._tc.remove(extra._p)
    first = paragraphs[0]
    for run in list(first.runs):
        first._p.remove(run._r)
    first.alignment = WD_ALIGN_PARAGRAPH.CENTER
    first.add_run().add_picture(io.BytesIO(photo.data), width=Emu(width), height=Emu(height))


# --- repeating tables and photos after the table ------------------------------------------------


def _rows_write(document: CellIndex, group: GroupDecl, record: FormRecord) -> Callable[[], None]:
    """One blank row per answer row, more copied from the last blank row."""
    rows = record.rows(group.key)
    tbl, first = document.row(group.cell)
    trs = tbl.tr_lst
    columns = {field.key: _column_of(field.cell) for field in group.fields if field.cell}
    blank = [tr for tr in trs[first:] if _row_is_blank(tr, columns.values())]
    blank_rows: list[CT_Row] = []
    for tr in trs[first:]:
        if tr not in blank:
            break
        blank_rows.append(tr)
    if not blank_rows:
        raise RenderError(f"{record.form_id}: no blank rows at {group.cell}")
    parent = Table(tbl, document.document._body)

    def write() -> None:
        targets = list(blank_rows)
        while len(targets) < len(rows):
            copied = copy.deepcopy(blank_rows[-1])
            targets[-1].addnext(copied)
            targets.append(copied)
        for tr, row in zip(targets, rows, strict=False):
            for field in group.fields:
                if field.option_cells:  # a √ under the chosen option's column, in this row
                    for option in _chosen(field, _answer(field, row, record)):
                        tc = _tc_at(tr, _column_of(field.option_cells[option]))
                        if tc is not None:
                            _write_text(_Cell(tc, parent), "√")
                    continue
                tc = _tc_at(tr, columns[field.key]) if field.key in columns else None
                if tc is not None:
                    _cell_write(_Cell(tc, parent), field, row, record)()

    return write


def _column_of(address: str) -> int:
    """``T1R4C3`` → 2, the 0-based grid column."""
    return int(re.sub(r".*C", "", address)) - 1


def _row_is_blank(tr: CT_Row, columns: Any) -> bool:
    for column in columns:
        tc = _tc_at(tr, column)
        if tc is None or not _is_blank("".join(t.text or "" for t in tc.iter(qn("w:t")))):
            return False
    return True


def _photos_after(document: CellIndex, group: GroupDecl, record: FormRecord) -> Callable[[], None]:
    """Photos printed after the table holding the group's cell, each with its caption below it."""
    rows = record.rows(group.key)
    cell = document.cell(group.cell)
    tbl: Any = cell._tc
    while tbl.getparent() is not None and tbl.getparent().tag != qn("w:body"):
        tbl = tbl.getparent()
    photo_key = next(field.key for field in group.fields if field.kind == "photo")
    caption_key = group.title_field if group.title_field != photo_key else None

    def write() -> None:
        if _is_blank(cell.text):
            _write_text(cell, f"（见表后附图，共{len(rows)}张）")
        anchor = tbl
        heading = _paragraph_after(document, anchor, f"{group.label}（附图）")
        anchor = heading._p
        for row in rows:
            prepared = prepare_photo(record.photo_path(row[photo_key]))
            width, height = _fit(prepared.width_px, prepared.height_px, _AFTER_TABLE_MAX)
            picture = _paragraph_after(document, anchor, "")
            picture.alignment = WD_ALIGN_PARAGRAPH.CENTER
            picture.add_run().add_picture(io.BytesIO(prepared.data), width=Emu(width), height=Emu(height))
            anchor = picture._p
            if caption_key and row.get(caption_key):
                caption = _paragraph_after(document, anchor, str(row[caption_key]))
                caption.alignment = WD_ALIGN_PARAGRAPH.CENTER
                anchor = caption._p

    return write


def _paragraph_after(document: CellIndex, element: Any, text: str) -> Paragraph:
    new = OxmlElement("w:p")
    element.addnext(new)
    paragraph = Paragraph(new, document.document._body)
    if text:
        paragraph.add_run(text)
    return paragraph


# --- lines outside the tables -------------------------------------------------------------------


def _line_write(document: CellIndex, address: str, value: str) -> Callable[[], None]:
    """Write in the blank after ``label：`` of a line (``P3:label``) or of a cell (``T1R1C1:label``)."""
    place, _, label = address.partition(":")
    holder = document.paragraph(place)._p if place.startswith("P") else document.cell(place)._tc

    def write() -> None:
        texts = list(holder.iter(qn("w:t")))
        whole = "".join(t.text or "" for t in texts)
        match = re.search(re.escape(label) + "[：:](" + LINE_BLANK + ")", whole)
        if match is None:
            raise RenderError(f"line {place} has no blank after {label!r}")
        start, end = match.span(1)
        follows = bool(whole[end:].strip())
        _replace_span(texts, start, end, f"{value}    " if follows else value)

    return write


def _bracket_write(document: CellIndex, address: str, value: str) -> Callable[[], None]:
    """Write inside the bracket ``T1R5C2#2`` names: the cell's second bracket pair, counting every
    pair of its text as the reader did (``word_bracket_blanks``)."""
    place, _, number = address.partition("#")
    tc = document.cell(place)._tc

    def write() -> None:
        texts = list(tc.iter(qn("w:t")))
        brackets = list(BRACKET.finditer("".join(t.text or "" for t in texts)))
        if len(brackets) < int(number):
            raise RenderError(f"cell {place} has no bracket {number}")
        bracket = brackets[int(number) - 1]  # the value takes the bracket's spaces, widening it no more
        _replace_span(texts, bracket.start(1), bracket.end(1), value.center(len(bracket[1])))

    return write


def _replace_span(texts: list[Any], start: int, end: int, value: str) -> None:
    """Replace characters ``start:end`` of the runs' joined text with ``value``, written in the run
    where the blank starts (its underline and font carry over)."""
    offset, placed = 0, False
    for t in texts:
        text = t.text or ""
        low, high = offset, offset + len(text)
        cut_from, cut_to = max(start, low) - low, min(end, high) - low
        if cut_from < cut_to or (not placed and low <= start <= high and start == end):
            insert = value if not placed else ""
            t.text = text[:cut_from] + insert + text[cut_to:]
            t.set(qn("xml:space"), "preserve")
            placed = placed or bool(insert) or not value
        offset = high
    if not placed and texts:
        texts[-1].text = (texts[-1].text or "") + value
