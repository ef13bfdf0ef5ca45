"""The official forms as DOCX, read back with python-docx: values beside their labels, merged cells,
blank stamp areas, East Asian fonts, byte-identical renders and upright photos."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT
from docx.shared import Cm
from docx.table import Table
from docx.text.paragraph import Paragraph
from docx.text.run import Run
from lxml import etree
from PIL import Image

from dialogs.declarations import load_forms
from renderers import (
    PreviewUnavailable,
    RenderError,
    docx_to_pdf,
    pdf_to_pngs,
    render_form,
    render_site_statistics,
    sample_record,
    sample_sites,
    site_application,
)
from renderers.docx_layout import VALUE, fit_within, style_run
from renderers.photos import MAX_SIDE, PreparedPhoto, _prepare
from renderers.records import FormRecord
from renderers.registry import FORM_IDS, statistics_fed_by
from renderers.site_statistics import COLUMNS, NO_SITES
from tests.fixtures.renderer_records import (
    max_courses,
    max_registration,
    max_site,
    min_courses,
    min_registration,
    min_site,
    photo_bytes,
)

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
REGISTRATION_STAMP = "年    月    日（盖章）"
APPLICATION_STAMP = ("单位（公章）：", "年    月    日")
FONTS = {"仿宋", "黑体"}

RecordFactory = Callable[[Path], FormRecord]


# --- reading a .docx back ------------------------------------------------------------------------


def read(data: bytes) -> DocxDocument:
    return Document(io.BytesIO(data))


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def tc_text(tc: Any) -> str:
    """A cell's text, paragraphs joined by newlines."""
    return "\n".join("".join(t.text or "" for t in p.iter(f"{W}t")) for p in tc.iter(f"{W}p"))


def rows(table: Table) -> list[list[Any]]:
    """The ``w:tc`` elements of each row (one per cell as written, spans not repeated)."""
    return [list(tr.iterchildren(f"{W}tc")) for tr in table._tbl.iterchildren(f"{W}tr")]


def grid_span(tc: Any) -> int:
    span = tc.find(f"{W}tcPr/{W}gridSpan")
    return 1 if span is None else int(span.get(f"{W}val"))


def v_merge(tc: Any) -> str | None:
    merge = tc.find(f"{W}tcPr/{W}vMerge")
    return None if merge is None else merge.get(f"{W}val", "continue")


def cells_beside(table: Table, label: str) -> list[Any]:
    """The cell right of each cell whose text (spaces ignored) is ``label``."""
    found = []
    for row in rows(table):
        for index, tc in enumerate(row[:-1]):
            if squash(tc_text(tc)) == squash(label):
                found.append(row[index + 1])
    return found


def beside(table: Table, label: str) -> str:
    (cell,) = cells_beside(table, label)
    return tc_text(cell)


def paragraph_texts(document: DocxDocument) -> list[str]:
    return [paragraph.text for paragraph in document.paragraphs]


def xml_parts(data: bytes) -> Iterator[tuple[str, etree._Element]]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.startswith("word/") and name.endswith(".xml"):
                yield name, etree.fromstring(archive.read(name))


def media(data: bytes) -> list[Image.Image]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = sorted(name for name in archive.namelist() if name.startswith("word/media/"))
        images = [Image.open(io.BytesIO(archive.read(name))) for name in names]
    for image in images:
        image.load()
    return images


def inline_pictures(tc_or_root: Any) -> int:
    return len(
        list(
            tc_or_root.iter("{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}inline")
        )
    )


def assert_stamp(tc: Any, lines: tuple[str, ...]) -> None:
    """A stamp area: nothing but the date (and seal) lines, at the bottom, the date line right-aligned."""
    texts = [text for text in tc_text(tc).split("\n") if text.strip()]
    assert texts == list(lines)
    assert tc.find(f"{W}tcPr/{W}vAlign").get(f"{W}val") == "bottom"
    date_paragraph = list(tc.iter(f"{W}p"))[-1]
    assert date_paragraph.find(f"{W}pPr/{W}jc").get(f"{W}val") == "right"
    assert inline_pictures(tc) == 0


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(name="photo_dir")
def photo_dir_fixture(tmp_path: Path) -> Path:
    return tmp_path / "photos"


