"""The label vocabulary of imported forms and the validators it added: ID numbers (GB 11643), dates,
periods, amounts, e-mail and several choices — each tested one by one with tables of cases."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from dialogs.validators import (
    TEXT_VALIDATORS,
    Accepted,
    Rejected,
    ValidationContext,
    check_params,
    cross_field_names,
    format_period,
    format_stored_date,
    id_check_digit,
)
from renderers.word_vocabulary import DEFAULT_SHORT_TEXT, infer

TODAY = date(2021, 5, 10)

# The two examples printed in GB 11643-1999 itself.
STANDARD_FEMALE = "11010519491231002X"  # born 1949-12-31, 17th digit 2: female
STANDARD_MALE = "440524188001010014"  # born 1880-01-01: a valid check digit, no longer a living person
# Weighted sum of 45020319850312001 by hand: 218, 218 mod 11 = 9, check character "3"; 17th digit 1: male.
MALE_1985 = "450203198503120013"


def check(validator: str, text: str, params: dict[str, Any] | None = None, **answers: Any) -> Any:
    params = params or {}
    check_params(validator, params)
    ctx = ValidationContext(label="身份证号码", today=TODAY, campaign_year=2021, answers=answers)
    return TEXT_VALIDATORS[validator](text, params, ctx)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        (STANDARD_FEMALE, STANDARD_FEMALE),
        ("11010519491231002x", STANDARD_FEMALE),
        ("110105 19491231 002X", STANDARD_FEMALE),
        ("１１０１０５１９４９１２３１００２Ｘ", STANDARD_FEMALE),
        (MALE_1985, MALE_1985),
    ],
)
def test_id_number_accepted(typed: str, stored: str) -> None:
    assert check("id_number", typed) == Accepted(stored)


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("11010519491231002", "应为18位（现为17位）"),
        ("1101051949123100XX", "前17位应为数字"),
        ("110105194912310021", "校验位（最后一位）不对"),
        ("110105194902300024", "出生日期（第7-14位）不是有效日期"),
        ("", "请填写身份证号码"),
        (STANDARD_MALE, "出生日期（第7-14位）不是有效日期"),
    ],
)
def test_id_number_refused_without_repeating_it(typed: str, says: str) -> None:
    result = check("id_number", typed)
    assert isinstance(result, Rejected)
    assert says in result.message
    assert not typed or typed not in result.message


def test_id_check_digit_of_the_standard_examples() -> None:
    assert id_check_digit(STANDARD_FEMALE[:17]) == "X"
    assert id_check_digit(STANDARD_MALE[:17]) == "4"


def test_id_number_agrees_with_the_birth_month_and_gender_answered() -> None:
    params = {"birth_field": "birth", "gender_field": "gender"}
    assert check("id_number", STANDARD_FEMALE, params, birth="1949-12", gender="女") == Accepted(
        STANDARD_FEMALE
    )
    wrong_month = check("id_number", STANDARD_FEMALE, params, birth="1949-11", gender="女")
    assert isinstance(wrong_month, Rejected)
    assert "出生年月（1949年12月）与所填出生年月（1949年11月）不一致" in wrong_month.message
    wrong_gender = check("id_number", STANDARD_FEMALE, params, birth="1949-12", gender="男")
    assert isinstance(wrong_gender, Rejected)
    assert "性别为女，与所填性别（男）不一致" in wrong_gender.message
    assert check("id_number", STANDARD_FEMALE, params) == Accepted(STANDARD_FEMALE)  # not answered yet
    assert cross_field_names(params) == {"birth", "gender"}


@pytest.mark.parametrize(
    ("validator", "typed", "params", "expected"),
    [
        ("date", "2019年3月", {}, Accepted("2019-03")),
        ("date", "2019.3.15", {}, Accepted("2019-03-15")),
        ("date", "2019.2.30", {}, "2019年2月30日不是有效日期"),
        ("date", "2021.6.1", {}, "不能晚于今天（2021年5月10日）"),
        ("date", "去年", {}, "格式填写"),
        ("period", "2019.03-2021.06", {}, Accepted("2019-03至2021-06")),
        ("period", "2019年3月到2021年6月", {}, Accepted("2019-03至2021-06")),
        ("period", "2019.3—至今", {}, Accepted("2019-03至今")),
        ("period", "2021.3-2019.1", {}, "结束时间早于开始时间"),
        ("period", "2019年", {}, "起止年月"),
        ("amount", "12.5万元", {"unit": "万元"}, Accepted("12.5")),
        ("amount", "1,200元", {"unit": "元"}, Accepted("1200")),
        ("amount", "5000元", {"unit": "万元"}, "换算成万元"),
        ("amount", "-3", {}, "不能是负数"),
        ("amount", "3.125", {}, "最多两位小数"),
        ("email", "FuLian＠163。com", {}, Accepted("fulian@163.com")),
        ("email", "fulian163.com", {}, "完整的邮箱地址"),
        (
            "choices",
            "家庭教育，关爱儿童",
            {"choices": ["关爱儿童", "助老扶弱", "家庭教育"]},
            Accepted("关爱儿童、家庭教育"),
        ),
        ("choices", "唱歌", {"choices": ["关爱儿童", "家庭教育"]}, "“唱歌”不是身份证号码的选项"),
    ],
)
def test_added_validators(
    validator: str, typed: str, params: dict[str, Any], expected: Accepted | str
) -> None:
    result = check(validator, typed, params)
    if isinstance(expected, Accepted):
        assert result == expected
    else:
        assert isinstance(result, Rejected)
        assert expected in result.message


def test_stored_dates_and_periods_print_in_chinese() -> None:
    assert format_stored_date("2019-03") == "2019年3月"
    assert format_stored_date("2019-03-15") == "2019年3月15日"
    assert format_period("2019-03至2021-06") == "2019年3月至2021年6月"
    assert format_period("2019-03至今") == "2019年3月至今"


@pytest.mark.parametrize(
    ("label", "raw", "key", "validator", "params"),
    [
        ("姓名", "", "name", "person_name", {}),
        ("队长姓名", "", "name", "person_name", {}),
        ("性别", "", "gender", "choice", {"choices": ["女", "男"]}),
        ("出生年月", "", "birth", "birth_year_month", {"min_age": 0, "max_age": 120}),
        ("民族", "", "ethnicity", "ethnic_group", {}),
        ("身份证号码", "", "id_number", "id_number", {}),
        ("手机号码", "", "mobile", "mobile", {}),
        ("联系电话", "", "phone", "phone", {}),
        ("联系电话/手机", "", "phone", "phone", {}),  # a landline named too: either is accepted
        ("手机或座机", "", "phone", "phone", {}),
        ("邮政编码", "", "postcode", "postcode", {}),
        ("电子邮箱", "", "email", "email", {}),
        ("电子信箱", "", "email", "email", {}),
        ("项目起止时间", "", "period", "period", {}),
        ("成立时间", "", "date", "date", {}),
        ("服务人数", "", "count", "integer", {"min": 0, "max": 10_000_000}),
        ("年龄", "", "age", "integer", {"min": 0, "max": 120, "unit": "岁"}),
        ("项目金额", "项目金额（万元）", "amount", "amount", {"unit": "万元"}),
        ("工作单位及职务", "", "employer_post", "text", {"min_hanzi": 4, "max_chars": 60}),
        ("职称", "", "post", "text", {"min_hanzi": 2, "max_chars": 30}),
        ("主要事迹", "主要事迹（500-1000字）", "account", "text", {"min_chars": 500, "max_chars": 1000}),
        ("个人简历", "个人简历（不少于300字）", "account", "text", {"min_chars": 300, "max_chars": 2000}),
    ],
)
def test_vocabulary(label: str, raw: str, key: str, validator: str, params: dict[str, Any]) -> None:
    limits = {"min_chars": None, "max_chars": None}
    if "500-1000" in raw:
        limits = {"min_chars": 500, "max_chars": 1000}
    if "300" in raw:
        limits = {"min_chars": 300, "max_chars": None}
    inferred = infer(label, raw_label=raw, **limits)
    assert (inferred.key, inferred.validator, inferred.params, inferred.fallback) == (
        key,
        validator,
        params,
        False,
    )
    check_params(validator, params)


def test_an_unknown_label_falls_back_to_text_and_says_so() -> None:
    inferred = infer("与户主关系")
    assert (inferred.validator, inferred.params, inferred.fallback) == (
        "text",
        {"max_chars": DEFAULT_SHORT_TEXT},
        True,
    )
    limited = infer("心得体会", max_chars=800)
    assert (limited.validator, limited.params, limited.fallback) == ("text", {"max_chars": 800}, False)


def test_boxes_in_the_blank_win_over_the_vocabulary() -> None:
    single = infer("政治面貌", options=("中共党员", "群众"))
    assert (single.kind, single.validator, single.params) == (
        "choice",
        "choice",
        {"choices": ["中共党员", "群众"]},
    )
    several = infer("服务类别", options=("关爱儿童", "助老扶弱"), multiple=True)
    assert (several.kind, several.validator) == ("text", "choices")
    assert infer("照片", photo=True).kind == "photo"
