"""The 公众号 channel end to end: the real ``intake run`` process, its callback at ``/mp/callback`` and
its calls to a local fake of the 公众号 API (``tests.mp_fake``, whose cryptography is written apart
from wechatpy's and pinned to Tencent's sample vectors in ``tests/test_mp_crypto.py``).

A follower follows and is welcomed, binds by typing “绑定 邀请码”, reads the privacy notice and
answers “同意”; fills a whole 登记表 (text answers, choices from numbered lists answered by their words
or number, two photos) and gets the Word file as a signed link, which opens in a browser with no
session. The 公众号's resend of one MsgId is answered once; bad signatures, replays and plain-text
callbacks are refused with nothing stored. 组联部 returns the form after the follower's 48 hours are
over: the 客服消息 is refused (45015) and the 退回 reaches her as a template message.
"""

from __future__ import annotations

import asyncio
import io
import logging
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from docx import Document
from wechatpy.exceptions import WeChatClientException

from bot.delivery import DeliveryFailed, DeliveryLater, DeliveryRefused
from bot.mp import (
    CHOOSE_BY_NUMBER,
    REPLY,
    WELCOME,
    CallbackRefused,
    MpChannel,
    choice_number,
    scanned_scene,
    template_thing,
)
from bot.settings import Settings
from dialogs.engine import DialogEngine
from dialogs.exchange import DocumentRef, Reply
from dialogs.notices import NoticeButton, notice_payload
from dialogs.sample_answers import CADRE_ANSWERS
from storage.repository import Repository
from tests.conftest import photo_bytes
from tests.mp_fake.server import FakeMp, Follower, Sent, plain_signature, qr_picture, verify_url
from tests.test_service_under_fire import Service, service_env
from tests.test_web_api import serving
from tests.test_wecom import intake, replies, wecom_service

Running = tuple[Service, Repository, dict[str, str]]
TEMPLATE = "TPL-notice-0001"


@pytest.fixture
def mp() -> Iterator[tuple[FakeMp, str]]:
    fake = FakeMp()
    with serving(fake.app()) as base:
        yield fake, base


@pytest.fixture
def service(tmp_path: Path, mp: tuple[FakeMp, str]) -> Iterator[Running]:
    fake, base = mp
    env = service_env(tmp_path)
    env.update(
        WECHAT_MP_APP_ID=fake.app_id,
        WECHAT_MP_APP_SECRET=fake.secret,
        WECHAT_MP_TOKEN=fake.token,
        WECHAT_MP_AES_KEY=fake.aes_key,
        WECHAT_MP_API_BASE_URL=base,
        WECHAT_MP_NOTICE_TEMPLATE_ID=TEMPLATE,
        INTAKE_WEB_URL=f"http://127.0.0.1:{env['INTAKE_PORT']}",
        INTAKE_LOG_LEVEL="INFO",
    )
    with wecom_service(env, tmp_path) as running:
        yield running


def callback_url(running: Service) -> str:
    return running.base + "/mp/callback"


def turn(fake: FakeMp, repository: Repository, follower: Follower, send: Callable[[], object]) -> list[Sent]:
    """What the follower gets for one message: sent, then waited for until every reply has left."""
    return replies(fake.to, repository, "mp", follower.openid, send)


def said(sent: list[Sent]) -> str:
    assert sent, "no answer"
    return sent[-1].text


def listed(sent: list[Sent]) -> list[str]:
    """The numbered list a turn ended with."""
    text = said(sent)
    assert CHOOSE_BY_NUMBER in text, text
    return re.findall(r"(?m)^【\d+】(.+)$", text)


def bind(fake: FakeMp, repository: Repository, follower: Follower, code: str) -> list[Sent]:
    notice = turn(fake, repository, follower, lambda: follower.text(f"绑定 {code}"))
    assert "个人信息保护告知" in notice[0].text
    assert listed(notice) == ["同意", "不同意"]
    return turn(fake, repository, follower, lambda: follower.text("同意"))


