"""Layouts the Word import read wrongly until issue 23's last round: a photo cell with no label, labels
split over two cells or written one character per line, options printed in table cells, and labels
that ask two things at once. Each form is written here with python-docx; its import report is checked
line by line and the filled file read back cell by cell."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from docx import Document
from docx.document import Document as DocxDocument

from bot.app import assemble_engine, load_declarations
from bot.settings import Settings
from dialogs.declarations import FieldDecl, FormDecl, load_form
from dialogs.validators import TEXT_VALIDATORS, Accepted, ValidationContext
from renderers.records import FormRecord
from renderers.samples import store_photo_bytes
from renderers.word_form_reader import RowGroup, read_form
from renderers.word_grid import find_cell, read_grids
from renderers.word_import import ImportedForm, import_report, import_word_form, write_import
from renderers.word_template import fill_word_form, template_renderer
from renderers.word_vocabulary import COMPOUND_TEXT, DEFAULT_LONG_TEXT, DEFAULT_SHORT_TEXT, infer, label_parts
from tests.conftest import Chat, FakeClock, document_path, sqlite_repository
from tests.fixtures import word_forms
from tests.fixtures.imported_campaign import campaign_with_form
from tests.fixtures.renderer_records import photo_bytes
from tests.fixtures.word_forms import Span
from tests.test_word_form_campaign import FAMILY_TASK
from tests.test_word_form_reader import layout
from tests.test_word_template import DRAWING, _pages, path, record_for, targets, untouched_parts

TODAY = date(2021, 6, 18)
UNIT = "柳州市城中区妇联"


def form_of(
    widths: list[float],
    rows: list[word_forms.Row],
    heights: dict[int, float] | None = None,
    title: str = "登记表",
) -> bytes:
    document = word_forms._new_document()
    word_forms._title(document, title)
    word_forms.grid_table(document, widths, rows, heights)
    return word_forms._bytes(document)


def imported(data: bytes) -> ImportedForm:
    return import_word_form("登记表.docx", data, "form", "form.docx")


def filled(data: bytes, form: FormDecl, answers: dict[str, Any], photos: dict[str, Any]) -> DocxDocument:
    record = FormRecord(form.id, answers, UNIT, "城中区", "柳州市", 2021, TODAY, photos)
    return Document(io.BytesIO(fill_word_form(form, data, record)))


def cells(document: DocxDocument) -> list[list[str]]:
    """The first table's text, one list per row, a merged cell once per row it covers."""
    table = document.tables[0]
    return [[table.cell(r, c).text for c in range(len(table.columns))] for r in range(len(table.rows))]


def assert_rest_untouched(
    blank: bytes, document: DocxDocument, form: FormDecl, also: tuple[str, ...] = ()
) -> None:
    """Every part of the blank form but the cells and lines filled (``also``: cells the
    declaration's own ``cell`` does not name) is still in the filled one, byte for byte."""
    original = Document(io.BytesIO(blank))
    changed = targets(original, form) | {path(find_cell(original, address)._tc) for address in also}
    assert untouched_parts(original, changed) <= untouched_parts(document, set())


# --- 1. a photo cell with no label ------------------------------------------------------------------

