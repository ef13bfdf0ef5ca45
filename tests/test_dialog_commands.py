"""Every command in the states where it matters, wrong answers, drafts, versions and failures."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest
import transitions

from dialogs.engine import NOT_BOUND, DialogEngine
from dialogs.exchange import Inbound, IncomingFile
from storage.repository import ConcurrentUpdate
from tests.conftest import SHANGHAI, Chat, FakeClock, chinese_text, document_path, photo_bytes
from tests.test_dialog_forms import CADRE_ANSWERS, fill_cadre, start

SITE_ANSWERS = [
    *["螺蛳粉产业园", "120", "86", "黄建国", "13907721234", "李秀梅", "15878012345", "单独创建", "园区"],
    *["产业园妇联", "莫小燕", "13607724567", "2", "9", "2021-04-18", chinese_text(100)],
]


def answer_cadre_until(chat: Chat, count: int) -> None:
    start(chat, "登记表")
    for answer in CADRE_ANSWERS[:count]:
        chat.send(answer)


def test_back_shows_the_previous_answer_and_returns_to_the_first_gap(chat: Chat) -> None:
    answer_cadre_until(chat, 3)
    assert "（4/16）" in chat.text
    reply = chat.send("上一步")
    assert "（3/16）请输入候选人的出生年月" in reply and "当前已填：1985年3月" in reply
    chat.send("/back")
    chat.send("男")  # re-answer 性别
    assert "（4/16）" in chat.text, "answered fields are passed over on the way forward"
    assert chat.draft().answers["gender"] == "男"


def test_back_on_the_first_field_says_so(chat: Chat) -> None:
    start(chat, "登记表")
    assert "已经是第一项了" in chat.send("/back")
    assert chat.draft().state == "name"


def test_skip_refuses_required_fields_keeps_answered_ones_and_skips_optional_ones(chat: Chat) -> None:
    answer_cadre_until(chat, 2)
    reply = chat.send("跳过")
    assert "“出生年月”是必填项，不能跳过" in reply and chat.draft().state == "birth"
    chat.send("上一步")
    reply = chat.send("/skip")
    assert "已保留原来的性别" in reply and chat.draft().answers["gender"] == "女"
    assert chat.draft().state == "birth"


def test_review_mid_form_lists_what_is_missing_and_continue_resumes(chat: Chat) -> None:
    answer_cadre_until(chat, 4)
    reply = chat.send("查看")
    assert "1. 姓名：韦丽华" in reply and "5. 文化程度：（未填）" in reply
    assert chat.options == ("继续填写", "修改", "放弃")
    assert "（5/16）" in chat.send("1")
    chat.send("/review")
    assert "（5/16）" in chat.send("上一步"), "back from the review returns to where it was opened"


def test_edit_from_the_review_changes_one_answer_and_returns_to_the_review(chat: Chat) -> None:
    answer_cadre_until(chat, len(CADRE_ANSWERS))
    chat.photo(color=(1, 1, 1))
    chat.photo(color=(2, 2, 2))
    assert chat.options == ("确认提交", "修改", "放弃")
    chat.send("修改")
    phone_option = next(i for i, o in enumerate(chat.options, start=1) if o.startswith("联系电话"))
    reply = chat.send(str(phone_option))
    assert "当前已填：13877212345" in reply
    reply = chat.send("0772-2823290")
    assert "10. 联系电话：0772-2823290" in reply and chat.options[0] == "确认提交"
    assert chat.draft().state == "review"


def test_help_explains_the_field_shows_the_notice_contact_and_asks_again(chat: Chat) -> None:
    answer_cadre_until(chat, 12)
    reply = chat.send("帮助")
    assert "【主要事迹】" in reply and "字数按 Word 的“字数”统计" in reply
    assert "冯柳青、王贞睿" in reply and "2823290" in reply and "lzflzlb@163.com" in reply
    assert reply.rstrip().endswith("例如：某某同志自2016年担任村妇联主席以来，……")
    assert chat.draft().state == "story"


def test_help_without_a_draft_lists_the_commands(chat: Chat) -> None:
    reply = chat.send("/help")
    assert "新建：" in reply and "草稿：" in reply and "2823290" in reply


def test_cancel_asks_first_and_continue_returns_to_the_same_field(chat: Chat) -> None:
    answer_cadre_until(chat, 5)
    reply = chat.send("放弃")
    assert "确定放弃这份《登记表》吗" in reply and chat.options == ("确认放弃", "继续填写")
    reply = chat.send("2")
    assert "继续填写" in reply and "（6/16）" in reply
    assert chat.draft().answers["education"] == "大学本科"


def test_a_cancelled_draft_is_recoverable_for_the_campaign_period_then_not_listed(
    chat: Chat, clock: FakeClock
) -> None:
    answer_cadre_until(chat, 5)
    draft_id = chat.draft().id
    chat.send("/cancel")
    reply = chat.send("确认放弃")
    assert "草稿会保留 30 天" in reply and chat.contact().current_draft_id is None
    chat.send("/drafts")
    assert chat.options == ("恢复：已放弃的登记表·韦丽华（保留至6月9日）",)
    reply = chat.send("1")
    assert "草稿已恢复" in reply and "（6/16）" in reply
    assert chat.draft().id == draft_id and chat.draft().answers["name"] == "韦丽华"
    chat.send("/cancel")
    chat.send("确认放弃")
    clock.now += timedelta(days=31)
    assert "没有未填完的表" in chat.send("/drafts")


def test_several_drafts_at_once_are_listed_and_resumed(chat: Chat) -> None:
    answer_cadre_until(chat, 2)
    start(chat, "示范点申报表")
    assert "原来正在填写的表已保存" in chat.text
    chat.send("柳州市螺蛳粉产业园")
    chat.send("/drafts")
    assert chat.options == (
        "继续：登记表·韦丽华（填到“出生年月”）",
        "继续：示范点申报表·柳州市螺蛳粉产业园（填到“单位人数”）",
    )
    assert "（3/16）请输入候选人的出生年月" in chat.send("1")


def test_another_contact_of_the_same_unit_sees_its_drafts_but_another_unit_does_not(
    chat: Chat, engine: DialogEngine
) -> None:
    answer_cadre_until(chat, 2)
    colleague = Chat(engine, unit_code="yufeng", user="colleague")
    colleague.send("/drafts")
    assert colleague.options == ("继续：登记表·韦丽华（填到“出生年月”）",)
    stranger = Chat(engine, unit_code="liunan", user="stranger")
    assert "没有未填完的表" in stranger.send("/drafts")
    stranger.send("/reopen 1")
    assert "贵单位没有#1这份提交" in stranger.text, "the same words as for a number that does not exist"


def test_reopening_before_the_deadline_makes_a_new_version(chat: Chat, engine: DialogEngine) -> None:
    fill_cadre(chat)
    chat.send("/submissions")
    assert "#1 登记表·韦丽华（第1版，待审核）" in chat.text
    assert chat.options == ("查看 #1", "下载 #1", "修改 #1")
    reply = chat.send("3")
    assert "已打开 #1（第1版）进行修改，重新提交后成为第2版" in reply and chat.options[0] == "确认提交"
    chat.send("修改")
    chat.send("1")
    chat.send("韦丽萍")
    reply = chat.send("确认提交")
    assert "编号 #1（第2版）" in reply
    versions = engine.repository.versions(1)
    assert [v.answers["name"] for v in versions] == ["韦丽华", "韦丽萍"]
    unit = engine.repository.unit_by_code(engine.campaign.id, "yufeng")
    assert len(engine.repository.submissions(unit.id)) == 1


def test_after_the_deadline_a_submission_cannot_be_reopened_and_late_ones_are_marked(
    chat: Chat, clock: FakeClock
) -> None:
    fill_cadre(chat)
    clock.now = datetime(2021, 5, 26, 0, 0, 1, tzinfo=SHANGHAI)
    refused = chat.send("/reopen 1")
    # Named as everywhere else (its number and 登记表), not by the task's long name.
    assert "#1登记表已过截止时间，不能再修改" in refused and "寻找最美基层妇联干部" not in refused
    reply = fill_cadre(chat, "覃美玲")
    assert "编号 #2" in reply and "本次提交标记为逾期" in reply


def test_a_wrong_answer_says_what_is_wrong_and_keeps_every_earlier_answer(chat: Chat) -> None:
    answer_cadre_until(chat, 12)
    before = dict(chat.draft().answers)
    reply = chat.send(chinese_text(463))
    assert "还差 37 字，主要事迹需 500-1000 字（现为 463 字）" in reply
    assert "（13/16）请输入候选人的主要事迹" in reply
    assert chat.draft().answers == before and chat.draft().state == "story"


def test_an_ineligible_candidate_is_refused_without_losing_the_draft(chat: Chat) -> None:
    answer_cadre_until(chat, 10)
    reply = chat.send("以上都不是")
    assert "暂不符合推荐条件" in reply and "已填内容都已保存" in reply
    assert chat.draft().state == "cadre_level" and chat.draft().answers["name"] == "韦丽华"
    chat.send("3")
    reply = chat.send("2021.1")
    assert "从事妇联工作1年以上" in reply and chat.draft().state == "service_start"


def test_photos_are_checked_when_they_arrive(chat: Chat) -> None:
    answer_cadre_until(chat, len(CADRE_ANSWERS))
    assert "这一步需要发送照片" in chat.send("我没有照片")
    reply = chat.photo(photo_bytes(200, 150))
    assert "照片太小" in reply and chat.draft().state == "id_photo"
    reply = chat.send("", IncomingFile(kind="photo", data=b"%PDF-1.4 not a photo", file_name="a.jpg"))
    assert "无法识别为照片" in reply and chat.draft().state == "id_photo"
    chat.send("上一步")
    reply = chat.photo()
    assert "您发送的是照片；这一步需要输入文字（网络展示事迹），不是照片" in reply


def test_a_choice_can_be_given_by_number_or_word_and_nonsense_lists_the_choices(chat: Chat) -> None:
    answer_cadre_until(chat, 1)
    assert "请从以下选项中选择：女、男" in chat.send("7")
    assert "请从以下选项中选择" in chat.send("不告诉你")
    chat.send("２")
    assert chat.draft().answers["gender"] == "男"


def test_text_that_would_break_a_word_file_is_cleaned_before_it_is_stored(chat: Chat) -> None:
    start(chat, "登记表")
    chat.send("韦\u200b丽\x07华\ufeff")
    assert chat.draft().answers["name"] == "韦丽华"


def test_cross_field_rules_are_checked_at_the_edit_that_breaks_them(chat: Chat) -> None:
    start(chat, "示范点申报表")
    for answer in SITE_ANSWERS:
        chat.send(answer)
    for color in range(3):
        chat.photo(caption=f"第{color + 1}张说明", color=(color * 80, 50, 50))
        if color < 2:
            chat.send("添加一张照片")
    chat.send("填写完毕，下一步")
    assert "申报单位名称：螺蛳粉产业园" in chat.text
    chat.send("修改")
    chat.send("2")  # 单位人数
    reply = chat.send("50")
    assert "女性人数（86）不能多于单位人数（50）" in reply and chat.draft().state == "staff_count"
    chat.send("150")
    assert chat.draft().state == "review" and "单位人数：150" in chat.text
    assert "已提交" in chat.send("确认提交")


def test_group_rows_can_be_edited_and_removed_before_submit(chat: Chat) -> None:
    start(chat, "课程推荐表")
    for number, title in enumerate(["家风第一课", "家风第二课", "家风第三课"]):
        if number:
            chat.send("添加一节课程")
        for answer in [title, "讲授", chinese_text(50), "覃美玲", "1982.07", "鹿寨县妇联主席", "跳过"]:
            chat.send(answer)
    assert "第3节课程《家风第三课》" in chat.text
    before = chat.replies[-1].menu
    chat.send("删除2")
    assert chat.replies[-1].menu != before, "the list's buttons are numbered anew: a new token"
    old = chat.engine.handle(Inbound(chat.channel, chat.user, "1", menu=before))
    assert "按钮已过期" in old[0].text and len(chat.draft().answers["courses"]) == 2, (
        "an old 添加 undoes nothing"
    )
    assert "已删除第2节课程《家风第二课》" in chat.text and "第2节课程《家风第三课》" in chat.text
    assert chat.options[0] == "撤销删除", "one tap deleted it: one tap brings it back"
    chat.send("撤销删除")
    assert "已恢复第2节课程《家风第二课》" in chat.text and "第3节课程《家风第三课》" in chat.text
    assert [row["course_title"] for row in chat.draft().answers["courses"]] == [
        "家风第一课",
        "家风第二课",
        "家风第三课",
    ]
    assert "撤销删除" not in chat.options, "undone once"
    chat.send("删除2")
    chat.send("添加一节课程")  # anything else done since: the deletion stands
    chat.send("上一步")
    assert "撤销删除" not in chat.options and len(chat.draft().answers["courses"]) == 2
    chat.send("修改第1节课程")
    assert chat.options[0] == "课程名称：家风第一课"
    chat.send("1")
    chat.send("妇女议事会")
    assert chat.draft().state == "courses.menu" and "第1节课程《妇女议事会》" in chat.text
    chat.send("删除第1节课程")
    assert "还需至少 1 节课程" in chat.text and "填写完毕，下一步" not in chat.options
    assert "至少需要 2 节课程" in chat.send("填写完毕")


def test_a_course_video_is_checked_from_its_metadata(chat: Chat) -> None:
    start(chat, "课程推荐表")
    for answer in ["家风第一课", "讲授", chinese_text(50), "覃美玲", "1982.07", "鹿寨县妇联主席"]:
        chat.send(answer)
    video = IncomingFile(
        kind="video",
        file_name="课程.avi",
        mime="video/x-msvideo",
        duration_s=300,
        width=1280,
        height=720,
        size=50_000_000,
    )
    assert "MP4" in chat.send("", video) and chat.draft().state == "courses.video"
    video = IncomingFile(
        kind="video",
        file_name="课程.mp4",
        mime="video/mp4",
        duration_s=302,
        width=1280,
        height=720,
        size=50_000_000,
    )
    chat.send("", video)
    assert chat.draft().answers["courses"][0]["video"]["duration_s"] == 302
    assert "已上传视频（5分02秒）" in chat.send("查看")


def test_someone_not_bound_to_a_unit_is_refused_and_nothing_is_stored(engine: DialogEngine) -> None:
    replies = engine.handle(Inbound(channel="test", user_id="stranger", text="你好"))
    assert [r.text for r in replies] == [NOT_BOUND]
    assert engine.repository.contact("test", "stranger") is None


def test_a_concurrent_update_is_retried_and_the_answer_stored_once(
    chat: Chat, monkeypatch: pytest.MonkeyPatch
) -> None:
    answer_cadre_until(chat, 1)
    original = chat.engine.repository.save
    calls = {"n": 0}

    def save_once_conflicting(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConcurrentUpdate("simulated")
        return original(*args, **kwargs)

    monkeypatch.setattr(chat.engine.repository, "save", save_once_conflicting)
    assert "（3/16）" in chat.send("女")
    assert calls["n"] == 2 and chat.draft().answers["gender"] == "女"


def test_an_unexpected_failure_is_a_polite_message_and_logs_no_personal_data(
    chat: Chat, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    answer_cadre_until(chat, 9)

    def broken(draft, *_args, **_kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError(f"{draft.answers['phone']} {draft.answers['name']}")

    monkeypatch.setattr(chat.engine.repository, "save", broken)
    with caplog.at_level(logging.DEBUG):
        reply = chat.send("13877212345")
    assert "系统刚才出了点问题，您已填写的内容都已保存" in reply and "Traceback" not in reply
    assert "RuntimeError" in caplog.text
    assert "13877212345" not in caplog.text and "韦丽华" not in caplog.text


def test_machines_are_built_once_not_per_message(chat: Chat, monkeypatch: pytest.MonkeyPatch) -> None:
    built = {"n": 0}
    original = transitions.Machine.__init__

    def counting(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        built["n"] += 1
        original(self, *args, **kwargs)

    monkeypatch.setattr(transitions.Machine, "__init__", counting)
    answer_cadre_until(chat, 8)
    chat.send("/review")
    chat.send("/back")
    assert built["n"] == 0


def test_back_inside_a_group_walks_rows_and_leaves_the_group(chat: Chat) -> None:
    start(chat, "课程推荐表")
    assert "已经是第一项了" in chat.send("上一步")
    for answer in ["家风第一课", "讲授", chinese_text(50), "覃美玲", "1982.07", "鹿寨县妇联主席", "跳过"]:
        chat.send(answer)
    chat.send("添加一节课程")
    reply = chat.send("上一步")
    assert chat.draft().state == "courses.menu" and "第1节课程《家风第一课》" in reply
    reply = chat.send("上一步")
    assert chat.draft().state == "courses.video" and "【推荐课程·第1节课程】" in reply
    start(chat, "示范点申报表")
    for answer in SITE_ANSWERS:
        chat.send(answer)
    assert chat.draft().state == "photos.photo"
    assert "（16/17）请介绍创建情况" in chat.send("上一步")


def test_an_iphone_heic_photo_is_accepted_and_printed(chat: Chat, engine: DialogEngine) -> None:
    import io

    from docx import Document
    from PIL import Image

    from dialogs.validators import photo_formats

    assert "HEIF" in photo_formats()
    buffer = io.BytesIO()
    Image.new("RGB", (800, 600), (30, 160, 90)).save(buffer, format="HEIF")
    start(chat, "示范点申报表")
    for answer in SITE_ANSWERS:
        chat.send(answer)
    reply = chat.send("会场", IncomingFile(kind="photo", data=buffer.getvalue(), mime="image/heic"))
    assert "已收到的照片如下" in reply
    assert chat.draft().answers["photos"][0]["photo"]["mime"] == "image/heif"
    for color in range(2):
        chat.send("添加一张照片")
        chat.photo(caption=f"说明{color}", color=(color * 90, 9, 9))
    chat.send("填写完毕")
    chat.send("确认提交")
    assert len(Document(str(document_path(engine, chat.replies[-1]))).inline_shapes) == 3


def test_chinese_words_with_a_number_or_a_subject_are_the_commands_the_bot_suggests() -> None:
    """What the bot suggests (“修改第3号”, “接收3号”, “进度 城中区”, “绑定 邀请码”) is what it
    understands; a plain answer that merely starts with such a word is not a command."""
    from dialogs.commands import Command, parse_command

    assert parse_command("修改第3号") == Command("reopen", "3")
    assert parse_command("修改 ３号") == Command("reopen", "3")
    assert parse_command("退回3号 照片不清晰，请重新上传") == Command("return", "3 照片不清晰，请重新上传")
    assert parse_command("取消推荐12号") == Command("unselect", "12")
    assert parse_command("推荐3号 第2节") == Command("select", "3 第2节")
    assert parse_command("进度 城中区") == Command("status", "城中区")
    assert parse_command("绑定 ABCD2345EF") == Command("start", "ABCD2345EF")
    assert parse_command("修改") == Command("edit")
    assert parse_command("修改这份表的第3项内容") is None
    assert parse_command("接收到3号文件后开展了培训") is None


def test_组联部s_words_typed_by_a_contact_mid_form_are_an_answer(chat: Chat) -> None:
    """“单位 柳州市妇联” where the employer is asked is the answer, not 组联部's 单位 command (refused to
    a contact); a slash command stays a command."""
    start(chat, "登记表")
    for answer in CADRE_ANSWERS[:6]:
        chat.send(answer)
    assert "工作单位及职务" in chat.text
    chat.send("单位 柳江区拉堡镇妇联主席")
    assert chat.draft().answers["employer_post"] == "单位 柳江区拉堡镇妇联主席", chat.text
    assert "只有市妇联组联部" in chat.send("/unit 鱼峰区")


def test_any_of_组联部s_commands_with_more_after_it_is_a_contacts_answer(chat: Chat) -> None:
    """“推荐 2 名” typed by a contact where a name is asked was refused as 组联部's 推荐 command and
    lost; a bare command word of 组联部's still says it is theirs, and the question is asked again."""
    start(chat, "示范点申报表")
    chat.send("推荐 2 名优秀妇女之家")
    assert chat.draft().answers["org_name"] == "推荐 2 名优秀妇女之家", chat.text
    chat.send("上一步")
    said = chat.send("导出")
    assert "只有市妇联组联部" in said and "申报单位" in said, said
    assert chat.draft().answers["org_name"] == "推荐 2 名优秀妇女之家", "nothing lost"


