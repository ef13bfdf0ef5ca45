"""A table read across: column heads over rows of labels, one blank where each row crosses each
column. A table of figures (项目 | 2020年 | 2021年 over 妇女人数 | 执委人数, or 类别 × 男 | 女) asks one
number a blank, named by row and column and printed in that blank; the import report lists the grid.
Until issue 23's figures round the column heads were read as labels of the first row's blanks and the
row labels were left unused. The same layout with the questions in the columns (姓名 | 手机号 over
第一指导老师) or in the rows (肝类 | 痢疾 over 患病时间), as on real forms, is read the same way."""

from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from docx import Document

from bot.app import assemble_engine, load_declarations
from bot.settings import Settings
from dialogs.declarations import FieldDecl
from renderers.word_import import import_report
from renderers.word_template import fill_word_form
from tests.conftest import Chat, FakeClock, document_path, sqlite_repository
from tests.fixtures import word_forms
from tests.fixtures.imported_campaign import campaign_with_form
from tests.fixtures.word_forms import Span
from tests.test_word_form_campaign import FAMILY_TASK
from tests.test_word_form_reader import layout
from tests.test_word_import_layouts import assert_rest_untouched, cells, filled, form_of, imported
from tests.test_word_template import _pages, record_for


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        pytest.param(
            [["项目", "2020年", "2021年"], ["妇女人数", "", ""], ["执委人数", "", ""]],
            [
                "T1R2C2 数字表格“项目” 妇女人数|执委人数 × 2020年|2021年",
                *("T1R2C2 妇女人数（2020年） figure", "T1R2C3 妇女人数（2021年） figure"),
                *("T1R3C2 执委人数（2020年） figure", "T1R3C3 执委人数（2021年） figure"),
            ],
            id="counts-by-year",
        ),
        pytest.param(
            [["类别", "男", "女"], ["妇联干部", "", ""]],
            [
                "T1R2C2 数字表格“类别” 妇联干部 × 男|女",
                "T1R2C2 妇联干部（男） figure",
                "T1R2C3 妇联干部（女） figure",
            ],
            id="category-by-sex",
        ),
        pytest.param(
            [["", "合计", "其中女性"], ["执委", "", ""]],
            [
                "T1R2C2 数字表格“数字表格” 执委 × 合计|其中女性",
                "T1R2C2 执委（合计） figure",
                "T1R2C3 执委（其中女性） figure",
            ],
            id="blank-corner",
        ),
        pytest.param(
            [["项目", "2020年", "2021年"], ["主要工作", "", ""]],
            ["T1R1C1 未识别“项目”", "T1R2C2 2020年 text", "T1R2C3 2021年 text", "T1R2C1 未识别“主要工作”"],
            id="text-under-years-is-no-table-of-figures",
        ),
        pytest.param(
            [["项目", "是", "否"], ["是否执委", "", ""]],
            ["T1R2C2 是否执委 choice 是/否"],
            id="yes-no-columns-stay-answers",
        ),
        pytest.param(
            [["姓名", "人数", "金额"], ["", "", ""], ["", "", ""]],
            ["T1R2C1 表格“姓名、人数、金额” 姓名|人数|金额 ×2"],
            id="blank-rows-stay-a-repeating-table",
        ),
        pytest.param(
            [["项目", "2021年", "2022年"], ["妇女人数", "", ""], ["填表人", Span("", cols=2)]],
            [
                "T1R2C2 数字表格“项目” 妇女人数 × 2021年|2022年",
                *("T1R2C2 妇女人数（2021年） figure", "T1R2C3 妇女人数（2022年） figure"),
                "T1R3C2 填表人 text",
            ],
            id="the-grid-ends-where-the-columns-change",
        ),
    ],
)
def test_a_table_of_figures_is_a_number_in_each_cell(rows: list[word_forms.Row], expected: list[str]) -> None:
    assert layout([3.0] * 3, rows) == expected


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        pytest.param(
            [
                [Span("指导教师", rows=3), "", "姓名", "手机号", "邮箱"],
                ["第一指导老师", "", "", ""],
                ["第二指导老师", "", "", ""],
            ],
            [
                "T1R2C3 行列表格“指导教师” 第一指导老师|第二指导老师 × 姓名|手机号|邮箱",
                *(
                    "T1R2C3 第一指导老师姓名 text",
                    "T1R2C4 第一指导老师手机号 text",
                    "T1R2C5 第一指导老师邮箱 text",
                ),
                *(
                    "T1R3C3 第二指导老师姓名 text",
                    "T1R3C4 第二指导老师手机号 text",
                    "T1R3C5 第二指导老师邮箱 text",
                ),
            ],
            id="the-columns-ask-the-rows-say-whose",
        ),
        pytest.param(
            [[Span("既往病史", rows=2), "病名", "肝类", "痢疾", "伤寒"], ["患病时间", "", "", ""]],
            [
                "T1R2C3 行列表格“既往病史” 患病时间 × 肝类|痢疾|伤寒",
                *("T1R2C3 肝类患病时间 text", "T1R2C4 痢疾患病时间 text", "T1R2C5 伤寒患病时间 text"),
            ],
            id="the-rows-ask-the-columns-say-which",
        ),
        pytest.param(
            [["", "党员", "团员", "群众", "其他"], ["政治面貌", "", "", "", ""]],
            [
                "T1R1C2 未识别“党员”",
                "T1R2C3 团员 text",
                "T1R2C4 群众 text",
                "T1R2C5 其他 text",
                "T1R2C2 政治面貌 text",
            ],
            id="a-choice-under-its-options-is-no-table-read-across",  # read as before this rule
        ),
    ],
)
def test_a_table_read_across_names_each_blank_by_its_row_and_column(
    rows: list[word_forms.Row], expected: list[str]
) -> None:
    assert layout([3.0] * 5, rows)[: len(expected)] == expected


