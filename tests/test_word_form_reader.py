"""Reading a Word form into what it asks: the grid reader and the label/blank rules, over many layouts.

The forms are built by ``tests/fixtures/word_forms.py`` with python-docx; each expected list is what a
person reading the blank form would answer where.
"""

from __future__ import annotations

import io

import pytest
from docx import Document

from renderers.word_form_reader import (
    CrossGrid,
    Item,
    LineBlank,
    PhotoGroup,
    Question,
    RowGroup,
    Stamp,
    Unplaced,
    char_limits,
    checkbox_options,
    photo_limits,
    read_form,
    read_line,
)
from renderers.word_grid import Line, read_grids, read_lines
from tests.fixtures import word_forms


def summary(item: Item) -> str:
    """One line per item: where, what, and the limits read from the label."""
    if isinstance(item, Question):
        choices = ("/".join(item.options) + ("（多选）" if item.multiple else "")) if item.options else ""
        limits = (
            f" {item.min_chars or ''}-{item.max_chars or ''}字" if item.min_chars or item.max_chars else ""
        )
        optional = "" if item.required else " 选填"
        return f"{item.address} {item.label} {item.kind}{' ' + choices if choices else ''}{limits}{optional}"
    if isinstance(item, RowGroup):
        columns = "|".join(column.label for column in item.columns)
        photos = "".join(f" {column.label}:photo" for column in item.columns if column.kind == "photo")
        return f"{item.address} 表格“{item.label}” {columns} ×{item.blank_rows}{photos}"
    if isinstance(item, CrossGrid):
        kind = "数字表格" if item.figures else "行列表格"
        return f"{item.address} {kind}“{item.label}” {'|'.join(item.rows)} × {'|'.join(item.columns)}"
    if isinstance(item, PhotoGroup):
        captions = " 带说明" if item.captions else ""
        return f"{item.address} 附图“{item.label}” {item.min_rows}-{item.max_rows}张{captions}"
    if isinstance(item, Stamp):
        return f"{item.address} 盖章“{item.label}”"
    if isinstance(item, LineBlank):
        return f"{item.address} 表外“{item.label}” {item.known or '询问'}"
    assert isinstance(item, Unplaced)
    return f"{item.address} 未识别“{item.text}”"


def read(data: bytes) -> list[str]:
    document = Document(io.BytesIO(data))
    return [summary(item) for item in read_form(read_grids(document), read_lines(document)).items]


EXPECTED = {
    "grid_with_photo": [
        "T1R1C2 姓名 text",
        "T1R1C4 性别 text",
        "T1R1C5 照片 photo",
        "T1R2C2 出生年月 text",
        "T1R2C4 民族 text",
        "T1R3C2 政治面貌 choice 中共党员/共青团员/群众",
        "T1R4C2 身份证号码 text",
        "T1R5C2 工作单位及职务 text",
        "T1R6C2 手机号码 text",
        "T1R6C4 电子邮箱 text",
        "T1R7C2 主要事迹 text 500-1000字",
        "T1R8C2 盖章“推荐单位意见”",
    ],
    "members_table": [
        "T1R1C2 户主姓名 text",
        "T1R1C4 家庭人口 text",
        "T1R2C2 家庭住址 text",
        "T1R4C2 表格“家庭主要成员” 姓名|与户主关系|出生年月|工作单位及职务 ×4",
        "T1R8C2 家庭事迹简介 text -300字",
    ],
    "check_boxes": [
        "T1R1C2 队伍名称 text",
        "T1R2C2 服务类别 choice 关爱儿童/助老扶弱/家庭教育/法律援助（多选）",
        "T1R3C2 队伍规模 choice 10人以下/10-50人/50人以上",
        "T1R3C4 成立时间 text",
        "T1R4C1 是否已在“志愿汇”注册 choice 是/否",
        "T1R5C2 队长姓名 text",
        "T1R5C4 联系电话 text",
    ],
    "labels_above": [
        "T1R2C1 单位名称 text",
        "T1R2C2 负责人 text",
        "T1R2C3 联系电话 text",
        "T1R2C4 服务人数 text",
        "T1R4C1 建设情况 text 640-960字",
        "T1R5C2 附图“图片及说明” 3-9张 带说明",
    ],
    "lines_outside": [
        "P3:推荐单位（盖章） 表外“推荐单位” unit_name",
        "P3:填表日期 表外“填表日期” submitted_on",
        "T1R1C2 姓名 text",
        "T1R1C4 性别 choice 女/男",
        "T1R2C2 工作单位 text",
        "T1R3C2 主要业绩 text -300字",
        "P4:联系人 表外“联系人” 询问",
        "P4:联系电话 表外“联系电话” 询问",
    ],
    "two_tables": [
        "T1R1C2 项目名称 text",
        "T1R2C2 申报单位 text",
        "T1R3C2 项目负责人 text",
        "T1R3C4 职务 text",
        "T1R4C2 项目金额 text",
        "T1R4C4 受益人数 text",
        "T1R5C2 邮政编码 text",
        "T1R5C4 成立日期 text",
        "T2R1C2 项目实施方案 text -1500字",
        "T2R2C2 项目起止时间 text",
        "T2R3C2 盖章“县级妇联审核意见”",
    ],
    "answer_inside": [
        "T1R1C2 姓名 text",
        "T1R1C4 所在单位 text",
        "T1R2C1 个人工作总结 text 300-字",
        "T1R3C1 盖章“本人签名”",
    ],
    "nested_table": [
        "T1R1C2 姓名 text",
        "T1R1C4 身份证号 text",
        "T1.1R2C1 表格“获奖情况” 获奖时间|奖项名称|授予单位 ×3",
        "T1R3C2 个人简历 text 300-字",
    ],
    "team_with_photos": [
        "T1R1C2 岗位名称 text",
        "T1R2C2 意见和建议 text -500字",
        "T1R3C2 对创建工作的意见 text -200字",
        "T1R5C2 表格“岗位成员” 姓名|职务|联系电话|照片 ×3 照片:photo",
        "T1R8C2 盖章“主管部门审核意见”",
    ],
}