def test_a_photo_sent_after_a_deletion_ends_its_undo_so_the_list_stays_within_its_limit(chat: Chat) -> None:
    start(chat, "示范点申报表")
    for answer in SITE_ANSWERS:
        chat.send(answer)
    for number in range(12):
        if number:
            chat.send("添加一张照片")
        chat.photo(caption=f"第{number + 1}张的说明", color=(number * 20, 40, 90))
    assert "添加一张照片" not in chat.options, "12 photos: the most the form takes"
    chat.send("删除第5张照片")
    assert chat.options[0] == "撤销删除" and len(chat.draft().answers["photos"]) == 11
    chat.photo(caption="补拍的一张", color=(250, 10, 10))  # sent at the list: a row of its own
    photos = chat.draft().answers["photos"]
    assert len(photos) == 12 and "撤销删除" not in chat.options, chat.options
    chat.send("撤销删除")
    assert len(chat.draft().answers["photos"]) == 12, "never 13"


# A submission's number written any way; what was not understood; Word files asked for ----------------


def test_组联部_reaches_a_submission_by_its_number_written_any_way(
    engine: DialogEngine, chat: Chat, clock: FakeClock
) -> None:
    """查看4 / 查看#4 (its own buttons' text) / 查看 4 / 看一下4号 got the whole command list."""
    from tests.test_supervision import ask, supervisor

    fill_cadre(chat)
    boss = supervisor(engine, clock)
    for typed in ("查看1", "查看#1", "查看 1", "看一下1号", "查看１", "查看第1号", "查看No.1", "查看一号"):
        shown = ask(engine, boss, typed)
        assert "#1 登记表·韦丽华（第1版，待审核）" in shown and "可用的命令" not in shown, (typed, shown)
    assert "已接收#1《登记表》" in ask(engine, boss, "接收第一号")
    assert "已推荐#1《登记表》" in ask(engine, boss, "推荐No.1")
    assert "已取消推荐#1《登记表》" in ask(engine, boss, "取消推荐＃１")
    assert "请写上提交编号，例如：查看3号" in ask(engine, boss, "查看"), "which one, not the whole list"
    assert "退回时请写明原因" in ask(engine, boss, "退回 1")
    assert "没有#7这份提交" in ask(engine, boss, "退回七号 照片不清晰")


