"""The longest forms through LibreOffice: page counts as intended and every printed value in the PDF.

One conversion per form (each takes a few seconds). Skipped, with the reason shown, where
LibreOffice or poppler is not installed.
"""

from __future__ import annotations

import io
import itertools
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from docx import Document
from docx.oxml.ns import qn
from lxml import etree

from renderers import docx_to_pdf, pdf_to_pngs, render_form, render_site_statistics, sample_sites
from renderers.records import FormRecord, chinese_date, chinese_stored_date, chinese_year_month
from tests.fixtures.renderer_records import max_courses, max_registration, max_site

_MISSING = [
    tool for tool in ("soffice", "pdftotext", "pdfinfo", "pdffonts", "pdftoppm") if not shutil.which(tool)
]
pytestmark = pytest.mark.skipif(
    bool(_MISSING),
    reason=f"{', '.join(_MISSING)} not installed: "
    "apt-get install libreoffice-writer-nogui fonts-noto-cjk poppler-utils",
)


_XHTML = "{http://www.w3.org/1999/xhtml}"
_PT_PER_TWIP = 1 / 20


@dataclass(frozen=True)
class Line:
    """One line of text as poppler found it on a page, with its horizontal extent in points."""

    page: int
    x_min: float
    x_max: float
    y_min: float
    text: str


@dataclass(frozen=True)
class Converted:
    docx: bytes
    pdf: Path
    pages: list[str]  # the text of each page
    lines: list[Line]

    @property
    def text(self) -> str:
        return squash("".join(self.pages))

    def between(self, left_pt: float, right_pt: float) -> str:
        """The text of the lines centred between two x positions, top to bottom, page by page.

        Side-by-side cells (a label beside a long text) come out interleaved line by line in plain
        ``pdftotext``; taking one column at a time gives each value back whole.
        """
        inside = [line for line in self.lines if left_pt <= (line.x_min + line.x_max) / 2 < right_pt]
        return "".join(line.text for line in sorted(inside, key=lambda line: (line.page, line.y_min)))

    def column_edges(self, table_index: int) -> list[float]:
        """The x positions (points) of a table's grid lines, read from the DOCX it came from."""
        document = Document(io.BytesIO(self.docx))
        section = document.sections[-1]
        table = document.tables[table_index]
        widths = [
            int(col.get(qn("w:w"))) * _PT_PER_TWIP for col in table._tbl.tblGrid.iterchildren(qn("w:gridCol"))
        ]
        text_width = (section.page_width - section.left_margin - section.right_margin) / 12700
        x = section.left_margin / 12700 + (text_width - sum(widths)) / 2
        edges = [x]
        for width in widths:
            x += width
            edges.append(x)
        return edges


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def convert(data: bytes, name: str, directory: Path) -> Converted:
    docx = directory / f"{name}.docx"
    docx.write_bytes(data)
    pdf = docx_to_pdf(docx, directory)
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(pdf), "-"], capture_output=True, text=True, check=True
    )
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    (count,) = re.findall(r"^Pages:\s+(\d+)$", info, flags=re.MULTILINE)
    pages = text.stdout.split("\f")[: int(count)]
    assert len(pages) == int(count)
    return Converted(data, pdf, pages, pdf_lines(pdf))


def pdf_lines(pdf: Path) -> list[Line]:
    layout = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-bbox-layout", str(pdf), "-"], capture_output=True, check=True
    ).stdout
    root = etree.fromstring(layout, etree.XMLParser(recover=True))
    lines = []
    for number, page in enumerate(root.iter(f"{_XHTML}page"), start=1):
        for line in page.iter(f"{_XHTML}line"):
            words = "".join(word.text or "" for word in line.iter(f"{_XHTML}word"))
            box = {key: float(line.get(key)) for key in ("xMin", "xMax", "yMin")}
            lines.append(Line(number, box["xMin"], box["xMax"], box["yMin"], words))
    return lines


@pytest.fixture(name="photo_dir", scope="module")
def photo_dir_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("photos")


@pytest.fixture(name="out_dir", scope="module")
def out_dir_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pdf")


@pytest.fixture(name="registration", scope="module")
def registration_fixture(photo_dir: Path) -> FormRecord:
    return max_registration(photo_dir)


@pytest.fixture(name="registration_pdf", scope="module")
def registration_pdf_fixture(registration: FormRecord, out_dir: Path) -> Converted:
    return convert(render_form(registration), "registration", out_dir)


@pytest.fixture(name="courses", scope="module")
def courses_fixture(photo_dir: Path) -> FormRecord:
    return max_courses(photo_dir)


@pytest.fixture(name="courses_pdf", scope="module")
def courses_pdf_fixture(courses: FormRecord, out_dir: Path) -> Converted:
    return convert(render_form(courses), "courses", out_dir)


@pytest.fixture(name="site", scope="module")
def site_fixture(photo_dir: Path) -> FormRecord:
    return max_site(photo_dir)


@pytest.fixture(name="site_pdf", scope="module")
def site_pdf_fixture(site: FormRecord, out_dir: Path) -> Converted:
    return convert(render_form(site), "site", out_dir)


def assert_all_present(text: str, values: list[str]) -> None:
    missing = [value for value in values if squash(value) not in text]
    assert not missing, missing


def assert_fonts_embedded(pdf: Path) -> None:
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    rows = fonts.splitlines()[2:]
    assert rows
    assert any("CJK" in row for row in rows), fonts
    assert all(row.split()[-5] == "yes" for row in rows), fonts  # the "emb" column


