"""What a new contact found while filling forms: a returned form is offered for correction from 新建;
a photo at the review goes where it is missing; a second photo at a one-photo step is told about; an
abandoned draft is offered back when its form is started again."""

from __future__ import annotations

from datetime import date

import pytest

from dialogs.engine import DialogEngine
from dialogs.validators import Accepted, Rejected, ValidationContext, validate_person_name
from tests.conftest import Chat, FakeClock, chinese_text
from tests.test_dialog_forms import CADRE_ANSWERS, fill_cadre, start
from tests.test_supervision import ask, supervisor


def test_新建_for_a_returned_form_offers_its_correction_with_the_reason(
    engine: DialogEngine, chat: Chat, clock: FakeClock
) -> None:
    fill_cadre(chat, "韦丽华")
    fill_cadre(chat, "覃美玲")
    boss = supervisor(engine, clock)
    ask(engine, boss, "退回2号 工作照不清晰，请重新上传")
    chat.send("新建")
    task = next(option for option in chat.options if option.startswith("登记表"))
    assert "1份被退回待修改" in task
    said = chat.send(task)
    assert "已达到通知要求的数量" not in said
    assert "#2 登记表·覃美玲" in said and "工作照不清晰，请重新上传" in said
    assert chat.options == ("修改第2号",)
    assert chat.contact().current_draft_id is None, "no blank form started"
    reopened = chat.send("修改第2号")
    assert "退回的原因：工作照不清晰" in reopened
    assert chat.draft().submission_id == 2
    assert "鱼峰区妇联（联系人1名）：登记表（1份退回待改）" in ask(engine, boss, "未交"), (
        "组联部 sees the task outstanding, as the contact is told"
    )


SITE_ANSWERS = [
    *("柳州市螺蛳粉产业园", "120人", "８６", "黄建国", "139-0772-1234", "李秀梅", "+86 158 7801 2345"),
    *("单独创建", "园区", "柳州市螺蛳粉产业园妇女联合会", "莫小燕", "0772 2823290", "2", "9"),
    "2021年4月18日",
]


def test_a_photo_at_the_review_of_an_unfinished_form_goes_where_a_photo_is_missing(chat: Chat) -> None:
    start(chat, "示范点申报表")
    for answer in SITE_ANSWERS:
        chat.send(answer)
    chat.send(chinese_text(450))
    assert "请发送一张示范点的照片" in chat.text
    review = chat.send("查看")
    assert "还有未填的项" in review and chat.options == ("继续填写", "修改", "放弃")
    chat.send("草稿")
    [listed] = [option for option in chat.options if "示范点" in option]
    assert "待确认提交" not in listed and "还有未填的项：“照片”" in listed, listed
    chat.send(listed)
    chat.send("查看")
    reply = chat.photo(color=(10, 10, 10))
    assert "确认提交" not in reply
    rows = chat.draft().answers["photos"]
    assert len(rows) == 1 and rows[0]["photo"]["sha256"], "the photo is kept, as the first of the album"
    assert "请为这张照片写一句说明" in reply, "and the form goes on from there"


def test_a_word_at_the_review_answers_what_is_missing_and_names_only_the_buttons_shown(
    chat: Chat,
) -> None:
    start(chat, "示范点申报表")
    chat.send("柳州市螺蛳粉产业园")
    chat.send("查看")
    assert chat.options == ("继续填写", "修改", "放弃")
    said = chat.send("120人")
    assert chat.draft().answers["staff_count"] == 120 and "（3/17）" in said, said
    fill_cadre(chat)  # a complete review: a word that is no option lists the buttons there are
    start(chat, "登记表")
    for answer in CADRE_ANSWERS:
        chat.send(answer)
    chat.photo(color=(11, 12, 13))
    chat.photo(color=(14, 15, 16))
    assert chat.options == ("确认提交", "修改", "放弃")
    assert "请点选“确认提交”或“修改”或“放弃”" in chat.send("好")


def test_a_second_photo_at_a_one_photo_step_says_which_was_kept(chat: Chat) -> None:
    start(chat, "登记表")
    for answer in CADRE_ANSWERS:
        chat.send(answer)
    chat.photo(color=(1, 2, 3))
    assert "（16/16）" in chat.text
    chat.photo(color=(4, 5, 6))
    kept = chat.draft().answers
    said = chat.photo(color=(7, 8, 9))
    assert "只需一张照片，已用第1张" in said and "请点“修改”" in said and "工作照" in said, said
    assert chat.draft().answers == kept, "the first photo stays"
    assert chat.options == ("确认提交", "修改", "放弃")


