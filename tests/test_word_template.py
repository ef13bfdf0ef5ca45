"""Filling the very Word file a form was imported from, read back cell by cell: each answer in the
cell beside or below its label, every other text and format of the original still there, the chosen
boxes marked, photos scaled into their cells, rows added in the row's format; LibreOffice converts it
to the blank form's page count."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
import zipfile
from collections import Counter
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from docx.document import Document as DocxDocument
from docx.oxml.ns import qn
from lxml import etree

from dialogs.declarations import FieldDecl, FormDecl, GroupDecl
from dialogs.validators import TEXT_VALIDATORS, Accepted, ValidationContext
from renderers.records import FormRecord
from renderers.samples import store_photo_bytes
from renderers.word_grid import find_cell, find_paragraph, find_row
from renderers.word_import import import_word_form
from renderers.word_template import answer_in_words, fill_word_form, read_template
from tests.fixtures import word_forms
from tests.fixtures.renderer_records import photo_bytes

TODAY = date(2021, 6, 18)
DRAWING = qn("w:drawing")
UNIT = "柳州市城中区妇联"
SENTENCE = "她带领村里妇女发展特色种植，组织开展家庭教育讲座。"  # 25 字


def typed_answer(field: FieldDecl) -> str:
    """What a person would type for a field, by its check."""
    params = field.params
    if field.validator == "choice":
        return "女" if field.key == "gender" else params["choices"][-1]
    if field.validator == "choices":
        return f"{params['choices'][0]}、{params['choices'][-1]}"
    if field.validator == "text":
        wanted = max(params.get("min_chars", 0) + 10, 12)
        wanted = min(wanted, params["max_chars"])
        text = ""
        while len(text) < wanted:
            text += SENTENCE if len(text) % 200 < 175 else SENTENCE + "\n"
        return text[:wanted].rstrip("\n")
    return {
        "person_name": "韦丽华",
        "ethnic_group": "壮族",
        "birth_year_month": "1985.03",
        "date": "2019.3.15",
        "period": "2019.03-2021.06",
        "id_number": "450203198503120021",
        "mobile": "13877212345",
        "phone": "0772-2823290",
        "postcode": "545001",
        "email": "fulian@163.com",
        "integer": "12",
        "amount": "12.5",
    }[field.validator or ""]


def stored(field: FieldDecl, answers: dict[str, Any]) -> Any:
    """The answer as the engine stores it: through its validator."""
    ctx = ValidationContext(field.label, TODAY, 2021, answers=answers)
    result = TEXT_VALIDATORS[field.validator or ""](typed_answer(field), field.params, ctx)
    assert isinstance(result, Accepted), (field.key, result)
    return result.value


def row_answer(field: FieldDecl, index: int) -> Any:
    """A row's answer, different in each row so that the rows' order shows."""
    if field.validator != "text":
        return stored(field, {})
    ctx = ValidationContext(field.label, TODAY, 2021)
    result = TEXT_VALIDATORS["text"](f"第{index + 1}行填写的内容", field.params, ctx)
    assert isinstance(result, Accepted), (field.key, result)
    return result.value


def record_for(form: FormDecl, photo_dir: Path, extra_rows: int = 2) -> FormRecord:
    photo = store_photo_bytes(photo_dir, photo_bytes((400, 600)))
    wide = store_photo_bytes(photo_dir, photo_bytes((900, 600), marker=(0, 0, 200)))
    answers: dict[str, Any] = {}
    for step in form.steps:
        if isinstance(step, FieldDecl):
            answers[step.key] = photo.answer if step.kind == "photo" else stored(step, answers)
            continue
        count = step.min_rows if step.item == "张照片" else _blank_rows(step) + extra_rows
        answers[step.key] = [
            {f.key: wide.answer if f.kind == "photo" else row_answer(f, index) for f in step.fields}
            for index in range(count)
        ]
    files = {photo.sha256: photo.path, wide.sha256: wide.path}
    return FormRecord(form.id, answers, UNIT, "城中区", "柳州市", 2021, TODAY, files)


def _blank_rows(group: GroupDecl) -> int:
    return int(re.search(r"起的 (\d+) 行", group.printed)[1])  # type: ignore[index]


def imported(builder: str) -> tuple[bytes, FormDecl]:
    data = getattr(word_forms, builder)()
    return data, import_word_form(f"{builder}.docx", data, "form", "form.docx").form


def xml(element: Any) -> bytes:
    return etree.tostring(element)


def path(element: Any) -> str:
    return str(element.getroottree().getpath(element))


def targets(document: DocxDocument, form: FormDecl) -> set[str]:
    """The elements filling may change: answer cells, repeating tables' blank rows, filled lines."""
    changed: set[str] = set()
    for step in form.steps:
        if isinstance(step, GroupDecl) and step.item == "行":
            tbl, first = find_row(document, step.cell)
            for tr in tbl.tr_lst[first : first + _blank_rows(step)]:
                changed |= {path(tc) for tc in tr.tc_lst}
        elif step.cell:
            changed.add(_holder(document, step.cell))
    for address in form.filled_from:
        changed.add(_holder(document, address))
    return changed