def test_registration_is_a_cover_and_at_most_two_pages(
    registration: FormRecord, registration_pdf: Converted
) -> None:
    cover, *table_pages = registration_pdf.pages
    assert 1 <= len(table_pages) <= 2
    assert squash(cover).startswith("广西“最美基层妇联干部”登记表")
    assert "广西壮族自治区妇女联合会制" in squash(cover)
    assert "主要事迹" not in cover
    assert squash(table_pages[0]).startswith("姓名")
    assert "广西壮族自治区妇女联合会制" not in "".join(table_pages)
    assert squash("".join(table_pages)).count("年月日（盖章）") == 2


def test_registration_prints_every_value_whole(registration: FormRecord, registration_pdf: Converted) -> None:
    a = registration.answers
    assert_all_present(
        registration_pdf.text,
        [
            "市（县、区）：柳州市鱼峰区",
            f"单位：{registration.unit_name}",
            chinese_date(registration.submitted_on),
        ],
    )
    edges = registration_pdf.column_edges(1)
    values = registration_pdf.between(edges[1], edges[-1])
    assert_all_present(
        values,
        [
            a["name"],
            a["gender"],
            chinese_year_month(a["birth"]),
            a["ethnicity"],
            a["education"],
            a["political_status"],
            a["employer_post"],
            a["address"],
            a["postcode"],
            a["phone"],
            a["story"],
        ],
    )
    assert squash(a["story"]) + "年月日（盖章）年月日（盖章）" in values
    assert_fonts_embedded(registration_pdf.pdf)


def test_course_recommendation_pages_and_values(courses: FormRecord, courses_pdf: Converted) -> None:
    assert 3 <= len(courses_pdf.pages) <= 4
    for page in courses_pdf.pages:
        assert "课程名称" in page and "单位及职务" in page  # the header rows repeat
    assert_all_present(
        courses_pdf.text,
        [
            "2021年“桂姐姐履职小课堂”课程推荐表",
            f"推荐单位（盖章）：{courses.unit_name}",
            "审核人：（签字）",
            f"具体负责人姓名及职务：{courses.answers['contact_name_post']}",
            f"联系电话：{courses.answers['contact_phone']}",
        ],
    )
    edges = courses_pdf.column_edges(0)
    columns = [courses_pdf.between(left, right) for left, right in itertools.pairwise(edges)]
    for course in courses.answers["courses"]:
        cells = (
            course["course_title"],
            course["teaching_form"],
            course["summary"],
            course["speaker_name"],
            chinese_year_month(course["speaker_birth"]),
            course["speaker_post"],
        )
        for column, value in zip(columns, cells, strict=True):
            assert_all_present(column, [value])
    assert_fonts_embedded(courses_pdf.pdf)


def test_site_application_pages_and_values(site: FormRecord, site_pdf: Converted) -> None:
    assert len(site_pdf.pages) <= 4
    pages = [squash(page) for page in site_pdf.pages]
    table_end = next(i for i, page in enumerate(pages) if "市妇联审核意见" in page)
    appendix = next(i for i, page in enumerate(pages) if page.startswith("图片及说明（续）"))
    assert table_end <= 1 and appendix == table_end + 1
    a = site.answers
    assert_all_present(
        site_pdf.text, [f"填报单位：{site.unit_name}", f"填报时间：{chinese_date(site.submitted_on)}"]
    )
    edges = site_pdf.column_edges(0)
    values = site_pdf.between(edges[1], edges[-1])
    assert_all_present(
        values,
        [
            a["org_name"],
            f"{a['staff_count']}人",
            f"{a['female_count']}人",
            a["leader_name"],
            a["leader_phone"],
            a["filler_name"],
            a["filler_phone"],
            a["situation"],
        ],
    )
    assert "单位（公章）：年月日" * 3 in values  # the three stamp areas, blank
    captions = [f"图{number}　{row['caption']}" for number, row in enumerate(a["photos"], start=1)]
    middle = edges[3]  # the photos sit two to a row, either side of this grid line
    assert_all_present(site_pdf.between(edges[1], middle), captions[0:4:2])
    assert_all_present(site_pdf.between(middle, edges[-1]), captions[1:4:2])
    appendix_edges = site_pdf.column_edges(1)
    assert_all_present(site_pdf.between(appendix_edges[0], appendix_edges[1]), captions[4::2])
    assert_all_present(site_pdf.between(appendix_edges[1], appendix_edges[2]), captions[5::2])
    assert_fonts_embedded(site_pdf.pdf)
    assert len(pdf_to_pngs(site_pdf.pdf, site_pdf.pdf.parent / "png", dpi=30)) == len(site_pdf.pages)


def test_city_statistics_on_one_page(photo_dir: Path, out_dir: Path) -> None:
    sites = sample_sites(photo_dir)
    converted = convert(render_site_statistics("市妇联", sites, date(2021, 8, 31)), "statistics", out_dir)
    assert len(converted.pages) == 1
    assert_all_present(converted.text, ["报送单位：市妇联", "日期：2021年8月31日"])
    edges = converted.column_edges(0)
    columns = [converted.between(left, right) for left, right in itertools.pairwise(edges)]
    expected = [
        "".join(str(number) for number in range(1, len(sites) + 1)),
        "".join(site.answers["federation_name"] for site in sites),
        "".join(str(site.answers["committee_count"]) for site in sites),
        "".join(str(site.answers["vice_chair_count"]) for site in sites),
        "".join(site.answers["chair_name"] + site.answers["chair_phone"] for site in sites),
        "".join(chinese_stored_date(site.answers["founded_on"]) for site in sites),
    ]
    for column, values, header in zip(
        columns,
        expected,
        ("序号", "新建妇联组织名称", "执委人数", "副主席人数", "妇联主席姓名及电话", "创建时间"),
        strict=True,
    ):
        assert column.endswith(squash(header + values))
