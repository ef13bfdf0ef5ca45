"""Rules the Word import got wrong on real blank forms from public repositories
(tests/real_forms/README.md), each written here on a small form of its own so that it runs without
them: text in a drawn text box is no line of the form, 附件1： numbers the attachment, a title printed
over two lines or in the table's first row, several 标签：____ blanks in one cell, a label asked twice
named after whose row it is, a yes/no label over a plain blank, a blank someone else fills, and a
date still to come (预计毕业时间)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from docx import Document
from docx.oxml import parse_xml

from dialogs.date_validators import validate_date
from dialogs.declarations import FieldDecl
from dialogs.validators import Accepted, Rejected, ValidationContext
from renderers.word_form_lines import read_cell_lines, read_line
from renderers.word_grid import Line, read_lines
from renderers.word_import import import_report
from renderers.word_vocabulary import infer
from tests.fixtures import word_forms
from tests.fixtures.word_forms import Span
from tests.test_word_form_reader import layout
from tests.test_word_import_layouts import assert_rest_untouched, cells, filled, form_of, imported
from tests.test_word_template import stored

_TEXT_BOX = (
    '<w:r xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
    'xmlns:v="urn:schemas-microsoft-com:vml"><w:pict><v:rect style="width:80pt;height:100pt">'
    "<v:textbox><w:txbxContent><w:p><w:r><w:t>一寸照片</w:t></w:r></w:p></w:txbxContent></v:textbox>"
    "</v:rect></w:pict></w:r>"
)


def test_text_in_a_drawn_text_box_is_not_a_line_of_the_form() -> None:
    document = Document()
    anchor = document.add_paragraph()
    anchor._p.append(parse_xml(_TEXT_BOX))
    document.add_paragraph("河北省食品药品从业人员健康检查表")
    assert [line.text for line in read_lines(document)] == ["", "河北省食品药品从业人员健康检查表"]


@pytest.mark.parametrize(
    "text", ["附件1：", "附件：", "附件三：", "附件2:  ", "附件 3:", "注：", "填表说明："]
)
def test_the_attachments_number_and_a_notes_heading_are_no_blanks(text: str) -> None:
    assert read_line(Line("P1", text, 0)) == []


def _form(lines_before: list[str], rows: list[word_forms.Row]) -> bytes:
    document = word_forms._new_document()
    for text in lines_before:
        document.add_paragraph(text)
    word_forms.grid_table(document, [3.0] * 4, rows)
    return word_forms._bytes(document)


@pytest.mark.parametrize(
    ("lines_before", "first_row", "title"),
    [
        pytest.param(
            ["越秀区登峰街公开招聘辅助人员报名", "登记表", "声明：本人对所填写的各项内容保证是真实的。"],
            None,
            "越秀区登峰街公开招聘辅助人员报名登记表",
            id="over-two-lines",
        ),
        pytest.param(
            ["附件：", "福州大学晋江校区大学生学科竞赛集训基地", "", "申报表", "", "基地名称："],
            None,
            "福州大学晋江校区大学生学科竞赛集训基地申报表",
            id="over-two-lines-with-a-space-between",
        ),
        pytest.param(
            [
                "本申请表需打印、填写、签字后，发送电子版和纸质版照片至对应企业邮箱，若申请成功由申请人负责保管。"
            ],
            [Span("第五届集创赛平头哥企业命题实验平台申请表", cols=4)],
            "第五届集创赛平头哥企业命题实验平台申请表",
            id="in-the-tables-first-row",
        ),
    ],
)
def test_the_title_is_read_where_the_form_prints_it(
    lines_before: list[str], first_row: word_forms.Row | None, title: str
) -> None:
    rows: list[word_forms.Row] = [["姓名", "", "性别", ""]]
    form = imported(_form(lines_before, [first_row, *rows] if first_row else rows))
    assert form.form.title == title
    assert "未作为问题" not in import_report(form), "a title printed in the table is no label"


HEALTH_CHECK = [
    [
        Span(
            "单位:             从业类别:          \n姓名:     性别:     年龄:     \n身份证号码：          ",
            cols=4,
        )
    ],
    ["视力", "", "辨色力", ""],
    [Span("检查结论:\n\n主检医师签名:          （公章）", cols=4)],
]


def test_blanks_written_as_lines_in_one_cell_are_each_a_question_filled_in_that_cell() -> None:
    assert [blank.label for blank in read_cell_lines("T1R1C1", "姓名：    性别：    ")] == ["姓名", "性别"]
    assert read_cell_lines("T1R1C1", "姓名：    ") == [], "one blank is the label answered in its cell"
    assert read_cell_lines("T1R3C1", "检查结论：\n\n主检医师签名：   ") == [], "left for the signature"
    blank = _form([], HEALTH_CHECK)
    form = imported(blank)
    report = import_report(form).splitlines()
    assert report[1:7] == [
        " 1. 从业类别（文字，100字以内，必填）",
        " 2. 姓名（姓名，必填）",
        " 3. 性别（单选：女/男，必填）",
        " 4. 年龄（整数（0-120岁），必填）",
        " 5. 身份证号码（身份证号码（18位，核对校验位），必填）",
        " 6. 视力（文字，100字以内，必填）",
    ]
    assert "自动填写（不询问）：单位 ← 报送单位名称" in report
    assert "留待盖章、签字（保持原样，不询问）：检查结论:主检医师签名" in report
    fields = {step.label: step for step in form.form.steps if isinstance(step, FieldDecl)}
    assert fields["姓名"].cell == "T1R1C1:姓名" and fields["姓名"].printed == "表1第1行“姓名”"
    answers: dict[str, Any] = {field.key: stored(field, {}) for field in fields.values()}
    document = filled(blank, form.form, answers, {})
    written = cells(document)[0][0]
    name, age = answers[fields["姓名"].key], answers[fields["年龄"].key]
    assert f"单位:柳州市城中区妇联    从业类别:{answers[fields['从业类别'].key]}    " in written, written
    assert f"姓名:{name}    性别:{answers[fields['性别'].key]}    年龄:{age}" in written
    assert written.endswith(f"身份证号码：{answers[fields['身份证号码'].key]}")
    assert cells(document)[2][0] == HEALTH_CHECK[2][0].text  # type: ignore[union-attr]
    assert_rest_untouched(blank, document, form.form)


def test_a_label_asked_twice_is_named_after_whose_row_it_is() -> None:
    rows: list[word_forms.Row] = [
        ["申请人姓名", "", "专业", ""],
        ["手机", "", "邮箱", ""],
        ["指导老师姓名", "", "职称", ""],
        ["手机", "", "邮箱", ""],
        ["申报单位负责人", "", "手机号码", ""],
        ["填报人", "", "手机号码", ""],
    ]
    assert layout([3.0] * 4, rows) == [
        *("T1R1C2 申请人姓名 text", "T1R1C4 专业 text"),
        *("T1R2C2 申请人手机 text", "T1R2C4 申请人邮箱 text"),
        *("T1R3C2 指导老师姓名 text", "T1R3C4 职称 text"),
        *("T1R4C2 指导老师手机 text", "T1R4C4 指导老师邮箱 text"),
        *("T1R5C2 申报单位负责人 text", "T1R5C4 申报单位负责人手机号码 text"),
        *("T1R6C2 填报人 text", "T1R6C4 填报人手机号码 text"),
    ]


@pytest.mark.parametrize(
    ("label", "validator", "params"),
    [
        ("有无出国证件", "choice", {"choices": ["有", "无"]}),
        ("是否残疾人", "choice", {"choices": ["是", "否"]}),
        ("工龄", "integer", {"min": 0, "max": 80, "unit": "年"}),
        ("有关情况说明", "text", {"max_chars": 2000}),
    ],
)
def test_a_yes_no_label_is_a_choice_and_years_of_service_a_number(
    label: str, validator: str, params: dict[str, Any]
) -> None:
    inferred = infer(label)
    assert (inferred.validator, inferred.params) == (validator, params)


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("资格初审情况（招聘单位填写）", "T1R2C2 盖章“资格初审情况”"),
        ("审核结果（由组织部门填写）", "T1R2C2 盖章“审核结果”"),
        ("个人特长（本人填写）", "T1R2C2 个人特长 text"),
        ("备注（选填）", "T1R2C2 备注 text 选填"),
    ],
)
def test_a_blank_someone_else_fills_is_left_as_it_is(label: str, expected: str) -> None:
    assert layout([3.0, 6.0], [["姓名", ""], [label, ""], ["联系电话", ""]])[1] == expected


def test_a_date_still_to_come_is_taken_up_to_ten_years_ahead() -> None:
    inferred = infer("预计毕业时间")
    assert (inferred.validator, inferred.params) == ("date", {"max_years_ahead": 10})
    context = ValidationContext("预计毕业时间", date(2021, 5, 10), 2021)
    assert validate_date("2023年6月", inferred.params, context) == Accepted("2023-06")
    assert validate_date("2032年6月", inferred.params, context) == Rejected(
        "预计毕业时间不能晚于2031年，请核对后重新填写。"
    )
    assert validate_date("2023年6月", {}, ValidationContext("入学时间", date(2021, 5, 10), 2021)) == Rejected(
        "入学时间不能晚于今天（2021年5月10日），请核对后重新填写。"
    )


BRACKETS = [
    ["姓名", "", "志愿部门", ""],
    [
        Span("绩点排名\n（19级不填）", rows=2),
        Span("第（  ）名\n专业/班级共（  ）人", rows=2),
        Span("补考情况", rows=2),
        "累积补考数（  ）门",
    ],
    ["本学年补考数（  ）门"],
    ["是否服从调剂", Span("是（  ）  否（  ）", cols=3)],
]


def test_blanks_printed_as_empty_brackets_are_asked_and_written_inside_them() -> None:
    assert layout([3.0] * 4, BRACKETS)[2:] == [
        "T1R2C2#1 绩点排名：第（）名 figure",
        "T1R2C2#2 绩点排名：专业/班级共（）人 figure",
        "T1R2C4#1 补考情况：累积补考数（）门 figure",
        "T1R3C4#1 补考情况：本学年补考数（）门 figure",
        "T1R4C2#1 是否服从调剂 choice 是/否",
    ], "the blank under 志愿部门 stays its own (a bracket cell is no label over it)"
    blank = _form([], BRACKETS)
    form = imported(blank)
    fields = {step.label: step for step in form.form.steps if isinstance(step, FieldDecl)}
    assert fields["绩点排名：第（）名"].validator == "integer"
    assert fields["是否服从调剂"].option_cells == {"是": "T1R4C2#1", "否": "T1R4C2#2"}
    answers: dict[str, Any] = {field.key: stored(field, {}) for field in fields.values()}
    answers |= {
        fields["绩点排名：第（）名"].key: 3,
        fields["绩点排名：专业/班级共（）人"].key: 56,
        fields["补考情况：累积补考数（）门"].key: 0,
        fields["补考情况：本学年补考数（）门"].key: 0,
        fields["是否服从调剂"].key: "是",
    }
    document = filled(blank, form.form, answers, {})
    table = cells(document)
    assert table[1][1] == "第（3 ）名\n专业/班级共（56）人"
    assert (table[1][3], table[2][3]) == ("累积补考数（0 ）门", "本学年补考数（0 ）门")
    assert table[3][1] == "是（√ ）  否（  ）"
    assert table[1][0] == "绩点排名\n（19级不填）", "a bracket with words in it is no blank"
    assert_rest_untouched(blank, document, form.form)


def test_a_form_whose_only_blank_is_its_photo_imports() -> None:
    """A form handed back filled but for its photo (卓越工作室成员申请表) was refused with pydantic's
    English message about summary_field; it imports, asking the photo."""
    rows: list[word_forms.Row] = [
        ["姓名", "李金亮", "性别", "男", Span("照片", rows=2)],
        ["班级", "计科1702", "籍贯", "汉"],
    ]
    form = imported(form_of([3.0] * 5, rows))
    assert [step.kind for step in form.form.steps] == ["photo"] and form.form.summary_field == "photo"