REGISTRATIONS: dict[str, RecordFactory] = {"max": max_registration, "min": min_registration}
COURSES: dict[str, RecordFactory] = {"max": max_courses, "min": lambda _: min_courses()}
SITES: dict[str, RecordFactory] = {"max": max_site, "min": min_site}


# --- 登记表 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", ["max", "min"])
def test_registration_values_sit_beside_their_labels(size: str, photo_dir: Path) -> None:
    record = REGISTRATIONS[size](photo_dir)
    document = read(render_form(record))
    cover, form = document.tables
    a = record.answers
    year, month = a["birth"].split("-")
    expected = {
        "姓名": a["name"],
        "性别": a["gender"],
        "出生年月": f"{int(year)}年{int(month)}月",
        "民族": a["ethnicity"],
        "文化程度": a["education"],
        "政治面貌": a["political_status"],
        "工作单位及职务": a["employer_post"],
        "通讯地址": a["address"],
        "邮编": a["postcode"],
        "联系电话": a["phone"],
        "主要事迹（500-1000字）": a["story"],
    }
    for label, value in expected.items():
        assert squash(beside(form, label)) == squash(value), label
    # The story keeps its paragraphs.
    assert beside(form, "主要事迹（500-1000字）").split("\n") == [
        p for p in a["story"].split("\n") if p.strip()
    ]

    cover_values = {squash(tc_text(row[0])): tc_text(row[2]) for row in rows(cover)}
    assert cover_values == {
        "市（县、区）": f"柳州市{record.unit_area}",
        "姓名": a["name"],
        "单位": record.unit_name,
        "填表时间": f"{record.submitted_on.year}年{record.submitted_on.month}月{record.submitted_on.day}日",
    }
    assert [tc_text(row[1]) for row in rows(cover)] == ["："] * 4


@pytest.mark.parametrize("size", ["max", "min"])
def test_registration_layout_cover_then_the_merged_table(size: str, photo_dir: Path) -> None:
    record = REGISTRATIONS[size](photo_dir)
    data = render_form(record)
    document = read(data)
    cover, body = document.sections
    assert document.paragraphs[0].text == "广西“最美基层妇联干部”登记表"
    assert cover.footer.paragraphs[0].text == "广西壮族自治区妇女联合会制"
    assert not cover.footer.is_linked_to_previous
    assert [p.text for p in body.footer.paragraphs] == [""]
    assert not body.footer.is_linked_to_previous
    for section in (cover, body):
        assert section.orientation == WD_ORIENT.PORTRAIT
        assert (round(section.page_width.cm, 1), round(section.page_height.cm, 1)) == (21.0, 29.7)

    form = document.tables[1]
    table_rows = rows(form)
    assert len(table_rows) == 8
    assert [len(row) for row in table_rows] == [6, 6, 2, 2, 4, 2, 2, 2]
    for label in (
        "工作单位及职务",
        "通讯地址",
        "主要事迹（500-1000字）",
        "推荐单位审批意见",
        "市妇联审批意见",
    ):
        (value,) = cells_beside(form, label)
        assert grid_span(value) == 5, label
    (phone,) = cells_beside(form, "联系电话")
    assert grid_span(phone) == 3
    # Labels are centred both ways.
    for row in table_rows:
        label = row[0]
        assert label.find(f"{W}tcPr/{W}vAlign").get(f"{W}val") == "center"
        assert all(jc.get(f"{W}val") == "center" for jc in label.iter(f"{W}jc"))
    for label in ("推荐单位审批意见", "市妇联审批意见"):
        assert_stamp(cells_beside(form, label)[0], (REGISTRATION_STAMP,))


def test_registration_prints_only_the_printed_fields(photo_dir: Path) -> None:
    record = max_registration(photo_dir)
    data = render_form(record)
    text = "\n".join(tc_text(part) for _, part in xml_parts(data))
    assert squash(record.answers["web_story"][:40]) not in squash(text)
    assert record.answers["cadre_level"] not in text
    assert "2014年3月" not in text.split("主要事迹")[0]  # service_start is not printed as a field
    assert media(data) == []