@pytest.mark.parametrize("builder", sorted(EXPECTED))
def test_each_form_reads_as_a_person_would_fill_it(builder: str) -> None:
    assert read(getattr(word_forms, builder)()) == EXPECTED[builder]


def test_every_fixture_form_has_its_expectation() -> None:
    assert {builder.__name__ for builder, _ in word_forms.FORMS.values()} == set(EXPECTED)


def layout(widths: list[float], rows: list[word_forms.Row]) -> list[str]:
    """A one-table form built on the spot."""
    document = Document()
    word_forms.grid_table(document, widths, rows)
    return [summary(item) for item in read_form(read_grids(document), read_lines(document)).items]


LAYOUTS = [
    pytest.param([["姓名", ""]], ["T1R1C2 姓名 text"], id="two-columns"),
    pytest.param(
        [["姓名", "", "性别", "", "民族", ""]],
        ["T1R1C2 姓名 text", "T1R1C4 性别 text", "T1R1C6 民族 text"],
        id="six-columns",
    ),
    pytest.param(
        [[word_forms.Span("主要\n事迹", rows=2), word_forms.Span("", rows=2)], [], ["备注（选填）", ""]],
        ["T1R1C2 主要事迹 text", "T1R3C2 备注 text 选填"],
        id="label-spanning-rows",
    ),
    pytest.param(
        [[word_forms.Span("工作简历（不少于200字）：", cols=2)]],
        ["T1R1C1 工作简历 text 200-字"],
        id="answered-inside-its-label",
    ),
    pytest.param(
        [["审批意见", "年 月 日"], ["日期", "  年  月  日"]],
        ["T1R1C2 盖章“审批意见”", "T1R2C2 盖章“日期”"],
        id="stamps-and-date-lines",
    ),
    pytest.param(
        [["签字", ""], ["照片", ""], ["(二寸)", "姓名"]],
        ["T1R1C2 盖章“签字”", "T1R2C2 照片 photo", "T1R3C1 照片 photo", "T1R3C2 未识别“姓名”"],
        id="signature-and-photo-cells",
    ),
    pytest.param(
        [["姓名", "职务"], ["", ""], ["", ""], ["", ""]],
        ["T1R2C1 表格“姓名、职务” 姓名|职务 ×3"],
        id="repeating-table-without-title",
    ),
    pytest.param(
        [[word_forms.Span("班子成员", cols=2)], ["姓名", "职务"], ["", ""], ["", ""]],
        ["T1R3C1 表格“班子成员” 姓名|职务 ×2"],
        id="repeating-table-titled-above",
    ),
    pytest.param(
        [["现场照片（2-3张）", ""]],
        ["T1R1C2 附图“现场照片” 2-3张"],
        id="photos-after-the-table",
    ),
    pytest.param(
        [[word_forms.Span("基本情况", cols=2)], ["名称", ""]],
        ["T1R1C1 未识别“基本情况”", "T1R2C2 名称 text"],
        id="heading-reported-not-guessed",
    ),
]


