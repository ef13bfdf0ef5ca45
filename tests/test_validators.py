import random
from collections.abc import Mapping
from datetime import date
from io import BytesIO
from typing import Any

import pytest
from PIL import Image

from dialogs.validators import (
    ETHNIC_GROUPS,
    TEXT_VALIDATORS,
    Accepted,
    Rejected,
    ValidationContext,
    ValidationResult,
    check_params,
    format_date,
    format_year_month,
    parse_year_month,
    validate_photo,
    validate_video_meta,
)

TODAY = date(2021, 5, 20)
DEADLINE = date(2021, 5, 25)


def context(
    label: str = "字段",
    *,
    today: date = TODAY,
    campaign_year: int = 2021,
    deadline: date | None = DEADLINE,
    answers: Mapping[str, Any] | None = None,
) -> ValidationContext:
    return ValidationContext(
        label=label, today=today, campaign_year=campaign_year, deadline=deadline, answers=answers or {}
    )


def run(name: str, text: str, params: Mapping[str, Any] | None = None, **ctx: Any) -> ValidationResult:
    params = params or {}
    check_params(name, params)  # every case also uses a declaration the loader would accept
    return TEXT_VALIDATORS[name](text, params, context(**ctx))


def assert_accepted(result: ValidationResult, value: Any) -> None:
    assert result == Accepted(value), result


def assert_rejected(result: ValidationResult, fragment: str) -> None:
    assert isinstance(result, Rejected), result
    assert fragment in result.message


# --- dates -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1985.3", (1985, 3)),
        ("1985.03", (1985, 3)),
        ("1985-03", (1985, 3)),
        ("1985-3", (1985, 3)),
        ("1985/3", (1985, 3)),
        ("1985年3月", (1985, 3)),
        ("1985年03月", (1985, 3)),
        ("1985年3", (1985, 3)),
        ("198503", (1985, 3)),
        ("198512", (1985, 12)),
        ("１９８５．０３", (1985, 3)),
        ("１９８５年３月", (1985, 3)),
        (" 1985 年 3 月 ", (1985, 3)),
        ("1985 . 03", (1985, 3)),
        ("1985.3.12", (1985, 3)),
        ("1985-03-12", (1985, 3)),
        ("1985年3月12日", (1985, 3)),
        ("1985年3月12号", (1985, 3)),
        ("19850312", (1985, 3)),
        ("1985.3。", (1985, 3)),
        ("2020.2.29", (2020, 2)),
    ],
)
def test_parse_year_month_accepts(text: str, expected: tuple[int, int]) -> None:
    assert parse_year_month(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "1985",
        "85.3",
        "19853",
        "1985.13",
        "1985.0",
        "1985年13月",
        "198513",
        "3000.1",
        "1850.1",
        "1985.2.30",
        "2021.2.29",
        "1985.0312",
        "1985.3.12.1",
        "三月",
        "一九八五年三月",
        "1985年3月份左右",
    ],
)
def test_parse_year_month_refuses(text: str) -> None:
    assert parse_year_month(text) is None


def test_format_helpers() -> None:
    assert format_year_month("1985-03") == "1985年3月"
    assert format_year_month("2019-12") == "2019年12月"
    assert format_date("2021-03-15") == "2021年3月15日"
    assert format_date("2021-12-01") == "2021年12月1日"
    with pytest.raises(ValueError):
        format_date("2021-02-30")


BIRTH = {"min_age": 18, "max_age": 80}


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("1985.3", "1985-03"),
        ("1985年03月", "1985-03"),
        ("１９８５－０３", "1985-03"),
        ("19850312", "1985-03"),
        ("2003.05", "2003-05"),  # turns 18 this month (today is 2021-05-20)
        ("2003.01", "2003-01"),
        ("1941.05", "1941-05"),  # 80 this month
        ("1940.06", "1940-06"),  # still 80 until June
    ],
)
def test_birth_year_month_accepts(text: str, stored: str) -> None:
    assert_accepted(run("birth_year_month", text, BIRTH, label="出生年月"), stored)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "请填写出生年月。"),
        ("2003.06", "出生年月为2003年6月，年龄不在18-80岁之间"),  # 17 until June
        ("1940.05", "年龄不在18-80岁之间"),  # 81
        ("2022.01", "年龄不在18-80岁之间"),  # not born yet
        ("1985.13", "月份应在1到12之间（现为13月）"),
        ("3000.1", "请按“1985.03”或“1985年3月”的格式填写"),
        ("去年", "请按“1985.03”或“1985年3月”的格式填写"),
    ],
)
def test_birth_year_month_refuses(text: str, fragment: str) -> None:
    assert_rejected(run("birth_year_month", text, BIRTH, label="出生年月"), fragment)


