"""The 企业微信 channel end to end: the real ``intake run`` process, its callback at ``/wecom/callback``
and its calls to a local fake of WeCom (``tests.wecom_fake``, whose cryptography is written apart
from wechatpy's and pinned to Tencent's sample vectors in ``tests/test_wecom_crypto.py``).

A member binds with an invite code, reads the privacy notice and taps 同意 on its card; fills a
登记表 (text answers, two photos sent in the chat) and gets the DOCX back as a file; 组联部, bound
the same way, returns it with a reason, which reaches the member's phone as a push; the member
reopens, resubmits, and is nudged by /remind. WeCom's resends of one message change nothing; bad
signatures, replays and malformed bodies are refused with nothing stored; an expired token is
fetched again once; 45009 and 81013 delay a message without losing it.
"""

from __future__ import annotations

import io
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from docx import Document

from bot.app import load_declarations, open_repository
from bot.settings import Settings
from bot.wecom import CARD_HINT, SIGN_IN_START_PATH, VIDEO_TOO_LARGE, WeComChannel
from dialogs.engine import DialogEngine
from dialogs.exchange import DocumentRef, Reply
from dialogs.invites import issue_invite
from dialogs.sample_answers import CADRE_ANSWERS
from storage.database import migrate
from storage.repository import Repository
from tests.conftest import photo_bytes
from tests.test_service_under_fire import ROOT, Service, service_env
from tests.test_web_api import serving
from tests.wecom_fake.server import Delivery, FakeWeCom, Member, verify_url

Message = TypeVar("Message")


@pytest.fixture
def wecom() -> Iterator[tuple[FakeWeCom, str]]:
    fake = FakeWeCom()
    with serving(fake.app()) as base:
        yield fake, base


def wecom_env(fake: FakeWeCom, base: str) -> dict[str, str]:
    """The settings of an ``intake run`` that talks to the fake WeCom at ``base``."""
    return {
        "WECOM_CORP_ID": fake.corp_id,
        "WECOM_AGENT_ID": str(fake.agent_id),
        "WECOM_SECRET": fake.secret,
        "WECOM_TOKEN": fake.token,
        "WECOM_AES_KEY": fake.aes_key,
        "WECOM_API_BASE_URL": base,
    }


@pytest.fixture
def member_pace() -> dict[str, str]:
    """The service's settings for its per-member pace: WeCom's own (a module may override this)."""
    return {}


@pytest.fixture
def service(
    tmp_path: Path, wecom: tuple[FakeWeCom, str], member_pace: dict[str, str]
) -> Iterator[tuple[Service, Repository, dict[str, str]]]:
    fake, base = wecom
    env = service_env(tmp_path)
    env.update(member_pace)
    env.update(wecom_env(fake, base))
    env.update(
        WECOM_OAUTH_BASE_URL=base,
        INTAKE_WEB_URL=f"http://127.0.0.1:{env['INTAKE_PORT']}",
        INTAKE_LOG_LEVEL="INFO",
    )
    with wecom_service(env, tmp_path) as running:
        yield running


@contextmanager
def wecom_service(
    env: dict[str, str], tmp_path: Path
) -> Iterator[tuple[Service, Repository, dict[str, str]]]:
    """``intake run`` with ``env`` (its database migrated first), with one invite for 鱼峰区's contact
    and one for 组联部: the service, its repository, and the codes by role."""
    settings = Settings(
        data_dir=Path(env["INTAKE_DATA_DIR"]), campaign_file=Path(env["INTAKE_CAMPAIGN_FILE"])
    )
    migrate(settings.resolved_database_url())
    declarations = load_declarations(settings)
    repository = open_repository(settings, declarations)
    unit = repository.unit_by_code(declarations.campaign.id, "yufeng")
    assert unit is not None
    now = datetime.now(UTC)
    codes = {
        "contact": issue_invite(repository, unit.id, role="contact", now=now).code,
        "supervisor": issue_invite(repository, None, role="supervisor", now=now).code,
    }
    running = Service(env, tmp_path / "service.log")
    running.start()
    try:
        yield running, repository, codes
    finally:
        running.stop()
        repository.engine.dispose()


def callback_url(running: Service) -> str:
    return running.base + "/wecom/callback"


