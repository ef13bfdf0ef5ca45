"""Binding by invite: the privacy notice first, nothing stored without consent, codes used once."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from dialogs.engine import CONSENTED, DialogEngine
from dialogs.exchange import Inbound
from dialogs.invites import (
    ALPHABET,
    CODE_LENGTH,
    INVITE_EXPIRED,
    INVITE_UNKNOWN,
    INVITE_USED,
    issue_invite,
    new_invite_code,
)
from tests.conftest import Chat, FakeClock

ROOT = Path(__file__).resolve().parent.parent
INTAKE = [sys.executable, "-m", "bot.cli"]


def invite_for(
    engine: DialogEngine, clock: FakeClock, unit_code: str | None = "yufeng", role: str = "contact"
) -> str:
    unit = engine.repository.unit_by_code(engine.campaign.id, unit_code) if unit_code else None
    return issue_invite(engine.repository, unit.id if unit else None, role=role, now=clock()).code


def send(  # type: ignore[no-untyped-def]
    engine: DialogEngine,
    text: str,
    menu: str | None = None,
    user: str = "tg-1",
    consent_for: str | None = None,
):
    return engine.handle(Inbound("telegram", user, text=text, menu=menu, consent_for=consent_for))


def test_codes_are_long_and_readable() -> None:
    codes = {new_invite_code() for _ in range(200)}
    assert len(codes) == 200
    assert all(len(code) == CODE_LENGTH and set(code) <= set(ALPHABET) for code in codes)


def test_the_notice_comes_first_and_consent_binds(engine: DialogEngine, clock: FakeClock) -> None:
    code = invite_for(engine, clock)
    [notice] = send(engine, f"/start {code}")
    assert "【个人信息保护告知】" in notice.text and "鱼峰区妇联" in notice.text
    assert "Telegram 的服务器位于境外" in notice.text and "保存至2022年6月30日" in notice.text
    assert notice.options == ("同意", "不同意") and notice.consent_for == code
    assert engine.repository.contact("telegram", "tg-1") is None, "nothing stored before consent"
    replies = send(engine, "1", consent_for=notice.consent_for)
    assert replies[0].text == CONSENTED
    assert replies[-1].options[0].startswith("登记表")
    contact = engine.repository.contact("telegram", "tg-1")
    assert contact is not None and contact.consented_at is not None


def test_组联部_reads_a_notice_for_reviewers_not_for_a_units_contact(
    engine: DialogEngine, clock: FakeClock
) -> None:
    [notice] = send(engine, f"/start {invite_for(engine, clock, None, 'supervisor')}")
    assert "审核人员" in notice.text and "请勿转发或外传" in notice.text
    assert "联系人填写" not in notice.text and "贵单位" not in notice.text
    [unit_notice] = send(engine, f"/start {invite_for(engine, clock)}", user="tg-2")
    assert "审核人员" not in unit_notice.text and "“鱼峰区妇联”的联系人" in unit_notice.text


def test_refusing_consent_stores_nothing(engine: DialogEngine, clock: FakeClock) -> None:
    code = invite_for(engine, clock)
    [notice] = send(engine, f"/start {code}")
    [reply] = send(engine, "2", consent_for=notice.consent_for)
    assert "不会保存您的任何信息" in reply.text
    assert engine.repository.contact("telegram", "tg-1") is None
    assert engine.repository.usable_invite(code, clock()) is not None, "the invite can still be used"


def test_a_used_expired_or_unknown_code_is_refused_each_with_its_own_reason(
    engine: DialogEngine, clock: FakeClock
) -> None:
    contact = engine.campaign.contact.line()
    code = invite_for(engine, clock)
    [notice] = send(engine, f"/start {code}")
    send(engine, "同意", consent_for=notice.consent_for)
    [reply] = send(engine, f"/start {code}", user="tg-2")
    assert reply.text == INVITE_USED.format(contact=contact) and "2823290" in reply.text
    assert "另一部手机" in reply.text and "索取新的邀请链接" in reply.text and "无效" not in reply.text
    [reply] = send(engine, "1", consent_for=notice.consent_for, user="tg-3")  # an old notice's button
    assert reply.text == INVITE_USED.format(contact=contact)
    [reply] = send(engine, "/start NOSUCHCODE", user="tg-3")
    assert reply.text == INVITE_UNKNOWN.format(contact=contact)
    old = invite_for(engine, clock)
    clock.now += timedelta(days=8)
    [reply] = send(engine, f"/start {old.lower()}", user="tg-4")
    assert reply.text == INVITE_EXPIRED.format(contact=contact)
    assert [engine.repository.contact("telegram", user) for user in ("tg-2", "tg-3", "tg-4")] == [None] * 3


def test_the_link_opened_again_by_the_one_it_bound_resumes_the_chat(
    engine: DialogEngine, clock: FakeClock
) -> None:
    code = invite_for(engine, clock)
    [notice] = send(engine, f"/start {code}")
    send(engine, "同意", consent_for=notice.consent_for)
    send(engine, "1")  # 登记表: the first question
    clock.now += timedelta(days=1)
    again = send(engine, f"/start {code}")
    assert "欢迎回来，鱼峰区妇联" in again[0].text and "已被使用" not in again[0].text
    twice = send(engine, "1", consent_for=notice.consent_for)  # 同意 pressed again on the old notice
    assert "欢迎回来" in twice[0].text
    for _ in range(12):  # never counted as failed tries
        send(engine, f"/start {code}")
    assert "欢迎回来" in send(engine, f"/start {code}")[0].text
    engine.repository.revoke_contact(engine.repository.contact("telegram", "tg-1").id)  # type: ignore[union-attr]
    [refused] = send(engine, f"/start {code}")
    assert "另一部手机" in refused.text, "a revoked contact's old link no longer opens anything"


def test_an_unbound_person_gets_a_short_refusal_whatever_they_send(engine: DialogEngine) -> None:
    for text in ["你好", "/new", "/start", "1", ""]:
        [reply] = send(engine, text, user="nobody")
        assert "请向市妇联组联部索取邀请链接" in reply.text
    assert engine.repository.contact("telegram", "nobody") is None


def test_a_supervisor_invite_binds_to_the_department(engine: DialogEngine, clock: FakeClock) -> None:
    code = invite_for(engine, clock, None, role="supervisor")
    [notice] = send(engine, f"/start {code}")
    assert "市妇联组联部" in notice.text
    replies = send(engine, "同意", consent_for=notice.consent_for)
    contact = engine.repository.contact("telegram", "tg-1")
    assert contact is not None and contact.role == "supervisor" and contact.unit_id is None
    assert "进度：" in replies[-1].text


def test_a_button_from_an_old_message_is_recognised_as_stale(chat: Chat) -> None:
    chat.send("/new")
    home_menu = chat.replies[-1].menu
    chat.send(
        "1",
    )
    gender_question = None
    chat.send("韦丽华")
    gender_question = chat.replies[-1]
    assert gender_question.options == ("女", "男") and gender_question.menu.startswith("d")
    chat.engine.handle(Inbound(channel=chat.channel, user_id=chat.user, text="1", menu=gender_question.menu))
    assert chat.draft().answers["gender"] == "女"
    replies = chat.engine.handle(
        Inbound(channel=chat.channel, user_id=chat.user, text="2", menu=gender_question.menu)
    )
    assert "这个按钮已过期" in replies[0].text and chat.draft().answers["gender"] == "女"
    replies = chat.engine.handle(Inbound(channel=chat.channel, user_id=chat.user, text="3", menu=home_menu))
    assert "这个按钮已过期" in replies[0].text and chat.draft().state == "birth"


def test_intake_invite_prints_the_web_link_on_the_public_or_the_local_address(tmp_path: Path) -> None:
    env = {**os.environ, "INTAKE_DATA_DIR": str(tmp_path / "data"), "INTAKE_PORT": "8765"}
    for name in ("INTAKE_DATABASE_URL", "TELEGRAM_BOT_TOKEN", "INTAKE_WEB_URL", "INTAKE_HOST"):
        env.pop(name, None)
    subprocess.run([*INTAKE, "migrate"], env=env, cwd=ROOT, check=True, capture_output=True, timeout=60)
    local = subprocess.run(
        [*INTAKE, "invite", "chengzhong"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    code = local.stdout.split("城中区妇联 的邀请码：", 1)[1][:CODE_LENGTH]
    assert f"网页版链接：http://127.0.0.1:8765/join?code={code}\n" in local.stdout, local.stdout
    assert "INTAKE_WEB_URL" in local.stdout, "a local address says how to give out a public one"
    env["INTAKE_WEB_URL"] = "https://fulian.example.cn/"
    public = subprocess.run(
        [*INTAKE, "invite", "--supervisor"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    code = public.stdout.split("的邀请码：", 1)[1][:CODE_LENGTH]
    assert f"网页版链接：https://fulian.example.cn/join?code={code}\n" in public.stdout, public.stdout
    assert "本机地址" not in public.stdout