#: Layouts of the notice's own forms: a two-row header, options listed in a label, a label twice.
NOTICE_LAYOUTS = [
    pytest.param(
        [
            [word_forms.Span("课程名称", rows=2), word_forms.Span("主讲人", cols=2)],
            ["姓名", "出生年月"],
            ["", "", ""],
            ["", "", ""],
        ],
        ["T1R3C1 表格“课程名称、主讲人姓名、主讲人出生年月” 课程名称|主讲人姓名|主讲人出生年月 ×2"],
        id="two-row-header",
    ),
    pytest.param(
        [["课程名称", "授课形式", "主讲人", "职务"], ["", "", "", ""], ["", "", "", ""]],
        ["T1R2C1 表格“课程名称、授课形式等” 课程名称|授课形式|主讲人|职务 ×2"],
        id="untitled-table-named-by-its-first-columns",
    ),
    pytest.param(
        [["授课形式（典型案例/访谈/讲授）", ""]],
        ["T1R1C2 授课形式 choice 典型案例/访谈/讲授"],
        id="options-listed-in-the-label",
    ),
    pytest.param(
        [["负责人", "", "手机号码", ""], ["填报人", "", "手机号码", ""]],
        [
            "T1R1C2 负责人 text",
            "T1R1C4 负责人手机号码 text",
            "T1R2C2 填报人 text",
            "T1R2C4 填报人手机号码 text",
        ],
        id="a-label-twice-named-by-its-row",
    ),
]

#: Layouts met on a real 干部任免审批表 and 干部信息采集表 we did not design for (written here by us).
REAL_FORM_LAYOUTS = [
    pytest.param(
        [["现任职务", "", "职务级别", "正处  副处  无级别"], ["身份证号", "", "户籍地", ""]],
        [
            "T1R1C2 现任职务 text",
            "T1R1C3 未识别“职务级别”",
            "T1R1C4 未识别“正处副处无级别”",
            "T1R2C2 身份证号 text",
            "T1R2C4 户籍地 text",
        ],
        id="a-blank-beside-its-label-is-not-the-blank-below-the-cell-above",
    ),
    pytest.param(
        [["称谓", "移居类别", "移居时间"], ["", "长期居留", ""]],
        ["T1R2C1 称谓 text", "T1R1C2 未识别“移居类别”", "T1R2C3 移居时间 text", "T1R2C2 未识别“长期居留”"],
        id="a-row-of-labels-only-still-governs-the-blanks-below-it",
    ),
    pytest.param(
        [
            [word_forms.Span("学历\n学位", rows=2), "全日制\n教育", "", "毕业院校及专业", ""],
            ["在职\n教育", "", "毕业院校及专业", ""],
        ],
        [
            "T1R1C1 未识别“学历学位”",
            "T1R1C3 全日制教育 text",
            "T1R1C5 全日制教育毕业院校及专业 text",
            "T1R2C3 在职教育 text",
            "T1R2C5 在职教育毕业院校及专业 text",
        ],
        id="a-label-twice-beside-a-label-spanning-rows-named-by-its-own-row",
    ),
]