PERSONAL_GRID = [
    ["姓  名", "", "性  别", "", Span("", rows=4)],
    ["出生年月", "", "民  族", ""],
    ["籍  贯", "", "政治面貌", ""],
    ["学  历", "", "职  称", ""],
    ["工作单位", Span("", cols=4)],
]


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        pytest.param(
            PERSONAL_GRID,
            [
                *("T1R1C2 姓名 text", "T1R1C4 性别 text", "T1R1C5 照片 photo", "T1R2C2 出生年月 text"),
                *("T1R2C4 民族 text", "T1R3C2 籍贯 text", "T1R3C4 政治面貌 text", "T1R4C2 学历 text"),
                *("T1R4C4 职称 text", "T1R5C2 工作单位 text"),
            ],
            id="blank-spanning-rows-at-the-right",
        ),
        pytest.param(
            [["姓名", "", Span("（照片）", rows=2)], ["性别", ""]],
            ["T1R1C2 姓名 text", "T1R1C3 照片 photo", "T1R2C2 性别 text"],
            id="placeholder-in-brackets",
        ),
        pytest.param(
            [["姓名", "", Span("一寸免冠\n照片", rows=2)], ["性别", ""]],
            ["T1R1C2 姓名 text", "T1R1C3 照片 photo", "T1R2C2 性别 text"],
            id="placeholder-one-inch",
        ),
        pytest.param(
            [["姓名", "性别", "照片"], ["", "", ""]],
            ["T1R2C1 姓名 text", "T1R2C2 性别 text", "T1R2C3 照片 photo"],
            id="placeholder-over-its-blank",
        ),
        pytest.param(
            [
                ["工作简历", Span("", rows=3)],
                [
                    "",
                ],
                [
                    "",
                ],
            ],
            ["T1R1C2 工作简历 text"],
            id="a-tall-blank-beside-its-label-is-the-labels",
        ),
        pytest.param(
            [["姓名", "", "性别", ""], [Span("", cols=2, rows=2), "民族", ""], ["籍贯", ""]],
            ["T1R1C2 姓名 text", "T1R1C4 性别 text", "T1R2C4 民族 text", "T1R3C4 籍贯 text"],
            id="a-tall-blank-on-the-left-is-no-photo",
        ),
        pytest.param(
            [
                ["姓名", "", Span("照片", rows=2), Span("", rows=2)],
                [
                    "性别",
                    "",
                ],
            ],
            ["T1R1C2 姓名 text", "T1R1C4 照片 photo", "T1R2C2 性别 text"],
            id="a-tall-photo-label-governs-the-blank-to-its-right-once",
        ),
    ],
)
def test_photo_cells(rows: list[word_forms.Row], expected: list[str]) -> None:
    widths = [3.0] * max(sum(i.cols if isinstance(i, Span) else 1 for i in row) for row in rows)
    assert layout(widths, rows) == expected


def test_an_unlabelled_photo_cell_is_asked_named_in_the_report_and_filled(tmp_path: Path) -> None:
    blank = form_of([2.4, 2.8, 2.4, 2.8, 3.6], PERSONAL_GRID, {0: 1.2, 1: 1.2, 2: 1.2, 3: 1.2})
    form = imported(blank)
    report = import_report(form).splitlines()
    assert " 3. 照片（照片一张，必填）" in report
    assert "以下空白格没有文字，按位置（表格右侧跨几行的空格）当作照片栏，请确认：表1第1行“照片”" in report
    photo = form.form.top_field("photo")
    assert (photo.kind, photo.cell, photo.printed) == ("photo", "T1R1C5", "表1第1行右侧的照片栏")
    stored = store_photo_bytes(tmp_path, photo_bytes((300, 400)))
    answers = {
        "name": "韦丽华", "gender": "女", "photo": stored.answer, "birth": "1985-03", "ethnicity": "壮族",
        "native_place": "广西柳州", "political_status": "群众", "education": "大学本科", "post": "经济师",
        "org_name": "柳州市城中区妇联",
    }  # fmt: skip
    document = filled(blank, form.form, answers, {stored.sha256: stored.path})
    assert cells(document) == [
        ["姓  名", "韦丽华", "性  别", "女", ""],
        ["出生年月", "1985年3月", "民  族", "壮族", ""],
        ["籍  贯", "广西柳州", "政治面貌", "群众", ""],
        ["学  历", "大学本科", "职  称", "经济师", ""],
        ["工作单位", *["柳州市城中区妇联"] * 4],
    ]
    photo_cell = find_cell(document, "T1R1C5")
    assert len(photo_cell._tc.findall(f".//{DRAWING}")) == 1
    assert_rest_untouched(blank, document, form.form)


# --- 2. labels across two columns, and labels written down a column -------------------------------