@pytest.mark.parametrize(
    ("text", "deadline", "stored"),
    [
        ("2019.06", DEADLINE, "2019-06"),
        ("2020.05", DEADLINE, "2020-05"),  # exactly one year before the deadline, by month
        ("2020年5月", DEADLINE, "2020-05"),
        ("２０１０－０１", DEADLINE, "2010-01"),
        ("2020.05", None, "2020-05"),  # without a deadline, counted to today
    ],
)
def test_service_start_accepts(text: str, deadline: date | None, stored: str) -> None:
    assert_accepted(run("service_start", text, {"min_years": 1}, deadline=deadline), stored)


@pytest.mark.parametrize(
    ("text", "params", "deadline", "fragment"),
    [
        ("2020.06", {"min_years": 1}, DEADLINE, "候选人须从事妇联工作1年以上（截至2021年5月25日）"),
        ("2020.06", {"min_years": 1}, DEADLINE, "不符合推荐条件"),
        ("2021.05", {"min_years": 1}, DEADLINE, "不足1年"),
        ("2020.06", {"min_years": 1}, None, "（截至2021年5月20日）"),
        ("2019.06", {"min_years": 3}, DEADLINE, "候选人须从事妇联工作3年以上"),
        ("2021.06", {"min_years": 1}, DEADLINE, "晚于当前月份"),
        ("2019.13", {"min_years": 1}, DEADLINE, "月份应在1到12之间（现为13月）"),
        ("", {"min_years": 1}, DEADLINE, "请填写"),
    ],
)
def test_service_start_refuses(
    text: str, params: dict[str, Any], deadline: date | None, fragment: str
) -> None:
    assert_rejected(run("service_start", text, params, deadline=deadline), fragment)


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("2021-03-15", "2021-03-15"),
        ("2021.3.15", "2021-03-15"),
        ("2021/3/15", "2021-03-15"),
        ("2021年3月15日", "2021-03-15"),
        ("2021 年 3 月 15 日", "2021-03-15"),
        ("20210315", "2021-03-15"),
        ("２０２１．３．１５", "2021-03-15"),
        ("2021-01-01", "2021-01-01"),
        ("2021-05-20", "2021-05-20"),  # today
    ],
)
def test_campaign_date_accepts(text: str, stored: str) -> None:
    assert_accepted(run("campaign_date", text), stored)


def test_campaign_date_accepts_leap_day_in_a_leap_year() -> None:
    result = run("campaign_date", "2020年2月29日", today=date(2020, 12, 1), campaign_year=2020)
    assert_accepted(result, "2020-02-29")


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("2021-02-29", "2021年2月29日不是有效日期"),
        ("2021年2月30日", "不是有效日期"),
        ("2021-13-01", "不是有效日期"),
        ("2021-05-21", "不能晚于今天（2021年5月20日）"),
        ("2020-12-31", "需在2021年内"),
        ("2022-01-01", "需在2021年内"),
        ("2021.3", "需写到具体哪一天"),
        ("三月十五", "请按“2021年3月15日”或“2021.3.15”的格式填写"),
        ("", "请填写创建时间。"),
    ],
)
def test_campaign_date_refuses(text: str, fragment: str) -> None:
    assert_rejected(run("campaign_date", text, label="创建时间"), fragment)


# --- free text ---------------------------------------------------------------------------------

STORY = {"min_chars": 500, "max_chars": 1000}


@pytest.mark.parametrize(
    ("text", "params"),
    [
        ("字" * 500, STORY),
        ("字" * 1000, STORY),
        ("妇" * 499 + "。", STORY),
        ("她带领 100 名妇女发展螺蛳粉产业。" + "字" * 490, STORY),
        ("柳江区拉堡镇妇联主席", {"max_chars": 60}),
        ("村妇联主席", {"max_chars": 60, "min_hanzi": 4}),
        ("柳州市城中区 88 号", {"max_chars": 80, "min_hanzi": 6}),
        ("字" * 500, {"max_chars": 500}),
        ("第一段\n\n第二段", {"max_chars": 6}),  # line breaks count 0
    ],
)
def test_text_accepts_and_stores_the_text(text: str, params: dict[str, Any]) -> None:
    assert_accepted(run("text", text, params), text)