def settled(repository: Repository, channel: str, chat_key: str) -> bool:
    """Nothing of ``chat_key``'s waits in the service: every message handled, every reply sent."""
    later = datetime.now(UTC) + timedelta(days=1)
    waiting = [u for u in repository.pending_updates(channel) if u.chat_key == chat_key]
    unsent = [m for m in repository.due_messages(channel, later) if m.chat_key == chat_key]
    return not waiting and not unsent


def replies(
    sent_to: Callable[[str], list[Message]],
    repository: Repository,
    channel: str,
    chat_key: str,
    send: Callable[[], object],
    timeout: float = 60,
) -> list[Message]:
    """What a user of ``channel`` gets for one message (``sent_to``: a fake's record of what it sent
    her): sent, then waited for until the service has handled it and sent every reply (at the
    channel's pace)."""
    seen = len(sent_to(chat_key))
    send()
    deadline = time.monotonic() + timeout
    while not settled(repository, channel, chat_key):
        assert time.monotonic() < deadline, "the service did not answer"
        time.sleep(0.05)
    time.sleep(0.1)  # the last call's answer reaches the fake's record
    return sent_to(chat_key)[seen:]


def turn(
    fake: FakeWeCom, repository: Repository, member: Member, send: Callable[[], object], timeout: float = 60
) -> list[Delivery]:
    """What the member gets for one message (at WeCom's per-member pace)."""
    return replies(fake.to, repository, "wecom", member.user, send, timeout)


def said(deliveries: list[Delivery]) -> str:
    """The last text among a turn's messages (a question's card holds the question)."""
    texts = [d.text for d in deliveries if d.msgtype in ("text", "template_card")]
    assert texts, deliveries
    return texts[-1]


def bind(fake: FakeWeCom, repository: Repository, member: Member, code: str) -> list[Delivery]:
    notice = turn(fake, repository, member, lambda: member.text(f"绑定 {code}"))
    whole = "\n".join(d.text for d in notice)
    assert "个人信息保护告知" in notice[0].text and "腾讯" in whole, "this channel's own wording"
    card = notice[-1]
    assert "点“同意”" in card.text, "the notice's question is in its card"
    assert [b["text"] for b in card.buttons] == ["同意", "不同意"]
    return turn(fake, repository, member, lambda: member.click(card, 1))


def test_the_callback_answers_wecoms_url_check_and_refuses_what_is_not_wecom(
    wecom: tuple[FakeWeCom, str], service: tuple[Service, Repository, dict[str, str]]
) -> None:
    fake, _base = wecom
    running, repository, _codes = service
    started = time.monotonic()
    answer = verify_url(fake, callback_url(running))
    assert answer.status_code == 200 and answer.text == answer.extensions["expected_echo"]
    assert time.monotonic() - started < 1.0, "WeCom waits 1 s for the echo"
    assert verify_url(fake, callback_url(running), sign="0" * 40).status_code == 403

    member = Member(fake, callback_url(running), "intruder")
    plain = member._xml(
        "<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[你好]]></Content><MsgId>42</MsgId>"
    )
    assert member.post_once(plain, sign="f" * 40).status_code == 403, "a bad signature"
    stale = str(int(time.time()) - 3600)
    assert member.post_once(plain, timestamp=stale).status_code == 403, "a replay an hour old"
    garbled = httpx.post(
        callback_url(running), params={"msg_signature": "x", "timestamp": "1", "nonce": "n"}, content=b"<xml>"
    )
    assert garbled.status_code in (400, 403)
    other_corp = FakeWeCom(corp_id="another-corp")
    stranger = Member(other_corp, callback_url(running), "stranger")
    assert stranger.post_once(plain).status_code == 403, "sealed for another corp"
    time.sleep(1)
    assert fake.to("intruder") == [] and fake.to("stranger") == []
    assert repository.pending_updates("wecom") == []
    log = (running.log).read_text(encoding="utf-8")
    assert log.count("WeCom callback refused") >= 4 and "你好" not in log