LABELS_IN_PIECES = [
    ["姓名", "", "性别", ""],
    ["主要", "事迹（300字以内）", Span("", cols=2)],
    [Span("工作单位", cols=2), Span("", cols=2)],
    ["简  历", Span("", cols=3)],
    ["获\n奖\n情\n况", Span("", cols=3)],
    ["家", Span("", cols=3, rows=4)],
    ["庭"],
    ["情"],
    ["况"],
]


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        pytest.param(
            [["主要", "事迹", Span("", cols=2)], ["姓名", "", "性别", ""]],
            ["T1R1C3 主要事迹 text", "T1R2C2 姓名 text", "T1R2C4 性别 text"],
            id="split-in-two-cells",
        ),
        pytest.param(
            [[Span("主要事迹", cols=2), Span("", cols=2)], ["姓名", "", "性别", ""]],
            ["T1R1C3 主要事迹 text", "T1R2C2 姓名 text", "T1R2C4 性别 text"],
            id="merged-over-two-columns",
        ),
        pytest.param(
            [["主", Span("", rows=2)], ["要"], ["姓名", ""]],
            ["T1R1C2 主要 text", "T1R3C2 姓名 text"],
            id="one-character-per-row-beside-a-tall-blank",
        ),
        pytest.param(
            [["简\n\n历", ""], ["备  注", ""]],
            ["T1R1C2 简历 text", "T1R2C2 备注 text"],
            id="one-character-per-line-and-spaced",
        ),
        pytest.param(
            [["姓名", "性别", "民族"], ["", "", ""]],
            ["T1R2C1 姓名 text", "T1R2C2 性别 text", "T1R2C3 民族 text"],
            id="a-row-of-labels-over-blanks-is-not-one-label",
        ),
        pytest.param(
            [["姓名", "", "性别", Span("", rows=2)], ["民族", "", "籍贯"]],
            ["T1R1C2 姓名 text", "T1R1C4 性别 text", "T1R2C2 民族 text", "T1R2C3 未识别“籍贯”"],
            id="labels-of-pairs-beside-a-tall-blank-stay-apart",
        ),
    ],
)
def test_labels_in_pieces(rows: list[word_forms.Row], expected: list[str]) -> None:
    widths = [3.0] * max(sum(i.cols if isinstance(i, Span) else 1 for i in row) for row in rows)
    assert layout(widths, rows) == expected


def test_labels_in_pieces_are_asked_once_and_filled_beside_them() -> None:
    blank = form_of([2.4, 2.4, 5.0, 5.0], LABELS_IN_PIECES)
    form = imported(blank)
    asked = [(step.label, step.cell) for step in form.form.steps if isinstance(step, FieldDecl)]
    assert asked == [
        ("姓名", "T1R1C2"),
        ("性别", "T1R1C4"),
        ("主要事迹", "T1R2C3"),
        ("工作单位", "T1R3C3"),
        ("简历", "T1R4C2"),
        ("获奖情况", "T1R5C2"),
        ("家庭情况", "T1R6C2"),
    ]
    report = import_report(form)
    assert " 3. 主要事迹（文字，300字以内，必填）" in report.splitlines()
    assert "未作为问题" not in report, "no piece of a label is left over"
    answers = {step.key: f"{step.label}的答案" for step in form.form.steps if isinstance(step, FieldDecl)}
    answers |= {"name": "韦丽华", "gender": "女"}
    document = filled(blank, form.form, answers, {})
    assert cells(document) == [
        ["姓名", "韦丽华", "性别", "女"],
        ["主要", "事迹（300字以内）", "主要事迹的答案", "主要事迹的答案"],
        ["工作单位", "工作单位", "工作单位的答案", "工作单位的答案"],
        ["简  历", *["简历的答案"] * 3],
        ["获\n奖\n情\n况", *["获奖情况的答案"] * 3],
        ["家", *["家庭情况的答案"] * 3],
        ["庭", *["家庭情况的答案"] * 3],
        ["情", *["家庭情况的答案"] * 3],
        ["况", *["家庭情况的答案"] * 3],
    ]
    assert_rest_untouched(blank, document, form.form)


# --- 4. labels asking two things at once ----------------------------------------------------------