@pytest.mark.parametrize(
    ("text", "label", "params", "message"),
    [
        (
            "字" * 463,
            "主要事迹",
            STORY,
            "还差 37 字，主要事迹需 500-1000 字（现为 463 字）。",
        ),
        (
            "字" * 1012,
            "主要事迹",
            STORY,
            "超出 12 字，主要事迹需 500-1000 字（现为 1012 字），请删减后重新发送。",
        ),
        (
            "字" * 512,
            "创建情况",
            {"max_chars": 500},
            "超出 12 字，创建情况需在 500 字以内（现为 512 字），请删减后重新发送。",
        ),
        (
            "字" * 999 + " abc def",  # the two English words count 2
            "主要事迹",
            STORY,
            "超出 1 字，主要事迹需 500-1000 字（现为 1001 字），请删减后重新发送。",
        ),
        ("", "主要事迹", STORY, "请填写主要事迹。"),
        ("  \n ", "工作单位及职务", {"max_chars": 60}, "请填写工作单位及职务。"),
        (
            "x",
            "工作单位及职务",
            {"max_chars": 60, "min_hanzi": 4},
            "工作单位及职务请用中文写清楚，至少要有 4 个汉字（现有 0 个）。",
        ),
        (
            "村主任",
            "工作单位及职务",
            {"max_chars": 60, "min_hanzi": 4},
            "工作单位及职务请用中文写清楚，至少要有 4 个汉字（现有 3 个）。",
        ),
        (
            "word " * 600,  # too long first: the length is what to fix
            "个人事迹",
            {"max_chars": 500, "min_hanzi": 20},
            "超出 100 字，个人事迹需在 500 字以内（现为 600 字），请删减后重新发送。",
        ),
        (
            "ＡＢＣ１２３４",  # full-width letters count as 字 but are no Chinese
            "课程名称",
            {"max_chars": 40, "min_hanzi": 4},
            "课程名称请用中文写清楚，至少要有 4 个汉字（现有 0 个）。",
        ),
    ],
)
def test_text_refuses_with_exact_message(text: str, label: str, params: dict[str, Any], message: str) -> None:
    assert run("text", text, params, label=label) == Rejected(message)


# --- names -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("韦丽华", "韦丽华"),
        ("李娜", "李娜"),
        ("韦 丽 华", "韦丽华"),
        ("韦\u3000丽华", "韦丽华"),
        ("欧阳娜娜", "欧阳娜娜"),
        ("阿依古丽·买买提", "阿依古丽·买买提"),
        ("阿依古丽•买买提", "阿依古丽·买买提"),  # U+2022
        ("阿依古丽‧买买提", "阿依古丽·买买提"),  # U+2027
        ("阿依古丽・买买提", "阿依古丽·买买提"),  # U+30FB
        ("阿依古丽．买买提", "阿依古丽·买买提"),  # U+FF0E
        ("阿依古丽.买买提", "阿依古丽·买买提"),
        ("阿依古丽･买买提", "阿依古丽·买买提"),  # U+FF65
        ("阿依古丽 · 买买提", "阿依古丽·买买提"),
        ("Ayi Guli", "Ayi Guli"),
        ("Ayi   Guli", "Ayi Guli"),
        ("Ａｙｉ Ｇｕｌｉ", "Ayi Guli"),
        ("José", "José"),
        ("𠀀华", "𠀀华"),  # rare ideographs from extension B
        ("字" * 9 + "·" + "字" * 10, "字" * 9 + "·" + "字" * 10),  # the longest a name may be
        ("买买提·艾力", "买买提·艾力"),
    ],
)
def test_person_name_accepts(text: str, stored: str) -> None:
    assert_accepted(run("person_name", text, label="姓名"), stored)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "请填写姓名。"),
        ("韦", "姓名至少2个字"),
        ("A", "姓名至少2个字"),
        ("韦丽华1", "不能有数字"),
        ("１３８７７２１２３４５", "不能有数字"),
        ("韦丽华、李娜", "一次只填写一个人的姓名"),
        ("韦丽华，李娜", "一次只填写一个人的姓名"),
        ("韦丽华!", "只能由汉字或字母组成"),
        ("韦丽华（主席）", "只能由汉字或字母组成"),
        ("👍👍", "只能由汉字或字母组成"),
        ("·阿依古丽", "不能在姓名的开头或结尾"),
        ("阿依古丽·", "不能在姓名的开头或结尾"),
        ("阿依古丽··买买提", "不能连用"),
        ("阿依古丽•・买买提", "不能连用"),
        ("字" * 21, "姓名最多20个字（现为21个）"),
        ("韦", "例如：韦丽华、阿依古丽·买买提"),
    ],
)
def test_person_name_refuses(text: str, fragment: str) -> None:
    assert_rejected(run("person_name", text, label="姓名"), fragment)


# --- choices -----------------------------------------------------------------------------------