def test_a_member_binds_fills_a_form_gets_its_docx_and_is_reached_by_returns_and_nudges(
    wecom: tuple[FakeWeCom, str], service: tuple[Service, Repository, dict[str, str]]
) -> None:
    fake, _base = wecom
    running, repository, codes = service
    url = callback_url(running)
    member, boss = Member(fake, url, "WeiLiHua"), Member(fake, url, "ZuLianBu")
    assert "感谢您的同意" in " ".join(d.text for d in bind(fake, repository, member, codes["contact"]))
    bind(fake, repository, boss, codes["supervisor"])

    offer = turn(fake, repository, member, lambda: member.text("/new"))
    menu = offer[-1]
    if menu.buttons:  # up to six short options: a card
        number = next(i for i, b in enumerate(menu.buttons, 1) if b["text"].startswith("登记表"))
        asked = turn(fake, repository, member, lambda: member.click(menu, number))
    else:  # a numbered list, answered with a number
        [line] = [line for line in menu.text.splitlines() if re.match(r"^\d+\. 登记表", line)]
        asked = turn(fake, repository, member, lambda: member.text(line.split(".")[0]))
    assert "（1/" in asked[-1].text, [d.text for d in asked]
    for answer in CADRE_ANSWERS:  # each accepted: the next question is another
        question = said(asked)
        asked = turn(fake, repository, member, lambda answer=answer: member.text(answer))
        assert said(asked) != question, [d.text for d in asked]
    again = turn(fake, repository, member, lambda: member.text(CADRE_ANSWERS[-1], msg_id=member.last_id))
    assert again == [], "WeCom's resend of one MsgId is not answered twice"
    for color in ((10, 20, 30), (40, 50, 60)):
        turn(fake, repository, member, lambda color=color: member.image(photo_bytes(color=color)))
    review = fake.to(member.user)[-1]
    assert [b["text"] for b in review.buttons] == ["确认提交", "修改", "放弃"], review.text
    submitted = turn(fake, repository, member, lambda: member.click(review, 1))
    assert any("已提交《登记表》" in d.text for d in submitted), [d.text for d in submitted]
    [file_message] = [d for d in submitted if d.msgtype == "file"]
    media = fake.media[file_message.body["file"]["media_id"]]
    assert media.file_name.endswith(".docx") and "登记表" in media.file_name
    cells = [c.text for t in Document(io.BytesIO(media.data)).tables for r in t.rows for c in r.cells]
    assert any("韦丽华" in cell for cell in cells)
    assert any(u["response_code"] for u in fake.card_updates), "a pressed card is updated"
    stale = turn(fake, repository, member, lambda: member.click(review, 1))
    assert not any("已提交" in d.text for d in stale), "an old card pressed again does nothing"

    seen = len(fake.to(member.user))
    turn(fake, repository, boss, lambda: boss.text("/return 1 请补充个人事迹中的具体数据"))
    turn(fake, repository, member, lambda: None)
    pushed = fake.to(member.user)[seen:]
    pushed_text = "\n".join(d.text for d in pushed)
    assert "退回" in pushed_text and "具体数据" in pushed_text, "the reason reaches the phone"
    [card] = [d for d in pushed if d.buttons]
    assert [b["text"] for b in card.buttons] == ["修改第1号", "查看1号"], "with the buttons it suggests"
    reopened = turn(fake, repository, member, lambda: member.click(card, 1))
    assert any("退回的原因：请补充个人事迹中的具体数据" in d.text for d in reopened), "a tap reopens it"

    fake.expire_tokens()
    fetched = fake.token_fetches
    seen = len(fake.to(member.user))
    turn(fake, repository, boss, lambda: boss.text("/remind yufeng"))
    turn(fake, repository, member, lambda: None)
    nudged = fake.to(member.user)[seen:]
    assert any("登记表" in d.text for d in nudged), [d.text for d in nudged]
    assert fake.token_fetches == fetched + 1, "the expired token was fetched again, once"
    log = running.log.read_text(encoding="utf-8")
    assert "Traceback" not in log and "韦丽华" not in log and "WeiLiHua" not in log


def test_wecom_refusals_delay_a_message_without_losing_it(
    wecom: tuple[FakeWeCom, str], service: tuple[Service, Repository, dict[str, str]]
) -> None:
    fake, _base = wecom
    running, repository, codes = service
    member = Member(fake, callback_url(running), "LanFang")
    fake.fail_next(45009)
    started = time.monotonic()
    notice = turn(fake, repository, member, lambda: member.text(f"绑定 {codes['contact']}"), timeout=120)
    assert "个人信息保护告知" in notice[0].text, "sent after WeCom's 45009 pause"
    assert time.monotonic() - started >= 50, "it waited out WeCom's minute"
    fake.visible = {"someone-else"}
    seen = len(fake.to(member.user))
    member.click(notice[-1], 1)
    deadline = time.monotonic() + 20
    while "81013" not in running.log.read_text(encoding="utf-8"):
        assert time.monotonic() < deadline, "the deployer is told why"
        time.sleep(0.1)
    assert len(fake.to(member.user)) == seen, "not visible: nothing delivered"
    later = datetime.now(UTC) + timedelta(days=1)
    assert [m.chat_key for m in repository.due_messages("wecom", later)] == [member.user], "kept, not lost"