# --- 课程推荐表 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", ["max", "min"])
def test_course_recommendation_rows_and_header(size: str, photo_dir: Path) -> None:
    record = COURSES[size](photo_dir)
    document = read(render_form(record))
    assert paragraph_texts(document)[:3] == [
        "2021年“桂姐姐履职小课堂”课程推荐表",
        f"推荐单位（盖章）：{record.unit_name}",
        "审核人：（签字）",
    ]
    assert paragraph_texts(document)[-2:] == [
        f"具体负责人姓名及职务：{record.answers['contact_name_post']}",
        f"联系电话：{record.answers['contact_phone']}",
    ]
    section = document.sections[0]
    assert section.orientation == WD_ORIENT.LANDSCAPE
    assert (round(section.page_width.cm, 1), round(section.page_height.cm, 1)) == (29.7, 21.0)

    (table,) = document.tables
    first, second, *course_rows = rows(table)
    assert [tc_text(tc) for tc in first] == ["课程名称", "授课形式", "主要内容（300字以内）", "主讲人"]
    assert [grid_span(tc) for tc in first] == [1, 1, 1, 3]
    assert [v_merge(tc) for tc in first] == ["restart", "restart", "restart", None]
    assert [tc_text(tc) for tc in second] == ["", "", "", "姓名", "出生年月", "单位及职务"]
    assert [v_merge(tc) for tc in second] == ["continue", "continue", "continue", None, None, None]
    for tr in list(table._tbl.iterchildren(f"{W}tr"))[:2]:
        assert tr.find(f"{W}trPr/{W}tblHeader") is not None

    courses = record.answers["courses"]
    assert len(course_rows) == len(courses)
    for row, course in zip(course_rows, courses, strict=True):
        year, month = course["speaker_birth"].split("-")
        assert [squash(tc_text(tc)) for tc in row] == [
            squash(course["course_title"]),
            course["teaching_form"],
            squash(course["summary"]),
            course["speaker_name"],
            f"{int(year)}年{int(month)}月",
            squash(course["speaker_post"]),
        ]


# --- 申报表 ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", ["max", "min"])
def test_site_application_values_and_merges(size: str, photo_dir: Path) -> None:
    record = SITES[size](photo_dir)
    document = read(render_form(record))
    a = record.answers
    day = record.submitted_on
    assert paragraph_texts(document)[:2] == [
        "2021年新领域建妇联示范点申报表",
        f"填报单位：{record.unit_name}\t填报时间：{day.year}年{day.month}月{day.day}日",
    ]
    table = document.tables[0]
    assert squash(beside(table, "申报单位名称")) == squash(a["org_name"])
    assert beside(table, "单位人数") == f"{a['staff_count']}人"
    assert beside(table, "女性人数") == f"{a['female_count']}人"
    assert beside(table, "申报单位负责人") == a["leader_name"]
    assert beside(table, "填报人") == a["filler_name"]
    assert [tc_text(tc) for tc in cells_beside(table, "手机号码")] == [a["leader_phone"], a["filler_phone"]]
    situation = beside(table, "创建情况（创建做法、亮点及成效，500字以内）")
    assert squash(situation) == squash(a["situation"])

    (name_value,) = cells_beside(table, "申报单位名称")
    assert grid_span(name_value) == 4
    (situation_value,) = cells_beside(table, "创建情况（创建做法、亮点及成效，500字以内）")
    assert grid_span(situation_value) == 4
    for label in ("申报单位意见", "推荐单位意见", "市妇联审核意见"):
        (stamp,) = cells_beside(table, label)
        assert grid_span(stamp) == 4
        assert_stamp(stamp, APPLICATION_STAMP)