def test_a_contact_reopens_by_a_marked_number_and_修改_with_a_bare_number_stays_an_answer(chat: Chat) -> None:
    fill_cadre(chat)
    assert "已打开 #1（第1版）进行修改" in chat.send("修改#1")
    chat.send("放弃")
    chat.send("确认放弃")
    for typed in ("修改１号", "修改第一号"):
        assert "草稿已恢复" in chat.send(typed), typed  # #1's draft, opened again
        chat.send("放弃")
        chat.send("确认放弃")
    from dialogs.commands import parse_command

    assert parse_command("修改4") is None and parse_command("修改第4项") is None, "the 4th item, maybe"
    assert parse_command("接收3人次") is None and parse_command("推荐第一名") is None


def test_组联部_is_told_what_was_not_understood_before_the_list(
    engine: DialogEngine, chat: Chat, clock: FakeClock
) -> None:
    from tests.test_supervision import ask, supervisor

    boss = supervisor(engine, clock)
    said = ask(engine, boss, "看看第三份表")
    assert said.startswith("没看懂“看看第三份表”。\n") and "查看3号" in said, said
    assert not ask(engine, boss, "帮助").startswith("没看懂"), "asked for: no complaint"
    word = ask(engine, boss, "怎么下载word")
    assert "查看3号" in word and "导出" in word and "没看懂" not in word