GENDER = {"choices": ["女", "男"]}
LEVEL = {
    "choices": ["县（区）妇联执委", "乡镇（街道）妇联执委", "村（社区）妇联执委", "以上都不是"],
    "aliases": {"村": "村（社区）妇联执委", "社区": "村（社区）妇联执委", "Town": "乡镇（街道）妇联执委"},
    "refusals": {"以上都不是": "候选人须为县、乡、村三级妇联执委，暂不符合推荐条件。"},
}
ELEVEN = {"choices": [f"选项{number}" for number in range(1, 12)]}


@pytest.mark.parametrize(
    ("text", "params", "stored"),
    [
        ("女", GENDER, "女"),
        (" 男 ", GENDER, "男"),
        ("村（社区）妇联执委", LEVEL, "村（社区）妇联执委"),
        ("村(社区)妇联执委", LEVEL, "村（社区）妇联执委"),  # width-insensitive
        ("村 （社区） 妇联执委", LEVEL, "村（社区）妇联执委"),
        ("村", LEVEL, "村（社区）妇联执委"),
        ("社区", LEVEL, "村（社区）妇联执委"),
        ("town", LEVEL, "乡镇（街道）妇联执委"),  # aliases are case-insensitive too
        ("ＴＯＷＮ", LEVEL, "乡镇（街道）妇联执委"),
        ("选项11", ELEVEN, "选项11"),
        ("选项１１", ELEVEN, "选项11"),
    ],
)
def test_choice_accepts(text: str, params: dict[str, Any], stored: str) -> None:
    assert_accepted(run("choice", text, params), stored)


@pytest.mark.parametrize(
    ("text", "params", "message"),
    [
        ("不知道", GENDER, "请从以下选项中选择：女、男"),
        ("1", GENDER, "请从以下选项中选择：女、男"),
        ("以上都不是", LEVEL, "候选人须为县、乡、村三级妇联执委，暂不符合推荐条件。"),
        (
            "市",
            LEVEL,
            "请从以下选项中选择：县（区）妇联执委、乡镇（街道）妇联执委、村（社区）妇联执委、以上都不是",
        ),
        ("选项12", ELEVEN, "请从以下选项中选择：" + "、".join(f"选项{n}" for n in range(1, 11)) + "等"),
        ("", GENDER, "请填写字段。"),
    ],
)
def test_choice_refuses(text: str, params: dict[str, Any], message: str) -> None:
    assert run("choice", text, params) == Rejected(message)


def test_ethnic_groups_list() -> None:
    assert len(ETHNIC_GROUPS) == 56
    assert len(set(ETHNIC_GROUPS)) == 56
    assert ETHNIC_GROUPS[:5] == ("汉族", "壮族", "苗族", "侗族", "瑶族")
    assert ETHNIC_GROUPS[5:8] == ("蒙古族", "回族", "藏族")
    assert ETHNIC_GROUPS[-3:] == ("门巴族", "珞巴族", "基诺族")
    assert all(group.endswith("族") for group in ETHNIC_GROUPS)


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("汉族", "汉族"),
        ("壮族", "壮族"),
        ("壮", "壮族"),
        ("回", "回族"),
        ("苗", "苗族"),
        ("毛南族", "毛南族"),
        ("仫佬", "仫佬族"),
        ("维吾尔", "维吾尔族"),
        ("蒙古族", "蒙古族"),
        ("高山族", "高山族"),
        ("珞巴族", "珞巴族"),
        ("基诺", "基诺族"),
        (" 侗 族 ", "侗族"),
    ],
)
def test_ethnic_group_accepts(text: str, stored: str) -> None:
    assert_accepted(run("ethnic_group", text, label="民族"), stored)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("族", "请填写民族的全称"),
        ("汉族人", "请填写民族的全称"),
        ("穿青人", "例如：汉族、壮族、苗族、侗族、瑶族"),
        ("Han", "请填写民族的全称"),
        ("", "请填写民族。"),
    ],
)
def test_ethnic_group_refuses(text: str, fragment: str) -> None:
    assert_rejected(run("ethnic_group", text, label="民族"), fragment)


# --- postcodes and phones ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "stored"),
    [("545001", "545001"), ("545 001", "545001"), ("５４５００１", "545001"), ("010000", "010000")],
)
def test_postcode_accepts(text: str, stored: str) -> None:
    assert_accepted(run("postcode", text, label="邮编"), stored)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("54500", "邮编应为6位数字（现为5位），例如 545001"),
        ("5450011", "现为7位"),
        ("54500a", "只能是数字"),
        ("545-001", "只能是数字"),
        ("", "请填写邮编。"),
    ],
)
def test_postcode_refuses(text: str, fragment: str) -> None:
    assert_rejected(run("postcode", text, label="邮编"), fragment)