@pytest.mark.parametrize("size", ["max", "min"])
def test_site_application_photos_in_the_row_then_after_the_table(size: str, photo_dir: Path) -> None:
    record = SITES[size](photo_dir)
    data = render_form(record)
    document = read(data)
    photos = record.answers["photos"]
    table = document.tables[0]

    photo_rows = [
        row
        for row in rows(table)
        if any(inline_pictures(tc) for tc in row[1:]) or "见表后" in tc_text(row[-1])
    ]
    in_table = min(len(photos), 4)
    assert sum(inline_pictures(tc) for row in photo_rows for tc in row) == in_table
    labels = [row[0] for row in photo_rows]
    assert squash(tc_text(labels[0])) == "图片及说明（不少于3张，可附后）"
    assert [v_merge(tc) for tc in labels] == ["restart", *["continue"] * (len(labels) - 1)]
    captions = [tc_text(tc).strip() for row in photo_rows for tc in row[1:] if inline_pictures(tc)]
    assert captions == [f"图{i + 1}　{row['caption']}" for i, row in enumerate(photos[:in_table])]
    kept = [
        all(p.find(f"{W}pPr/{W}keepNext") is not None for tc in row[1:] for p in tc.iter(f"{W}p"))
        for row in photo_rows
    ]
    assert kept == [True] * (len(photo_rows) - 1) + [False], "the block stays on one page"

    body_text = paragraph_texts(document)
    if len(photos) > 4:
        assert tc_text(photo_rows[-1][-1]) == f"（图5至图{len(photos)}见表后“图片及说明（续）”）"
        assert "图片及说明（续）" in body_text
        appendix = document.tables[1]
        appended = [tc_text(tc).strip() for row in rows(appendix) for tc in row if inline_pictures(tc)]
        assert appended == [f"图{i + 5}　{row['caption']}" for i, row in enumerate(photos[4:])]
        assert inline_pictures(appendix._tbl) == len(photos) - 4
    else:
        assert len(document.tables) == 1
        assert "图片及说明（续）" not in body_text
    assert inline_pictures(
        etree.fromstring(zipfile.ZipFile(io.BytesIO(data)).read("word/document.xml"))
    ) == len(photos)


def test_photos_fit_their_box(photo_dir: Path) -> None:
    record = max_site(photo_dir)
    document = read(render_form(record))
    for shape in document.inline_shapes:
        assert shape.width <= Cm(7.4) + 1 and shape.height <= Cm(5.6) + 1


def test_a_sideways_jpeg_comes_out_upright(photo_dir: Path) -> None:
    sideways = photo_bytes((480, 640), orientation=6)
    with Image.open(io.BytesIO(sideways)) as stored:
        assert stored.size == (640, 480)  # the pixels really are stored sideways
    record = min_site(photo_dir, [sideways, photo_bytes(), photo_bytes((300, 300))])
    images = media(render_form(record))
    upright = [image for image in images if image.size == (480, 640)]
    assert len(upright) == 1
    red, green, blue = upright[0].convert("RGB").getpixel((10, 10))
    assert red > 150 and green < 90 and blue < 90  # the marker is back in the top-left corner
    assert not any(image.size == (640, 480) and image.getexif().get(0x0112) == 6 for image in images)