@pytest.mark.parametrize(
    ("label", "parts", "validator", "params"),
    [
        ("荣誉称号及评定时间", ("荣誉称号", "评定时间"), "text", {"max_chars": COMPOUND_TEXT}),
        ("何时何地受过何种奖励", ("何时何地受过何种奖励",), "text", {"max_chars": COMPOUND_TEXT}),
        ("活动时间地点", ("活动时间地点",), "text", {"max_chars": COMPOUND_TEXT}),
        ("出生年月及籍贯", ("出生年月", "籍贯"), "text", {"max_chars": COMPOUND_TEXT}),
        ("现任职务及任职时间", ("现任职务", "任职时间"), "text", {"max_chars": COMPOUND_TEXT}),
        ("身份证号和联系电话", ("身份证号", "联系电话"), "text", {"max_chars": COMPOUND_TEXT}),
        ("姓名及手机", ("姓名", "手机"), "text", {"max_chars": COMPOUND_TEXT}),
        # words holding 与/及/和 are no joins
        ("参与人数", ("参与人数",), "integer", {"min": 0, "max": 10_000_000}),
        ("涉及人数", ("涉及人数",), "integer", {"min": 0, "max": 10_000_000}),
        ("参与志愿服务情况", ("参与志愿服务情况",), "text", {"max_chars": DEFAULT_LONG_TEXT}),
        ("家庭和睦情况", ("家庭和睦情况",), "text", {"max_chars": DEFAULT_LONG_TEXT}),
        ("工作单位及职务", ("工作单位及职务",), "text", {"min_hanzi": 4, "max_chars": 60}),
        ("姓名及职务", ("姓名及职务",), "text", {"min_hanzi": 4, "max_chars": 40}),
        ("与户主关系", ("与户主关系",), "text", {"max_chars": DEFAULT_SHORT_TEXT}),
        ("联系电话或传真", ("联系电话或传真",), "phone", {}),
        ("评定时间", ("评定时间",), "date", {}),
        ("项目起止时间", ("项目起止时间",), "period", {}),
    ],
)
def test_a_compound_label_is_text_not_a_date(
    label: str, parts: tuple[str, ...], validator: str, params: dict[str, Any]
) -> None:
    inferred = infer(label)
    assert (label_parts(label), inferred.validator, inferred.params) == (parts, validator, params)


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        pytest.param(
            [["荣誉称号及评定时间", "", ""], ["姓名", "", ""]],
            ["T1R1C2 荣誉称号 text", "T1R1C3 评定时间 text", "T1R2C2 姓名 text"],
            id="two-blanks-beside",
        ),
        pytest.param(
            [[Span("荣誉称号及评定时间", cols=2)], ["", ""]],
            ["T1R2C1 荣誉称号 text", "T1R2C2 评定时间 text"],
            id="two-blanks-below",
        ),
        pytest.param(
            [["荣誉称号及评定时间", Span("", cols=2)]],
            ["T1R1C2 荣誉称号及评定时间 text"],
            id="one-blank-one-question",
        ),
        pytest.param(
            [["工作单位及职务", "", ""]],
            ["T1R1C2 工作单位及职务 text"],
            id="a-joint-answer-is-not-split",
        ),
    ],
)
def test_compound_labels_split_only_over_two_blanks(rows: list[word_forms.Row], expected: list[str]) -> None:
    widths = [3.0] * max(sum(i.cols if isinstance(i, Span) else 1 for i in row) for row in rows)
    assert layout(widths, rows) == expected


def test_a_written_limit_wins_for_a_compound_label() -> None:
    inferred = infer("主要荣誉及获得时间", max_chars=300)
    assert (inferred.validator, inferred.params, inferred.compound) == ("text", {"max_chars": 300}, True)


COMPOUND_LABELS = [
    ["姓名", "", "性别", ""],
    ["荣誉称号及评定时间", Span("", cols=3)],
    ["工作单位及职务", Span("", cols=3)],
    ["何时何地受过何种奖励", Span("", cols=3)],
    ["奖项名称及授予时间", Span("", cols=2), ""],
]