MOBILE_INPUTS = [
    ("13877212345", "13877212345"),
    ("138 7721 2345", "13877212345"),
    ("138-7721-2345", "13877212345"),
    ("１３８７７２１２３４５", "13877212345"),
    ("+86 138 7721 2345", "13877212345"),
    ("+8613877212345", "13877212345"),
    ("8613877212345", "13877212345"),
    ("0086 13877212345", "13877212345"),
    ("(+86) 19977212345", "19977212345"),
]


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        *MOBILE_INPUTS,
        ("0772-2823290", "0772-2823290"),
        ("07722823290", "0772-2823290"),
        ("(0772)2823290", "0772-2823290"),
        ("（0772）2823290", "0772-2823290"),
        ("0772 282 3290", "0772-2823290"),
        ("０７７２－２８２３２９０", "0772-2823290"),
        ("0772.2823290", "0772-2823290"),
        ("0772-28232901", "0772-28232901"),  # 8-digit local number
        ("010-62345678", "010-62345678"),
        ("01062345678", "010-62345678"),
        ("020 8888 6666", "020-88886666"),
        ("+86 772 2823290", "0772-2823290"),
        ("+86 10 62345678", "010-62345678"),
    ],
)
def test_phone_accepts(text: str, stored: str) -> None:
    assert_accepted(run("phone", text, label="联系电话"), stored)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("2823290", "固定电话请加区号，例如 0772-2823290。"),
        ("28232901", "固定电话请加区号"),
        ("1387721234", "手机号码应为11位数字（现为10位）"),
        ("138772123456", "现为12位"),
        ("12877212345", "不是有效的手机号码"),
        ("0772-282329", "固定电话应为区号加7-8位号码"),
        ("0772-282329", "现为10位数字"),
        ("0772-0823290", "不能以0或1开头"),
        ("0772-2823290转123", "暂不支持分机号"),
        ("0772-2823290 ext 12", "暂不支持分机号"),
        ("98765", "电话号码位数不对（现为5位数字）"),
        ("12345", "手机号码应为11位数字（现为5位）"),
        ("138abc", "只能包含数字"),
        ("", "请填写联系电话。"),
    ],
)
def test_phone_refuses(text: str, fragment: str) -> None:
    assert_rejected(run("phone", text, label="联系电话"), fragment)


@pytest.mark.parametrize(("text", "stored"), MOBILE_INPUTS)
def test_mobile_accepts(text: str, stored: str) -> None:
    assert_accepted(run("mobile", text, label="手机号码"), stored)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("0772-2823290", "这里需要手机号码（11位）"),
        ("010-62345678", "这里需要手机号码（11位）"),
        ("2823290", "固定电话请加区号"),
        ("1387721234", "手机号码应为11位数字"),
        ("", "请填写手机号码。"),
    ],
)
def test_mobile_refuses(text: str, fragment: str) -> None:
    assert_rejected(run("mobile", text, label="手机号码"), fragment)


# --- integers ----------------------------------------------------------------------------------

STAFF = {"min": 1, "max": 1000000, "unit": "人"}
WOMEN = {"min": 0, "max": 1000000, "unit": "人", "at_most_field": "staff_count", "at_most_label": "单位人数"}
MEMBERS = {
    "min": 4,
    "max": 200,
    "unit": "人",
    "more_than_sum_of": ["vice_chair_count"],
    "more_than_plus": 1,
    "more_than_label": "主席和副主席人数之和",
}


@pytest.mark.parametrize(
    ("text", "params", "answers", "stored"),
    [
        ("120", STAFF, {}, 120),
        ("120人", STAFF, {}, 120),
        ("120 人", STAFF, {}, 120),
        ("120名", STAFF, {}, 120),
        ("120个人", STAFF, {}, 120),
        ("１２０", STAFF, {}, 120),
        ("1,200", STAFF, {}, 1200),
        ("1", STAFF, {}, 1),
        ("0", WOMEN, {"staff_count": 100}, 0),
        ("100", WOMEN, {"staff_count": 100}, 100),  # equal is fine
        ("120", WOMEN, {}, 120),  # no 单位人数 yet: the cross-field rule waits
        ("5", MEMBERS, {"vice_chair_count": 3}, 5),  # 5 > 1 + 3
        ("4", MEMBERS, {"vice_chair_count": 2}, 4),
        ("4", MEMBERS, {}, 4),  # no 副主席人数 yet
        ("3", {"min": 2, "max": 3}, {}, 3),
    ],
)
def test_integer_accepts(text: str, params: dict[str, Any], answers: dict[str, Any], stored: int) -> None:
    assert_accepted(run("integer", text, params, answers=answers), stored)


