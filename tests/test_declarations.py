"""Forms and the campaign are data, checked once at load: mistakes fail there, never in a chat."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.app import Declarations
from dialogs.campaign import DEFAULT_CAMPAIGN, load_campaign
from dialogs.declarations import DeclarationError, FieldDecl, load_form, load_forms

GOOD_FIELD = """
[[steps]]
key = "name"
label = "姓名"
prompt = "请输入姓名。"
example = "韦丽华"
validator = "person_name"
printed = "表格第1行"
"""

HEADER = """
id = "sample"
title = "样表"
short_title = "样表"
record_noun = "人"
summary_field = "name"
intro = "开始。"
"""


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "sample.toml"
    path.write_text(HEADER + body, encoding="utf-8")
    return path


def test_the_three_forms_of_the_notice_load(declarations: Declarations) -> None:
    assert set(declarations.forms) == {"cadre_registration", "course_recommendation", "site_application"}
    cadre = declarations.forms["cadre_registration"]
    assert [f.key for f in cadre.top_fields()][:3] == ["name", "gender", "birth"]
    courses = declarations.forms["course_recommendation"].group("courses")
    assert (courses.min_rows, courses.max_rows) == (2, 10)
    photos = declarations.forms["site_application"].group("photos")
    assert photos.min_rows == 3 and [f.kind for f in photos.fields] == ["photo", "text"]


def test_every_field_has_a_prompt_and_says_where_it_is_printed(declarations: Declarations) -> None:
    for form in declarations.forms.values():
        for field in form.all_fields():
            assert field.prompt and field.printed, (form.id, field.key)


def test_a_good_declaration_loads(tmp_path: Path) -> None:
    form = load_form(write(tmp_path, GOOD_FIELD))
    assert isinstance(form.steps[0], FieldDecl) and form.steps[0].validator == "person_name"


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (GOOD_FIELD.replace("person_name", "no_such_rule"), "no_such_rule"),
        (GOOD_FIELD.replace('prompt = "请输入姓名。"\n', ""), "prompt"),
        (GOOD_FIELD.replace('example = "韦丽华"\n', ""), "example"),
        (GOOD_FIELD + GOOD_FIELD, "duplicate key 'name'"),
        (
            GOOD_FIELD.replace(
                'validator = "person_name"', 'validator = "text"\nparams = { max_chars = "x" }'
            ),
            "max_chars",
        ),
        (
            GOOD_FIELD
            + GOOD_FIELD.replace('key = "name"', 'key = "women"').replace(
                'validator = "person_name"',
                'validator = "integer"\n'
                'params = { min = 0, max = 9, at_most_field = "staff", at_most_label = "人数" }',
            ),
            "unknown field 'staff'",
        ),
        (GOOD_FIELD.replace('key = "name"', 'key = "given_name"'), "summary_field"),
        (
            GOOD_FIELD + '[[steps]]\ngroup = "rows"\nlabel = "行"\nitem = "行"\nmin_rows = 3\nmax_rows = 2\n'
            'title_field = "x"\nprompt = "p"\nprinted = "p"\n',
            "min_rows",
        ),
        ("[[steps]\n", "sample.toml"),
    ],
)
def test_a_broken_declaration_fails_at_load_with_a_clear_error(
    tmp_path: Path, body: str, fragment: str
) -> None:
    with pytest.raises(DeclarationError, match=r"sample\.toml") as error:
        load_form(write(tmp_path, body))
    assert fragment in str(error.value)


def test_the_campaign_is_the_notice(declarations: Declarations) -> None:
    campaign = declarations.campaign
    assert len(campaign.units) == 14
    assert campaign.contact.phone == "0772-2823290" and campaign.contact.email == "lzflzlb@163.com"
    cadres, courses, sites = campaign.tasks
    assert (cadres.quota_min, cadres.quota_max, str(cadres.deadline)) == (2, 2, "2021-05-25")
    assert courses.counted_group == "courses" and courses.max_records == 1
    assert str(sites.deadline) == "2021-08-30" and sites.max_records is None
    assert len([u for u in campaign.units if "courses" in [t.id for t in campaign.tasks_for(u.kind)]]) == 10
    assert campaign.deadline_end(cadres).isoformat() == "2021-05-25T23:59:59+08:00"


def test_a_campaign_naming_an_unknown_form_fails_at_load(tmp_path: Path, declarations: Declarations) -> None:
    text = DEFAULT_CAMPAIGN.read_text(encoding="utf-8").replace('form = "site_application"', 'form = "nope"')
    path = tmp_path / "campaign.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DeclarationError, match='form 写的是 "nope"，没有这个表单'):
        load_campaign(path, declarations.forms)


@pytest.mark.parametrize(
    ("shipped", "changed", "message"),
    [
        (
            'task = "sites"\nat_least = 10',
            'task = "shifandian"\nat_least = 10',
            'campaign.toml 第 1 个 [[city_targets.counts]] 的 task 写的是 "shifandian"，本通知没有这个任务',
        ),
        (
            'field = "cadre_level"',
            'field = "cadre_levl"',
            'campaign.toml [city_targets.share] 的 field 写的是 "cadre_levl"',
        ),
        (
            'value = "村（社区）妇联执委"',
            'value = "村妇联执委"',
            'value 写的是 "村妇联执委"，不是表单 cadre_registration 的 cadre_level',
        ),
    ],
)
def test_a_city_target_that_names_nothing_fails_at_load(
    tmp_path: Path, declarations: Declarations, shipped: str, changed: str, message: str
) -> None:
    text = DEFAULT_CAMPAIGN.read_text(encoding="utf-8")
    assert shipped in text
    path = tmp_path / "campaign.toml"
    path.write_text(text.replace(shipped, changed), encoding="utf-8")
    with pytest.raises(DeclarationError, match=re.escape(message)):
        load_campaign(path, declarations.forms)


def test_every_form_a_campaign_collects_needs_its_renderer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.app import load_declarations
    from bot.settings import Settings
    from renderers import FORM_RENDERERS

    monkeypatch.delitem(FORM_RENDERERS, "site_application")
    with pytest.raises(
        DeclarationError, match=r'\[\[tasks\]\]（id = "sites"）的表单 site_application 没法打印'
    ):
        load_declarations(Settings())


def test_unit_lookup_accepts_codes_names_and_parts_of_names(declarations: Declarations) -> None:
    campaign = declarations.campaign
    assert [u.code for u in campaign.find_units("yufeng")] == ["yufeng"]
    assert [u.code for u in campaign.find_units("鱼峰")] == ["yufeng"]
    assert [u.code for u in campaign.find_units("融水苗族自治县妇联")] == ["rongshui"]
    assert campaign.find_units("鱼蜂") == []
    assert len(campaign.find_units("新区")) == 2


def test_forms_directory_without_forms_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(DeclarationError, match="no form declarations"):
        load_forms(tmp_path)