def test_compound_labels_are_text_or_two_questions_where_two_blanks_are_printed() -> None:
    blank = form_of([4.0, 4.0, 4.0, 4.0], COMPOUND_LABELS)
    form = imported(blank)
    report = import_report(form).splitlines()
    assert report[3:8] == [
        " 3. 荣誉称号及评定时间（文字，200字以内，必填）",
        " 4. 工作单位及职务（文字，60字以内，必填）",
        " 5. 何时何地受过何种奖励（文字，200字以内，必填）",
        " 6. 奖项名称（文字，60字以内，必填）",
        " 7. 授予时间（日期，必填）",
    ]
    assert (
        "以下项目一格问几件事，按文字处理（未写字数的最多200字），不单独检查其中的日期、电话等格式，"
        "请确认：荣誉称号及评定时间、何时何地受过何种奖励"
    ) in report
    fields = {step.label: step for step in form.form.steps if isinstance(step, FieldDecl)}
    typed = {
        "荣誉称号及评定时间": "全国三八红旗手，2019年3月",
        "工作单位及职务": "柳州市城中区妇联主席",
        "何时何地受过何种奖励": "2019年在南宁获自治区巾帼建功标兵",
        "奖项名称": "全国三八红旗手",
        "授予时间": "2019年3月",
    }
    answers: dict[str, Any] = {fields["姓名"].key: "韦丽华", fields["性别"].key: "女"}
    for label, text in typed.items():
        result = TEXT_VALIDATORS[fields[label].validator or ""](
            text, fields[label].params, ValidationContext(label, TODAY, 2021)
        )
        assert isinstance(result, Accepted), (label, result)
        answers[fields[label].key] = result.value
    document = filled(blank, form.form, answers, {})
    assert cells(document) == [
        ["姓名", "韦丽华", "性别", "女"],
        ["荣誉称号及评定时间", *["全国三八红旗手，2019年3月"] * 3],
        ["工作单位及职务", *["柳州市城中区妇联主席"] * 3],
        ["何时何地受过何种奖励", *["2019年在南宁获自治区巾帼建功标兵"] * 3],
        ["奖项名称及授予时间", "全国三八红旗手", "全国三八红旗手", "2019年3月"],
    ]
    assert_rest_untouched(blank, document, form.form)


# --- 3. options printed in table cells ------------------------------------------------------------

OPTIONS_IN_CELLS = [
    ["姓名", "", "性别", "□女", "□男"],
    ["政治面貌", "□中共党员", "□共青团员", "□群众", "□民主党派"],
    ["服务类别（可多选）", "□关爱儿童", "□助老扶弱", "□家庭教育", "□法律援助"],
    [Span("文化程度", rows=3), Span("☐大专", cols=4)],
    [Span("☐本科", cols=4)],
    [Span("☐研究生", cols=4)],
    [Span("问题", cols=3), "是", "否"],
    [Span("是否为妇联执委", cols=3), "", ""],
    [Span("是否已在“志愿汇”注册", cols=3), "", ""],
    [Span("班子成员", cols=5)],
    ["姓名", "职务", Span("政治面貌\n□党员 □团员 □群众", cols=2), "是否执委\n是/否"],
    ["", "", Span("", cols=2), ""],
    ["", "", Span("", cols=2), ""],
]


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        pytest.param(
            [["政治面貌", "□党员", "□团员", "□群众"], ["姓名", "", "", ""]],
            ["T1R1C2 政治面貌 choice 党员/团员/群众", "T1R2C2 姓名 text"],
            id="one-box-per-cell-along-the-row",
        ),
        pytest.param(
            [[Span("性别", rows=2), "○女"], ["○男"], ["姓名", ""]],
            ["T1R1C2 性别 choice 女/男", "T1R3C2 姓名 text"],
            id="one-box-per-cell-down-the-column",
        ),
        pytest.param(
            [["", "有", "无"], ["家庭暴力记录", "", ""], ["违法违纪记录", "", ""]],
            ["T1R2C2 家庭暴力记录 choice 有/无", "T1R3C2 违法违纪记录 choice 有/无"],
            id="yes-no-columns",
        ),
        pytest.param(
            [["项目", "参加", "未参加"], ["是否参加培训", "", ""]],
            ["T1R2C2 是否参加培训 choice 参加/未参加"],
            id="answer-columns-under-yes-no-questions",
        ),
        pytest.param(
            [["项目", "2020年", "2021年"], ["妇女人数", "", ""]],
            [
                "T1R2C2 数字表格“项目” 妇女人数 × 2020年|2021年",
                "T1R2C2 妇女人数（2020年） figure",
                "T1R2C3 妇女人数（2021年） figure",
            ],
            id="years-are-no-answers",  # a table of figures: a number in each cell
        ),
        pytest.param(
            [["项目", "参加", "未参加"], ["妇女人数", "", ""]],
            [
                "T1R2C2 数字表格“项目” 妇女人数 × 参加|未参加",
                "T1R2C2 妇女人数（参加） figure",
                "T1R2C3 妇女人数（未参加） figure",
            ],
            id="words-over-a-row-that-asks-no-yes-or-no-are-no-answers",  # but a count under each
        ),
        pytest.param(
            [["姓名", "授课形式\n典型案例/访谈/讲授"], ["", ""], ["", ""]],
            ["T1R2C1 表格“姓名、授课形式” 姓名|授课形式 ×2"],
            id="options-under-a-columns-header",
        ),
    ],
)
def test_options_in_cells(rows: list[word_forms.Row], expected: list[str]) -> None:
    widths = [3.0] * max(sum(i.cols if isinstance(i, Span) else 1 for i in row) for row in rows)
    assert layout(widths, rows) == expected