@pytest.mark.parametrize(
    ("text", "label", "params", "answers", "fragment"),
    [
        ("120", "女性人数", WOMEN, {"staff_count": 100}, "女性人数（120）不能多于单位人数（100），请核对。"),
        (
            "4",
            "执委人数",
            MEMBERS,
            {"vice_chair_count": 3},
            "执委人数需多于主席和副主席人数之和（现为4人），请核对。",
        ),
        ("3", "执委人数", MEMBERS, {"vice_chair_count": 2}, "执委人数需在4-200人之间（现为3人）"),
        ("0", "单位人数", STAFF, {}, "单位人数需在1-1000000人之间（现为0人）"),
        ("4", "副主席人数", {"min": 2, "max": 3}, {}, "副主席人数需在2-3之间（现为4）"),
        ("-5", "单位人数", STAFF, {}, "不能是负数"),
        ("3.5", "单位人数", STAFF, {}, "需为整数，不能有小数"),
        ("一百", "单位人数", STAFF, {}, "请只填写阿拉伯数字，例如 12。"),
        ("约100", "单位人数", STAFF, {}, "请只填写阿拉伯数字"),
        ("", "单位人数", STAFF, {}, "请填写单位人数。"),
        ("9" * 5000, "单位人数", STAFF, {}, "单位人数需在1-1000000人之间，请核对。"),  # int() would refuse it
        ("٣", "单位人数", STAFF, {}, "请只填写阿拉伯数字"),  # an Arabic-Indic three: int() reads it
        ("²", "单位人数", STAFF, {}, "请只填写阿拉伯数字"),
    ],
)
def test_integer_refuses(
    text: str, label: str, params: dict[str, Any], answers: dict[str, Any], fragment: str
) -> None:
    assert_rejected(run("integer", text, params, label=label, answers=answers), fragment)


# --- declaration checks ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "params"),
    [
        ("text", {"max_chars": 60}),
        ("text", {"min_chars": 500, "max_chars": 1000}),
        ("person_name", {}),
        ("choice", LEVEL),
        ("ethnic_group", {}),
        ("birth_year_month", BIRTH),
        ("service_start", {"min_years": 1}),
        ("postcode", {}),
        ("phone", {}),
        ("mobile", {}),
        ("integer", WOMEN),
        ("integer", MEMBERS),
        ("campaign_date", {}),
    ],
)
def test_check_params_accepts_good_declarations(name: str, params: dict[str, Any]) -> None:
    check_params(name, params)
    assert name in TEXT_VALIDATORS


def test_every_registered_validator_is_covered_by_check_params() -> None:
    covered = {"text", "person_name", "choice", "ethnic_group", "birth_year_month", "service_start"}
    covered |= {"postcode", "phone", "mobile", "integer", "campaign_date"}
    covered |= {"id_number", "amount", "email", "date", "period", "choices"}  # imported Word forms
    assert set(TEXT_VALIDATORS) == covered


@pytest.mark.parametrize(
    ("name", "params", "fragment"),
    [
        ("website", {}, "unknown validator 'website'"),
        ("choices", {"choices": ["是", "是"]}, "without duplicates"),
        ("id_number", {"birth": "birth"}, "unknown param(s) birth"),
        ("text", {}, "missing required param 'max_chars'"),
        ("text", {"max_chars": 60, "max_length": 3}, "unknown param(s) max_length"),
        ("postcode", {"digits": 6}, "unknown param(s) digits; allowed: none"),
        ("text", {"max_chars": "60"}, "param 'max_chars' must be int"),
        ("text", {"max_chars": True}, "param 'max_chars' must be int"),
        ("text", {"min_chars": 600, "max_chars": 500}, "min_chars <= max_chars"),
        ("birth_year_month", {"min_age": 18}, "missing required param 'max_age'"),
        ("choice", {"choices": "男女"}, "param 'choices' must be list[str]"),
        ("choice", {"choices": []}, "non-empty"),
        ("choice", {"choices": ["男", "男"]}, "without duplicates"),
        ("choice", {"choices": ["男"], "aliases": {"M": "man"}}, "not a choice"),
        ("choice", {"choices": ["男"], "aliases": {"M": 1}}, "param 'aliases' must be dict[str, str]"),
        ("choice", {"choices": ["男"], "refusals": {"女": "no"}}, "refusal for '女'"),
        ("integer", {"min": 5, "max": 1}, "min is greater than max"),
        ("integer", {"min": 0, "max": 9, "at_most_field": "staff_count"}, "go together"),
        ("integer", {"min": 0, "max": 9, "more_than_sum_of": ["a"]}, "go together"),
        ("integer", {"min": 0, "max": 9, "more_than_plus": 1}, "needs more_than_sum_of"),
    ],
)
def test_check_params_refuses_bad_declarations(name: str, params: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError) as raised:
        check_params(name, params)
    assert fragment in str(raised.value)


