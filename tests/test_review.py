"""组联部 reviews: return with a reason, the unit corrects and resubmits a new version, accept, select
for the region, remind by hand — every decision recorded, and contacts kept to their own commands."""

from __future__ import annotations

from dialogs.engine import DialogEngine
from dialogs.exchange import DocumentRef, Inbound, Reply
from storage.models import utc_now
from tests.conftest import (
    Chat,
    FakeClock,
    assert_no_slash_command,
    chinese_text,
    document_path,
    exported,
)
from tests.test_dialog_forms import fill_cadre, start
from tests.test_supervision import ask, supervisor


def notices(engine: DialogEngine, user: str = "u1") -> list[str]:
    return [
        m.payload["text"] for m in engine.repository.due_messages("test", utc_now()) if m.chat_key == user
    ]


def test_return_correct_resubmit_accept(engine: DialogEngine, chat: Chat, clock: FakeClock) -> None:
    fill_cadre(chat)
    boss = supervisor(engine, clock)
    assert "退回时请写明原因" in ask(engine, boss, "/return 1")
    assert "已退回#1《登记表》" in ask(engine, boss, "/return 1 工作照不清晰，请重新上传")
    [notice] = notices(engine)
    assert "退回修改，原因：工作照不清晰，请重新上传" in notice and "修改第1号" in notice
    chat.send("/submissions")
    assert "#1 登记表·韦丽华（第1版，已退回修改）" in chat.text
    chat.send("/reopen 1")
    chat.send("修改")
    chat.send(next(str(i) for i, o in enumerate(chat.options, 1) if o.startswith("工作照")))
    chat.photo(color=(90, 90, 90))
    assert "编号 #1（第2版）" in chat.send("确认提交")
    [told] = [m.payload["text"] for m in engine.repository.due_messages("telegram", utc_now())]
    assert "重新提交《登记表》#1（第2版）" in told and "查看1号" in told, told
    shown = ask(engine, boss, "/show 1")
    assert "#1 登记表·韦丽华（第2版，待审核）" in shown and "第1版 退回：工作照不清晰" in shown
    deeds = engine.repository.versions(1)[-1].answers["story"]
    assert len(deeds) > 24 and deeds in shown, "组联部 read the whole 主要事迹, not its first line"
    assert "已接收#1《登记表》第2版" in ask(engine, boss, "/accept 1")
    assert any("已被市妇联组联部接收" in text for text in notices(engine))
    assert "已被组联部接收，不能再修改" in chat.send("/reopen 1")
    decisions = engine.repository.decisions(1)
    assert [(d.action, d.version) for d in decisions] == [("return", 1), ("accept", 2)]
    assert all(d.decided_by == engine.repository.contact("telegram", boss).id for d in decisions)


def test_show_sends_the_docx(engine: DialogEngine, chat: Chat, clock: FakeClock) -> None:
    fill_cadre(chat)
    boss = supervisor(engine, clock)
    replies = engine.handle(Inbound("telegram", boss, "/show 1"))
    [document] = [reply for reply in replies if reply.document is not None]
    assert document_path(engine, document).suffix == ".docx"
    assert replies[-1].options == ("接收", "退回（写原因）"), "the last reply offers the decisions"