def test_options_printed_in_cells_are_choices_marked_in_their_cells() -> None:
    blank = form_of([3.2, 3.2, 3.2, 3.2, 3.2], OPTIONS_IN_CELLS)
    form = imported(blank)
    report = import_report(form).splitlines()
    assert report[1:9] == [
        " 1. 姓名（姓名，必填）",
        " 2. 性别（单选：女/男，必填）",
        " 3. 政治面貌（单选：中共党员/共青团员/群众/民主党派，必填）",
        " 4. 服务类别（多选：关爱儿童/助老扶弱/家庭教育/法律援助，必填）",
        " 5. 文化程度（单选：大专/本科/研究生，必填）",
        " 6. 是否为妇联执委（单选：是/否，必填）",
        " 7. 是否已在“志愿汇”注册（单选：是/否，必填）",
        " 8. 班子成员（表格，1-10行）：姓名（姓名，必填）；职务（文字，30字以内，必填）；"
        "政治面貌（单选：党员/团员/群众，必填）；是否执委（单选：是/否，必填）",
    ]
    assert "未作为问题" not in "\n".join(report), "no option is left over as text"
    fields = {step.label: step for step in form.form.steps if isinstance(step, FieldDecl)}
    assert fields["是否为妇联执委"].option_cells == {"是": "T1R8C4", "否": "T1R8C5"}
    group = next(form.form.groups())
    by_label = {field.label: field.key for field in group.fields}
    answers: dict[str, Any] = {
        fields["姓名"].key: "韦丽华",
        fields["性别"].key: "女",
        fields["政治面貌"].key: "群众",
        fields["服务类别"].key: "关爱儿童、法律援助",
        fields["文化程度"].key: "本科",
        fields["是否为妇联执委"].key: "否",
        fields["是否已在“志愿汇”注册"].key: "是",
        group.key: [
            {
                by_label["姓名"]: "覃美玲",
                by_label["职务"]: "主席",
                by_label["政治面貌"]: "党员",
                by_label["是否执委"]: "是",
            },
            {
                by_label["姓名"]: "蓝芳",
                by_label["职务"]: "副主席",
                by_label["政治面貌"]: "群众",
                by_label["是否执委"]: "否",
            },
        ],
    }
    document = filled(blank, form.form, answers, {})
    assert cells(document) == [
        ["姓名", "韦丽华", "性别", "☑女", "□男"],
        ["政治面貌", "□中共党员", "□共青团员", "☑群众", "□民主党派"],
        ["服务类别（可多选）", "☑关爱儿童", "□助老扶弱", "□家庭教育", "☑法律援助"],
        ["文化程度", *["☐大专"] * 4],
        ["文化程度", *["☑本科"] * 4],
        ["文化程度", *["☐研究生"] * 4],
        ["问题", "问题", "问题", "是", "否"],
        ["是否为妇联执委", "是否为妇联执委", "是否为妇联执委", "", "√"],
        ["是否已在“志愿汇”注册", "是否已在“志愿汇”注册", "是否已在“志愿汇”注册", "√", ""],
        ["班子成员"] * 5,
        ["姓名", "职务", "政治面貌\n□党员 □团员 □群众", "政治面貌\n□党员 □团员 □群众", "是否执委\n是/否"],
        ["覃美玲", "主席", "党员", "党员", "是"],
        ["蓝芳", "副主席", "群众", "群众", "否"],
    ]
    marked = [address for field in fields.values() for address in field.option_cells.values()]
    assert_rest_untouched(blank, document, form.form, also=tuple(marked))


