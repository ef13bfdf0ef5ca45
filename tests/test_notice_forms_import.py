"""The notice's three forms by the import path: each blank Word file (``tests/fixtures/notice_forms``)
imported and compared with its hand-written declaration in ``dialogs/forms/``.

Every difference in labels, kinds, limits and order is printed; the test holds that the differences
are exactly those listed below, each with the reason it is there. A new difference — the reader or
the vocabulary changed, or a declaration did — fails until it is explained here or fixed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from dialogs.declarations import FORMS_DIR, FieldDecl, FormDecl, GroupDecl, load_form
from renderers.word_import import import_word_form
from tests.fixtures.notice_forms import NOTICE_FORMS

#: Not printed on the blank form, so the import cannot know of them: the hand-written declaration
#: asks them for eligibility, the online vote or the 统计表.
_NOT_ON_THE_FORM = "不在表上：手写声明为资格审核、网络评选或统计表额外询问，导入只能问表上有的"

#: The hand-written renderers print these from what they know, with no blank on the form for them.
_FILLED = "表外空格由报送单位名称或提交日期自动填写；手写声明的渲染器同样自动印上，只是不写在声明里"
_AGE = "表上不写年龄要求；18-80 岁是活动方案对人选的要求，导入无从得知（导入后可在声明中改 min_age）"

EXPLAINED: dict[str, dict[str, str]] = {
    "cadre_registration": {
        "只在导入：市": "封面“市（县、区）”当作询问项；手写渲染器印单位所在地区（导入只认单位名称和日期）",
        "只在导入：姓名#2→answer:name": (
            "封面“姓名”印表格中“姓名”的答案，不再询问；手写渲染器同样印在两处，只是不写在声明里"
        ),
        "只在导入：单位→unit_name": _FILLED,
        "只在导入：填表时间→submitted_on": _FILLED,
        "只在手写：执委层级": _NOT_ON_THE_FORM,
        "只在手写：开始从事妇联工作的时间": _NOT_ON_THE_FORM,
        "只在手写：网络展示事迹": _NOT_ON_THE_FORM,
        "只在手写：证件照": _NOT_ON_THE_FORM,
        "只在手写：工作照": _NOT_ON_THE_FORM,
        "不同：出生年月 手写 text birth_year_month age 18-80 / 导入 text birth_year_month age 0-120": _AGE,
    },
    "course_recommendation": {
        "只在导入：表格“行”": (
            "同一个课程表格：导入按“行”计、1-10 行（表上未写行数）；手写声明按“节课程”计、"
            "至少 2 节（活动方案要求每个县区至少推荐 2 节）"
        ),
        "只在手写：表格“节课程”": "同上",
        "只在导入：推荐单位（盖章）→unit_name": _FILLED,
        "只在手写：表格·课程视频": _NOT_ON_THE_FORM,
        "不同：表格·课程名称 手写 text text 字 -40 / 导入 text text 字 -60": (
            "表上未写课程名称长度；手写声明按课程标题定 40 字，导入用“名称”的通用上限 60 字"
        ),
        (
            "不同：表格·主讲人出生年月 手写 text birth_year_month age 18-80"
            " / 导入 text birth_year_month age 0-120"
        ): _AGE,
    },
    "site_application": {
        "只在导入：申报单位负责人手机号码": (
            "同一格：导入以行首标签命名（申报单位负责人手机号码），手写声明简称负责人手机号码"
        ),
        "只在手写：负责人手机号码": "同上",
        "只在导入：填报单位→unit_name": _FILLED,
        "只在导入：填报时间→submitted_on": _FILLED,
        "只在手写：组建方式": _NOT_ON_THE_FORM,
        "只在手写：所属领域": _NOT_ON_THE_FORM,
        "只在手写：新建妇联组织名称": _NOT_ON_THE_FORM,
        "只在手写：妇联主席姓名": _NOT_ON_THE_FORM,
        "只在手写：妇联主席电话": _NOT_ON_THE_FORM,
        "只在手写：副主席人数": _NOT_ON_THE_FORM,
        "只在手写：执委人数": _NOT_ON_THE_FORM,
        "只在手写：创建时间": _NOT_ON_THE_FORM,
        "不同：单位人数 手写 text integer 1-1000000 / 导入 text integer 0-10000000": (
            "表上不写人数范围；导入用“人数”的通用范围，手写声明要求至少 1 人"
        ),
        "不同：女性人数 手写 text integer 0-1000000 / 导入 text integer 0-10000000": (
            "同上；手写声明还核对女性人数不超过单位人数（at_most_field），导入不知道两格的关系"
        ),
        "不同：表格“张照片” 手写 3-12张照片 / 导入 3-9张照片": (
            "表上只写“不少于3张”；导入默认最多 9 张，手写声明定为 12 张"
        ),
    },
}


def _limits(params: dict[str, Any]) -> str:
    parts = []
    if "choices" in params:
        parts.append("/".join(params["choices"]))
    for low, high, name in (
        ("min_chars", "max_chars", "字"),
        ("min", "max", ""),
        ("min_age", "max_age", "age"),
    ):
        if low in params or high in params:
            parts.append(f"{name} {params.get(low, '')}-{params.get(high, '')}".strip())
    return " ".join(parts)


def _shape(field: FieldDecl) -> str:
    return " ".join(part for part in (field.kind, field.validator or "", _limits(dict(field.params))) if part)


def _items(form: FormDecl) -> Iterator[tuple[str, str]]:
    """(label, shape) in the order asked; a group's fields under ``表格·``, numbered when repeated."""
    seen: dict[str, int] = {}

    def named(label: str) -> str:
        seen[label] = seen.get(label, 0) + 1
        return label if seen[label] == 1 else f"{label}#{seen[label]}"

    for step in form.steps:
        if isinstance(step, GroupDecl):
            yield named(f"表格“{step.item}”"), f"{step.min_rows}-{step.max_rows}{step.item}"
            for field in step.fields:
                yield named(f"表格·{field.label}"), _shape(field)
        else:
            yield named(step.label), _shape(step)
    for address, known in form.filled_from.items():
        yield named("".join(address.split(":", 1)[-1].split())), f"→{known}"