#: A label ending in 意见/审核/审批 is left for the stamp only when its blank is for one.
OPINIONS = [
    pytest.param([["意见和建议（500字）", ""]], ["T1R1C2 意见和建议 text -500字"], id="suggestions-asked"),
    pytest.param(
        [["对妇联工作的意见（200字以内）", ""]],
        ["T1R1C2 对妇联工作的意见 text -200字"],
        id="limit-makes-a-question",
    ),
    pytest.param(
        [["群众意见", ""], ["姓名", ""], ["电话", ""], ["邮编", ""]],
        ["T1R1C2 群众意见 text", "T1R2C2 姓名 text", "T1R3C2 电话 text", "T1R4C2 邮编 text"],
        id="empty-blank-above-the-last-rows-asked",
    ),
    pytest.param(
        [["群众意见", "单位（公章）：\n年  月  日"], ["姓名", ""], ["电话", ""], ["邮编", ""]],
        ["T1R1C2 盖章“群众意见”", "T1R2C2 姓名 text", "T1R3C2 电话 text", "T1R4C2 邮编 text"],
        id="stamp-hint-anywhere",
    ),
    pytest.param(
        [["姓名", ""], ["电话", ""], ["邮编", ""], ["地址", ""], ["市妇联审核意见", ""]],
        [
            "T1R1C2 姓名 text",
            "T1R2C2 电话 text",
            "T1R3C2 邮编 text",
            "T1R4C2 地址 text",
            "T1R5C2 盖章“市妇联审核意见”",
        ],
        id="empty-blank-in-the-last-rows",
    ),
    pytest.param(
        [
            [word_forms.Span("推荐单位意见：\n\n年  月  日", cols=2)],
            ["姓名", ""],
            ["电话", ""],
            ["邮编", ""],
            ["地址", ""],
        ],
        [
            "T1R1C1 盖章“推荐单位意见”",
            "T1R2C2 姓名 text",
            "T1R3C2 电话 text",
            "T1R4C2 邮编 text",
            "T1R5C2 地址 text",
        ],
        id="date-in-its-own-cell",
    ),
    pytest.param(
        [["审核人签字", ""], ["姓名", ""], ["电话", ""], ["邮编", ""]],
        ["T1R1C2 盖章“审核人签字”", "T1R2C2 姓名 text", "T1R3C2 电话 text", "T1R4C2 邮编 text"],
        id="signature-anywhere",
    ),
    pytest.param(
        [["意见反馈渠道", ""], ["审核意见", ""]],
        ["T1R1C2 意见反馈渠道 text", "T1R2C2 盖章“审核意见”"],
        id="opinion-not-at-the-end-asked",
    ),
    pytest.param(
        [["姓名", "职务", "照片"], ["", "", ""], ["", "", ""]],
        ["T1R2C1 表格“姓名、职务、照片” 姓名|职务|照片 ×2 照片:photo"],
        id="photo-column",
    ),
]


@pytest.mark.parametrize(("rows", "expected"), LAYOUTS + NOTICE_LAYOUTS + REAL_FORM_LAYOUTS + OPINIONS)
def test_layouts(rows: list[word_forms.Row], expected: list[str]) -> None:
    widths = [3.0] * max(
        sum(item.cols if isinstance(item, word_forms.Span) else 1 for item in row) for row in rows
    )
    assert layout(widths, rows) == expected


@pytest.mark.parametrize(
    ("label", "limits"),
    [
        ("主要事迹（500-1000字）", (500, 1000)),
        ("简介（500字以内）", (None, 500)),
        ("情况（８００字左右）", (640, 960)),
        ("简历（不少于300字）", (300, None)),
        ("业绩（不超过 300 字）", (None, 300)),
        ("意见和建议（500字）", (None, 500)),
        ("姓名", (None, None)),
    ],
)
def test_char_limits_written_in_labels(label: str, limits: tuple[int | None, int | None]) -> None:
    assert char_limits(label) == limits


@pytest.mark.parametrize(
    ("label", "limits"),
    [("图片（不少于3张）", (3, 9)), ("照片（2-3张）", (2, 3)), ("图片（5张以内）", (1, 5)), ("图片", (1, 9))],
)
def test_photo_limits_written_in_labels(label: str, limits: tuple[int, int]) -> None:
    assert photo_limits(label) == limits


@pytest.mark.parametrize(
    ("blank", "options"),
    [
        ("□是 □否", ("是", "否")),
        ("☐大专，☐本科，☐研究生", ("大专", "本科", "研究生")),
        ("○城市 ○农村", ("城市", "农村")),
        ("□同意", ()),
        ("", ()),
    ],
)
def test_checkbox_options(blank: str, options: tuple[str, ...]) -> None:
    assert checkbox_options(blank) == options


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("申报单位：", ["P1:申报单位 表外“申报单位” unit_name"]),
        ("填报人：张三    日期：2021年6月1日", []),
        ("填报人：          审核人签字：", ["P1:填报人 表外“填报人” 询问", "P1:审核人签字 盖章“审核人签字”"]),
        ("附件1", []),
        (
            "填报单位：          填报时间：2021年  月   日",
            ["P1:填报单位 表外“填报单位” unit_name", "P1:填报时间 表外“填报时间” submitted_on"],
        ),
        ("    姓    名：________", ["P1:姓    名 表外“姓名” 询问"]),
    ],
)
def test_lines_outside_tables(text: str, expected: list[str]) -> None:
    assert [summary(item) for item in read_line(Line("P1", text))] == expected