def test_the_questions_of_a_table_read_across_are_checked_as_their_column_says() -> None:
    rows: list[word_forms.Row] = [
        [Span("指导教师", rows=3), "", "姓名", "手机号", "邮箱"],
        ["第一指导老师", "", "", ""],
        ["第二指导老师", "", "", ""],
    ]
    form = imported(form_of([3.0] * 5, rows))
    fields = [step for step in form.form.steps if isinstance(step, FieldDecl)]
    assert [(f.label, f.validator) for f in fields[:3]] == [
        ("第一指导老师姓名", "person_name"),
        ("第一指导老师手机号", "mobile"),
        ("第一指导老师邮箱", "email"),
    ]
    assert (
        "  表1第2行“指导教师”起：行 第一指导老师、第二指导老师 × 列 姓名、手机号、邮箱，共 6 格"
        in import_report(form).splitlines()
    )


def test_units_written_in_a_row_make_its_cells_amounts() -> None:
    form = imported(form_of([4.0, 3.0, 3.0], [["指标", "2020年", "2021年"], ["经费投入（万元）", "", ""]]))
    fields = [step for step in form.form.steps if isinstance(step, FieldDecl)]
    assert [(f.label, f.validator, f.params.get("unit")) for f in fields] == [
        ("经费投入（2020年）", "amount", "万元"),
        ("经费投入（2021年）", "amount", "万元"),
    ]


STATISTICS = [
    ["项目", "2020年", "2021年"],
    ["妇女人数", "", ""],
    ["执委人数", "", ""],
    ["培训次数", "", ""],
]
SEX = [["类别", "男", "女"], ["村（社区）执委", "", ""], ["乡镇（街道）执委", "", ""]]


def _statistics_form() -> bytes:
    document = word_forms._new_document()
    word_forms._title(document, "妇联组织建设情况统计表")
    word_forms.grid_table(document, [5.0, 4.0, 4.0], STATISTICS)
    document.add_paragraph()
    word_forms.grid_table(document, [5.0, 4.0, 4.0], SEX)
    return word_forms._bytes(document)