def _holder(document: DocxDocument, address: str) -> str:
    """The paragraph (P3, P3:label) or the cell (T1R2C3, T1R1C1:label) an address writes in."""
    place = re.split("[:#]", address)[0]
    if place.startswith("P"):
        return path(find_paragraph(document, place)._p)
    return path(find_cell(document, place)._tc)


def untouched_parts(document: DocxDocument, skip: set[str]) -> Counter[bytes]:
    body = document.element.body
    parts = [tc for tc in body.iter(qn("w:tc")) if path(tc) not in skip and not tc.findall(qn("w:tbl"))]
    parts += [p for p in body.findall(qn("w:p")) if path(p) not in skip]
    parts += (
        list(body.iter(qn("w:tblPr"))) + list(body.iter(qn("w:tblGrid"))) + list(body.iter(qn("w:sectPr")))
    )
    return Counter(xml(part) for part in parts)


def shifted(address: str, form: FormDecl, record: FormRecord) -> str:
    """Where a cell is after the rows added to repeating tables above it in the same table."""
    table, row = re.match(r"T([\d.]+)R(\d+)", address).groups()  # type: ignore[union-attr]
    added = 0
    for group in form.groups():
        other, first = re.match(r"T([\d.]+)R(\d+)", group.cell).groups()  # type: ignore[union-attr]
        if group.item == "行" and other == table and int(first) < int(row):
            added += max(0, len(record.rows(group.key)) - _blank_rows(group))
    return re.sub(r"R\d+", f"R{int(row) + added}", address, count=1)


@pytest.fixture(name="filled", scope="module")
def filled_forms(
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[bytes, FormDecl, FormRecord, bytes]]:
    photos = tmp_path_factory.mktemp("photos")
    result = {}
    for builder, _ in word_forms.FORMS.values():
        data, form = imported(builder.__name__)
        record = record_for(form, photos)
        result[builder.__name__] = (data, form, record, fill_word_form(form, data, record))
    return result


@pytest.mark.parametrize("builder", sorted(b.__name__ for b, _ in word_forms.FORMS.values()))
def test_each_answer_is_in_its_cell_and_everything_else_is_as_it_was(
    filled: dict[str, tuple[bytes, FormDecl, FormRecord, bytes]], builder: str
) -> None:
    blank, form, record, data = filled[builder]
    assert_each_answer_in_its_cell(blank, data, form, record)


def assert_each_answer_in_its_cell(blank: bytes, data: bytes, form: FormDecl, record: FormRecord) -> None:
    """Read the filled file back cell by cell: each answer of ``record`` in the cell (or line) the blank
    form left for it, each row of a repeating table in its row, every other part of the blank as it was."""
    original, document = Document(io.BytesIO(blank)), Document(io.BytesIO(data))
    for field in (step for step in form.steps if isinstance(step, FieldDecl) and step.kind != "photo"):
        words = answer_in_words(field, record.answers[field.key])
        if field.cell.startswith("P"):
            place, label = field.cell.split(":")
            assert f"{label}：{words}" in find_paragraph(document, place).text
        elif field.validator in ("choice", "choices") and set(find_cell(original, field.cell).text) & set(
            "□☐○"
        ):
            text = find_cell(document, field.cell).text
            for option in field.params["choices"]:
                mark = re.search(f"([☑●□☐○])\\s*{re.escape(option)}", text)
                assert mark is not None, option
                assert (mark[1] in "☑●") == (option in words.split("、")), (option, text)
        else:
            cell = find_cell(document, shifted(field.cell, form, record)).text
            label_text = find_cell(original, field.cell).text
            assert cell.replace("\n", "") == (label_text + words if label_text.strip() else words).replace(
                "\n", ""
            )
    for step in form.groups():
        if step.item != "行":
            continue
        _, first = find_row(document, step.cell)
        for index, row in enumerate(record.rows(step.key)):
            for field in step.fields:
                address = re.sub(r"R\d+", f"R{first + index + 1}", field.cell)
                cell = find_cell(document, address)
                if field.kind == "photo":
                    assert len(cell._tc.findall(f".//{DRAWING}")) == 1 and not cell.text.strip()
                else:
                    assert cell.text == answer_in_words(field, row[field.key])
    assert untouched_parts(original, targets(original, form)) <= untouched_parts(document, set())


