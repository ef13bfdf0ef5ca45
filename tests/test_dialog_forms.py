"""Every form filled end to end through the engine, as a contact would on a phone."""

from __future__ import annotations

import json
import re

import pytest
from docx import Document

from dialogs.engine import DialogEngine
from dialogs.exchange import DocumentRef, Identity
from dialogs.sample_answers import CADRE_ANSWERS as CADRE_ANSWERS  # for the tests' imports
from tests.conftest import Chat, chinese_text, document_path, photo_bytes


def start(chat: Chat, form_title: str) -> None:
    chat.send("/new")
    number = next(i for i, option in enumerate(chat.options, start=1) if option.startswith(form_title))
    chat.send(str(number))


def fill_cadre(chat: Chat, name: str = "韦丽华") -> str:
    start(chat, "登记表")
    for answer in [name, *CADRE_ANSWERS[1:]]:
        chat.send(answer)
    chat.photo(color=(1, 2, 3))
    chat.photo(color=(4, 5, 6))
    assert chat.options == ("确认提交", "修改", "放弃")
    return chat.send("确认提交")


def test_registration_form_end_to_end(chat: Chat, engine: DialogEngine) -> None:
    reply = fill_cadre(chat)
    assert "已提交《登记表》，编号 #1（第1版）" in reply
    contact = chat.contact()
    assert contact.current_draft_id is None
    unit = engine.repository.unit_by_code(engine.campaign.id, "yufeng")
    [submission] = engine.repository.submissions(unit.id)
    [version] = engine.repository.versions(submission.id)
    answers = version.answers
    assert answers["name"] == "韦丽华"
    assert answers["gender"] == "女"
    assert answers["birth"] == "1985-03"
    assert answers["ethnicity"] == "壮族"
    assert answers["education"] == "大学本科"
    assert answers["political_status"] == "中共党员"
    assert answers["phone"] == "13877212345"
    assert answers["cadre_level"] == "村（社区）妇联执委"
    assert answers["service_start"] == "2018-06"
    assert len(answers["story"]) == 600
    assert answers["id_photo"]["sha256"] != answers["work_photo"]["sha256"]
    photo_path = engine.repository.file_path(answers["id_photo"]["sha256"])
    assert photo_path is not None and photo_path.read_bytes() == photo_bytes(color=(1, 2, 3))
    record = json.loads((engine.repository.data_dir / version.record_path).read_text(encoding="utf-8"))
    assert record["answers"]["name"] == "韦丽华" and record["unit"] == "yufeng" and record["late"] is False
    assert str(engine.repository.data_dir) not in reply and ".json" not in reply, "no server path is shown"
    assert chat.replies[-1].document == DocumentRef("submission", "1", 1), "the document by what it is"
    document = document_path(engine, chat.replies[-1])
    assert document == (engine.repository.data_dir / (version.document_path or "")).resolve()
    text = "\n".join(
        cell.text for table in Document(str(document)).tables for row in table.rows for cell in row.cells
    )
    assert "韦丽华" in text and "13877212345" in text and "柳江区拉堡镇妇联主席" in text