def test_courses_are_selected_one_by_one_once_accepted(
    engine: DialogEngine, chat: Chat, clock: FakeClock
) -> None:
    start(chat, "课程推荐表")
    for number, title in enumerate(["家风第一课", "家风第二课"]):
        if number:
            chat.send("添加一节课程")
        for answer in [title, "讲授", chinese_text(50), "覃美玲", "1982.07", "鹿寨县妇联主席", "跳过"]:
            chat.send(answer)
    chat.send("填写完毕")
    chat.send("蓝芳 部长")
    chat.send("13977211234")
    chat.send("确认提交")
    boss = supervisor(engine, clock)
    assert "请写上第几节课程" in ask(engine, boss, "/select 1")
    assert "还没有接收" in ask(engine, boss, "/select 1 2")
    ask(engine, boss, "/accept 1")
    assert "只有 2 节课程" in ask(engine, boss, "/select 1 3")
    assert "已推荐#1《课程推荐表》第2节。《桂姐姐履职小课堂》推荐上报现为 1/2" in ask(
        engine, boss, "/select 1 2"
    )
    assert "推荐上报《课程推荐表》1/2（5月30日前）" in ask(engine, boss, "/status")
    shown = engine.handle(Inbound("telegram", boss, "查看1号"))
    # Named by its unit and courses, not its 负责人; the course not yet selected is the one offered.
    assert "鱼峰区妇联 #1 课程推荐表·《家风第一课》《家风第二课》（第1版" in shown[0].text, shown[0].text
    assert "蓝芳" not in shown[0].text.split("\n")[0]
    assert "已推荐上报：第2节课程《家风第二课》\n" in shown[0].text, "查看 says which course is recommended"
    assert "推荐上报第2节" in shown[0].text and shown[-1].options == ("推荐上报第1节", "退回（写原因）")
    chat.send("已交")
    assert "#1 课程推荐表·《家风第一课》《家风第二课》（第1版，已接收）" in chat.text, chat.text
    assert "现为 0/2" in ask(engine, boss, "/unselect 1 2")
    # the same in the words the bot suggests
    assert "例如：推荐1号 第2节" in ask(engine, boss, "推荐1号")
    assert "已推荐#1《课程推荐表》第1节" in ask(engine, boss, "推荐1号 第1节")
    assert "现为 0/2" in ask(engine, boss, "取消推荐1号 第1节")


def test_contacts_cannot_use_supervisor_commands(engine: DialogEngine, chat: Chat) -> None:
    fill_cadre(chat)
    for command in [
        "/accept 1",
        "/return 1 不合格",
        "/select 1",
        "/export",
        "/pending",
        "/unit 柳南区",
        "/remind 柳南区",
    ]:
        reply = chat.send(command)
        assert "这个命令只有市妇联组联部可以使用" in reply, command
        assert "柳南区" not in reply.replace(command, "")
    submission = engine.repository.submission(1)
    assert submission is not None and submission.status == "submitted"
    assert engine.repository.decisions(1) == []


def test_bad_arguments_get_clear_messages(engine: DialogEngine, chat: Chat, clock: FakeClock) -> None:
    fill_cadre(chat)
    boss = supervisor(engine, clock)
    assert "请写上提交编号" in ask(engine, boss, "/show")
    assert "请写上提交编号" in ask(engine, boss, "/accept abc")
    for command in ("/show", "/accept", "/return", "/select", "/unselect"):
        assert "没有#99这份提交" in ask(engine, boss, f"{command} 99 原因"), "a number that exists nowhere"
        for huge in ("9223372036854775808", "99999999999999999999999", "9" * 5000):
            said = ask(engine, boss, f"{command} {huge} 原因")
            assert "这份提交" in said and "出了点问题" not in said, (command, huge[:20])
    assert "#1 登记表" in ask(engine, boss, "/show ＃１"), "full-width digits and sign are read"
    assert "请写上一个单位" in ask(engine, boss, "/unit 不存在的单位")
    unit = ask(engine, boss, "/unit 鱼峰")
    assert "鱼峰区  登记表1/2" in unit and "#1 登记表·韦丽华（第1版，待审核）" in unit


def test_remind_by_hand_reaches_only_units_with_contacts_and_something_missing(
    engine: DialogEngine, chat: Chat, clock: FakeClock
) -> None:
    fill_cadre(chat)
    boss = supervisor(engine, clock)
    assert "还没有联系人绑定" in ask(engine, boss, "/remind 柳南区")
    assert "已提醒鱼峰区妇联（1名联系人，3项任务）" in ask(engine, boss, "/remind 鱼峰区")
    texts = notices(engine)
    assert len(texts) == 3
    assert any(
        "距《登记表》截止（5月25日）还有15天，贵单位已交1份，还差1份，发送“新建”开始填写" in t for t in texts
    )