def test_long_text_keeps_its_paragraphs_and_the_cell_format(
    filled: dict[str, tuple[bytes, FormDecl, FormRecord, bytes]],
) -> None:
    blank, form, record, data = filled["grid_with_photo"]
    story = record.answers["account"]
    assert story.count("\n") >= 2
    cell = find_cell(Document(io.BytesIO(data)), form.top_field("account").cell)
    assert [p.text for p in cell.paragraphs] == story.split("\n")
    assert xml(cell._tc.tcPr) == xml(find_cell(Document(io.BytesIO(blank)), "T1R7C2")._tc.tcPr)


def test_a_photo_is_scaled_into_its_cell_keeping_its_aspect(
    filled: dict[str, tuple[bytes, FormDecl, FormRecord, bytes]],
) -> None:
    _, form, _, data = filled["grid_with_photo"]
    cell = find_cell(Document(io.BytesIO(data)), form.top_field("photo").cell)
    extents = list(
        cell._tc.iter("{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}extent")
    )
    assert len(extents) == 1
    cx, cy = int(extents[0].get("cx")), int(extents[0].get("cy"))
    assert abs(cx / cy - 400 / 600) < 0.01
    width_emu = int(cell._tc.tcPr.find(qn("w:tcW")).get(qn("w:w"))) * 635
    assert cx <= width_emu and cy <= 3.6 * 360_000  # three rows of 1.2 cm
    assert "照片" not in cell.text  # the placeholder gave way to the photo


def test_rows_added_to_a_repeating_table_copy_the_rows_format(
    filled: dict[str, tuple[bytes, FormDecl, FormRecord, bytes]],
) -> None:
    _, form, record, data = filled["members_table"]
    group = next(form.groups())
    tbl, first = find_row(Document(io.BytesIO(data)), group.cell)
    rows = tbl.tr_lst[first : first + len(record.rows(group.key))]
    assert len(rows) == _blank_rows(group) + 2
    formats = {xml(tr.trPr) if tr.trPr is not None else b"" for tr in rows}
    cell_formats = {tuple(xml(tc.tcPr) for tc in tr.tc_lst) for tr in rows}
    assert len(formats) == 1 and len(cell_formats) == 1
    # the title cell (家庭主要成员) spans the added rows too
    assert Document(io.BytesIO(data)).tables[0].cell(first + len(rows) - 1, 0).text == "家庭主要成员"
    assert (
        Document(io.BytesIO(data)).tables[0].rows[first + len(rows)].cells[0].text.startswith("家庭事迹简介")
    )


def test_photos_announced_in_a_cell_are_printed_after_the_table_with_captions(
    filled: dict[str, tuple[bytes, FormDecl, FormRecord, bytes]],
) -> None:
    _, form, record, data = filled["labels_above"]
    document = Document(io.BytesIO(data))
    group = form.group("photos")
    assert find_cell(document, group.cell).text == "（见表后附图，共3张）"
    following = list(document.tables[0]._tbl.itersiblings(qn("w:p")))
    texts = ["".join(t.text or "" for t in p.iter(qn("w:t"))) for p in following]
    pictures = [len(list(p.iter(qn("w:drawing")))) for p in following]
    captions = [row[group.title_field] for row in record.rows(group.key)]
    assert texts[: 1 + 2 * len(captions)] == ["图片及说明（附图）", *[t for c in captions for t in ("", c)]]
    assert pictures[: 1 + 2 * len(captions)] == [0, *[n for _ in captions for n in (1, 0)]]