def test_a_month_past_12_is_told_as_such_and_a_sentence_is_no_name(chat: Chat) -> None:
    start(chat, "登记表")
    said = chat.send("张三丰的名字实在是太长了吧")
    assert "一般不超过6个字（现为13个）" in said and "间隔号" in said, said
    assert "name" not in chat.draft().answers
    chat.send("欧阳娜娜")
    assert chat.draft().answers["name"] == "欧阳娜娜"
    chat.send("女")
    said = chat.send("1985年13月")
    assert "月份应在1到12之间（现为13月）" in said, said
    assert "1985.5" not in said and "birth" not in str(chat.draft().answers.keys())


@pytest.mark.parametrize(
    "name",
    [
        "韦丽华",
        "欧阳娜娜",
        "司马相如",
        "扎西次仁",
        "阿依古丽·买买提",
        "爱新觉罗·溥仪",
        "买买提·艾力·阿不都热合曼",
    ],
)
def test_real_names_long_and_short_are_taken(name: str) -> None:
    context = ValidationContext("姓名", date(2021, 5, 10), 2021)
    assert validate_person_name(name, {}, context) == Accepted(name)


@pytest.mark.parametrize("sentence", ["张三丰的名字实在是太长了吧", "我们单位推荐的是韦丽华"])
def test_a_sentence_of_chinese_characters_is_no_name(sentence: str) -> None:
    context = ValidationContext("姓名", date(2021, 5, 10), 2021)
    assert isinstance(validate_person_name(sentence, {}, context), Rejected)


def two_courses(chat: Chat) -> None:
    start(chat, "课程推荐表")
    for number, title in enumerate(["家风第一课", "家风第二课"]):
        if number:
            chat.send("添加一节课程")
        for answer in [title, "讲授", chinese_text(50), "覃美玲", "1982.07", "鹿寨县妇联主席", "跳过"]:
            chat.send(answer)


def test_an_abandoned_form_is_offered_back_when_its_form_is_started_again(chat: Chat) -> None:
    two_courses(chat)
    chat.send("放弃")
    chat.send("确认放弃")
    start(chat, "课程推荐表")
    assert "可以接着填，也可以重新开始" in chat.text
    restore, fresh = chat.options
    assert restore.startswith("恢复：已放弃的课程推荐表") and fresh == "重新开始"
    assert chat.contact().current_draft_id is None, "nothing started before the choice"
    chat.send("重新开始")
    assert "开始填写" in chat.text and not chat.draft().answers, "a blank form, as asked"
    chat.send("草稿")
    assert [o for o in chat.options if o.startswith("恢复：已放弃的课程推荐表")]
    chat.send(next(o for o in chat.options if o.startswith("恢复：已放弃的课程推荐表")))
    assert "草稿已恢复" in chat.text and len(chat.draft().answers["courses"]) == 2
    chat.send("填写完毕，下一步")
    chat.send("蓝芳 部长")
    chat.send("13977211234")
    assert "已提交《课程推荐表》" in chat.send("确认提交")
    assert "没有未填完的表" in chat.send("草稿"), "the blank form started and left is not kept"


def test_restoring_from_新建_takes_the_abandoned_draft_up_where_it_was(chat: Chat) -> None:
    two_courses(chat)
    chat.send("放弃")
    chat.send("确认放弃")
    start(chat, "课程推荐表")
    said = chat.send(chat.options[0])
    assert "草稿已恢复" in said and len(chat.draft().answers["courses"]) == 2
    chat.send("新建")
    chat.send(next(o for o in chat.options if o.startswith("登记表")))
    start(chat, "课程推荐表")
    assert chat.options[0].startswith("继续：课程推荐表"), "an open draft is offered too"


def test_two_contacts_of_one_unit_each_fill_their_own_form_side_by_side(engine: DialogEngine) -> None:
    """Two 登记表 of one unit at once (two candidates, two colleagues): starting hers, neither is
    offered the other's draft in the middle of being filled; it stays in 草稿 for the unit."""
    first, second = Chat(engine, user="colleague-1"), Chat(engine, user="colleague-2")
    start(first, "登记表")
    first.send(CADRE_ANSWERS[0])
    start(second, "登记表")
    assert "可以接着填" not in second.text, second.text
    second.send("覃美玲")
    assert second.draft().answers["name"] == "覃美玲"
    assert first.draft().answers["name"] == CADRE_ANSWERS[0] and first.draft().id != second.draft().id
    second.send("草稿")
    assert any(CADRE_ANSWERS[0] in option for option in second.options), "the unit's drafts are listed"