def test_export_zip_has_every_docx_the_statistics_and_the_workbook(
    engine: DialogEngine, chat: Chat, clock: FakeClock
) -> None:
    import io
    import zipfile

    from openpyxl import load_workbook

    fill_cadre(chat)
    fill_cadre(chat, "覃美玲")
    boss = supervisor(engine, clock)
    ask(engine, boss, "/accept 2")
    ask(engine, boss, "/select 2")
    _answer, [zipped] = exported(engine, boss)
    document = document_path(engine, zipped)
    assert document.suffix == ".zip"
    photo = engine.repository.versions(1)[-1].answers["id_photo"]["sha256"]
    with zipfile.ZipFile(document) as archive:
        names = archive.namelist()
        stored = engine.repository.data_dir / (engine.repository.versions(1)[-1].document_path or "")
        first = next(n for n in names if n.startswith("鱼峰区妇联/寻找最美基层妇联干部/#1-"))
        assert archive.read(first) == stored.read_bytes(), "the DOCX made at submission, not a new one"
        assert any(n.startswith("推荐上报/") and "覃美玲" in n for n in names)
        # The candidates' photos, asked “用于网络评选”, reach 组联部 as they were sent.
        stored_photo = engine.repository.file_path(photo)
        assert stored_photo is not None
        assert (
            archive.read("鱼峰区妇联/寻找最美基层妇联干部/#1-韦丽华-证件照.jpg") == stored_photo.read_bytes()
        )
        assert "推荐上报/寻找最美基层妇联干部/鱼峰区妇联-#2-覃美玲-工作照.jpg" in names
        assert "市妇联-新领域建妇联示范点统计表.docx" in names
        workbook = load_workbook(io.BytesIO(archive.read("汇总.xlsx")))
    assert workbook.sheetnames[:2] == ["报送情况", "登记表"]
    rows = list(workbook["登记表"].iter_rows(values_only=True))
    assert len(rows) == 3 and "韦丽华" in rows[1] and "覃美玲" in rows[2]


def test_the_menus_say_what_was_returned_and_offer_changes_only_where_they_can_be_made(
    engine: DialogEngine, chat: Chat, clock: FakeClock
) -> None:
    fill_cadre(chat)
    fill_cadre(chat, "覃美玲")
    boss = supervisor(engine, clock)
    ask(engine, boss, "退回1号 工作照不清晰")
    chat.send("新建")
    assert chat.options[0].startswith("登记表（已交2份，1份被退回待修改"), chat.options
    assert chat.send("已交") and changes(chat) == ["修改 #1", "修改 #2"], "before the deadline: both"
    clock.now = clock.now.replace(month=6, day=10)
    listed = chat.send("已交")
    assert changes(chat) == ["修改 #1"], "after it, only the returned one"
    assert "可以修改的表" in listed and "截止前" not in listed
    ask(engine, boss, "接收2号")
    chat.send("修改第1号")
    assert chat.draft() is not None
    chat.send("放弃")
    chat.send("确认放弃")
    ask(engine, boss, "接收1号")
    closed = chat.send("已交")
    assert changes(chat) == [] and "不能再修改" in closed, closed
    assert chat.options == ("查看 #1", "下载 #1", "查看 #2", "下载 #2"), "still there to look at"


def changes(chat: Chat) -> list[str]:
    return [option for option in chat.options if option.startswith("修改")]


def tap(engine: DialogEngine, user: str, replies: list[Reply], label: str) -> list[Reply]:
    """Press the button ``label`` of the last reply that has buttons, as a channel sends it."""
    shown = [reply for reply in replies if reply.options][-1]
    number = shown.options.index(label) + 1
    answer = engine.handle(Inbound("telegram", user, str(number), menu=shown.menu))
    for reply in answer:
        assert_no_slash_command(reply.text)
    return answer


