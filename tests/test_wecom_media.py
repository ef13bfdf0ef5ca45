"""Files a member sends over 企业微信, fetched by ``media/get`` from the fake WeCom (served on loopback)
and read by the channel as the inbox hands it a stored message: what the member reads back.

A photo over the limit is named by its real size — the one WeCom declares, or, when it declares none,
the one counted to the end (up to a bound) — not by how much was read before the limit stopped it.
A video cut short is refused as damaged, with what to do.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from bot.mp4_probe import VIDEO_DAMAGED
from bot.settings import Settings
from bot.wecom import COUNTED, FileTooLarge, WeComApi, WeComChannel
from dialogs.engine import DialogEngine
from dialogs.exchange import Reply
from dialogs.validators import PHOTO_MAX_BYTES, photo_too_large
from storage.repository import Incoming
from tests.test_mp4_probe import DAMAGED
from tests.test_web_api import serving
from tests.wecom_fake.server import FakeWeCom

MEMBER = "LuoXiaoLing"


@pytest.fixture(name="wecom")
def wecom_fixture(engine: DialogEngine) -> Iterator[tuple[FakeWeCom, WeComChannel]]:
    fake = FakeWeCom()
    with serving(fake.app()) as base:
        settings = Settings.model_validate(
            {
                "WECOM_CORP_ID": fake.corp_id,
                "WECOM_AGENT_ID": fake.agent_id,
                "WECOM_SECRET": fake.secret,
                "WECOM_TOKEN": fake.token,
                "WECOM_AES_KEY": fake.aes_key,
                "WECOM_API_BASE_URL": base,
            }
        )
        yield fake, WeComChannel(settings, engine, api=WeComApi(settings, engine.repository))


def answer_to_image(fake: FakeWeCom, channel: WeComChannel, data: bytes) -> Reply:
    """What the channel makes of an image message whose file is ``data``."""
    media_id = fake.upload_media(data, "image", "photo.jpg", "image/jpeg")
    payload = {"MsgType": "image", "MediaId": media_id, "FromUserName": MEMBER, "MsgId": "1"}
    translated = asyncio.run(channel.translate(Incoming(1, "wecom", 1, 1, MEMBER, payload, 0)))
    reply = translated.message
    assert isinstance(reply, Reply), reply
    return reply


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_a_photo_too_large_is_named_by_its_real_size(
    wecom: tuple[FakeWeCom, WeComChannel], declared: bool
) -> None:
    fake, channel = wecom
    fake.media_length_declared = declared
    reply = answer_to_image(fake, channel, bytes(25_000_000))
    assert reply.text == photo_too_large(25_000_000), reply.text
    assert "（25 MB）" in reply.text and "10 MB" in reply.text


def test_a_file_of_undeclared_length_is_counted_only_so_far(wecom: tuple[FakeWeCom, WeComChannel]) -> None:
    fake, channel = wecom
    fake.media_length_declared = False
    huge = bytes(COUNTED * PHOTO_MAX_BYTES + 1)
    media_id = fake.upload_media(huge, "image", "photo.jpg", "image/jpeg")
    with pytest.raises(FileTooLarge) as raised:
        channel.api.download(media_id, PHOTO_MAX_BYTES)
    assert raised.value.size is None, "beyond the bound: not counted to the end"
    reply = answer_to_image(fake, channel, huge)
    assert reply.text == photo_too_large(None) and "MB）" not in reply.text, reply.text


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_a_photo_within_the_limit_is_fetched_whole(
    wecom: tuple[FakeWeCom, WeComChannel], declared: bool
) -> None:
    fake, channel = wecom
    fake.media_length_declared = declared
    data = bytes(range(256)) * (PHOTO_MAX_BYTES // 256)
    media_id = fake.upload_media(data, "image", "photo.jpg", "image/jpeg")
    assert channel.api.download(media_id, PHOTO_MAX_BYTES) == (data, "image/jpeg")


def test_a_damaged_video_is_refused_with_what_to_do(wecom: tuple[FakeWeCom, WeComChannel]) -> None:
    fake, channel = wecom
    for data in (DAMAGED["media-cut-at-half"], DAMAGED["ftyp-and-noise"]):
        media_id = fake.upload_media(data, "video", "video.mp4", "video/mp4")
        payload = {"MsgType": "video", "MediaId": media_id, "FromUserName": MEMBER, "MsgId": "2"}
        translated = asyncio.run(channel.translate(Incoming(2, "wecom", 2, 2, MEMBER, payload, 0)))
        assert translated.message == Reply(VIDEO_DAMAGED)
