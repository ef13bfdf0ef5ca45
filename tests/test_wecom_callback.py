"""The 企业微信 callback against messages that are signed and sealed as WeCom does it but malformed
inside: each is refused with a 400 (413 when larger than a WeCom message) and one log line without
what it held, nothing is stored, and a well-formed message after them still is.

The web chat is served in-process (uvicorn on loopback) with its WeCom channel; the messages are
sealed by the fake WeCom's own cryptography (``tests.wecom_fake.crypto``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import pytest

from bot.settings import Settings
from bot.web import build_app
from bot.wechat_api import MAX_CALLBACK_BYTES
from bot.wecom import CALLBACK_PATH, WeComChannel
from dialogs.engine import DialogEngine
from tests.test_web_api import SESSION_SECRET, serving
from tests.wecom_fake.server import FakeWeCom, Member

SENDER = "ZhouXiaoHong"  # stands for a member's UserID: never in the log


def message(
    sender: str | None = f"<![CDATA[{SENDER}]]>", kind: str | None = "<![CDATA[text]]>", more: str = ""
) -> str:
    """A text message's XML with ``sender`` and ``kind`` as they are written inside their elements."""
    parts = [
        "<ToUserName><![CDATA[ww-fake-corp]]></ToUserName>",
        f"<FromUserName>{sender}</FromUserName>" if sender is not None else "",
        f"<CreateTime>{int(time.time())}</CreateTime>",
        f"<MsgType>{kind}</MsgType>" if kind is not None else "",
        "<Content><![CDATA[我叫周晓红]]></Content><MsgId>7100000000000000001</MsgId>",
        more,
        "<AgentID>1000002</AgentID>",
    ]
    return "<xml>" + "".join(parts) + "</xml>"


MALFORMED = {
    "sender-nested": message(sender=f"<Name>{SENDER}</Name><Dept>1</Dept>"),
    "sender-nested-deep": message(sender="<a>" * 500 + SENDER + "</a>" * 500),
    "sender-with-attributes": message(sender=f'<![CDATA[{SENDER}]]><x a="1"/>'),
    "sender-twice": message(more=f"<FromUserName><![CDATA[{SENDER}2]]></FromUserName>"),
    "sender-empty": message(sender=""),
    "sender-missing": message(sender=None),
    "sender-huge": message(sender=SENDER * 2000),
    "type-nested": message(kind="<text>1</text>"),
    "type-missing": message(kind=None),
    "type-twice": message(more="<MsgType><![CDATA[image]]></MsgType>"),
    "empty": "",
    "empty-xml": "<xml/>",
    "another-root": message().replace("<xml>", "<msg>").replace("</xml>", "</msg>"),
    "not-xml": f"{SENDER} 你好",
    "entities": (
        '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>' + message(sender="&b;")
    ),
}


@pytest.fixture(name="callback")
def callback_fixture(engine: DialogEngine) -> Iterator[tuple[Member, FakeWeCom]]:
    fake = FakeWeCom()
    settings = Settings.model_validate(
        {
            "WECOM_CORP_ID": fake.corp_id,
            "WECOM_AGENT_ID": fake.agent_id,
            "WECOM_SECRET": fake.secret,
            "WECOM_TOKEN": fake.token,
            "WECOM_AES_KEY": fake.aes_key,
            "WECOM_API_BASE_URL": "http://127.0.0.1:9",  # never called: nothing is handled here
            "web_session_secret": SESSION_SECRET,
        }
    )
    channel = WeComChannel(settings, engine)
    with serving(build_app(engine, settings, wecom=channel)) as base:
        yield Member(fake, base + CALLBACK_PATH, SENDER), fake


@pytest.mark.parametrize("plain", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_message_from_a_signed_sender_is_refused_with_one_line(
    callback: tuple[Member, FakeWeCom], engine: DialogEngine, caplog: pytest.LogCaptureFixture, plain: str
) -> None:
    member, _fake = callback
    caplog.set_level(logging.INFO)
    answer = member.post_once(plain)
    assert answer.status_code == 400, (answer.status_code, answer.text)
    assert engine.repository.pending_updates("wecom") == [], "nothing stored"
    lines = [record for record in caplog.records if record.name.startswith(("bot", "uvicorn", "starlette"))]
    assert [record.levelno for record in lines] == [logging.WARNING], [r.getMessage() for r in lines]
    [line] = lines
    assert line.getMessage().startswith("WeCom callback refused (400)") and line.exc_info is None
    assert SENDER not in line.getMessage() and "周晓红" not in line.getMessage()

    caplog.clear()
    assert member.post_once(message()).status_code == 200, "a well-formed message after it"
    [stored] = engine.repository.pending_updates("wecom")
    assert stored.chat_key == SENDER and stored.payload["Content"] == "我叫周晓红"


def test_a_signed_message_larger_than_wecom_sends_is_refused_unread(
    callback: tuple[Member, FakeWeCom], engine: DialogEngine, caplog: pytest.LogCaptureFixture
) -> None:
    member, _fake = callback
    answer = member.post_once(message(more=f"<Extra>{'字' * MAX_CALLBACK_BYTES}</Extra>"))
    assert answer.status_code == 413
    assert engine.repository.pending_updates("wecom") == []
    assert all(SENDER not in record.getMessage() for record in caplog.records)
