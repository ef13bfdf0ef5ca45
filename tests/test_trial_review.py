"""What a new 组联部 user found while returning and accepting: a command typed where a 退回's reason is
asked for is run as the command (nothing returned); an accepted form is returned only once confirmed;
a reason too short to act on is refused; a second 接收 records nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.app import Declarations, assemble_engine
from dialogs.campaign import DEFAULT_CAMPAIGN, load_campaign
from dialogs.declarations import DeclarationError
from dialogs.engine import DialogEngine
from dialogs.exchange import Inbound
from tests.conftest import Chat, FakeClock
from tests.test_dialog_forms import fill_cadre, start
from tests.test_review import notices, tap
from tests.test_supervision import ask, supervisor


def test_a_command_typed_instead_of_a_reason_is_run_and_nothing_is_returned(
    engine: DialogEngine, chat: Chat, clock: FakeClock
) -> None:
    fill_cadre(chat)
    fill_cadre(chat, "覃美玲")
    boss = supervisor(engine, clock)
    ask(engine, boss, "接收1号")
    asked = tap(engine, boss, engine.handle(Inbound("telegram", boss, "查看1号")), "退回（写原因）")
    assert "已经接收" in asked[-1].text, "the prompt says the form was accepted"
    replies = engine.handle(Inbound("telegram", boss, "查看2号"))
    said = "\n".join(reply.text for reply in replies)
    assert "没有退回#1" in said and "#2 登记表·覃美玲" in said and "已退回" not in said
    assert replies[-1].options == ("接收", "退回（写原因）"), "查看2号 was run, with its buttons"
    assert engine.repository.submission(1).status == "accepted"
    assert not [text for text in notices(engine) if "退回" in text]
    assert [d.action for d in engine.repository.decisions(1)] == ["accept"]


def test_every_word_command_breaks_out_of_a_reason_but_a_sentence_is_a_reason(
    engine: DialogEngine, chat: Chat, clock: FakeClock
) -> None:
    fill_cadre(chat)
    boss = supervisor(engine, clock)
    for command, answered in [
        ("接收1号", "已接收#1"),
        ("单位 鱼峰区", "#1 登记表·韦丽华"),
        ("进度 城中区", "城中区"),
        ("未交", "尚未报齐"),
        ("推荐1号", "已推荐#1"),
    ]:
        shown = engine.handle(Inbound("telegram", boss, "查看1号"))
        tap(engine, boss, shown, "退回（写原因）")
        said = ask(engine, boss, command)
        assert "没有退回#1" in said and answered in said, (command, said)
        assert engine.repository.submission(1).status in ("submitted", "accepted")
    assert [d.action for d in engine.repository.decisions(1)] == ["accept", "select"]
    tap(engine, boss, engine.handle(Inbound("telegram", boss, "查看1号")), "退回（写原因）")
    asked = engine.handle(Inbound("telegram", boss, "单位 名称写错了，请改正"))
    assert "确认退回吗" in asked[-1].text, "a sentence that starts like a command is the reason"
    assert "已退回#1" in tap(engine, boss, asked, "确认退回")[0].text
    assert "原因：单位 名称写错了，请改正" in notices(engine)[-1]


def test_a_short_reason_is_refused_and_the_reason_still_asked(
    engine: DialogEngine, chat: Chat, clock: FakeClock
) -> None:
    fill_cadre(chat)
    boss = supervisor(engine, clock)
    asked = tap(engine, boss, engine.handle(Inbound("telegram", boss, "查看1号")), "退回（写原因）")
    [refused] = engine.handle(Inbound("telegram", boss, "不行"))
    assert "原因太短" in refused.text and "照片不清晰" in refused.text and refused.options == ("取消",)
    assert engine.repository.submission(1).status == "submitted"
    assert asked[-1].menu == refused.menu
    [done] = engine.handle(Inbound("telegram", boss, "工作照不清晰，请重新上传"))
    assert "已退回#1《登记表》" in done.text
    assert engine.repository.submission(1).status == "returned"


def test_returning_an_accepted_form_is_confirmed_first(
    engine: DialogEngine, chat: Chat, clock: FakeClock
) -> None:
    fill_cadre(chat)
    boss = supervisor(engine, clock)
    ask(engine, boss, "接收1号")
    asked = engine.handle(Inbound("telegram", boss, "退回1号 工作照不清晰，请重新上传"))
    assert "已经接收" in asked[-1].text and "确认退回吗" in asked[-1].text
    assert asked[-1].options == ("确认退回", "取消")
    assert engine.repository.submission(1).status == "accepted", "nothing done before the confirmation"
    assert "没有退回" in tap(engine, boss, asked, "取消")[0].text
    assert engine.repository.submission(1).status == "accepted"
    asked = engine.handle(Inbound("telegram", boss, "退回1号 工作照不清晰，请重新上传"))
    assert "已退回#1《登记表》" in tap(engine, boss, asked, "确认退回")[0].text
    assert engine.repository.submission(1).status == "returned"
    assert [d.action for d in engine.repository.decisions(1)] == ["accept", "return"]


def test_a_second_接收_records_nothing(engine: DialogEngine, chat: Chat, clock: FakeClock) -> None:
    fill_cadre(chat)
    boss = supervisor(engine, clock)
    assert "已接收#1《登记表》第1版" in ask(engine, boss, "接收1号")
    assert "已经接收过" in ask(engine, boss, "接收1号")
    assert [d.action for d in engine.repository.decisions(1)] == ["accept"]
    assert len([text for text in notices(engine) if "接收" in text]) == 1


def test_组联部_help_reads_one_command_a_line(engine: DialogEngine, clock: FakeClock) -> None:
    said = ask(engine, supervisor(engine, clock), "帮助")
    assert "取消推荐3号 取消" not in said
    assert "取消推荐3号（课程：取消推荐3号 第2节）：撤回对第3号的推荐上报" in said
    assert "推荐3号（课程：推荐3号 第2节）：推荐上报自治区\n" in said


def test_the_campaigns_phone_is_shown_with_its_area_code(chat: Chat) -> None:
    said = chat.send("帮助")
    assert "电话：0772-2823290" in said and "电话：2823290" not in said


def test_a_contact_phone_without_area_code_is_refused_at_load(
    tmp_path: Path, declarations: Declarations
) -> None:
    source = DEFAULT_CAMPAIGN.read_text(encoding="utf-8")
    assert 'phone = "0772-2823290"' in source
    broken = tmp_path / "campaign.toml"
    broken.write_text(source.replace('phone = "0772-2823290"', 'phone = "2823290"'), encoding="utf-8")
    with pytest.raises(DeclarationError, match=r"\[contact\] 的 phone：.*区号"):
        load_campaign(broken, declarations.forms)


def test_组联部_makes_an_invite_link_in_the_chat_where_提醒_finds_no_contact(
    engine: DialogEngine, clock: FakeClock
) -> None:
    boss = supervisor(engine, clock)
    told = engine.handle(Inbound("telegram", boss, "提醒 融水县"))
    said = "\n".join(reply.text for reply in told)
    assert "还没有联系人绑定" in said and "intake" not in said and told[-1].options == ("邀请",)
    [invited] = tap(engine, boss, told, "邀请")
    code = re.search(r"邀请码：([A-Z2-9]{10})", invited.text)
    assert code is not None and "只显示这一次" in invited.text and "绑定 " + code[1] in invited.text
    invite = engine.repository.invite(code[1])
    assert invite is not None and invite.role == "contact" and invite.used_at is None
    unit = engine.repository.unit(invite.unit_id)
    assert unit is not None and unit.name == "融水苗族自治县妇联"
    assert invited.options == () and not engine.repository.contact("telegram", boss).menu, "shown once"
    new = engine.handle(Inbound("telegram", "rongshui", f"/start {code[1]}"))
    assert new[-1].consent_for == code[1], "the code binds a contact of that unit"


def test_the_invite_link_is_on_the_public_address(
    declarations: Declarations, engine: DialogEngine, clock: FakeClock
) -> None:
    linked = assemble_engine(declarations, engine.repository, clock, web_url="https://fl.example.cn/")
    boss = supervisor(linked, clock)
    said = ask(linked, boss, "邀请 融水县")
    assert re.search(r"https://fl\.example\.cn/join\?code=[A-Z2-9]{10}\n", said), said


def test_only_组联部_may_invite(chat: Chat) -> None:
    said = chat.send("邀请 融水县")
    assert "只有市妇联组联部可以使用" in said
    start(chat, "登记表")
    chat.send("邀请 融水县")
    assert chat.draft().answers["name"] != "", "typed in a form it is an answer, as 单位 is"