# --- photos ------------------------------------------------------------------------------------


def image_bytes(size: tuple[int, int], image_format: str, *, noise: bool = False, **save: Any) -> bytes:
    if noise:
        pixels = random.Random(0).randbytes(size[0] * size[1] * 3)
        image = Image.frombytes("RGB", size, pixels)
    else:
        image = Image.new("RGB", size, (200, 80, 80))
    if image_format == "GIF":
        image = image.convert("P")
    buffer = BytesIO()
    image.save(buffer, image_format, **save)
    return buffer.getvalue()


def rotated_jpeg(size: tuple[int, int], orientation: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    return image_bytes(size, "JPEG", exif=exif)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (image_bytes((400, 300), "JPEG"), ("JPEG", "image/jpeg", 400, 300)),
        (image_bytes((300, 300), "JPEG"), ("JPEG", "image/jpeg", 300, 300)),
        (image_bytes((640, 480), "PNG"), ("PNG", "image/png", 640, 480)),
        (image_bytes((400, 500), "WEBP"), ("WEBP", "image/webp", 400, 500)),
        (rotated_jpeg((400, 300), 6), ("JPEG", "image/jpeg", 300, 400)),  # rotated 90°: sides swap
        (rotated_jpeg((400, 300), 8), ("JPEG", "image/jpeg", 300, 400)),
        (rotated_jpeg((400, 300), 3), ("JPEG", "image/jpeg", 400, 300)),  # rotated 180°: no swap
    ],
)
def test_photo_accepts(data: bytes, expected: tuple[str, str, int, int]) -> None:
    image_format, mime, width, height = expected
    result = validate_photo(data)
    assert result == Accepted(
        {"format": image_format, "mime": mime, "width": width, "height": height, "bytes": len(data)}
    )


NOT_A_PHOTO = "无法识别为照片，请发送 JPG 或 PNG 格式的照片。"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (image_bytes((200, 600), "JPEG"), "照片太小（短边 200 像素），请发送原图，短边至少 300 像素。"),
        (rotated_jpeg((600, 299), 6), "照片太小（短边 299 像素），请发送原图，短边至少 300 像素。"),
        (image_bytes((400, 300), "GIF"), NOT_A_PHOTO),
        (image_bytes((400, 300), "BMP"), NOT_A_PHOTO),
        (random.Random(1).randbytes(5000), NOT_A_PHOTO),
        (b"", NOT_A_PHOTO),
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", NOT_A_PHOTO),
        (image_bytes((400, 300), "JPEG", noise=True)[:5000], NOT_A_PHOTO),  # truncated
        (image_bytes((400, 300), "PNG", noise=True)[:5000], NOT_A_PHOTO),
    ],
)
def test_photo_refuses(data: bytes, message: str) -> None:
    assert validate_photo(data) == Rejected(message)


@pytest.mark.parametrize("progressive", [False, True])
@pytest.mark.parametrize("missing", [1, 2, 300])
def test_photo_refuses_a_jpeg_cut_short_by_a_few_bytes(progressive: bool, missing: int) -> None:
    # JPEGs are checked with a reduced-scale decode: it must still read up to the very end.
    data = image_bytes((1280, 960), "JPEG", noise=True, progressive=progressive)
    assert isinstance(validate_photo(data), Accepted)
    assert validate_photo(data[:-missing]) == Rejected(NOT_A_PHOTO)


def test_photo_short_side_threshold_is_a_parameter() -> None:
    data = image_bytes((400, 300), "JPEG")
    assert_rejected(validate_photo(data, min_short_side=600), "短边至少 600 像素")


def test_photo_too_large() -> None:
    data = image_bytes((400, 300), "JPEG")
    max_bytes = len(data) - 1
    assert_rejected(validate_photo(data, max_bytes=max_bytes), "照片太大")
    big = validate_photo(b"\0" * 12_300_000)
    assert big == Rejected("照片太大（12.3 MB），请发送不超过 10 MB 的照片（可先在相册里压缩后再发送）。")
    just_over = validate_photo(b"\0" * 10_040_000)
    assert just_over == Rejected(
        "照片太大（10.1 MB），请发送不超过 10 MB 的照片（可先在相册里压缩后再发送）。"
    )


@pytest.mark.parametrize("size", [(40, 40), (400, 300)])  # over the limit (warning) / over twice it (error)
def test_photo_refuses_decompression_bombs(monkeypatch: pytest.MonkeyPatch, size: tuple[int, int]) -> None:
    data = image_bytes(size, "PNG")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    assert_rejected(validate_photo(data, min_short_side=1), "照片像素过大")


# --- videos ------------------------------------------------------------------------------------