def test_the_cells_of_options_are_written_in_the_declaration_and_read_back(tmp_path: Path) -> None:
    source = tmp_path / "登记表.docx"
    source.write_bytes(form_of([3.2, 3.2, 3.2, 3.2, 3.2], OPTIONS_IN_CELLS))
    write_import(source, tmp_path / "form.toml", "form")
    form = load_form(tmp_path / "form.toml")
    assert form.top_field("gender").option_cells == {"女": "T1R1C4", "男": "T1R1C5"}
    assert 'option_cells = { "是" = "T1R8C4", "否" = "T1R8C5" }' in (tmp_path / "form.toml").read_text(
        "utf-8"
    )
    template_renderer(form)  # every cell named is there


OPTIONS_UNDER_A_HEADER = [
    [Span("姓名", rows=2), Span("性别", cols=2), Span("政治面貌", cols=3), Span("出生年月", rows=2)],
    ["男", "女", "党员", "团员", "群众"],
    ["", "", "", "", "", "", ""],
    ["", "", "", "", "", "", ""],
]


def test_options_under_a_header_over_their_own_columns() -> None:
    assert layout([2.2] * 7, OPTIONS_UNDER_A_HEADER) == [
        "T1R3C1 表格“姓名、性别等” 姓名|性别|政治面貌|出生年月 ×2"
    ]
    counts = [[Span("单位", rows=2), Span("人数", cols=2)], ["男", "女"], ["", "", ""], ["", "", ""]]
    assert layout([3.0] * 3, counts) == ["T1R3C1 表格“单位、人数男、人数女” 单位|人数男|人数女 ×2"]
    blank = form_of([2.2] * 7, OPTIONS_UNDER_A_HEADER)
    form = imported(blank)
    group = next(form.form.groups())
    fields = {field.label: field for field in group.fields}
    assert fields["性别"].option_cells == {"男": "T1R3C2", "女": "T1R3C3"}
    assert fields["政治面貌"].option_cells == {"党员": "T1R3C4", "团员": "T1R3C5", "群众": "T1R3C6"}
    assert (
        " 1. 姓名、性别等（表格，1-10行）：姓名（姓名，必填）；性别（单选：男/女，必填）；"
        in import_report(form)
    )
    rows = [
        {
            fields["姓名"].key: "覃美玲",
            fields["性别"].key: "女",
            fields["政治面貌"].key: "党员",
            fields["出生年月"].key: "1982-07",
        },
        {
            fields["姓名"].key: "韦强",
            fields["性别"].key: "男",
            fields["政治面貌"].key: "群众",
            fields["出生年月"].key: "1990-01",
        },
        {
            fields["姓名"].key: "蓝芳",
            fields["性别"].key: "女",
            fields["政治面貌"].key: "团员",
            fields["出生年月"].key: "1999-12",
        },
    ]
    document = filled(blank, form.form, {group.key: rows}, {})
    assert cells(document)[2:] == [
        ["覃美玲", "", "√", "√", "", "", "1982年7月"],
        ["韦强", "√", "", "", "", "√", "1990年1月"],
        ["蓝芳", "", "√", "", "√", "", "1999年12月"],
    ]
    assert cells(document)[:2] == cells(Document(io.BytesIO(blank)))[:2]


@pytest.mark.parametrize(
    ("header", "kind", "options"),
    [
        ("政治面貌\n□党员 □团员 □群众", "choice", ("党员", "团员", "群众")),
        ("是否执委\n是/否", "choice", ("是", "否")),
        ("授课形式\n典型案例、访谈、讲授", "choice", ("典型案例", "访谈", "讲授")),
        ("出生年月\n年/月", "text", ()),
        ("金额\n（万元）", "text", ()),
        # a header wrapped over two lines: what it asks, not options
        ("联系电话\n手机/座机", "text", ()),
        ("工作单位\n职务/职称", "text", ()),
    ],
)
def test_options_under_a_header_of_a_repeating_table(
    header: str, kind: str, options: tuple[str, ...]
) -> None:
    document = Document(io.BytesIO(form_of([3.0, 3.0], [["姓名", header], ["", ""], ["", ""]])))
    [group] = read_form(read_grids(document)).items
    assert isinstance(group, RowGroup)
    assert (group.columns[1].kind, group.columns[1].options) == (kind, options)