def test_course_recommendation_end_to_end(chat: Chat, engine: DialogEngine) -> None:
    start(chat, "课程推荐表")
    assert "【推荐课程·第1节课程】请输入课程名称" in chat.text
    for number, title in enumerate(("巧用妇女议事会化解邻里矛盾", "直播带货助农增收")):
        if number:
            assert "还需至少 1 节课程" in chat.text
            chat.send("添加一节课程")
        chat.send(title)
        chat.send("典型案例")
        chat.send(chinese_text(280))
        chat.send("覃美玲")
        chat.send("1982.07")
        chat.send("鹿寨县中渡镇妇联主席")
        reply = chat.send("跳过")  # no video yet
        assert "已跳过课程视频" in reply
        assert chat.options[0] == "添加一节课程"
    assert chat.options[-1] == "填写完毕，下一步"
    chat.send("填写完毕，下一步")
    assert "具体负责人" in chat.text
    chat.send("蓝芳 鱼峰区妇联组联部部长")
    chat.send("0772-2823290")
    assert chat.options == ("确认提交", "修改", "放弃")
    assert "第2节课程《直播带货助农增收》" in chat.text
    assert "已提交《课程推荐表》" in chat.send("1")
    unit = engine.repository.unit_by_code(engine.campaign.id, "yufeng")
    [submission] = engine.repository.submissions(unit.id, "courses")
    courses = engine.repository.versions(submission.id)[0].answers["courses"]
    assert [c["course_title"] for c in courses] == ["巧用妇女议事会化解邻里矛盾", "直播带货助农增收"]
    assert courses[0]["video"] is None and courses[1]["speaker_birth"] == "1982-07"
    chat.send("/new")
    assert any(option.startswith("课程推荐表（已交2节课程") for option in chat.options)


def test_site_application_end_to_end_with_an_album_of_photos(chat: Chat, engine: DialogEngine) -> None:
    start(chat, "示范点申报表")
    for answer in [
        "柳州市螺蛳粉产业园",
        "120人",
        "８６",
        "黄建国",
        "139-0772-1234",
        "李秀梅",
        "+86 158 7801 2345",
        "单独创建",
        "园区",
        "柳州市螺蛳粉产业园妇女联合会",
        "莫小燕",
        "0772 2823290",
        "2",
        "9",
        "2021年4月18日",
    ]:
        chat.send(answer)
    chat.send(chinese_text(450))
    assert "请发送一张示范点的照片" in chat.text
    # The first photo comes with a caption; then an album of two arrives without captions.
    chat.photo(caption="园区妇联成立大会现场", color=(10, 10, 10))
    assert chat.options[0] == "添加一张照片"
    chat.send("添加一张照片")
    chat.photo(color=(20, 20, 20))
    reply = chat.photo(color=(30, 30, 30))
    assert "已收到第3张照片" in reply and "请为这张照片写一句说明" in reply
    rows = chat.draft().answers["photos"]
    assert chat.replies[-1].pictures == (DocumentRef("photo", rows[1]["photo"]["sha256"]),), "its photo shown"
    chat.send("妇女之家活动室")
    assert "【图片及说明·第3张照片】请为这张照片写一句说明" in chat.text
    third = DocumentRef("photo", rows[2]["photo"]["sha256"])
    assert chat.replies[-1].pictures == (third,), "each caption is asked beside its own photo"
    mine = Identity(0, "test", "u1", "contact", rows_unit(engine, "yufeng"), "鱼峰区妇联")
    Chat(engine, unit_code="chengzhong", user="u2").send("/new")  # bound to another unit, a draft open
    stranger = Identity(0, "test", "u2", "contact", rows_unit(engine, "chengzhong"), "城中区妇联")
    boss = Identity(0, "test", "boss", "supervisor", None, "组联部")
    opened = engine.open_document(third, mine)
    assert (
        opened is not None and opened.mime == "image/jpeg" and opened.path.read_bytes()[:3] == b"\xff\xd8\xff"
    )
    assert engine.open_document(third, stranger) is None, "another unit's photo is not theirs to see"
    assert engine.open_document(third, boss) is not None
    assert engine.open_document(DocumentRef("photo", "../" * 20 + "etc/passwd"), boss) is None
    chat.send("巾帼志愿服务队开展活动")
    assert chat.options[-1] == "填写完毕，下一步"
    chat.send("填写完毕，下一步")
    assert chat.options == ("确认提交", "修改", "放弃")
    assert "已提交《示范点申报表》" in chat.send("确认提交")
    unit = engine.repository.unit_by_code(engine.campaign.id, "yufeng")
    [submission] = engine.repository.submissions(unit.id, "sites")
    answers = engine.repository.versions(submission.id)[0].answers
    assert answers["staff_count"] == 120 and answers["female_count"] == 86
    assert answers["leader_phone"] == "13907721234" and answers["filler_phone"] == "15878012345"
    assert answers["chair_phone"] == "0772-2823290"
    assert answers["founded_on"] == "2021-04-18"
    assert [p["caption"] for p in answers["photos"]] == [
        "园区妇联成立大会现场",
        "妇女之家活动室",
        "巾帼志愿服务队开展活动",
    ]
    assert len({p["photo"]["sha256"] for p in answers["photos"]}) == 3
    document = Document(str(document_path(chat.engine, chat.replies[-1])))
    assert len(document.inline_shapes) == 3, "the three photos are in the 申报表"
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    assert any("园区妇联成立大会现场" in cell for cell in cells)