def test_the_callback_answers_the_url_check_and_refuses_what_is_not_the_accounts(
    mp: tuple[FakeMp, str], service: Running
) -> None:
    fake, _base = mp
    running, repository, _codes = service
    answer = verify_url(fake, callback_url(running))
    assert answer.status_code == 200 and answer.text == answer.extensions["expected_echo"]
    assert verify_url(fake, callback_url(running), sign="0" * 40).status_code == 403

    intruder = Follower(fake, callback_url(running), "o-intruder")
    plain = intruder._xml(
        "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[你好]]></Content><MsgId>42</MsgId>"
    )
    assert intruder.post_once(plain, sign="f" * 40).status_code == 403, "a bad signature"
    assert intruder.post_once(plain, timestamp=str(int(time.time()) - 3600)).status_code == 403, "a replay"
    plain_mode = Follower(fake, callback_url(running), "o-plain", encrypted=False)
    assert plain_mode.post_once(plain).status_code == 403, "明文模式 is refused unless allowed"
    other = Follower(FakeMp(app_id="wx-another-account"), callback_url(running), "o-stranger")
    assert other.post_once(plain).status_code == 403, "sealed for another AppID"
    time.sleep(1)
    assert repository.pending_updates("mp") == [] and fake.sent == []
    log = running.log.read_text(encoding="utf-8")
    assert log.count("WeChat MP callback refused") >= 4 and "你好" not in log


def test_a_follower_binds_fills_a_form_gets_its_link_and_a_return_after_48_hours_as_a_template(
    mp: tuple[FakeMp, str], service: Running
) -> None:
    fake, _base = mp
    running, repository, codes = service
    url = callback_url(running)
    follower, boss = (
        Follower(fake, url, "oWeiLiHua0000000000000000001"),
        Follower(fake, url, "oZuLianBu00000000000000000001"),
    )
    welcome = turn(fake, repository, follower, follower.follow)
    assert [s.text for s in welcome] == [WELCOME]
    assert "感谢您的同意" in "\n".join(s.text for s in bind(fake, repository, follower, codes["contact"]))
    boss.follow()
    bind(fake, repository, boss, codes["supervisor"])

    offer = turn(fake, repository, follower, lambda: follower.text("/new"))
    [form] = [option for option in listed(offer) if option.startswith("登记表")]
    asked = turn(fake, repository, follower, lambda: follower.text(form))
    assert "（1/" in said(asked), said(asked)
    for answer in CADRE_ANSWERS:  # each accepted: the next question is another
        question = said(asked)
        asked = turn(fake, repository, follower, lambda answer=answer: follower.text(answer))
        assert said(asked) != question, [s.text for s in asked]
    again = turn(
        fake, repository, follower, lambda: follower.text(CADRE_ANSWERS[-1], msg_id=follower.last_id)
    )
    assert again == [], "the 公众号's resend of one MsgId is not answered twice"
    for color in ((10, 20, 30), (40, 50, 60)):
        asked = turn(fake, repository, follower, lambda color=color: follower.image(photo_bytes(color=color)))
    assert listed(asked) == ["确认提交", "修改", "放弃"], said(asked)
    submitted = turn(fake, repository, follower, lambda: follower.text("1"))
    words = "\n".join(s.text for s in submitted)
    assert "已提交《登记表》" in words and "公众号不能直接发送文件" in words, words
    [link] = re.findall(re.escape(running.base) + r"/files/submissions/\S+", words)
    download = httpx.get(link, timeout=10)  # a fresh browser: no session, the link's grant
    assert download.status_code == 200, download.text
    cells = [c.text for t in Document(io.BytesIO(download.content)).tables for r in t.rows for c in r.cells]
    assert any("韦丽华" in cell for cell in cells)
    assert all(s.kind == "custom" for s in fake.to(follower.openid)), "within 48 hours: 客服消息 only"

    fake.pass_hours(49)  # she has not written for two days; 组联部 writes now
    fake.expire_tokens()
    fetched = fake.token_fetches
    seen = len(fake.to(follower.openid))
    turn(fake, repository, boss, lambda: boss.text("/return 1 请补充个人事迹中的具体数据"))
    turn(fake, repository, follower, lambda: None)
    [pushed] = fake.to(follower.openid)[seen:]
    assert fake.token_fetches == fetched + 1, "the expired token (42001) was fetched again, once"
    assert pushed.kind == "template" and pushed.body["template_id"] == TEMPLATE
    assert pushed.body["data"]["thing1"]["value"].startswith("贵单位的#1《登记表》"), "the notice's start"
    assert pushed.body["url"] == running.base, "opening the web chat"
    assert len(pushed.body["data"]["thing1"]["value"]) <= 20 and "年" in pushed.body["data"]["time2"]["value"]
    reopened = turn(fake, repository, follower, lambda: follower.text("修改第1号"))
    assert any("请补充个人事迹中的具体数据" in s.text for s in reopened), "writing again reopens her window"
    back = turn(fake, repository, follower, follower.follow)
    assert back and WELCOME not in [s.text for s in back], "following again: where she left off, no welcome"
    log = running.log.read_text(encoding="utf-8")
    assert "Traceback" not in log and "韦丽华" not in log and follower.openid not in log