def test_a_kill_between_storing_and_replying_loses_nothing_and_answers_once(
    wecom: tuple[FakeWeCom, str], service: tuple[Service, Repository, dict[str, str]]
) -> None:
    """The message is stored before WeCom hears 200, and the service is SIGKILLed right after (its
    reply waits for the member's pace: binding spent the burst). Back up, it answers once; WeCom's
    resend of the same MsgId changes nothing."""
    fake, _base = wecom
    running, repository, codes = service
    member = Member(fake, callback_url(running), "QinMeiLing")
    bind(fake, repository, member, codes["contact"])
    seen = len(fake.to(member.user))
    member.text("/new")
    running.kill()
    assert len(fake.to(member.user)) == seen, "killed before it answered"
    running.start()
    turn(fake, repository, member, lambda: member.text("/new", msg_id=member.last_id))
    time.sleep(1)
    answers = fake.to(member.user)[seen:]
    assert [said(answers)] == [d.text for d in answers if d.msgtype == "text"], "answered once"
    assert "请选择要填写的表" in said(answers)


def intake(env: dict[str, str], *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *arguments],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_intake_wecom_check_says_in_chinese_what_works_and_what_does_not(
    service: tuple[Service, Repository, dict[str, str]],
) -> None:
    running, _repository, _codes = service
    checked = intake(running.env, "wecom", "check")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert (
        checked.stdout.count("✓") == 3 and "妇联报送助手" in checked.stdout and "回调地址" in checked.stdout
    )
    wrong_secret = intake({**running.env, "WECOM_SECRET": "not-the-secret"}, "wecom", "check")
    assert wrong_secret.returncode == 1 and "Secret（WECOM_SECRET）不对" in wrong_secret.stdout
    wrong_key = intake({**running.env, "WECOM_AES_KEY": "k" * 43}, "wecom", "check")
    assert wrong_key.returncode == 1 and "WECOM_AES_KEY" in wrong_key.stdout, "the callback did not answer it"
    unset = intake({**running.env, "WECOM_CORP_ID": ""}, "wecom", "check")
    assert unset.returncode == 2 and "企业微信还没有配置" in unset.stderr


def test_intake_invite_for_a_known_member_sends_the_notice_first(
    wecom: tuple[FakeWeCom, str], service: tuple[Service, Repository, dict[str, str]]
) -> None:
    fake, _base = wecom
    running, repository, _codes = service
    invited = intake(running.env, "invite", "yufeng", "--wecom-user", "HuangMei")
    assert invited.returncode == 0, invited.stderr
    member = Member(fake, callback_url(running), "HuangMei")
    notice = fake.wait_for(member.user, 2)
    assert "个人信息保护告知" in notice[0].text and [b["text"] for b in notice[1].buttons] == [
        "同意",
        "不同意",
    ]
    assert repository.contact("wecom", "HuangMei") is None, "nothing stored before 同意"
    bound = turn(fake, repository, member, lambda: member.click(notice[1], 1))
    assert "鱼峰区" in said(bound)
    assert repository.contact("wecom", "HuangMei") is not None