def test_组联部_taps_from_未交_to_a_return_with_its_reason_typed_next(
    engine: DialogEngine, chat: Chat, clock: FakeClock
) -> None:
    fill_cadre(chat)
    boss = supervisor(engine, clock)
    pending = engine.handle(Inbound("telegram", boss, "未交"))
    assert "鱼峰区妇联" in pending[-1].options, pending[-1].options
    unit = tap(engine, boss, pending, "鱼峰区妇联")
    assert "#1 登记表·韦丽华" in unit[-1].text and unit[-1].options == ("查看#1",)
    shown = tap(engine, boss, unit, "查看#1")
    assert shown[-1].options == ("接收", "退回（写原因）")
    stale = engine.handle(Inbound("telegram", boss, "1", menu=unit[-1].menu))
    assert "按钮已过期" in stale[0].text
    asked = tap(engine, boss, shown, "退回（写原因）")  # the latest buttons still work after a stale press
    assert "请写退回#1《登记表》的原因" in asked[-1].text and asked[-1].options == ("取消",)
    assert engine.repository.submission(1).status == "submitted", "nothing decided before the reason"
    [done] = engine.handle(Inbound("telegram", boss, "修改第1号的工作照，换一张清晰的"))
    assert "已退回#1《登记表》" in done.text, "a reason that reads like a command is still the reason"
    [notice] = notices(engine)
    assert "原因：修改第1号的工作照，换一张清晰的" in notice
    stale = engine.handle(Inbound("telegram", boss, "1", menu=asked[-1].menu))
    assert "按钮已过期" in stale[0].text and len(engine.repository.decisions(1)) == 1
    assert engine.handle(Inbound("telegram", boss, "查看1号"))[-1].options == (), (
        "returned: the unit acts next"
    )


def test_a_reason_asked_for_can_be_cancelled_and_accepting_offers_推荐上报(
    engine: DialogEngine, chat: Chat, clock: FakeClock
) -> None:
    fill_cadre(chat)
    boss = supervisor(engine, clock)
    shown = engine.handle(Inbound("telegram", boss, "查看1号"))
    asked = tap(engine, boss, shown, "退回（写原因）")
    assert "没有退回" in tap(engine, boss, asked, "取消")[0].text
    assert engine.repository.submission(1).status == "submitted"
    assert (
        "已接收#1《登记表》第1版"
        in tap(engine, boss, engine.handle(Inbound("telegram", boss, "查看1号")), "接收")[0].text
    )
    after = engine.handle(Inbound("telegram", boss, "查看1号"))
    assert after[-1].options == ("推荐上报", "退回（写原因）")
    assert "已推荐#1《登记表》" in tap(engine, boss, after, "推荐上报")[0].text
    selected = engine.handle(Inbound("telegram", boss, "查看1号"))
    assert selected[-1].options == ("退回（写原因）",) and "已推荐上报：全表" in selected[0].text