def test_a_contact_asking_for_the_word_file_is_led_to_已交(chat: Chat) -> None:
    assert "没看懂“你好”" in chat.send("你好") and chat.options, "what was not understood, then the menu"
    assert "还没有提交过" in chat.send("怎么下载word")
    fill_cadre(chat)
    for typed in ("怎么下载word", "下载", "下载表格", "word文件", "要word", "Word 文档在哪里下载？"):
        chat.send("新建")  # away from 已交's buttons, where “下载” is its 下载 #1 button (below)
        said = chat.send(typed)
        assert "贵单位已提交：" in said and "#1 登记表·韦丽华" in said, (typed, said)
    chat.send("下载")
    assert [r.document.key for r in chat.replies if r.document] == ["1"], "下载 under 已交: the one Word file"
    start(chat, "登记表")
    chat.send("下载表格")
    assert "贵单位已提交：" in chat.text, "mid-form too: it cannot be a name"
    chat.send("草稿")
    chat.send("1")
    assert "请输入候选人的姓名" in chat.text
    for answer in CADRE_ANSWERS[:6]:
        chat.send(answer)
    chat.send("Word 排版培训中心主任")
    assert chat.draft().answers["employer_post"] == "Word 排版培训中心主任", "an answer that mentions Word"


def test_a_wrong_kind_of_file_is_named_at_each_step(chat: Chat) -> None:
    """A .mov at the 证件照 step was told “这一步需要发送照片（不是文字）”."""
    mov = IncomingFile(kind="video", file_name="韦丽华.mov", mime="video/quicktime", size=9_000_000)
    pdf = IncomingFile(kind="document", file_name="韦丽华简历.pdf", mime="application/pdf", size=90_000)
    answer_cadre_until(chat, len(CADRE_ANSWERS))
    reply = chat.send("", mov)
    assert "您发送的是视频，不是照片。请从相册选择一张照片，作为“证件照”发送" in reply, reply
    assert "这一步需要发送照片（不是文字）" in chat.send("没有")
    reply = chat.send("", pdf)
    assert "您发送的是 PDF 文件，不是照片" in reply and "韦丽华" not in reply, "no file name shown"
    assert chat.draft().state == "id_photo" and "id_photo" not in chat.draft().answers
    chat.send("上一步")
    assert "您发送的是视频；这一步需要输入文字（网络展示事迹）" in chat.send("", mov)
    chat.send("放弃")
    chat.send("确认放弃")
    start(chat, "课程推荐表")
    for answer in ["家风第一课", "讲授", chinese_text(50), "覃美玲", "1982.07", "鹿寨县妇联主席"]:
        chat.send(answer)
    reply = chat.photo()
    assert "您发送的是照片，不是视频。请发送 MP4 格式的“课程视频”" in reply, reply
    unnamed = IncomingFile(kind="document", size=1_000)
    assert "您发送的是文件，不是视频" in chat.send("", unnamed), "once taken as a video it could not check"
    assert chat.draft().state == "courses.video" and "video" not in chat.draft().answers["courses"][0]
    as_file = IncomingFile(kind="document", file_name="课程.mp4", size=50_000_000)
    chat.send("", as_file)
    assert chat.draft().answers["courses"][0]["video"]["file_name"] == "课程.mp4", "an MP4 sent as a file"