def test_lines_outside_the_tables_are_filled_from_the_unit_and_the_date(
    filled: dict[str, tuple[bytes, FormDecl, FormRecord, bytes]],
) -> None:
    _, _, _, data = filled["lines_outside"]
    texts = [p.text for p in Document(io.BytesIO(data)).paragraphs]
    assert f"推荐单位（盖章）：{UNIT}    填表日期：2021年6月18日" in texts
    assert "联系人：韦丽华    联系电话：0772-2823290" in texts


def _pages(pdf: Path) -> int:
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"Pages:\s+(\d+)", info)[1])  # type: ignore[index]


@pytest.mark.skipif(
    shutil.which("soffice") is None or shutil.which("pdfinfo") is None, reason="LibreOffice not installed"
)
def test_libreoffice_opens_each_filled_form_at_the_blank_forms_page_count(
    filled: dict[str, tuple[bytes, FormDecl, FormRecord, bytes]], tmp_path: Path
) -> None:
    files = []
    for name, (blank, _, _, data) in filled.items():
        (tmp_path / f"{name}-blank.docx").write_bytes(blank)
        (tmp_path / f"{name}-filled.docx").write_bytes(data)
        files += [tmp_path / f"{name}-blank.docx", tmp_path / f"{name}-filled.docx"]
    profile = tmp_path / "profile"
    subprocess.run(
        ["soffice", f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
         "--convert-to", "pdf", "--outdir", str(tmp_path / "pdf"), *map(str, files)],
        capture_output=True, timeout=600, check=True,
    )  # fmt: skip
    expected = {builder.__name__: pages for builder, pages in word_forms.FORMS.values()}
    for name in filled:
        blank_pages = _pages(tmp_path / "pdf" / f"{name}-blank.pdf")
        filled_pages = _pages(tmp_path / "pdf" / f"{name}-filled.pdf")
        assert blank_pages == expected[name], name
        if name == "labels_above":  # three photos printed after the table
            assert filled_pages > blank_pages, name
        else:
            assert filled_pages == blank_pages, name


DOCUMENT_PARTS = {"word/document.xml", "word/_rels/document.xml.rels", "[Content_Types].xml"}
CT_NS = "{http://schemas.openxmlformats.org/package/2006/content-types}"


def _parts(docx: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(docx)) as package:
        return {name: package.read(name) for name in package.namelist()}


def _relationship_targets(docx: bytes) -> dict[str, str]:
    rels = etree.fromstring(_parts(docx)["word/_rels/document.xml.rels"])
    return {rel.get("Id"): rel.get("Target") for rel in rels}


def _as_word_saves(docx: bytes) -> bytes:
    """The package with its XML parts written as Word writes them (double-quoted declaration, CRLF),
    which python-docx would not write back the same."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(docx)) as source,
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            blob = source.read(info)
            if blob.startswith(b"<?xml"):
                blob = (
                    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
                    + blob.split(b"?>", 1)[1].lstrip()
                )
            target.writestr(info.filename, blob)
    return buffer.getvalue()


@pytest.mark.parametrize("builder", sorted(b.__name__ for b, _ in word_forms.FORMS.values()))
def test_the_template_s_other_parts_are_copied_byte_for_byte(
    filled: dict[str, tuple[bytes, FormDecl, FormRecord, bytes]], builder: str, tmp_path: Path
) -> None:
    """Only the document part, its relationships and a photo's image are written anew; styles,
    fonts, numbering, theme, properties and every other part are the template's own bytes."""
    _, form, _, _ = filled[builder]
    blank = _as_word_saves(getattr(word_forms, builder)())
    data = fill_word_form(form, blank, record_for(form, tmp_path))
    before, after = _parts(blank), _parts(data)
    for name in before.keys() - DOCUMENT_PARTS:
        assert after[name] == before[name], name
    added = after.keys() - before.keys()
    assert all(name.startswith("word/media/") for name in added), added
    targets = set(_relationship_targets(data).values())
    assert {name.removeprefix("word/") for name in added} <= targets  # each new image is related
    assert _relationship_targets(blank).items() <= _relationship_targets(data).items()
    declared = lambda docx: {  # noqa: E731
        (e.tag, e.get("Extension"), e.get("PartName"), e.get("ContentType"))
        for e in etree.fromstring(_parts(docx)["[Content_Types].xml"])
    }
    assert declared(blank) <= declared(data)
    extensions = {e[1] for e in declared(data) if e[0] == f"{CT_NS}Default"}
    assert {name.rsplit(".", 1)[-1] for name in added} <= extensions