def test_a_unit_may_send_two_candidates_but_not_a_third(chat: Chat) -> None:
    assert "编号 #1" in fill_cadre(chat, "韦丽华")
    assert "编号 #2" in fill_cadre(chat, "覃美玲")
    chat.send("/new")
    assert chat.options[0].startswith("登记表（已交2份，需2份")
    reply = chat.send("1")
    assert "已提交 2 份《登记表》，已达到通知要求的数量" in reply
    assert chat.contact().current_draft_id is None


def test_courses_are_not_offered_to_units_that_do_not_owe_them(engine: DialogEngine) -> None:
    chat = Chat(engine, unit_code="zonggonghui", user="z1")
    chat.send("/new")
    assert [o.split("（")[0] for o in chat.options] == ["登记表", "示范点申报表"]


def test_a_refused_text_is_marked_for_the_channel_to_give_back(chat: Chat) -> None:
    start(chat, "登记表")
    chat.send("13907721234")  # a phone number where the name is asked
    assert [reply.refuses_text for reply in chat.replies] == [True, False], chat.text
    chat.send("韦丽华")
    assert not any(reply.refuses_text for reply in chat.replies)
    for answer in CADRE_ANSWERS[1:]:
        chat.send(answer)
    assert "证件照" in chat.text
    chat.send("这不是照片")  # a text where a photo is asked: nothing to give back
    assert not any(reply.refuses_text for reply in chat.replies)


def rows_unit(engine: DialogEngine, code: str) -> int:
    unit = engine.repository.unit_by_code(engine.campaign.id, code)
    assert unit is not None and unit.id is not None
    return unit.id


def test_a_form_says_how_much_it_asks_counting_each_rows_questions(chat: Chat) -> None:
    start(chat, "课程推荐表")
    assert "共 3 项，其中第1项推荐课程每节 7 项（至少 2 节课程）" in chat.text, chat.text
    chat.send("放弃")
    chat.send("确认放弃")
    start(chat, "登记表")
    assert "共 16 项，随时可发送" in chat.text


@pytest.mark.parametrize("title", ["登记表", "课程推荐表", "示范点申报表"])
def test_the_intro_the_questions_and_the_edit_list_count_the_same_items(chat: Chat, title: str) -> None:
    """“共 16 项” then “（1/17）”, “共 2 项，另有推荐课程每节 7 项” then “（2/3）”: now one count."""
    start(chat, title)
    total = int(re.search(r"共 (\d+) 项", chat.text)[1])  # type: ignore[index]
    groups = dict(re.findall(r"第(\d+)项(\S+?)每", chat.text))
    chat.send("修改")
    items = chat.options
    assert len(items) == total, items
    for number, item in enumerate(items, start=1):
        if number > 1:
            chat.send("修改")
        asked = chat.send(str(number))
        if str(number) in groups:
            assert item.startswith(groups.pop(str(number))), (number, item)
            assert "添加一" in chat.options[0], asked
        else:
            label = item.split("：")[0]
            assert f"（{number}/{total}）" in asked, (number, label, asked)
            assert re.findall(r"（(\d+)/(\d+)）", asked) == [(str(number), str(total))], asked
    assert not groups, "every group the intro numbers is at its number"