GOOD_VIDEO: dict[str, Any] = {
    "mime": "video/mp4",
    "file_name": "课堂.mp4",
    "duration_s": 300,
    "width": 1920,
    "height": 1080,
    "size_bytes": 80_000_000,
}


def video(**changes: Any) -> ValidationResult:
    return validate_video_meta(**(GOOD_VIDEO | changes))


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"duration_s": 180},
        {"duration_s": 480},
        {"width": 854, "height": 480},
        {"width": 480, "height": 854},  # portrait
        {"mime": "VIDEO/MP4"},
        {"mime": None},
        {"file_name": None},
        {"mime": "application/octet-stream", "file_name": "KETANG.MP4"},
        {"size_bytes": None},
        {"max_download_bytes": 100 * 1024 * 1024},
    ],
)
def test_video_accepts_silently(changes: dict[str, Any]) -> None:
    result = video(**changes)
    expected = {key: value for key, value in (GOOD_VIDEO | changes).items() if key != "max_download_bytes"}
    assert result == Accepted(expected)


@pytest.mark.parametrize(
    ("changes", "note"),
    [
        ({"duration_s": 570}, "视频时长 9分30秒，方案要求 5 分钟左右，建议剪辑"),
        ({"duration_s": 900}, "视频时长 15分钟"),
        ({"duration_s": 60}, "视频时长 1分钟，方案要求 5 分钟左右，建议补充内容"),
        ({"duration_s": 179}, "2分59秒"),
        ({"duration_s": None}, "无法读取视频时长"),
        ({"width": None}, "无法读取视频分辨率"),
        ({"mime": None, "file_name": None}, "无法确认视频格式"),
        ({"max_download_bytes": 20_000_000}, "视频文件较大（80 MB）"),
    ],
)
def test_video_accepts_with_a_note(changes: dict[str, Any], note: str) -> None:
    result = video(**changes)
    assert isinstance(result, Accepted)
    assert result.note is not None
    assert note in result.note


def test_video_with_nothing_known_gets_every_note() -> None:
    result = validate_video_meta(
        mime=None, file_name=None, duration_s=None, width=None, height=None, size_bytes=None
    )
    assert isinstance(result, Accepted)
    assert result.note is not None
    assert result.note.count("\n") == 2


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"mime": "video/quicktime", "file_name": "课堂.mov"}, "请上传 MP4 格式的视频"),
        ({"mime": "video/quicktime", "file_name": None}, "请上传 MP4 格式的视频"),
        ({"mime": None, "file_name": "课堂.avi"}, "请上传 MP4 格式的视频"),
        ({"duration_s": 59}, "视频时长 59秒"),
        ({"duration_s": 901}, "视频时长 15分1秒"),
        ({"duration_s": 901}, "可接受 1-15 分钟"),
        ({"width": 640, "height": 360}, "画面不够清晰（分辨率 640×360）"),
        ({"width": 360, "height": 640}, "画面不够清晰"),
    ],
)
def test_video_refuses(changes: dict[str, Any], fragment: str) -> None:
    assert_rejected(video(**changes), fragment)


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares its size and holds no pixels: all a bomb needs to get decoded."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def test_a_photo_over_the_pixel_budget_is_refused_from_its_header() -> None:
    from dialogs.validators import PHOTO_MAX_PIXELS, decode_budget

    data = png_header_only(9400, 9400)  # 88 MP: just under Pillow's own bomb limit
    assert PHOTO_MAX_PIXELS < 9400 * 9400
    before = decode_budget._in_use
    result = validate_photo(data)
    assert result == Rejected(
        "照片像素过大（约 8836 万像素），请发送不超过 5000 万像素的照片（手机拍照的默认设置即可）。"
    )
    assert decode_budget._in_use == before


def test_decodes_share_one_pixel_budget() -> None:
    import threading
    import time

    from dialogs.validators import DecodeBudget

    budget = DecodeBudget(100)
    held: list[int] = []
    peak = [0]
    lock = threading.Lock()

    def decode(pixels: int) -> None:
        with budget.hold(pixels):
            with lock:
                held.append(min(pixels, 100))  # a decode larger than the budget counts as all of it
                peak[0] = max(peak[0], sum(held))
            time.sleep(0.02)
            with lock:
                held.remove(min(pixels, 100))

    sizes = [60, 60, 30, 30, 10, 500, 40]  # 500: larger than the budget, it runs alone at its cap
    threads = [threading.Thread(target=decode, args=(size,)) for size in sizes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert 60 < peak[0] <= 100, "never more than the budget at once, and small ones share it"
    assert budget._in_use == 0
    with budget.hold(100):
        pass  # nothing leaked: the whole budget is there again