def test_the_report_lists_the_grid_and_each_cell_is_asked_and_filled() -> None:
    blank = _statistics_form()
    form = imported(blank)
    report = import_report(form).splitlines()
    assert report[1:4] == [
        " 1. 妇女人数（2020年）（整数（0-10000000），必填）",
        " 2. 妇女人数（2021年）（整数（0-10000000），必填）",
        " 3. 执委人数（2020年）（整数（0-10000000），必填）",
    ]
    assert "数字表格（行与列交叉的每个空格问一个数，填在该格）：" in report
    assert "  表1第2行“项目”起：行 妇女人数、执委人数、培训次数 × 列 2020年、2021年，共 6 格" in report
    assert "  表2第2行“类别”起：行 村（社区）执委、乡镇（街道）执委 × 列 男、女，共 4 格" in report
    assert "未作为问题" not in "\n".join(report), "no head or row label is left over"
    assert "没有对应的格式检查" not in "\n".join(report), "every cell is a number"
    fields = [step for step in form.form.steps if isinstance(step, FieldDecl)]
    answers: dict[str, Any] = {field.key: number for number, field in enumerate(fields, start=101)}
    document = filled(blank, form.form, answers, {})
    assert cells(document) == [
        ["项目", "2020年", "2021年"],
        ["妇女人数", "101", "102"],
        ["执委人数", "103", "104"],
        ["培训次数", "105", "106"],
    ]
    table = document.tables[1]
    assert [[c.text for c in row.cells] for row in table.rows] == [
        ["类别", "男", "女"],
        ["村（社区）执委", "107", "108"],
        ["乡镇（街道）执委", "109", "110"],
    ]
    assert_rest_untouched(blank, document, form.form)


STATISTICS_TASK = FAMILY_TASK.replace("最美家庭推荐", "妇联组织建设情况统计").replace(
    "family_form", "statistics_form"
)


def test_a_contact_fills_a_table_of_figures_over_the_console(
    sqlite_template: Path, tmp_path: Path, clock: FakeClock
) -> None:
    campaign = campaign_with_form(
        tmp_path / "campaign",
        STATISTICS_TASK,
        _statistics_form(),
        "妇联组织建设情况统计表.docx",
        "statistics_form",
    )
    declarations = load_declarations(Settings(campaign_file=campaign))
    repository = sqlite_repository(sqlite_template, tmp_path, declarations)
    try:
        engine = assemble_engine(declarations, repository, clock)
        chat = Chat(engine, unit_code="yufeng")
        chat.send("/new")
        chat.send(next(option for option in chat.options if option.startswith("妇联组织建设情况统计")))
        assert "妇女人数（2020年）" in chat.text
        said = chat.send("很多")
        assert "妇女人数（2020年）" in said and "integer" not in said, said  # asked again, in Chinese
        for answer in ["1,200", "１３５０", "15", "17人", "4", "6", "9", "11", "3", "5"]:
            chat.send(answer)
        chat.send("确认提交")
        assert "已提交" in chat.text, chat.text
        sent = next(reply for reply in chat.replies if reply.document is not None)
        document = Document(io.BytesIO(document_path(engine, sent).read_bytes()))
        assert cells(document)[1:] == [
            ["妇女人数", "1200", "1350"],
            ["执委人数", "15", "17"],
            ["培训次数", "4", "6"],
        ]
        assert [[c.text for c in row.cells] for row in document.tables[1].rows][1:] == [
            ["村（社区）执委", "9", "11"],
            ["乡镇（街道）执委", "3", "5"],
        ]
    finally:
        repository.engine.dispose()


@pytest.mark.skipif(
    shutil.which("soffice") is None or shutil.which("pdfinfo") is None, reason="LibreOffice not installed"
)
def test_libreoffice_opens_the_filled_table_of_figures_at_one_page(tmp_path: Path) -> None:
    blank = _statistics_form()
    form = imported(blank).form
    (tmp_path / "blank.docx").write_bytes(blank)
    (tmp_path / "filled.docx").write_bytes(
        fill_word_form(form, blank, record_for(form, tmp_path, extra_rows=0))
    )
    profile = tmp_path / "profile"
    subprocess.run(
        ["soffice", f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
         "--convert-to", "pdf", "--outdir", str(tmp_path / "pdf"),
         str(tmp_path / "blank.docx"), str(tmp_path / "filled.docx")],
        capture_output=True, timeout=600, check=True,
    )  # fmt: skip
    assert (_pages(tmp_path / "pdf" / "blank.pdf"), _pages(tmp_path / "pdf" / "filled.pdf")) == (1, 1)