def test_export_gives_the_course_videos_in_a_zip_of_their_own(
    engine: DialogEngine, chat: Chat, clock: FakeClock
) -> None:
    import zipfile

    from bot.mp4_probe import video_file
    from tests.test_mp4_probe import mp4

    data = mp4(300, 1280, 720, payload=3_000_000)
    start(chat, "课程推荐表")
    for number, title in enumerate(["家风第一课", "家风/第二课"]):
        if number:
            chat.send("添加一节课程")
        for answer in [title, "讲授", chinese_text(50), "覃美玲", "1982.07", "鹿寨县妇联主席"]:
            chat.send(answer)
        if number == 0:
            video = video_file(data, file_name="第一课.mp4")
            assert video is not None
            chat.send("", video)
        else:
            chat.send("跳过")
    chat.send("填写完毕，下一步")
    for answer in ["韦丽华 鹿寨县妇联主席", "13907721234"]:
        chat.send(answer)
    assert "已提交" in chat.send("确认提交"), chat.text
    boss = supervisor(engine, clock)
    replies = engine.handle(Inbound("telegram", boss, "导出"))
    assert not [r for r in replies if r.document], "promised, made after the answer, apart from it"
    assert "正在生成全部表格" in replies[0].text and "课程视频共 1 个" in replies[-1].text
    assert engine.repository.due_messages("telegram", utc_now()) == [], "nothing sent before it is made"
    assert "还在生成中" in ask(engine, boss, "导出"), "a second 导出 while waiting is not a second job"
    assert engine.run_export_jobs() == 2 and engine.run_export_jobs() == 0, "each made once"
    forms_zip, sent = engine.repository.due_messages("telegram", utc_now())
    assert "全部表格" in forms_zip.payload["text"] and "课程视频" in sent.payload["text"]
    forms_name = forms_zip.payload["document"]["key"]
    assert forms_name.startswith("柳妇通〔2021〕29号-导出-5月"), "named in Chinese from the notice's 文号"
    forms_file = engine.open_document(DocumentRef.from_payload(forms_zip.payload["document"]))
    assert forms_file is not None
    with zipfile.ZipFile(forms_file.path) as archive:
        assert not [n for n in archive.namelist() if n.endswith(".mp4")], "the forms' ZIP stays small"
    assert sent.chat_key == boss
    opened = engine.open_document(DocumentRef.from_payload(sent.payload["document"]))
    assert opened is not None and opened.file_name.startswith("柳妇通〔2021〕29号-课程视频-")
    with zipfile.ZipFile(opened.path) as archive:
        [name] = archive.namelist()
        assert name == "鱼峰区妇联/桂姐姐履职小课堂/#1-第1节-家风第一课.mp4", name
        assert archive.read(name) == data, "the video as it was sent"
    engine.repository.messages_sent([forms_zip, sent], utc_now())
    engine.handle(Inbound("telegram", boss, "导出"))
    engine.run_export_jobs()
    again = engine.repository.due_messages("telegram", utc_now())[-1]
    assert again.payload["document"] == sent.payload["document"], "unchanged videos: the same ZIP, not a copy"


def press(engine: DialogEngine, chat: Chat, label: str) -> list[Reply]:
    """A contact presses the button ``label`` of the last reply with buttons, as a channel sends it."""
    shown = [reply for reply in chat.replies if reply.options][-1]
    number = shown.options.index(label) + 1
    chat.replies = engine.handle(Inbound(chat.channel, chat.user, str(number), menu=shown.menu))
    for reply in chat.replies:
        assert_no_slash_command(reply.text)
    return chat.replies


def test_a_contact_looks_at_and_downloads_her_own_units_submissions_and_no_one_elses(
    engine: DialogEngine, chat: Chat, clock: FakeClock
) -> None:
    assert "查看3号：查看本单位第3号提交的全部内容、照片和处理记录" in chat.send("帮助"), "her help says so"
    fill_cadre(chat)
    other = Chat(engine, unit_code="chengzhong", user="u2")
    fill_cadre(other, "覃美玲")
    ask(engine, supervisor(engine, clock), "接收1号")
    shown = chat.send("查看1号")
    answers = engine.repository.versions(1)[-1].answers
    assert "#1 登记表·韦丽华（第1版，已接收）" in shown and answers["story"] in shown, "every answer in full"
    assert "处理记录" in shown and "接收" in shown
    [content] = [reply for reply in chat.replies if reply.pictures]
    assert content.pictures == (
        DocumentRef("photo", answers["id_photo"]["sha256"]),
        DocumentRef("photo", answers["work_photo"]["sha256"]),
    ), "证件照 and 工作照 beside the text"
    [word] = [reply for reply in chat.replies if reply.document is not None]
    assert document_path(engine, word).suffix == ".docx"
    Chat(engine, unit_code="liunan", user="u3")  # same photos in 城中区's form: a unit with none
    mine = engine.identity("test", "u1")
    theirs = engine.identity("test", "u3")
    assert mine is not None and theirs is not None
    assert all(engine.open_document(picture, mine) is not None for picture in content.pictures)
    assert all(engine.open_document(picture, theirs) is None for picture in content.pictures)
    # another unit's number and a number no one has get the same words: nothing is given away
    refused = chat.send("查看2号")
    assert refused == chat.send("查看99号").replace("#99", "#2")
    assert "贵单位没有#2这份提交" in refused and "覃美玲" not in refused and "城中区" not in refused
    assert all(reply.document is None and not reply.pictures for reply in chat.replies)