def differences(hand: FormDecl, imported: FormDecl) -> list[str]:
    """Every difference in labels, kinds, limits and order, one line each."""
    ours, theirs = dict(_items(hand)), dict(_items(imported))
    found = [
        f"只在导入：{label}{shape if shape.startswith('→') else ''}"
        for label, shape in theirs.items()
        if label not in ours
    ]
    found += [f"只在手写：{label}" for label in ours if label not in theirs]
    found += [
        f"不同：{label} 手写 {ours[label]} / 导入 {theirs[label]}"
        for label in ours
        if label in theirs and ours[label] != theirs[label]
    ]
    common = [label for label in ours if label in theirs]
    order = [label for label in theirs if label in ours]
    if common != order:
        found.append(f"顺序：手写 {'、'.join(common)} / 导入 {'、'.join(order)}")
    return found


@pytest.mark.parametrize("form_id", sorted(NOTICE_FORMS))
def test_the_notice_forms_import_as_their_hand_written_declarations_except_as_explained(
    form_id: str, capsys: pytest.CaptureFixture[str]
) -> None:
    builder, name = NOTICE_FORMS[form_id]
    imported = import_word_form(name, builder(), form_id, f"{form_id}.docx").form
    hand = load_form(FORMS_DIR / f"{form_id}.toml")
    found = differences(hand, imported)
    with capsys.disabled():
        print(f"\n{form_id}: {len(found)} differences")
        for line in found:
            print(f"  {line}  —  {EXPLAINED[form_id].get(line, '未解释')}")
    assert set(found) == set(EXPLAINED[form_id]), "differences changed: explain them or fix them"