def test_intake_mp_check_says_in_chinese_what_works_and_what_to_do(
    mp: tuple[FakeMp, str], service: Running
) -> None:
    """The token, the notice template (with its two fields) and the running callback: three ✓ lines and
    exit 0; each wrong setting a ✗ line naming it, exit 1; no 公众号 settings at all, exit 2. The
    token the check fetches replaces the service's, and the service goes on with it."""
    fake, _base = mp
    running, repository, _codes = service
    follower = Follower(fake, callback_url(running), "oAfterCheck0000000000000001")
    assert [s.text for s in turn(fake, repository, follower, follower.follow)] == [WELCOME]
    fake.one_token = True  # a new token makes the old one unknown, as the 公众号's does
    checked = intake(running.env, "mp", "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count("✓") == 3 and "报送事项提醒" in checked.stdout
    assert f"{callback_url(running)} 应答正确" in checked.stdout
    fetched = fake.token_fetches
    assert turn(fake, repository, follower, lambda: follower.text("你好")), "the service still answers"
    assert fake.token_fetches == fetched, "with the token the check stored, not a new one"

    failures = {
        "WECHAT_MP_APP_SECRET": ("not-the-secret", "AppSecret（WECHAT_MP_APP_SECRET）不对"),
        "WECHAT_MP_APP_ID": ("wx-not-ours", "AppID（WECHAT_MP_APP_ID）不对"),
        "WECHAT_MP_NOTICE_TEMPLATE_ID": ("TPL-deleted", "模板 TPL-deleted 不在本公众号的模板列表中"),
        "WECHAT_MP_NOTICE_TEMPLATE_KEYS": ("thing3,time2", "没有 thing3 字段"),
        "WECHAT_MP_TOKEN": ("NotTheServicesToken", "WECHAT_MP_TOKEN 与运行中的服务不一致"),
        "WECHAT_MP_API_BASE_URL": ("http://127.0.0.1:9", "连不上公众号接口"),
    }
    for name, (value, said_) in failures.items():
        wrong = intake({**running.env, name: value}, "mp", "check")
        assert wrong.returncode == 1 and said_ in wrong.stdout, (name, wrong.stdout, wrong.stderr)
        assert "Traceback" not in wrong.stderr
    unset_template = intake({**running.env, "WECHAT_MP_NOTICE_TEMPLATE_ID": ""}, "mp", "check")
    assert unset_template.returncode == 1 and "未设置 WECHAT_MP_NOTICE_TEMPLATE_ID" in unset_template.stdout
    unset = intake({**running.env, "WECHAT_MP_APP_ID": ""}, "mp", "check")
    assert unset.returncode == 2 and "公众号还没有配置" in unset.stderr


def test_an_invite_as_a_qr_code_binds_whoever_scans_it_after_the_privacy_notice(
    mp: tuple[FakeMp, str], service: Running, tmp_path: Path
) -> None:
    """``intake invite UNIT --qr`` writes the 公众号's temporary QR code (PNG) whose scene is the invite,
    for at most 30 days; scanning it follows the 公众号 and shows the privacy notice (no welcome), and
    同意 binds to the unit. Someone already following scans it too (a SCAN event)."""
    fake, base = mp
    running, repository, _codes = service
    env = {**running.env, "WECHAT_MP_QRCODE_URL": f"{base}/cgi-bin/showqrcode"}
    unit = repository.unit_by_code("liuzhou-2021", "yufeng")
    assert unit is not None

    def invited(target: Path, *days: str) -> tuple[str, str]:
        """The invite's code and its QR code's ticket."""
        before = set(fake.qr_codes)
        made = intake(env, "invite", "yufeng", "--qr", str(target), *days)
        assert made.returncode == 0, made.stdout + made.stderr
        [ticket] = set(fake.qr_codes) - before
        found = re.search(r"的邀请码：(\w+)", made.stdout)
        assert found is not None and f"公众号二维码已保存到 {target}" in made.stdout, made.stdout
        assert target.read_bytes() == qr_picture(ticket), "the picture showqrcode gave for its ticket"
        return found[1], ticket

    code, ticket = invited(tmp_path / "yufeng.png", "--days", "45")
    scene, expiry = fake.qr_codes[ticket]  # asked for 45 days: the QR code lives 30, the invite 45
    assert scene == code and 29 * 86400 < expiry - fake.now() <= 30 * 86400, "30 days at most"
    scanning = Follower(fake, callback_url(running), "oScanned00000000000000000001")
    notice = turn(fake, repository, scanning, lambda: scanning.scan(ticket))
    assert WELCOME not in [s.text for s in notice] and "个人信息保护告知" in notice[0].text
    assert listed(notice) == ["同意", "不同意"]
    assert repository.contact("mp", scanning.openid) is None, "nothing stored before 同意"
    bound = turn(fake, repository, scanning, lambda: scanning.text("同意"))
    assert "感谢您的同意" in "\n".join(s.text for s in bound)
    contact = repository.contact("mp", scanning.openid)
    assert contact is not None and contact.unit_id == unit.id

    following = Follower(fake, callback_url(running), "oFollowing000000000000000001")
    assert [s.text for s in turn(fake, repository, following, following.follow)] == [WELCOME]
    _code, ticket = invited(tmp_path / "second.png")
    notice = turn(fake, repository, following, lambda: following.scan(ticket))
    assert listed(notice) == ["同意", "不同意"], "already following: the SCAN event shows it too"
    turn(fake, repository, following, lambda: following.text("1"))
    contact = repository.contact("mp", following.openid)
    assert contact is not None and contact.unit_id == unit.id
    log = running.log.read_text(encoding="utf-8")
    assert "Traceback" not in log and scanning.openid not in log and code not in log


@pytest.fixture
def channel(engine: DialogEngine) -> MpChannel:
    settings = Settings.model_validate(
        {
            "WECHAT_MP_APP_ID": "wx1",
            "WECHAT_MP_APP_SECRET": "s",
            "WECHAT_MP_TOKEN": "t",
            "WECHAT_MP_AES_KEY": "k" * 43,
        }
    )
    return MpChannel(settings, engine)


def test_a_question_is_one_message_with_its_options_numbered(channel: MpChannel) -> None:
    [question] = channel.payloads([Reply("（3/12）性别？", options=("女", "男"), menu="m1")])
    assert question == {
        "text": f"（3/12）性别？\n【1】女\n【2】男\n{CHOOSE_BY_NUMBER}",
        "options": ["女", "男"],
        "menu": "m1",
        REPLY: True,
    }, "marked as the dialog's reply: her number answers this list, not a reminder's"
    ref = DocumentRef("submission", "1", 1)
    assert channel.payloads([Reply("请打印、盖章后报送。", document=ref)]) == [
        {"text": "请打印、盖章后报送。", "document": ref.as_payload(), REPLY: True}
    ], "a document and its caption: one message with the link"
    long = channel.payloads([Reply("\n".join("字" * 100 for _ in range(15)))])
    assert len(long) == 3 and all(len(p["text"]) <= 600 for p in long), "split under 2,048 bytes"


@pytest.mark.parametrize(
    ("typed", "number"),
    [
        ("1", 1),
        ("２", 2),
        (" 不同意 ", 2),
        ("同意", 1),
        ("3", None),
        ("0", None),
        ("同意吧", None),
        ("", None),
    ],
)
def test_a_typed_answer_picks_an_option_by_its_number_or_its_words(typed: str, number: int | None) -> None:
    assert choice_number(typed, ["同意", "不同意"]) == number


@pytest.mark.parametrize(
    ("event", "key", "scene"),
    [
        ("subscribe", "qrscene_ABCD2345EF", "ABCD2345EF"),
        ("SCAN", "ABCD2345EF", "ABCD2345EF"),
        ("subscribe", "", None),  # followed from a search, not a QR code
        ("SCAN", "", None),
        ("CLICK", "ABCD2345EF", None),  # a menu's key is no invite
        ("subscribe", "qrscene_" + "A" * 65, None),
        ("SCAN", "A\nB", None),
    ],
)
def test_a_scan_tells_the_scene_of_its_qr_code(event: str, key: str, scene: str | None) -> None:
    assert scanned_scene(event, key) == scene


@pytest.mark.parametrize(
    ("text", "thing"),
    [
        ("【截止提醒】\n登记表明天截止", "截止提醒"),
        ("贵单位的#1《登记表》被市妇联组联部退回修改，原因：太短", "贵单位的#1《登记表》被市妇联组联部退…"),
        ("", "您有一条新通知"),
    ],
)
def test_a_template_carries_the_notices_first_line_in_twenty_characters(text: str, thing: str) -> None:
    assert template_thing(text) == thing and len(thing) <= 20


class Recording:
    """The API of a 公众号 that takes every 客服消息 (the follower wrote within 48 hours)."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def send_text(self, openid: str, text: str) -> None:
        self.texts.append(text)


def test_a_bare_number_answers_the_dialogs_question_not_a_reminder_pushed_meanwhile(
    channel: MpChannel, engine: DialogEngine
) -> None:
    """A reminder whose “buttons” are 新建 and 已交 arrives while she is on a numeric question, then on
    a choice: her “2” answers the question (女性人数 = 2), her “1” picks the dialog's first option —
    not 已交 or 新建 — and the reminder's words still work when typed."""
    api = Recording()
    channel.api = api  # type: ignore[assignment]
    openid = "oSite000000000000000000000001"
    unit = engine.repository.unit_by_code(engine.campaign.id, "yufeng")
    assert unit is not None and unit.id is not None
    engine.repository.bind_contact("mp", openid, unit.id)
    reminder = notice_payload(
        "【提醒】还差1份，发送“新建”开始填写，发送“已交”查看",
        NoticeButton("new"),
        NoticeButton("submissions"),
    )

    def deliver(payload: dict[str, Any]) -> str:
        asyncio.run(channel.deliver(openid, payload))
        return api.texts[-1]

    def send(text: str) -> str:
        seen = len(api.texts)
        for payload in channel.payloads(engine.handle(channel._typed(openid, text))):
            deliver(payload)
        return "\n".join(api.texts[seen:])

    offer = send("/new")
    [number] = re.findall(r"【(\d+)】示范点申报表", offer)
    assert "申报单位名称" in send(number)
    assert "共有多少人" in send("柳州市螺蛳粉产业园")
    assert "其中女性有多少人" in send("120")
    deliver(reminder)
    assert "申报单位负责人的姓名" in send("2"), "the question's answer, not 已交"
    draft = engine.repository.draft(engine.repository.contact("mp", openid).current_draft_id)  # type: ignore[union-attr]
    assert draft is not None and str(draft.answers["female_count"]) == "2"
    for answer in ("黄建国", "13907721234", "李秀梅"):
        send(answer)
    asked = send("15878012345")
    assert "组建方式" in asked and "【1】单独创建" in asked
    deliver(reminder)
    deliver(notice_payload("今天的第二条提醒"))  # a push without buttons forgets nothing either
    assert "领域" in send("1"), "the dialog's first option, not 新建"
    draft = engine.repository.draft(draft.id or 0)
    assert draft is not None and draft.answers["build_mode"] == "单独创建"
    assert "请选择要填写的表" in send("新建"), "the reminder's word, typed, still works"


class OutsideTheWindow:
    """The API of a 公众号 whose follower last wrote over 48 hours ago."""

    def __init__(self) -> None:
        self.templates: list[tuple[str, str, dict[str, Any], str | None]] = []

    def send_text(self, openid: str, text: str) -> None:
        raise WeChatClientException(45015, "response out of time limit")

    def send_template(self, openid: str, template_id: str, data: dict[str, Any], url: str | None) -> None:
        self.templates.append((openid, template_id, data, url))


def test_outside_the_window_without_a_template_the_message_is_dropped_with_a_line_for_the_deployer(
    engine: DialogEngine, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings.model_validate(
        {
            "WECHAT_MP_APP_ID": "wx1",
            "WECHAT_MP_APP_SECRET": "s",
            "WECHAT_MP_TOKEN": "t",
            "WECHAT_MP_AES_KEY": "k" * 43,
        }
    )
    api = OutsideTheWindow()
    channel = MpChannel(settings, engine, api=api)  # type: ignore[arg-type]
    with pytest.raises(DeliveryRefused), caplog.at_level(logging.WARNING, logger="bot.mp"):
        asyncio.run(channel.deliver("o-follower", {"text": "【截止提醒】登记表明天截止"}))
    assert "over 48 hours" in caplog.text and "WECHAT_MP_NOTICE_TEMPLATE_ID" in caplog.text
    assert "o-follower" not in caplog.text and "截止" not in caplog.text, "no OpenID, no text in the log"
    assert api.templates == []

    with_template = MpChannel(
        settings.model_copy(update={"wechat_mp_notice_template_id": "TPL"}),
        engine,
        api=api,  # type: ignore[arg-type]
    )
    asyncio.run(with_template.deliver("o-follower", {"text": "【截止提醒】登记表明天截止"}))
    [(openid, template_id, data, _url)] = api.templates
    assert (openid, template_id, data["thing1"]["value"]) == ("o-follower", "TPL", "截止提醒：登记表明天截止")


class Refusing:
    """The API of a 公众号 that answers every 客服消息 with one error code."""

    def __init__(self, errcode: int | None) -> None:
        self.errcode = errcode

    def send_text(self, openid: str, text: str) -> None:
        raise WeChatClientException(self.errcode, "refused")


@pytest.mark.parametrize(
    ("errcode", "raised"),
    [(45009, DeliveryLater), (43004, DeliveryRefused), (None, DeliveryFailed), (40003, DeliveryRefused)],
)
def test_the_accounts_errors_are_the_delivery_layers(
    channel: MpChannel, errcode: int | None, raised: type[Exception]
) -> None:
    """45009 (the daily quota): later; 43004 (unfollowed): never; an HTTP error: again; others: never."""
    channel.api = Refusing(errcode)  # type: ignore[assignment]
    with pytest.raises(raised):
        asyncio.run(channel.deliver("o-follower", {"text": "你好"}))


def test_a_plain_callback_is_taken_only_where_allowed_and_only_signed(engine: DialogEngine) -> None:
    settings = Settings.model_validate(
        {
            "WECHAT_MP_APP_ID": "wx1",
            "WECHAT_MP_APP_SECRET": "s",
            "WECHAT_MP_TOKEN": "t",
            "WECHAT_MP_AES_KEY": "k" * 43,
        }
    )
    body = (
        "<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[o-plain]]></FromUserName>"
        "<CreateTime>1</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[你好]]></Content>"
        "<MsgId>77</MsgId></xml>"
    ).encode()
    timestamp = str(int(time.time()))
    query = {"signature": plain_signature("t", timestamp, "n"), "timestamp": timestamp, "nonce": "n"}
    with pytest.raises(CallbackRefused):
        MpChannel(settings, engine).opened(query, body)
    allowing = MpChannel(settings.model_copy(update={"wechat_mp_allow_plain": True}), engine)
    assert allowing.opened(query, body) == (
        77,
        "o-plain",
        {
            "ToUserName": "gh_1",
            "FromUserName": "o-plain",
            "CreateTime": "1",
            "MsgType": "text",
            "Content": "你好",
            "MsgId": "77",
        },
    )
    with pytest.raises(CallbackRefused):
        allowing.opened({**query, "signature": "0" * 40}, body)