def test_each_payload_is_one_wecom_message_so_the_pace_counts_what_wecom_counts(engine: DialogEngine) -> None:
    settings = Settings.model_validate(
        {
            "WECOM_CORP_ID": "c",
            "WECOM_AGENT_ID": 1,
            "WECOM_SECRET": "s",
            "WECOM_TOKEN": "t",
            "WECOM_AES_KEY": "k" * 43,
        }
    )
    channel = WeComChannel(settings, engine)
    assert channel.payloads([Reply("（3/12）性别？", options=("女", "男"), menu="m1")]) == [
        {"options": ["女", "男"], "menu": "m1", "title": "（3/12）性别？", "desc": CARD_HINT},
    ], "a question is one message: its card, the question its title"
    question = "（5/12）政治面貌\n请选择候选人的政治面貌；不确定时请先向本人核实。"
    [card] = channel.payloads([Reply(question, options=("中共党员", "群众"), menu="m3")])
    assert (card["title"], card["desc"]) == (
        "（5/12）政治面貌",
        "请选择候选人的政治面貌；不确定时请先向本人核实。",
    )
    long_line = "字" * 50
    [card] = channel.payloads([Reply(long_line, options=("是", "否"), menu="m4")])
    assert (card["title"], card["desc"]) == ("字" * 36, "字" * 14), "a long line: its start the title"
    returned = "贵单位的#1《登记表》被市妇联组联部退回修改，原因：请补充个人事迹中的具体数据"
    [card] = channel.payloads([Reply(returned, options=("修改第1号", "查看1号"), menu="m6")])
    assert card["title"].endswith("原因：") and card["desc"] == "请补充个人事迹中的具体数据", "cut at a pause"
    explained = "\n".join(["说明" * 50, "说明" * 50, "提示" * 50, "是否同意？"])
    before, card = channel.payloads([Reply(explained, options=("是", "否"), menu="m5")])
    assert before == {"text": "\n".join(["说明" * 50, "说明" * 50])}, "what the card cannot hold goes first"
    assert (card["title"], card["desc"]) == ("提示" * 18, "提示" * 32 + "\n是否同意？")
    many = tuple(f"第{n}项" for n in range(1, 8))
    [listed] = channel.payloads([Reply("请选择：", options=many, menu="m2")])
    assert "7. 第7项" in listed["text"] and "options" not in listed, "seven options: a numbered list"
    long = channel.payloads([Reply("\n".join("字" * 100 for _ in range(15)))])
    assert len(long) == 3 and all(len(p["text"]) <= 600 for p in long), "split under WeCom's 2,048 bytes"
    ref = DocumentRef("submission", "1", 1)
    assert channel.payloads([Reply("请打印、盖章后报送。", document=ref)]) == [
        {"text": "请打印、盖章后报送。"},
        {"document": ref.as_payload()},
    ]


def test_a_video_too_large_for_wecom_is_refused_with_what_to_do(
    wecom: tuple[FakeWeCom, str], service: tuple[Service, Repository, dict[str, str]]
) -> None:
    fake, _base = wecom
    running, repository, codes = service
    member = Member(fake, callback_url(running), "LiuYan")
    bind(fake, repository, member, codes["contact"])
    refused = turn(fake, repository, member, lambda: member.video(b"\x00" * (20 * 1024 * 1024 + 1)))
    assert said(refused).startswith(VIDEO_TOO_LARGE), said(refused)
    assert running.base + SIGN_IN_START_PATH in said(refused), "and where it can be sent: the web chat"


def test_a_file_larger_than_wecom_takes_comes_as_a_link_to_the_web_chat(
    wecom: tuple[FakeWeCom, str], service: tuple[Service, Repository, dict[str, str]]
) -> None:
    fake, _base = wecom
    running, repository, codes = service
    boss = Member(fake, callback_url(running), "FengLiuQing")
    bind(fake, repository, boss, codes["supervisor"])
    name = "liuzhou-2021-videos-20210601-120000.zip"
    videos = repository.data_dir / "exports" / name
    videos.parent.mkdir(parents=True, exist_ok=True)
    with videos.open("wb") as sparse:  # 30 MB on paper, nothing written
        sparse.truncate(30 * 1024 * 1024)
    uploads = len(fake.media)
    ref = DocumentRef("export", name)
    delivered = turn(
        fake,
        repository,
        boss,
        lambda: repository.enqueue_message(
            "wecom", boss.user, {"text": "课程视频", "document": ref.as_payload()}
        ),
    )
    note = " ".join(d.text for d in delivered)
    assert "超过企业微信能发送的 20 MB" in note and f"{running.base}/files/exports/{name}?g=" in note, note
    assert len(fake.media) == uploads and all(d.msgtype == "text" for d in delivered), "no upload refused"
    # Opened in the system browser, with no web chat session: the grant lets 组联部 download it.
    [link] = re.findall(re.escape(running.base) + r"/files/\S+", note)
    with httpx.stream("GET", link, timeout=10) as download:
        assert download.status_code == 200, download.read().decode(errors="replace")
        assert int(download.headers["content-length"]) == 30 * 1024 * 1024