def test_after_a_deadline_the_new_menu_says_逾期_and_that_late_forms_are_still_taken(
    chat: Chat, clock: FakeClock
) -> None:
    """The menu said “登记表（已交0份，需2份，5月25日前）” after the 25th."""
    fill_cadre(chat)
    clock.now = datetime(2021, 5, 26, 9, 0, tzinfo=SHANGHAI)
    said = chat.send("新建")
    assert said.startswith(
        "《登记表》《课程推荐表》已过截止时间，现在提交会标记为逾期；市妇联组联部仍接收"
    ), said
    assert chat.options == (
        "登记表（已交1份，需2份，逾期，5月25日已截止）",
        "课程推荐表（已交0节课程，需至少2节课程，逾期，5月25日已截止）",
        "示范点申报表（已交0份，需至少1份，8月30日前）",
    )
    assert "本次提交标记为逾期" in fill_cadre(chat, "覃美玲")
    said = chat.send("新建")
    assert chat.options[0] == "登记表（已交2份，需2份，5月25日已截止）", "the quota met: not 逾期"
    assert said.startswith("《课程推荐表》已过截止时间"), said


def test_a_campaign_that_refuses_late_forms_says_so_before_one_is_started_or_sent(
    engine: DialogEngine, chat: Chat, clock: FakeClock
) -> None:
    from tests.test_supervision import ask, supervisor

    engine.campaign = engine.campaign.model_copy(update={"late_submissions": "refused"})
    fill_cadre(chat)
    boss = supervisor(engine, clock)
    ask(engine, boss, "退回1号 工作照不清晰")
    answer_cadre_until(chat, len(CADRE_ANSWERS))
    chat.photo(color=(7, 8, 9))
    chat.photo(color=(9, 8, 7))
    clock.now = datetime(2021, 5, 26, 0, 0, 1, tzinfo=SHANGHAI)
    said = chat.send("确认提交")
    assert "《登记表》已于5月25日截止，市妇联组联部不再接收逾期提交" in said and "草稿会保留" in said, said
    assert chat.draft().answers["name"] == "韦丽华" and chat.options == ("确认提交", "修改", "放弃")
    kept = chat.draft().id
    chat.send("草稿")
    assert chat.options == ("继续：登记表·韦丽华（待确认提交，已截止，不能再提交）",), "told before going on"
    said = chat.send("新建")
    assert "不再接收逾期提交。如有特殊情况，请联系市妇联组联部（联系人：冯柳青" in said, said
    assert chat.options[0] == "登记表（已交1份，1份被退回待修改，需2份，逾期，5月25日已截止，不再接收）"
    chat.send("1")
    assert "不再接收逾期提交" in chat.text and chat.contact().current_draft_id == kept, "no draft started"
    chat.send("修改第1号")
    chat.send("确认提交")
    assert "编号 #1（第2版）" in chat.text, "a form 组联部 returned is still corrected and sent again"