# --- over the console: a contact fills a form whose options are printed in cells -------------------

VOLUNTEER_TASK = FAMILY_TASK.replace("最美家庭推荐", "巾帼志愿者登记").replace(
    "family_form", "volunteer_form"
)


def test_a_contact_chooses_options_printed_in_cells_and_gets_them_marked(
    sqlite_template: Path, tmp_path: Path, clock: FakeClock
) -> None:
    blank = form_of([3.2] * 5, OPTIONS_IN_CELLS[:3] + OPTIONS_IN_CELLS[6:9], title="巾帼志愿者登记表")
    campaign = campaign_with_form(
        tmp_path / "campaign", VOLUNTEER_TASK, blank, "巾帼志愿者登记表.docx", "volunteer_form"
    )
    declarations = load_declarations(Settings(campaign_file=campaign))
    repository = sqlite_repository(sqlite_template, tmp_path, declarations)
    try:
        engine = assemble_engine(declarations, repository, clock)
        chat = Chat(engine, unit_code="yufeng")
        chat.send("/new")
        chat.send(next(option for option in chat.options if option.startswith("巾帼志愿者登记")))
        chat.send("韦丽华")
        assert chat.options[:2] == ("女", "男")
        chat.send("女")
        chat.send("群众")
        assert "（5/6）请选择是否为妇联执委" in chat.send("法律援助、关爱儿童")
        chat.send("否")
        chat.send("是")
        chat.send("确认提交")
        assert "已提交" in chat.text, chat.text
        sent = next(reply for reply in chat.replies if reply.document is not None)
        document = Document(io.BytesIO(document_path(engine, sent).read_bytes()))
        assert cells(document) == [
            ["姓名", "韦丽华", "性别", "☑女", "□男"],
            ["政治面貌", "□中共党员", "□共青团员", "☑群众", "□民主党派"],
            ["服务类别（可多选）", "☑关爱儿童", "□助老扶弱", "□家庭教育", "☑法律援助"],
            ["问题", "问题", "问题", "是", "否"],
            ["是否为妇联执委", "是否为妇联执委", "是否为妇联执委", "", "√"],
            ["是否已在“志愿汇”注册", "是否已在“志愿汇”注册", "是否已在“志愿汇”注册", "√", ""],
        ]
    finally:
        repository.engine.dispose()


# --- LibreOffice opens every filled form at the blank form's page count ---------------------------

LAYOUT_FORMS: dict[str, tuple[list[float], list[word_forms.Row]]] = {
    "photo": ([2.4, 2.8, 2.4, 2.8, 3.6], PERSONAL_GRID),
    "pieces": ([2.4, 2.4, 5.0, 5.0], LABELS_IN_PIECES),
    "compound": ([4.0, 4.0, 4.0, 4.0], COMPOUND_LABELS),
    "options": ([3.2] * 5, OPTIONS_IN_CELLS),
    "under": ([2.2] * 7, OPTIONS_UNDER_A_HEADER),
}


@pytest.mark.skipif(
    shutil.which("soffice") is None or shutil.which("pdfinfo") is None, reason="LibreOffice not installed"
)
def test_libreoffice_opens_each_filled_form_at_the_blank_forms_page_count(tmp_path: Path) -> None:
    files = []
    for name, (widths, rows) in LAYOUT_FORMS.items():
        blank = form_of(widths, rows)
        form = imported(blank).form
        record = record_for(form, tmp_path / "photos", extra_rows=0)
        (tmp_path / f"{name}-blank.docx").write_bytes(blank)
        (tmp_path / f"{name}-filled.docx").write_bytes(fill_word_form(form, blank, record))
        files += [tmp_path / f"{name}-blank.docx", tmp_path / f"{name}-filled.docx"]
    profile = tmp_path / "profile"
    subprocess.run(
        ["soffice", f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
         "--convert-to", "pdf", "--outdir", str(tmp_path / "pdf"), *map(str, files)],
        capture_output=True, timeout=600, check=True,
    )  # fmt: skip
    for name in LAYOUT_FORMS:
        blank_pages = _pages(tmp_path / "pdf" / f"{name}-blank.pdf")
        assert (blank_pages, _pages(tmp_path / "pdf" / f"{name}-filled.pdf")) == (1, 1), name