def test_已交_offers_each_submissions_word_file_again(engine: DialogEngine, chat: Chat) -> None:
    fill_cadre(chat)
    fill_cadre(chat, "覃美玲")
    listed = chat.send("已交")
    assert "#1 登记表·韦丽华（第1版，待审核）" in listed and "#2 登记表·覃美玲" in listed
    assert chat.options == ("查看 #1", "下载 #1", "修改 #1", "查看 #2", "下载 #2", "修改 #2")
    [word] = press(engine, chat, "下载 #2")
    assert word.document == DocumentRef("submission", "2", 1) and "覃美玲" not in word.text
    assert "《柳州市妇联执委候选人登记表》#2" in word.text or "#2 第1版" in word.text
    assert document_path(engine, word).suffix == ".docx"
    chat.send("已交")
    press(engine, chat, "查看 #1")
    assert "#1 登记表·韦丽华" in chat.text and any(reply.document for reply in chat.replies)


def test_a_returned_form_reopens_with_its_reason_and_a_long_answer_comes_back_to_edit(
    engine: DialogEngine, chat: Chat, clock: FakeClock
) -> None:
    fill_cadre(chat)
    ask(engine, supervisor(engine, clock), "退回1号 主要事迹请补充2025年的工作")
    opened = chat.send("修改第1号")
    assert opened.startswith("市妇联组联部退回的原因：主要事迹请补充2025年的工作\n已打开 #1"), opened
    chat.send("修改")
    story = engine.repository.versions(1)[-1].answers["story"]
    asked = chat.send(next(str(i) for i, o in enumerate(chat.options, 1) if o.startswith("主要事迹")))
    assert story in asked and f"共{len(story)}字" in asked, "the whole text, to copy on any channel"
    assert chat.replies[-1].fill_in == story, "a channel with an input box puts it there"
    assert "已保留原来的主要事迹" in chat.send("跳过") and "请核对以上内容" in chat.text
    answers = engine.repository.versions(1)[-1].answers
    assert chat.replies[-1].pictures == (
        DocumentRef("photo", answers["id_photo"]["sha256"]),
        DocumentRef("photo", answers["work_photo"]["sha256"]),
    ), "the review shows the form's photos"
    again = chat.send("修改第1号")
    assert again.startswith("市妇联组联部退回的原因：主要事迹请补充"), "said again when the draft is resumed"
    short = chat.send("修改") and chat.send("1")
    assert "当前已填：韦丽华" in short and chat.replies[-1].fill_in == "", "a short answer is retyped"
    start(chat, "登记表")  # another form begun; the correction is continued from 草稿
    chat.send("草稿")
    resumed = press(engine, chat, next(o for o in chat.options if "韦丽华" in o))
    assert resumed[0].text == "市妇联组联部退回的原因：主要事迹请补充2025年的工作", [r.text for r in resumed]


def queued(engine: DialogEngine, channel: str, user: str) -> list[dict[str, object]]:
    return [m.payload for m in engine.repository.due_messages(channel, utc_now()) if m.chat_key == user]