def test_a_template_read_once_fills_each_record_alike_and_keeps_nothing_between_fills(
    filled: dict[str, tuple[bytes, FormDecl, FormRecord, bytes]],
) -> None:
    blank, form, record, data = filled["grid_with_photo"]
    template = read_template("grid_with_photo.docx", blank)
    assert fill_word_form(form, template, record) == data  # the same bytes, read once or each time
    assert fill_word_form(form, template, record) == data
    without_photo = replace(record, answers={k: v for k, v in record.answers.items() if k != "photo"})
    plain = fill_word_form(form, template, without_photo)
    assert not any(name.startswith("word/media/") for name in _parts(plain))
    assert _relationship_targets(plain) == _relationship_targets(blank)
    assert not find_cell(Document(io.BytesIO(plain)), form.top_field("photo").cell)._tc.findall(
        f".//{DRAWING}"
    )


def test_a_photo_beside_the_template_s_own_picture_gets_a_name_of_its_own(tmp_path: Path) -> None:
    document = Document(io.BytesIO(word_forms.grid_with_photo()))
    document.paragraphs[0].add_run().add_picture(io.BytesIO(photo_bytes((60, 30), fmt="PNG")))
    stream = io.BytesIO()
    document.save(stream)
    blank = stream.getvalue()
    form = import_word_form("logo.docx", blank, "logo", "logo.docx").form
    data = fill_word_form(form, blank, record_for(form, tmp_path))
    before, after = _parts(blank), _parts(data)
    (logo,) = [name for name in before if name.startswith("word/media/")]
    (photo,) = [name for name in after.keys() - before.keys() if name.startswith("word/media/")]
    assert after[logo] == before[logo] and photo != logo
    filled_document = Document(io.BytesIO(data))
    blobs = {image.partname.membername: image.blob for image in filled_document.part.package.image_parts}
    assert blobs == {logo: before[logo], photo: after[photo]}  # both open as images of the document


def test_text_cut_into_runs_as_word_saves_it(tmp_path: Path) -> None:
    blank = word_forms.split_runs()
    form = import_word_form("split.docx", blank, "split", "split.docx").form
    assert [step.cell for step in form.steps] == ["T1R1C2", "T1R1C4", "T1R2C3"]  # the late row read right
    assert form.filled_from == {"P1:申报单位": "unit_name", "P1:填表日期": "submitted_on"}
    answers = {"political_status": "群众", "phone": "0772-2823290", "text": "无"}
    record = FormRecord(form.id, answers, UNIT, "城中区", "柳州市", 2021, TODAY, {})
    document = Document(io.BytesIO(fill_word_form(form, blank, record)))
    line = document.paragraphs[0]
    assert line.text == f"申报单位：{UNIT}    填表日期：2021年6月18日"
    assert [run.underline for run in line.runs if UNIT in run.text] == [True]  # written on the line
    table = document.tables[0]
    assert table.cell(0, 1).text == "□中共党员 ☑群众"
    assert [r.text for r in table.cell(0, 1).paragraphs[0].runs if r.text] == ["□", "中共党员 ", "☑", "群众"]
    assert table.rows[1]._tr.trPr.find(qn("w:gridBefore")) is not None
    assert [cell.text for cell in table.rows[1].cells] == ["备注", "无", ""]


def test_a_photo_cell_whose_width_is_not_in_twips_gets_a_passport_sized_photo(tmp_path: Path) -> None:
    """WPS and Word may write a cell's width as a percentage (w:type="pct"): not read as twips."""
    document = Document(io.BytesIO(word_forms.grid_with_photo()))
    width = document.tables[0].cell(0, 4)._tc.tcPr.find(qn("w:tcW"))
    width.set(qn("w:type"), "pct")
    width.set(qn("w:w"), "5000")  # 100 %, in fiftieths of a percent
    stream = io.BytesIO()
    document.save(stream)
    blank = stream.getvalue()
    form = import_word_form("pct.docx", blank, "pct", "pct.docx").form
    wide = store_photo_bytes(tmp_path, photo_bytes((1200, 300)))
    record = record_for(form, tmp_path)
    record = replace(
        record, answers={**record.answers, "photo": wide.answer}, photo_files={wide.sha256: wide.path}
    )
    cell = find_cell(Document(io.BytesIO(fill_word_form(form, blank, record))), form.top_field("photo").cell)
    extent = next(
        cell._tc.iter("{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}extent")
    )
    assert int(extent.get("cx")) <= 4 * 360_000
