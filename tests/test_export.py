"""The supervisor's export read back: the ZIP's layout and names, every DOCX, the 统计表, the
recommendations, the workbook's sheets and values, and byte-identical builds."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tracemalloc
import unicodedata
import zipfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from docx import Document
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from dialogs.declarations import FormDecl, load_forms
from renderers import FormRecord, sample_record, sample_sites
from renderers.export import (
    ExportItem,
    ExportStatusRow,
    build_export,
    export_workbook,
    safe_file_name,
    write_export_zip,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
GENERATED_AT = datetime(2021, 8, 31, 16, 30, 10, tzinfo=SHANGHAI)
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"

CADRES, COURSES, SITES = "寻找最美基层妇联干部", "桂姐姐履职小课堂", "新领域建妇联示范点"
TASK_NAMES = (CADRES, COURSES, SITES)
TASK_IDS = {CADRES: "cadres", COURSES: "courses", SITES: "sites"}
UNIT_CODES = {
    "城中区妇联": "chengzhong",
    "鱼峰区妇联": "yufeng",
    "柳东新区党群工作部": "liudong",
    "融水苗族自治县妇联": "rongshui",
}
STATUS = (
    ExportStatusRow("城中区妇联", {CADRES: "1/2", COURSES: "2/≥2", SITES: "1/≥1"}, 1),
    ExportStatusRow("鱼峰区妇联", {CADRES: "2/2", COURSES: "10/≥2", SITES: "2/≥1"}, 0),
    ExportStatusRow("柳东新区党群工作部", {CADRES: "0/2", SITES: "1/≥1"}, 0),
    ExportStatusRow("融水苗族自治县妇联", {CADRES: "0/2", COURSES: "0/≥2", SITES: "1/≥1"}, 0),
)
CITY_LINES = ("全市示范点 5/10 个", "候选人 3 名，其中村（社区）执委 2 名，占 67%（要求≥70%）")
VIDEO = {
    "mime": "video/mp4",
    "file_name": "课程1.mp4",
    "duration_s": 302,
    "width": 1920,
    "height": 1080,
    "size_bytes": 52_000_000,
}
YUFENG_CONTACT = "韦丽萍 鱼峰区妇联党组成员、副主席（分管组联工作）"
# A course table is named by its unit and courses (not its 负责人), cut to 40 characters.
YUFENG_COURSES = "鱼峰区妇联-《巧用“妇女议事会”化解邻里矛盾》《新时代家庭家教家风建设的几点做…"
CHENGZHONG_COURSES = "城中区妇联-《新时代家庭家教家风建设的几点做法》《从“门外汉”到“带头人”：我…"
CHENGZHONG_CONTACT = "蓝芳 城中区妇联组联部部长"
STATISTICS = "新领域建妇联示范点统计表"


# --- building the items ----------------------------------------------------------------------------


def with_answers(record: FormRecord, **answers: Any) -> FormRecord:
    return replace(record, answers={**record.answers, **answers})


def item(
    forms: dict[str, FormDecl],
    number: int,
    record: FormRecord,
    task: str,
    *,
    unit: str | None = None,
    version: int = 1,
    status: str = "submitted",
    selected: bool = False,
    selected_rows: frozenset[int] = frozenset(),
    at: datetime = datetime(2021, 5, 20, 10, 15, tzinfo=SHANGHAI),
) -> ExportItem:
    unit_name = unit or record.unit_name
    return ExportItem(
        submission_id=number,
        version=version,
        unit_code=UNIT_CODES[unit_name],
        unit_name=unit_name,
        task_id=TASK_IDS[task],
        task_name=task,
        form=forms[record.form_id],
        status=status,
        selected=selected,
        selected_rows=selected_rows,
        submitted_at=at,
        record=replace(record, unit_name=unit_name),
    )


@pytest.fixture(name="forms", scope="module")
def forms_fixture() -> dict[str, FormDecl]:
    return load_forms()


@pytest.fixture(name="photo_dir", scope="module")
def photo_dir_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("photos")


@pytest.fixture(name="items", scope="module")
def items_fixture(forms: dict[str, FormDecl], photo_dir: Path) -> list[ExportItem]:
    """Four units, three tasks, versions 1-3, every status, two selected (a candidate and a course table)."""
    registration = sample_record("cadre_registration", photo_dir)
    courses = sample_record("course_recommendation", photo_dir)
    course_rows = [dict(row) for row in courses.rows("courses")]
    course_rows[0]["video"] = VIDEO
    sites = sample_sites(photo_dir)
    return [
        item(forms, 1, registration, CADRES),
        item(
            forms,
            2,
            with_answers(
                registration,
                name="覃美玲",
                birth="1982-07",
                service_start="2016-09",
                story=registration.text("story").replace("欧阳春兰", "覃美玲"),
            ),
            CADRES,
            version=2,
            status="accepted",
            selected=True,
        ),
        item(
            forms,
            3,
            with_answers(
                registration,
                name="周佳",
                cadre_level="乡镇（街道）妇联执委",
                story=registration.text("story").replace("欧阳春兰", "周佳"),
            ),
            CADRES,
            unit="城中区妇联",
            status="returned",
            at=datetime(2021, 5, 24, 2, 0, tzinfo=UTC),
        ),
        item(
            forms,
            4,
            with_answers(courses, courses=course_rows),
            COURSES,
            version=3,
            status="accepted",
            selected_rows=frozenset({1}),  # 推荐4号 第1节: courses are recommended one by one
        ),
        item(
            forms,
            5,
            with_answers(courses, courses=course_rows[1:3], contact_name_post=CHENGZHONG_CONTACT),
            COURSES,
            unit="城中区妇联",
        ),
        item(forms, 6, sites[0], SITES, at=datetime(2021, 8, 20, 9, 0, tzinfo=SHANGHAI)),
        item(forms, 7, sites[1], SITES, status="accepted"),
        item(forms, 8, sites[2], SITES, version=2, status="returned"),
        item(forms, 9, sites[3], SITES),
        item(forms, 10, sites[4], SITES),
    ]


@pytest.fixture(name="export", scope="module")
def export_fixture(items: list[ExportItem]) -> bytes:
    return build_export(items, STATUS, TASK_NAMES, CITY_LINES, GENERATED_AT)


@pytest.fixture(name="archive", scope="module")
def archive_fixture(export: bytes) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(export))


def docx_text(data: bytes) -> str:
    document = Document(io.BytesIO(data))
    return "".join(node.text or "" for node in document.element.body.iter(f"{W}t"))


def statistics_rows(data: bytes) -> list[list[str]]:
    document = Document(io.BytesIO(data))
    (table,) = document.tables
    return [[cell.text for cell in row.cells] for row in table.rows[1:]]


# --- the ZIP -----------------------------------------------------------------------------------------

SITE_NAMES = {
    6: "#6-第1版-柳州市鱼峰区螺蛳粉产业园（园区党委及入园生产、物流、电商企业）.docx",
    7: "#7-第1版-柳州市鱼峰区五星商业步行街商圈.docx",
    8: "#8-第2版-柳州市城中区东堤路女性自由职业者联合会.docx",
    9: "#9-第1版-柳东新区汽车产业园.docx",
    10: "#10-第1版-融水苗族自治县苗绣产业协会.docx",
}
DOCUMENTS = {
    1: f"鱼峰区妇联/{CADRES}/#1-第1版-欧阳春兰.docx",
    2: f"鱼峰区妇联/{CADRES}/#2-第2版-覃美玲.docx",
    3: f"城中区妇联/{CADRES}/#3-第1版-周佳.docx",
    4: f"鱼峰区妇联/{COURSES}/#4-第3版-{YUFENG_COURSES}.docx",
    5: f"城中区妇联/{COURSES}/#5-第1版-{CHENGZHONG_COURSES}.docx",
    6: f"鱼峰区妇联/{SITES}/{SITE_NAMES[6]}",
    7: f"鱼峰区妇联/{SITES}/{SITE_NAMES[7]}",
    8: f"城中区妇联/{SITES}/{SITE_NAMES[8]}",
    9: f"柳东新区党群工作部/{SITES}/{SITE_NAMES[9]}",
    10: f"融水苗族自治县妇联/{SITES}/{SITE_NAMES[10]}",
}
RECOMMENDED = {
    2: f"推荐上报/{CADRES}/鱼峰区妇联-#2-第2版-覃美玲.docx",
}
# 推荐4号 第1节: the selected course alone, in a form of its own.
RECOMMENDED_COURSE = f"推荐上报/{COURSES}/鱼峰区妇联-#4-第3版-第1节-《巧用“妇女议事会”化解邻里矛盾》.docx"
SITE_6 = "#6-柳州市鱼峰区螺蛳粉产业园（园区党委及入园生产、物流、电商企业）"
PHOTOS = {
    f"鱼峰区妇联/{CADRES}/#1-欧阳春兰-证件照.jpg",
    f"鱼峰区妇联/{CADRES}/#1-欧阳春兰-工作照.jpg",
    f"鱼峰区妇联/{CADRES}/#2-覃美玲-证件照.jpg",
    f"鱼峰区妇联/{CADRES}/#2-覃美玲-工作照.jpg",
    f"城中区妇联/{CADRES}/#3-周佳-证件照.jpg",
    f"城中区妇联/{CADRES}/#3-周佳-工作照.jpg",
    # the selected candidate's photos go with the form
    f"推荐上报/{CADRES}/鱼峰区妇联-#2-覃美玲-证件照.jpg",
    f"推荐上报/{CADRES}/鱼峰区妇联-#2-覃美玲-工作照.jpg",
}
UNIT_STATISTICS = {
    unit: f"{unit}/{SITES}/{unit}-{STATISTICS}.docx"
    for unit in ("城中区妇联", "鱼峰区妇联", "柳东新区党群工作部", "融水苗族自治县妇联")
}
CITY_STATISTICS = f"市妇联-{STATISTICS}.docx"


def test_the_zip_holds_every_document_in_its_unit_and_task_folder(archive: zipfile.ZipFile) -> None:
    expected = {
        *DOCUMENTS.values(),
        *RECOMMENDED.values(),
        RECOMMENDED_COURSE,
        *UNIT_STATISTICS.values(),
        CITY_STATISTICS,
        "汇总.xlsx",
        *PHOTOS,
    }
    site_photos = {name for name in archive.namelist() if f"/{SITES}/#" in name and "-照片" in name}
    assert set(archive.namelist()) - site_photos == expected
    assert len(site_photos) == 12 + 3 + 3 + 3 + 3, "every site photo, the 12 of #6 and 3 of the others"
    assert len(archive.namelist()) == len(expected) + len(site_photos)  # nothing twice


def test_a_kept_docx_is_copied_through_in_chunks_never_read_whole(
    forms: dict[str, FormDecl], photo_dir: Path, tmp_path: Path
) -> None:
    """A campaign's kept DOCX run to GBs together: each is copied from its file into the ZIP (twice
    when recommended) as photos are, never held in memory, and never printed again."""
    kept = tmp_path / "kept.docx"
    with kept.open("wb") as file:
        for _ in range(48):
            file.write(bytes(range(256)) * 4096)  # 48 MB
    recommended = replace(
        item(forms, 1, sample_record("cadre_registration", photo_dir), CADRES, selected=True), document=kept
    )

    def printing(record: FormRecord) -> bytes:
        raise AssertionError(f"{record.form_id} printed again though its DOCX is kept")

    tracemalloc.start()
    try:
        with (tmp_path / "export.zip").open("wb") as target:
            write_export_zip(target, [recommended], [], TASK_NAMES, [], GENERATED_AT, (), render=printing)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 1024 * 1024, f"{peak / 1024 / 1024:.0f} MB held while writing"
    with zipfile.ZipFile(tmp_path / "export.zip") as archive:
        copies = [name for name in archive.namelist() if name.endswith(".docx")]
        assert len(copies) == 2, copies  # its unit's folder and 推荐上报
        for name in copies:
            assert archive.getinfo(name).file_size == kept.stat().st_size
            with archive.open(name) as inside:
                assert inside.read(1024) == bytes(range(256)) * 4


def test_entries_are_sorted_with_utf8_names(archive: zipfile.ZipFile, export: bytes) -> None:
    names = archive.namelist()
    assert names == sorted(names)
    for info in archive.infolist():
        assert info.flag_bits & 0x800, info.filename  # Windows Explorer then shows the Chinese names
    assert DOCUMENTS[1].encode("utf-8") in export
    assert DOCUMENTS[1].encode("gbk") not in export


@pytest.mark.skipif(not shutil.which("unzip"), reason="Debian's unzip is missing: apt-get install unzip")
def test_debians_unzip_and_7zip_read_the_chinese_names(export: bytes, tmp_path: Path) -> None:
    zipped = tmp_path / "导出.zip"
    zipped.write_bytes(export)
    expected = set(zipfile.ZipFile(io.BytesIO(export)).namelist())
    tools = [["unzip", "-q", str(zipped), "-d"]]
    if shutil.which("7z"):
        tools.append(["7z", "x", "-bd", "-y", str(zipped)])
    for number, tool in enumerate(tools):
        folder = tmp_path / f"out-{number}"
        folder.mkdir()
        command = [*tool, str(folder)] if tool[0] == "unzip" else [*tool, f"-o{folder}"]
        subprocess.run(
            command, check=True, capture_output=True, env={"PATH": os.environ["PATH"], "LC_ALL": "C"}
        )
        found = {path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file()}
        assert found == expected, (tool[0], sorted(found - expected)[:3])


def test_every_document_opens_and_is_its_own_record(
    archive: zipfile.ZipFile, items: list[ExportItem]
) -> None:
    by_number = {entry.submission_id: entry for entry in items}
    expectations = {
        1: ("欧阳春兰", "覃美玲"),
        2: ("覃美玲", "欧阳春兰"),
        3: ("周佳", "覃美玲"),
        4: (YUFENG_CONTACT, CHENGZHONG_CONTACT),
        5: (CHENGZHONG_CONTACT, YUFENG_CONTACT),
    }
    for number, (present, absent) in expectations.items():
        text = docx_text(archive.read(DOCUMENTS[number]))
        assert present in text, number
        assert absent not in text, number
    for number in range(6, 11):
        record = by_number[number].record
        text = docx_text(archive.read(DOCUMENTS[number]))
        assert record.text("org_name") in text
        others = {by_number[n].record.text("org_name") for n in range(6, 11) if n != number}
        assert not any(other in text for other in others), number
    course_text = docx_text(archive.read(DOCUMENTS[4]))
    for row in by_number[4].record.rows("courses"):
        assert row["course_title"] in course_text
    assert by_number[4].record.rows("courses")[3]["course_title"] not in docx_text(archive.read(DOCUMENTS[5]))


def test_the_recommendations_are_copies_of_the_selected_submissions(archive: zipfile.ZipFile) -> None:
    recommended = {name for name in archive.namelist() if name.startswith("推荐上报/")}
    photos = {name for name in PHOTOS if name.startswith("推荐上报/")}
    assert recommended == {*RECOMMENDED.values(), RECOMMENDED_COURSE, *photos}
    for number, name in RECOMMENDED.items():
        assert archive.read(name) == archive.read(DOCUMENTS[number])
    for name in photos:
        assert archive.read(name) == archive.read(
            name.replace(f"推荐上报/{CADRES}/鱼峰区妇联-", f"鱼峰区妇联/{CADRES}/")
        )


def test_only_the_selected_course_is_recommended(archive: zipfile.ZipFile, items: list[ExportItem]) -> None:
    """推荐4号 第1节 of a table of ten courses: 推荐上报 holds a table of that course alone."""
    courses = items[3].record.rows("courses")
    text = docx_text(archive.read(RECOMMENDED_COURSE))
    assert courses[0]["course_title"] in text and courses[0]["speaker_name"] in text
    assert not any(course["course_title"] in text for course in courses[1:])
    assert YUFENG_CONTACT in text, "the rest of the table as the unit filled it"
    assert not [n for n in archive.namelist() if n.startswith(f"推荐上报/{COURSES}/城中区妇联")]


def test_every_stored_photo_is_in_the_export_as_it_was_sent(
    archive: zipfile.ZipFile, items: list[ExportItem]
) -> None:
    by_number = {entry.submission_id: entry for entry in items}
    for number, who in ((1, "欧阳春兰"), (2, "覃美玲")):
        record = by_number[number].record
        for key, label in (("id_photo", "证件照"), ("work_photo", "工作照")):
            stored = record.photo_path(record.answers[key])
            assert archive.read(f"鱼峰区妇联/{CADRES}/#{number}-{who}-{label}.jpg") == stored.read_bytes()
    site = by_number[6].record
    named = sorted(n for n in archive.namelist() if n.startswith(f"鱼峰区妇联/{SITES}/{SITE_6}-照片"))
    rows = site.rows("photos")
    assert len(named) == len(rows) == 12
    for number, (name, row) in enumerate(zip(named, rows, strict=True), start=1):
        assert name.startswith(f"鱼峰区妇联/{SITES}/{SITE_6}-照片{number:02d}-"), "in the form's order"
        assert row["caption"][:8] in name
        assert archive.read(name) == site.photo_path(row["photo"]).read_bytes()


def test_the_city_statistics_list_every_site_in_unit_order(
    archive: zipfile.ZipFile, items: list[ExportItem]
) -> None:
    by_number = {entry.submission_id: entry.record for entry in items}
    data = archive.read(CITY_STATISTICS)
    assert "报送单位：市妇联" in docx_text(data)
    assert "日期：2021年8月31日" in docx_text(data)
    rows = statistics_rows(data)
    # 城中区 first: units follow the status overview's order, then submission numbers.
    assert [row[1] for row in rows] == [by_number[n].text("federation_name") for n in (8, 6, 7, 9, 10)]
    assert [row[0] for row in rows] == ["1", "2", "3", "4", "5"]
    assert rows[0][4] == f"{by_number[8].text('chair_name')} {by_number[8].text('chair_phone')}"


def test_each_unit_has_its_own_statistics_in_its_sites_folder(
    archive: zipfile.ZipFile, items: list[ExportItem]
) -> None:
    by_number = {entry.submission_id: entry.record for entry in items}
    yufeng = archive.read(UNIT_STATISTICS["鱼峰区妇联"])
    assert "报送单位：鱼峰区妇联" in docx_text(yufeng)
    assert [row[1] for row in statistics_rows(yufeng)] == [
        by_number[6].text("federation_name"),
        by_number[7].text("federation_name"),
    ]
    liudong = statistics_rows(archive.read(UNIT_STATISTICS["柳东新区党群工作部"]))
    assert [row[1] for row in liudong] == [by_number[9].text("federation_name")]


def test_an_empty_export_still_has_the_city_statistics_and_the_workbook() -> None:
    archive = zipfile.ZipFile(io.BytesIO(build_export([], [], TASK_NAMES, [], GENERATED_AT)))
    assert archive.namelist() == ["市妇联-新领域建妇联示范点统计表.docx", "汇总.xlsx"]
    assert "（暂无示范点）" in docx_text(archive.read(CITY_STATISTICS))
    assert load_workbook(io.BytesIO(archive.read("汇总.xlsx"))).sheetnames == ["报送情况"]


# --- file names ----------------------------------------------------------------------------------------

FORBIDDEN = set('/\\:*?"<>|')

HOSTILE = [
    "../../etc/passwd",
    "a/b\\c:d*",
    "韦" * 300,
    "李\x07秀\x1b梅\u202e\u200b\n主席",
    "🌸巾帼🌸👩‍👩‍👧",
    "..",
    "CON",
]


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_summary_gives_a_safe_name_inside_its_folder(
    name: str, forms: dict[str, FormDecl], photo_dir: Path, tmp_path: Path
) -> None:
    # The course table is named by its courses' titles: free text, printed only in table cells.
    record = sample_record("course_recommendation", photo_dir)
    courses = [{**row, "course_title": name} for row in record.rows("courses")[:2]]
    record = with_answers(record, courses=courses)
    data = build_export(
        [item(forms, 1, record, COURSES, unit="城中区妇联")], [], TASK_NAMES, [], GENERATED_AT
    )
    archive = zipfile.ZipFile(io.BytesIO(data))
    (entry,) = [n for n in archive.namelist() if n.startswith("城中区妇联/")]
    unit, task, file_name = entry.split("/")
    assert (unit, task) == ("城中区妇联", COURSES)
    assert file_name.startswith("#1-第1版-") and file_name.endswith(".docx")
    summary = file_name.removeprefix("#1-第1版-").removesuffix(".docx")
    assert summary and len(summary) <= 40
    assert not FORBIDDEN & set(summary)
    assert not any(unicodedata.category(char) in ("Cc", "Cf") for char in summary)
    assert summary.strip(" .") == summary
    archive.extractall(tmp_path)
    written = [p.resolve().relative_to(tmp_path.resolve()).parts for p in tmp_path.rglob("*.docx")]
    assert sorted(written) == sorted([(CITY_STATISTICS,), ("城中区妇联", COURSES, file_name)])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("欧阳春兰", "欧阳春兰"),
        ("阿依古丽·买买提", "阿依古丽·买买提"),
        ("../../etc/passwd", "_.._etc_passwd"),
        ("a/b\\c:d*", "a_b_c_d_"),
        ('x?"<>|y', "x_____y"),
        ("  韦丽萍\t\n 主席  ", "韦丽萍 主席"),
        ("李\x00秀\x1f梅\u200b\u202e\ufeff", "李秀梅"),
        ("名字. . ", "名字"),
        ("..", "未命名"),
        (".", "未命名"),
        ("", "未命名"),
        ("\x00\x01 ", "未命名"),
        ("CON", "_CON"),
        ("nul.txt", "_nul.txt"),
        ("Com1", "_Com1"),
        ("CONTACT", "CONTACT"),
        ("🌸巾帼🌸", "🌸巾帼🌸"),
        ("韦" * 300, "韦" * 39 + "…"),
        ("韦" * 40, "韦" * 40),
        ("e\u0301", "é"),  # NFC, as macOS and Windows would compare them
    ],
)
def test_safe_file_name(text: str, expected: str) -> None:
    assert safe_file_name(text) == expected


def test_safe_file_name_limit() -> None:
    assert safe_file_name("abcdefgh", 4) == "abc…"
    assert safe_file_name("abc. defgh", 6) == "abc…"  # no dot or space left before the cut mark
    with pytest.raises(ValueError, match="limit"):
        safe_file_name("abc", 0)


@given(st.text(max_size=200), st.integers(min_value=1, max_value=80))
def test_safe_file_name_is_always_one_safe_component(text: str, limit: int) -> None:
    name = safe_file_name(text, limit)
    assert 0 < len(name) <= limit
    assert name not in (".", "..")
    assert not FORBIDDEN & set(name)
    assert not any(unicodedata.category(char) in ("Cc", "Cf", "Cs", "Co", "Cn") for char in name)
    assert name == name.strip(" .")
    name.encode("utf-8")


# --- the workbook ------------------------------------------------------------------------------------

LEADING = ["编号", "版本", "单位", "状态", "是否推荐", "提交时间"]


@pytest.fixture(name="workbook", scope="module")
def workbook_fixture(archive: zipfile.ZipFile) -> Any:
    return load_workbook(io.BytesIO(archive.read("汇总.xlsx")))


def rows_of(sheet: Worksheet) -> list[dict[str, Any]]:
    header, *rows = list(sheet.iter_rows(values_only=True))
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_the_workbook_has_the_status_sheet_then_one_sheet_per_form(workbook: Any) -> None:
    assert workbook.sheetnames == ["报送情况", "登记表", "课程推荐表", "示范点申报表"]


def test_headers_are_the_submission_columns_and_every_field_label(
    workbook: Any, forms: dict[str, FormDecl]
) -> None:
    def header(title: str) -> list[str]:
        return [cell.value for cell in workbook[title][1]]

    registration = [field.label for field in forms["cadre_registration"].all_fields()]
    assert header("登记表") == LEADING + registration
    assert registration[:3] == ["姓名", "性别", "出生年月"] and registration[-2:] == ["证件照", "工作照"]

    course_form = forms["course_recommendation"]
    course_labels = [field.label for field in course_form.group("courses").fields]
    assert header("课程推荐表") == [
        *LEADING,
        "推荐课程序号",
        *course_labels,
        "具体负责人姓名及职务",
        "联系电话",
    ]
    assert course_labels[0] == "课程名称"

    site_top = [field.label for field in forms["site_application"].top_fields()]
    assert header("示范点申报表") == LEADING + site_top + ["照片数", "照片文件", "照片说明", "提示"]
    assert site_top[0] == "申报单位名称" and "创建时间" in site_top


def test_one_row_per_submission_in_unit_order(workbook: Any) -> None:
    assert [row["编号"] for row in rows_of(workbook["登记表"])] == [3, 1, 2]
    assert [row["编号"] for row in rows_of(workbook["示范点申报表"])] == [8, 6, 7, 9, 10]


def test_one_row_per_course_repeating_the_submission_columns(workbook: Any, items: list[ExportItem]) -> None:
    rows = rows_of(workbook["课程推荐表"])
    assert [(row["编号"], row["推荐课程序号"]) for row in rows] == [(5, 1), (5, 2)] + [
        (4, n) for n in range(1, 11)
    ]
    yufeng = [row for row in rows if row["编号"] == 4]
    courses = items[3].record.rows("courses")
    assert [row["课程名称"] for row in yufeng] == [course["course_title"] for course in courses]
    assert {(row["版本"], row["单位"], row["状态"]) for row in yufeng} == {(3, "鱼峰区妇联", "已接收")}
    assert [row["是否推荐"] for row in yufeng] == ["是"] + ["否"] * 9, "推荐4号 第1节: that course only"
    assert {row["是否推荐"] for row in rows if row["编号"] == 5} == {"否"}
    assert {row["具体负责人姓名及职务"] for row in yufeng} == {YUFENG_CONTACT}
    assert yufeng[0]["主讲人出生年月"] == "1982年7月"
    assert yufeng[0]["主要内容"] == courses[0]["summary"]  # long text in full
    assert yufeng[0]["课程视频"] == "已上传视频（5分02秒）"
    assert yufeng[1]["课程视频"] is None  # skipped: blank
    assert rows[0]["课程名称"] == courses[1]["course_title"]  # 城中区's table has courses 2 and 3


def test_registration_values_are_written_for_people(workbook: Any) -> None:
    sheet = workbook["登记表"]
    rows = {row["编号"]: row for row in rows_of(sheet)}
    first = rows[1]
    assert first["姓名"] == "欧阳春兰"
    assert first["出生年月"] == "1979年8月"
    assert first["开始从事妇联工作的时间"] == "2014年3月"
    assert first["联系电话"] == "13978012345" and first["邮编"] == "545116"  # text, not numbers
    assert (first["证件照"], first["工作照"]) == ("#1-欧阳春兰-证件照.jpg", "#1-欧阳春兰-工作照.jpg")
    assert (first["状态"], first["是否推荐"], first["版本"]) == ("待审核", "否", 1)
    assert (rows[2]["状态"], rows[2]["是否推荐"], rows[2]["版本"]) == ("已接收", "是", 2)
    assert rows[3]["状态"] == "已退回修改"
    assert rows[3]["执委层级"] == "乡镇（街道）妇联执委"
    assert first["提交时间"] == datetime(2021, 5, 20, 10, 15)
    assert rows[3]["提交时间"] == datetime(2021, 5, 24, 10, 0)  # 02:00 UTC shown in 柳州's time
    time_cell = sheet.cell(row=2, column=LEADING.index("提交时间") + 1)
    assert "年" in time_cell.number_format and "hh:mm" in time_cell.number_format


def test_site_values_numbers_dates_and_photos(
    workbook: Any, items: list[ExportItem], archive: zipfile.ZipFile
) -> None:
    rows = {row["编号"]: row for row in rows_of(workbook["示范点申报表"])}
    full = rows[6]
    assert full["单位人数"] == 1260 and isinstance(full["单位人数"], int)
    assert full["副主席人数"] == 3 and full["执委人数"] == 15
    assert full["创建时间"] == "2021年6月18日"
    assert full["照片数"] == 12
    captions = [row["caption"] for row in items[5].record.rows("photos")]
    assert full["照片说明"] == "；".join(captions)
    assert rows[7]["照片数"] == 3
    names = full["照片文件"].split("；")
    assert len(names) == 12 and all(name.startswith(f"{SITE_6}-照片") for name in names)
    assert {f"鱼峰区妇联/{SITES}/{name}" for name in names} <= set(archive.namelist())
    assert rows[7]["照片说明"].count("；") == 2
    assert rows[8]["创建时间"] == "2021年5月28日"
    assert rows[9]["妇联主席姓名"] == "阿依古丽·买买提"


def test_the_status_sheet_lists_units_then_the_city(workbook: Any) -> None:
    values = list(workbook["报送情况"].iter_rows(values_only=True))
    assert values[0] == ("单位", CADRES, COURSES, SITES, "退回待改")
    assert values[1] == ("城中区妇联", "1/2", "2/≥2", "1/≥1", 1)
    assert values[2] == ("鱼峰区妇联", "2/2", "10/≥2", "2/≥1", 0)
    assert values[3][0] == "柳东新区党群工作部" and values[3][2] in (None, "")
    assert values[5] == (None,) * 5
    assert [row[0] for row in values[6:]] == ["全市情况", *CITY_LINES, "导出时间：2021年8月31日 16:30"]


def test_headers_are_bold_and_frozen_with_sensible_widths(workbook: Any) -> None:
    for sheet in workbook.worksheets:
        assert sheet.freeze_panes == "A2", sheet.title
        assert all(cell.font.bold for cell in sheet[1] if cell.value), sheet.title
        assert not any(cell.font.bold for cell in sheet[2]), sheet.title
    for sheet in workbook.worksheets[1:]:  # the form sheets can be filtered on every column
        assert sheet.auto_filter.ref == f"A1:{get_column_letter(sheet.max_column)}{sheet.max_row}"
    sheet = workbook["登记表"]
    width = {cell.value: sheet.column_dimensions[cell.column_letter].width for cell in sheet[1]}
    assert width["主要事迹"] <= 50
    assert width["主要事迹"] > width["性别"]
    assert width["单位"] >= 2 * len("城中区妇联")


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ('=HYPERLINK("http://example.com","点我")', '=HYPERLINK("http://example.com","点我")'),
        ("\x01=SUM(1,2)", "=SUM(1,2)"),  # a formula only once the control character is dropped
    ],
)
def test_text_that_looks_like_a_formula_stays_text(
    forms: dict[str, FormDecl], photo_dir: Path, typed: str, shown: str
) -> None:
    record = with_answers(sample_record("cadre_registration", photo_dir), name=typed)
    data = export_workbook([item(forms, 1, record, CADRES)], [], TASK_NAMES, [], GENERATED_AT)
    assert load_workbook(io.BytesIO(data))["登记表"]["G2"].value == shown
    sheet_xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet2.xml")
    assert b"<f>" not in sheet_xml and shown[1:4].encode() in sheet_xml


# --- determinism and checks --------------------------------------------------------------------------


def test_the_same_inputs_give_the_same_bytes(export: bytes, items: list[ExportItem]) -> None:
    assert build_export(items, STATUS, TASK_NAMES, CITY_LINES, GENERATED_AT) == export
    assert build_export(items[::-1], STATUS, TASK_NAMES, CITY_LINES, GENERATED_AT) == export


def test_every_timestamp_comes_from_generated_at(archive: zipfile.ZipFile, items: list[ExportItem]) -> None:
    stamp = (2021, 8, 31, 16, 30, 10)
    assert {info.date_time for info in archive.infolist()} == {stamp}
    workbook = zipfile.ZipFile(io.BytesIO(archive.read("汇总.xlsx")))
    assert {info.date_time for info in workbook.infolist()} == {stamp}
    core = workbook.read("docProps/core.xml").decode()
    assert core.count("2021-08-31T08:30:10Z") == 2  # created and modified, in UTC

    later = datetime(2022, 1, 2, 3, 4, 6, tzinfo=SHANGHAI)
    again = zipfile.ZipFile(io.BytesIO(build_export(items, STATUS, TASK_NAMES, CITY_LINES, later)))
    assert {info.date_time for info in again.infolist()} == {(2022, 1, 2, 3, 4, 6)}
    assert (
        "2022-01-01T19:04:06Z"
        in zipfile.ZipFile(io.BytesIO(again.read("汇总.xlsx"))).read("docProps/core.xml").decode()
    )


def test_impossible_inputs_are_refused(items: list[ExportItem], forms: dict[str, FormDecl]) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        build_export(items, STATUS, TASK_NAMES, CITY_LINES, datetime(2021, 8, 31, 16, 30))
    with pytest.raises(ValueError, match="#1 appears twice"):
        build_export([items[0], items[0]], STATUS, TASK_NAMES, CITY_LINES, GENERATED_AT)
    with pytest.raises(ValueError, match="but a record of"):
        build_export([replace(items[0], form=forms["site_application"])], [], TASK_NAMES, [], GENERATED_AT)
    naive = replace(items[0], submitted_at=datetime(2021, 5, 20, 10, 15))
    with pytest.raises(ValueError, match="submitted_at"):
        export_workbook([naive], [], TASK_NAMES, [], GENERATED_AT)