def test_png_and_oversized_photos(photo_dir: Path) -> None:
    png = photo_bytes((500, 400), fmt="PNG", marker=(0, 160, 0))
    huge = photo_bytes((4000, 3000))
    record = min_site(photo_dir, [png, huge, photo_bytes((300, 400))])
    images = media(render_form(record))
    assert sorted(image.format or "" for image in images) == ["JPEG", "JPEG", "PNG"]
    assert (500, 400) in [image.size for image in images]
    assert (MAX_SIDE, MAX_SIDE * 3 // 4) in [image.size for image in images]
    assert all(max(image.size) <= MAX_SIDE for image in images)


def test_pictures_are_the_ones_python_docx_would_add(
    photo_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # add_picture writes the image parts itself (Run.add_picture hashes every image in the document
    # for each new picture): the document must come out byte for byte as Run.add_picture makes it.
    same = photo_bytes()
    png = photo_bytes((500, 400), fmt="PNG", marker=(0, 160, 0))
    record = min_site(photo_dir, [same, png, same, photo_bytes((300, 400)), same])
    ours = render_form(record)

    def python_docx_picture(
        paragraph: Paragraph, photo: PreparedPhoto, box_width_cm: float, box_height_cm: float
    ) -> Run:
        width, height = fit_within(photo, box_width_cm, box_height_cm)
        run = style_run(paragraph.add_run(), VALUE)
        run.add_picture(io.BytesIO(photo.data), width=width, height=height)
        return run

    monkeypatch.setattr(site_application, "add_picture", python_docx_picture)
    assert render_form(record) == ours
    assert len(read(ours).inline_shapes) == 5
    formats = sorted(image.format or "" for image in media(ours))
    assert formats == ["JPEG", "JPEG", "PNG"]  # one part per distinct photo


def test_twelve_photos_render(photo_dir: Path) -> None:
    record = max_site(photo_dir)
    assert len(record.answers["photos"]) == 12
    document = read(render_form(record))
    assert len(document.inline_shapes) == 12


def test_a_missing_photo_file_is_an_error_not_a_blank(photo_dir: Path) -> None:
    record = min_site(photo_dir)
    with pytest.raises(RenderError, match="no stored file"):
        render_form(replace(record, photo_files={}))


def test_a_missing_answer_is_an_error(photo_dir: Path) -> None:
    record = min_registration(photo_dir)
    answers = {key: value for key, value in record.answers.items() if key != "postcode"}
    with pytest.raises(RenderError, match="postcode"):
        render_form(replace(record, answers=answers))


def test_an_unknown_form_is_refused(photo_dir: Path) -> None:
    with pytest.raises(RenderError, match="no renderer"):
        render_form(replace(min_registration(photo_dir), form_id="annual_report"))


# --- 统计表 ------------------------------------------------------------------------------------------


def test_site_statistics_one_row_per_site(photo_dir: Path) -> None:
    sites = sample_sites(photo_dir)
    document = read(render_site_statistics("市妇联", sites, date(2021, 8, 31)))
    assert paragraph_texts(document)[:2] == [
        "2021年新领域建妇联示范点统计表",
        "报送单位：市妇联\t日期：2021年8月31日",
    ]
    assert document.sections[0].orientation == WD_ORIENT.LANDSCAPE
    (table,) = document.tables
    header, *site_rows = rows(table)
    assert [tc_text(tc) for tc in header] == list(COLUMNS)
    assert table._tbl.tr_lst[0].find(f"{W}trPr/{W}tblHeader") is not None
    assert len(site_rows) == len(sites)
    for number, (row, site) in enumerate(zip(site_rows, sites, strict=True), start=1):
        a = site.answers
        year, month, day = (int(part) for part in a["founded_on"].split("-"))
        assert [tc_text(tc) for tc in row] == [
            str(number),
            a["federation_name"],
            str(a["committee_count"]),
            str(a["vice_chair_count"]),
            f"{a['chair_name']} {a['chair_phone']}",
            f"{year}年{month}月{day}日",
        ]


def test_site_statistics_of_a_unit_without_sites() -> None:
    document = read(render_site_statistics("鹿寨县妇联", [], date(2021, 8, 30)))
    (table,) = document.tables
    _, (empty,) = rows(table)
    assert tc_text(empty) == NO_SITES
    assert grid_span(empty) == len(COLUMNS)
    assert paragraph_texts(document)[0] == "2021年新领域建妇联示范点统计表"


def test_site_statistics_refuses_other_forms(photo_dir: Path) -> None:
    with pytest.raises(ValueError, match="申报表"):
        render_site_statistics("市妇联", [min_registration(photo_dir)], date(2021, 8, 30))


def test_the_shipped_site_form_alone_says_it_feeds_the_statistics() -> None:
    fed = {form_id: statistics_fed_by(form) for form_id, form in load_forms().items()}
    assert {form_id: s.name for form_id, s in fed.items() if s is not None} == {
        "site_application": "新领域建妇联示范点统计表"
    }


# --- every form ----------------------------------------------------------------------------------


def every_document(photo_dir: Path) -> Iterator[tuple[str, bytes]]:
    for factory in (max_registration, min_registration, max_courses, max_site, min_site):
        yield factory.__name__, render_form(factory(photo_dir))
    yield "min_courses", render_form(min_courses())
    yield "statistics", render_site_statistics("市妇联", sample_sites(photo_dir), date(2021, 8, 31))


def test_every_run_names_its_east_asian_font(photo_dir: Path) -> None:
    for name, data in every_document(photo_dir):
        runs = 0
        for part, root in xml_parts(data):
            for run in root.iter(f"{W}r"):
                fonts = run.find(f"{W}rPr/{W}rFonts")
                assert fonts is not None, (name, part)
                assert fonts.get(f"{W}eastAsia") in FONTS, (name, part)
                assert fonts.get(f"{W}ascii"), (name, part)
                runs += 1
        assert runs > 20, name
        styles = dict(xml_parts(data))["word/styles.xml"]
        normal = styles.find(f"{W}style[@{W}styleId='Normal']")
        assert normal.find(f"{W}rPr/{W}rFonts").get(f"{W}eastAsia") == "仿宋"
        defaults = styles.find(f"{W}docDefaults/{W}rPrDefault/{W}rPr")
        assert defaults.find(f"{W}rFonts").get(f"{W}eastAsia") == "仿宋"
        assert defaults.find(f"{W}lang").get(f"{W}eastAsia") == "zh-CN"


def test_titles_are_bold_heiti(photo_dir: Path) -> None:
    for name, data in every_document(photo_dir):
        title = read(data).paragraphs[0]
        assert title.runs, name
        for run in title.runs:
            assert run.bold, name
            assert run._r.rPr.rFonts.get(f"{W}eastAsia") == "黑体", name


def test_same_record_same_bytes(photo_dir: Path) -> None:
    for form_id in FORM_IDS:
        record = sample_record(form_id, photo_dir)
        first = render_form(record)
        _prepare.cache_clear()  # the photo cache must not be what makes them equal
        again = render_form(sample_record(form_id, photo_dir))
        assert first == again, form_id
    sites = sample_sites(photo_dir)
    on = date(2021, 8, 31)
    assert render_site_statistics("市妇联", sites, on) == render_site_statistics("市妇联", sites, on)


def test_package_metadata_is_fixed(photo_dir: Path) -> None:
    record = sample_record("site_application", photo_dir)
    data = render_form(record)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
    names = [info.filename for info in infos]
    assert names[:2] == ["[Content_Types].xml", "_rels/.rels"]
    assert len(names) == len(set(names))
    assert {info.date_time for info in infos} == {(2021, 8, 20, 0, 0, 0)}
    media_names = [name for name in names if name.startswith("word/media/")]
    pattern = re.compile(r"word/media/image(\d+)\.(jpg|png)")
    numbers = sorted(int(match[1]) for name in media_names if (match := pattern.fullmatch(name)))
    assert numbers == list(range(1, 13))
    assert "docProps/thumbnail.jpeg" not in names
    core = read(data).core_properties
    assert core.author == record.unit_name
    assert core.revision == 1
    assert core.created is not None and core.created.isoformat().startswith("2021-08-20T00:00:00")
    assert core.modified == core.created


def test_sample_records_are_full_length(photo_dir: Path) -> None:
    from dialogs.chinese_text import word_count

    registration = sample_record("cadre_registration", photo_dir)
    assert word_count(registration.answers["story"]) == 1000
    assert word_count(registration.answers["web_story"]) <= 500
    courses = sample_record("course_recommendation", photo_dir).answers["courses"]
    assert len(courses) == 10
    assert all(250 <= word_count(course["summary"]) <= 300 for course in courses)
    site = sample_record("site_application", photo_dir)
    assert word_count(site.answers["situation"]) == 500
    assert len(site.answers["photos"]) == 12
    for row in site.answers["photos"]:
        assert site.photo_path(row["photo"]).exists()
    with pytest.raises(ValueError, match="unknown form"):
        sample_record("annual_report", photo_dir)


# --- previews without LibreOffice ------------------------------------------------------------------


def test_previews_say_how_to_install_the_tools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("renderers.preview.shutil.which", lambda name: None)
    docx = tmp_path / "form.docx"
    docx.write_bytes(render_form(min_courses()))
    with pytest.raises(PreviewUnavailable, match="soffice") as error:
        docx_to_pdf(docx, tmp_path)
    assert "apt-get install libreoffice-writer-nogui fonts-noto-cjk poppler-utils" in str(error.value)
    with pytest.raises(PreviewUnavailable, match="pdftoppm"):
        pdf_to_pngs(tmp_path / "form.pdf", tmp_path)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["form.docx"]


def test_a_control_character_in_a_name_does_not_break_the_document(tmp_path: Path) -> None:
    import dataclasses
    import io as _io

    from docx import Document as _Document

    from renderers import render_form, sample_record

    record = sample_record("cadre_registration", tmp_path)
    broken = dataclasses.replace(record, answers={**record.answers, "name": "韦\x07丽华"})
    document = _Document(_io.BytesIO(render_form(broken)))
    assert document.core_properties.title.endswith("（韦丽华）")