def test_notices_carry_the_buttons_of_what_they_suggest(
    engine: DialogEngine, chat: Chat, clock: FakeClock
) -> None:
    fill_cadre(chat)
    boss = supervisor(engine, clock)
    ask(engine, boss, "退回1号 工作照不清晰")
    [returned] = queued(engine, "test", "u1")
    assert "请发送“修改第1号”" in str(returned["text"]) and returned["options"] == ["修改第1号", "查看1号"]
    [notice] = engine.notices("test", "u1")  # as the web page and the console take it
    assert notice.options == ("修改第1号", "查看1号") and notice.menu == returned["menu"]
    chat.send("新建")  # another menu shown since: the notice's buttons still work
    pressed = engine.handle(Inbound("test", "u1", "2", menu=notice.menu))
    assert "#1 登记表·韦丽华（第1版，已退回修改）" in pressed[0].text and pressed[0].pictures
    opened = engine.handle(Inbound("test", "u1", "1", menu=notice.menu))
    assert "退回的原因：工作照不清晰" in opened[0].text and "已打开 #1" in opened[1].text
    chat.send("确认提交")
    [back] = queued(engine, "telegram", boss)
    assert "发送“查看1号”审核" in str(back["text"]) and back["options"] == ["查看1号"]
    shown = engine.handle(Inbound("telegram", boss, "1", menu=str(back["menu"])))
    assert shown[-1].options == ("接收", "退回（写原因）"), "the press is 查看1号, with its decisions"
    ask(engine, boss, "接收1号")
    [accepted] = queued(engine, "test", "u1")
    assert "已被市妇联组联部接收" in str(accepted["text"]) and accepted["options"] == ["查看1号"]
    forged = engine.handle(Inbound("test", "u1", "1", menu="n.accept1"))
    assert "按钮已过期" in forged[0].text, "a notice's token names only what a contact may type"
    assert engine.repository.decisions(1)[-1].action == "accept"


def test_a_course_forms_video_is_shown_under_查看_to_its_unit_and_组联部_only(
    engine: DialogEngine, chat: Chat, clock: FakeClock
) -> None:
    from bot.mp4_probe import video_file
    from tests.test_mp4_probe import mp4

    start(chat, "课程推荐表")
    for number, title in enumerate(["家风第一课", "家风第二课"]):
        if number:
            chat.send("添加一节课程")
        for answer in [title, "讲授", chinese_text(50), "覃美玲", "1982.07", "鹿寨县妇联主席"]:
            chat.send(answer)
        video = video_file(mp4(300 + number, 1280, 720, payload=1000), file_name=f"第{number + 1}课.mp4")
        assert video is not None
        chat.send("", video)
    chat.send("填写完毕，下一步")
    for answer in ["韦丽华 鹿寨县妇联主席", "13907721234"]:
        chat.send(answer)
    assert "已提交" in chat.send("确认提交"), chat.text
    rows = engine.repository.versions(1)[-1].answers["courses"]
    videos = tuple(DocumentRef("video", row["video"]["sha256"]) for row in rows)
    chat.send("查看1号")
    assert chat.replies[0].pictures == videos, "each 节's video, in order"
    boss = supervisor(engine, clock)
    assert engine.handle(Inbound("telegram", boss, "查看1号"))[0].pictures == videos
    Chat(engine, unit_code="liunan", user="u3")
    mine, boss_id, stranger = (
        engine.identity(c, u) for c, u in [("test", "u1"), ("telegram", boss), ("test", "u3")]
    )
    for viewer in (mine, boss_id):
        opened = engine.open_document(videos[1], viewer)
        assert opened is not None and opened.mime == "video/mp4"
    assert engine.open_document(videos[1], stranger) is None, "another unit's video is not theirs"


def test_a_notices_buttons_fit_telegrams_64_bytes_and_name_only_what_a_contact_may_type() -> None:
    import pytest

    from dialogs.notices import NoticeButton, notice_payload, pressed_notice
    from storage.models import MAX_ID

    payload = notice_payload("通知", NoticeButton("reopen", MAX_ID), NoticeButton("show", MAX_ID))
    assert payload["options"] == [f"修改第{MAX_ID}号", f"查看{MAX_ID}号"]
    assert len(f"{payload['menu']}|2".encode()) <= 64, "Telegram's callback data at the largest number"
    assert pressed_notice(payload["menu"], "2") == f"/show {MAX_ID}"
    assert pressed_notice(payload["menu"], "３") is None and pressed_notice(payload["menu"], "0") is None
    assert pressed_notice("m0123456789", "1") is None, "a remembered menu's press is not a notice's"
    assert pressed_notice("n.export", "1") is None and pressed_notice("n.new", "1") == "/new"
    with pytest.raises(ValueError):
        NoticeButton("accept", 1)
    assert notice_payload("只有文字") == {"text": "只有文字"}
