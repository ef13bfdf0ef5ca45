"""The 企业微信 / 政务微信 channel: a self-built app (自建应用) as one adapter on the delivery layer.

Messages come in through the app's callback URL (``/wecom/callback``, served beside the web chat):
the signature is checked and the body decrypted (wechatpy's ``WeChatCrypto``), the message stored
in the inbox keyed by its ``MsgId`` (an event by its sender, time and key) and an empty 200 answered
at once — WeCom waits 5 s and then sends the same message again, three times. The delivery layer
handles it and the replies leave through ``message/send`` at a pace under WeCom's per-member limits
(30 a minute, 1,000 an hour; WeCom drops the excess silently).

What is WeCom's here: the callback's checks; a message's meaning (text, a photo fetched by
``media/get``, a video, a card's button); replies as text, a button card (``template_card``,
``button_interaction``: at most six buttons, a numbered list beyond), the signed-for DOCX as a
``file`` after ``media/upload``; the access token, cached in the database for every worker and
fetched again once on 40014/42001; and WeCom's errors as the delivery layer's (45009: later; 60020,
81013: a line for the deployer, the message kept).

Every call goes to ``WECOM_API_BASE_URL`` — the public API, a 政务微信 host, or a test's fake. No
message text, user id or media is logged: only ids of updates, counts and error codes.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import requests
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from wechatpy.enterprise import WeChatClient
from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.memorystorage import MemoryStorage

from bot.delivery import DeliveryFailed, DeliveryLater, DeliveryRefused, Dispatcher, Inbox, Translated
from bot.delivery.compose import (
    CONSENT_BUTTONS,
    outgoing_payloads,
    split_text,
    too_large_to_send,
    typed_invite,
)
from bot.mp4_probe import VideoDamaged, video_file
from bot.public_links import PublicLinks, recipient_link
from bot.rate_limit import SendPacer
from bot.settings import Settings
from bot.wechat_api import (
    CallbackRefused,
    FileTooLarge,
    TencentClient,
    callback_message,
    callback_route,
    check_timestamp,
    limited_body,
    update_key,
    url_check,
)
from bot.wechat_tokens import DatabaseTokens
from dialogs.chinese_text import plain_number
from dialogs.engine import DialogEngine
from dialogs.exchange import DocumentRef, Inbound, IncomingFile, Reply
from dialogs.validators import PHOTO_MAX_BYTES, photo_too_large
from storage.repository import Incoming, Repository

log = logging.getLogger(__name__)

CHANNEL = "wecom"
CALLBACK_PATH = "/wecom/callback"
MAX_TEXT = 600  # characters a text message carries: WeCom's limit is 2,048 bytes, a Chinese character 3
CARD_BUTTONS = 6  # button_interaction's limit
BUTTON_TEXT = 10  # WeCom's advice for a button's words; a longer option goes in a numbered list
CARD_TITLE = 36  # characters of a card's main title WeCom shows
CARD_DESC = 160  # characters of its description
CARD_HINT = "点选下面的一项，也可以回复数字"
CARD_FALLBACK_TITLE = "请选择"
MEDIA_LIMIT = 20 * 1024 * 1024  # the largest file WeCom serves by media/get
COUNTED = 4  # a file over its limit, of undeclared length, is counted up to this many times the limit
TOKEN_ERRORS = frozenset({40014, 42001, 42007})  # invalid or expired access token: fetch again, once
TOO_FAST = 45009
NOT_TRUSTED_IP = 60020
NOT_VISIBLE = 81013

# Per member: 30 a minute and 1,000 an hour. A bucket of 3 filled at 0.26/s keeps under both
# (3 + 0.26 × 60 ≈ 19 a minute; 3 + 0.26 × 3,600 ≈ 940 an hour): the settings' defaults.
MEMBER_RATE = Settings.model_fields["wecom_member_rate"].default
MEMBER_BURST = Settings.model_fields["wecom_member_burst"].default
APP_RATE = 20.0

NOT_A_MESSAGE_WE_READ = "这里可以发送文字、照片和视频；语音、位置和链接无法识别，请改用文字。"
FILE_UNAVAILABLE = "这个文件暂时无法从企业微信取得，请重新发送一次。"
VIDEO_TOO_LARGE = "这个视频超过 20MB，企业微信里无法接收。请剪短或压缩到 20MB 以内再发送。"
VIDEO_ON_THE_WEB = "视频较大（超过 20MB）时，请点开这个链接在网页上发送，无需再输入邀请码：{link}"
SIGN_IN_PATH = "/wecom/signin"  # where WeCom's OAuth2 sends the member back (bot.wecom_sign_in)
SIGN_IN_START_PATH = "/wecom/signin/start"  # the link in the chat: binds the sign-in to the browser

DEPLOYER_LINES = {
    NOT_TRUSTED_IP: (
        "企业微信拒绝了本服务器的请求（错误 60020）：服务器的出口 IP 不在应用的“企业可信IP”中。"
        "请在企业微信管理后台 → 应用管理 → 本应用 → 企业可信IP 中加入本服务器的公网 IP。"
        "消息保留在待发队列，稍后重试。"
    ),
    NOT_VISIBLE: (
        "企业微信拒绝发送（错误 81013）：接收人不在应用的可见范围内。"
        "请在企业微信管理后台 → 应用管理 → 本应用 → 可见范围 中加入该成员或其部门。"
        "消息保留在待发队列，稍后重试。"
    ),
}

#: What an event's inbox key is made of: what WeCom repeats when it sends the same event again.
EVENT_FIELDS = ("FromUserName", "CreateTime", "Event", "EventKey", "TaskId")

_TASK_ID = re.compile(r"[^A-Za-z0-9_\-@]")


# The API --------------------------------------------------------------------------------------------


class _Client(TencentClient, WeChatClient):
    """wechatpy's 企业微信 client at a configurable base (``TencentClient``); a file over the limit
    counted up to ``COUNTED`` times it, to say its size."""

    token_errors = TOKEN_ERRORS
    service_name = "WeCom"
    token_path = "gettoken"
    counted = COUNTED

    def token_params(self) -> dict[str, str]:
        return {"corpid": self.corp_id, "corpsecret": self.secret}


class WeComApi:
    """The calls the channel makes, blocking (the channel runs them in a thread). The access token is
    kept in the database for every worker; without a repository (``intake doctor``, which must work
    with the database down) in this process only."""

    def __init__(self, settings: Settings, repository: Repository | None, timeout: float = 10.0) -> None:
        self.agent_id = settings.wecom_agent_id
        self.base_url = settings.wecom_api_base_url.rstrip("/")
        tokens = (
            MemoryStorage() if repository is None else DatabaseTokens(repository, lambda: datetime.now(UTC))
        )
        self.client = _Client(self.base_url, settings.wecom_corp_id, settings.wecom_secret, tokens, timeout)

    def send(self, user: str, message: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.client.message.send(self.agent_id, user, msg=message)
        return result

    def update_card(self, user: str, response_code: str, replace_name: str) -> None:
        body = {
            "userids": [user],
            "agentid": self.agent_id,
            "response_code": response_code,
            "button": {"replace_name": replace_name},
        }
        self.client.post("message/update_template_card", data=body)

    def member_of_code(self, code: str) -> str | None:
        """The member (UserID) a sign-in code of WeCom's OAuth2 belongs to; None for a code WeCom does
        not know (expired, used, made up) or someone outside the corp (they have an OpenId only)."""
        try:
            result: dict[str, Any] = self.client.get("auth/getuserinfo", params={"code": code})
        except WeChatClientException as error:
            log.info("WeCom sign-in code refused: %s", error.errcode)
            return None
        user = result.get("userid") or result.get("UserId")
        return str(user) if user else None

    def upload_file(self, file_name: str, data: bytes, mime: str) -> str:
        result = self.client.media.upload("file", (file_name, data, mime))
        return str(result["media_id"])

    def download(self, media_id: str, limit: int) -> tuple[bytes, str]:
        """A media file's bytes and type (at most ``limit`` bytes: ``FileTooLarge`` beyond, with the
        file's whole size); the access token fetched again once when WeCom refuses it."""
        return self.client.media_file(media_id, limit)


# The channel ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CardClick:
    """A button pressed on a card: its card is updated once handled, so it cannot be pressed again."""

    user: str
    response_code: str
    label: str


class WeComChannel:
    """The 企业微信 adapter: callback requests into the inbox and out as ``Inbound``; replies as
    ``message/send`` calls. Storing, claiming, group commit, pacing and retries are the delivery
    layer's."""

    channel = CHANNEL

    def __init__(
        self,
        settings: Settings,
        engine: DialogEngine,
        api: WeComApi | None = None,
        pacer: SendPacer | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.engine = engine
        self.corp_id = settings.wecom_corp_id
        self.agent_id = settings.wecom_agent_id
        self.crypto = WeChatCrypto(settings.wecom_token, settings.wecom_aes_key, settings.wecom_corp_id)
        self.api = api or WeComApi(settings, engine.store)
        self.pacer = pacer or SendPacer(
            overall=APP_RATE, per_chat=settings.wecom_member_rate, chat_burst=settings.wecom_member_burst
        )
        self.clock = clock
        self.inbox = Inbox(engine, self)
        self.dispatcher = Dispatcher(engine.store, self, clock=clock)
        self.web_url = settings.web_url.rstrip("/")
        self.links = PublicLinks.of(settings)  # a file too large for the app chat: a signed link
        self.oauth_base_url = settings.wecom_oauth_base_url.rstrip("/")

    # Signing in to the web chat (WeCom's OAuth2, snsapi_base; ``bot.wecom_sign_in``) -------------

    def sign_in_link(self) -> str | None:
        """A link that opens the web chat signed in as the member who taps it (WeCom tells who), for
        what the app chat cannot take; None without the web chat's public address (INTAKE_WEB_URL).
        It opens this site's start page, which binds the sign-in to the browser before WeCom is asked."""
        return self.web_url + SIGN_IN_START_PATH if self.web_url else None

    def authorize_link(self, state: str) -> str:
        """WeCom's OAuth2 page for this app, which sends the member's browser back to ``SIGN_IN_PATH``
        with a code and ``state``."""
        query = urlencode(
            {
                "appid": self.corp_id,
                "redirect_uri": self.web_url + SIGN_IN_PATH,
                "response_type": "code",
                "scope": "snsapi_base",
                "state": state,
                "agentid": self.agent_id,
            }
        )
        return f"{self.oauth_base_url}/connect/oauth2/authorize?{query}#wechat_redirect"

    def member_of_code(self, code: str) -> str | None:
        """The member a sign-in code belongs to (blocking: asks WeCom); None for a code WeCom does not
        vouch for."""
        if not code or len(code) > 512:
            return None
        return self.api.member_of_code(code)

    # The callback ------------------------------------------------------------------------------

    def verify(self, signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """The URL check WeCom makes when the callback is saved: the decrypted echostr."""
        check_timestamp(timestamp, self.clock().timestamp())
        try:
            return str(self.crypto.check_signature(signature, timestamp, nonce, echostr))
        except Exception as error:  # a bad signature, corp id or ciphertext: all the same to WeCom
            raise CallbackRefused(403, type(error).__name__) from error

    async def receive(self, signature: str, timestamp: str, nonce: str, body: bytes) -> bool:
        """Check, decrypt and store one callback message; False for one stored before (WeCom's resend)."""
        update_id, user, payload = self.opened(signature, timestamp, nonce, body)
        # A member's messages in the order they were made: a card press has no MsgId to order it by.
        created = plain_number(str(payload.get("CreateTime", "")), max_digits=12)
        return await self.inbox.store_soon(update_id, user, payload, sequence=created)

    def opened(
        self, signature: str, timestamp: str, nonce: str, body: bytes
    ) -> tuple[int, str, dict[str, str]]:
        """A callback message checked and decrypted: its inbox key, its sender, its fields."""
        check_timestamp(timestamp, self.clock().timestamp())
        try:
            plain = self.crypto.decrypt_message(body, signature, timestamp, nonce)
        except Exception as error:
            raise CallbackRefused(403, type(error).__name__) from error
        message = callback_message(plain, "the decrypted body")
        agent = str(message.get("AgentID") or "")
        if agent and agent != str(self.agent_id):
            raise CallbackRefused(403, "another app's message")
        payload = {key: value for key, value in message.items() if isinstance(value, str)}
        return update_key(payload, EVENT_FIELDS), payload["FromUserName"], payload

    # The translator ----------------------------------------------------------------------------

    async def translate(self, item: Incoming) -> Translated:
        """The engine's view of a stored message (or a direct reply, or nothing)."""
        message = item.payload
        user = item.chat_key
        kind = message.get("MsgType", "")
        if kind == "event":
            return self._event(user, message)
        if kind == "text":
            return Translated(
                Inbound(self.channel, user, text=self._bind_words(user, message.get("Content", "")))
            )
        if kind in ("image", "video"):
            media_id = message.get("MediaId", "")
            file = await (self._photo(media_id) if kind == "image" else self._video(media_id))
            return Translated(file if isinstance(file, Reply) else Inbound(self.channel, user, file=file))
        return Translated(Reply(NOT_A_MESSAGE_WE_READ))

    def _event(self, user: str, message: dict[str, Any]) -> Translated:
        if message.get("Event") != "template_card_event":
            return Translated(None)  # entering the app, subscribing …: nothing to answer
        menu, _, number = str(message.get("EventKey", "")).partition("|")
        click = CardClick(user, str(message.get("ResponseCode", "")), f"已选择第{number}项")
        if menu.startswith(CONSENT_BUTTONS):
            consent = Inbound(self.channel, user, text=number, consent_for=menu.removeprefix(CONSENT_BUTTONS))
            return Translated(consent, click)
        return Translated(Inbound(self.channel, user, text=number, menu=menu or None), click)

    def _bind_words(self, user: str, text: str) -> str:
        """“绑定 CODE”, or an invite code alone from someone not bound yet: the invite."""
        return typed_invite(text, lambda: self.engine.identity(self.channel, user) is not None)

    async def _fetched(
        self, media_id: str, limit: int, too_large: Callable[[int | None], str]
    ) -> tuple[bytes, str] | Reply:
        """A member's file from ``media/get``, or what they read when it cannot be had; a network
        failure is raised for the inbox to try the message again later."""
        try:
            return await asyncio.to_thread(self.api.download, media_id, limit)
        except FileTooLarge as error:
            return Reply(too_large(error.size))
        except WeChatClientException as error:
            log.warning("WeCom media/get failed: %s", error.errcode)
            return Reply(FILE_UNAVAILABLE)
        except requests.RequestException as error:
            raise DeliveryFailed(f"media download failed ({type(error).__name__})") from error

    async def _photo(self, media_id: str) -> IncomingFile | Reply:
        fetched = await self._fetched(media_id, PHOTO_MAX_BYTES, photo_too_large)
        if isinstance(fetched, Reply):
            return fetched
        data, mime = fetched
        return IncomingFile(
            kind="photo", data=data, mime=mime or "image/jpeg", size=len(data), file_id=media_id
        )

    def _video_too_large(self, _size: int | None) -> str:
        link = self.sign_in_link()
        return f"{VIDEO_TOO_LARGE}\n{VIDEO_ON_THE_WEB.format(link=link)}" if link else VIDEO_TOO_LARGE

    async def _video(self, media_id: str) -> IncomingFile | Reply:
        """A video from the chat, its bytes kept (WeCom's media id lasts three days): what its boxes
        say of it, or — bytes that are no MP4, whatever WeCom calls them — a file the check refuses."""
        fetched = await self._fetched(media_id, MEDIA_LIMIT, self._video_too_large)
        if isinstance(fetched, Reply):
            return fetched
        data, _declared = fetched
        try:
            video = video_file(data, file_id=media_id)
        except VideoDamaged as damaged:
            return Reply(str(damaged))
        if video is None:  # not kept: the check refuses a file that is no MP4
            return IncomingFile(
                kind="video", mime="application/octet-stream", size=len(data), file_id=media_id
            )
        return video

    def payloads(self, replies: Sequence[Reply]) -> list[dict[str, Any]]:
        """One WeCom message per payload, so that the member's pace counts what WeCom counts: texts
        joined and split under the limit; a document's caption, then the file; a question as one
        card, its text in the card (``card_heading``) — or, with more than six options or a long one,
        the text with a numbered list."""
        payloads: list[dict[str, Any]] = []
        link = self.sign_in_link() if any(reply.asks_for == "video" for reply in replies) else None
        if link:
            replies = [
                replace(reply, text=f"{reply.text}\n{VIDEO_ON_THE_WEB.format(link=link)}")
                if reply.asks_for == "video"
                else reply
                for reply in replies
            ]
        for payload in outgoing_payloads(replies, MAX_TEXT):
            text = str(payload.get("text", ""))
            options: list[str] = list(payload.get("options", []))
            if "document" in payload:
                payloads += [{"text": text}] if text else []
                payloads.append({"document": payload["document"]})
            elif options and fits_a_card(options):
                before, title, desc = card_heading(text)
                payloads += [{"text": before}] if before else []
                payloads.append(
                    {"options": options, "menu": payload.get("menu", ""), "title": title, "desc": desc}
                )
            elif options:
                listed = "\n".join(f"{number}. {option}" for number, option in enumerate(options, 1))
                pieces = split_text(f"{text}\n{listed}\n（请回复数字选择）", MAX_TEXT)
                payloads += [{"text": piece} for piece in pieces]
            else:
                payloads.append({"text": text})
        return payloads

    def offer_invite(self, user: str, code: str) -> int:
        """Queue an invite's privacy notice for a member 组联部 knows (``intake invite --wecom-user``):
        nothing about them is stored until they tap 同意. How many messages were queued."""
        replies = self.engine.handle(Inbound(self.channel, user, f"/start {code}"))
        payloads = self.payloads(replies)
        for payload in payloads:
            self.engine.store.enqueue_message(self.channel, user, payload)
        return len(payloads)

    async def handled(self, item: Incoming, translated: Translated) -> None:
        """A pressed card is updated once its press is committed: its buttons give way to a line."""
        click = translated.keep
        if isinstance(click, CardClick) and click.response_code:
            try:
                await asyncio.to_thread(self.api.update_card, click.user, click.response_code, click.label)
            except (WeChatClientException, requests.RequestException) as error:
                log.info("WeCom card not updated: %s", getattr(error, "errcode", type(error).__name__))

    # The sender --------------------------------------------------------------------------------

    async def deliver(self, chat_key: str, payload: dict[str, Any]) -> None:
        """One payload as one WeCom message (a file: its upload, then the message); WeCom's errors as
        the delivery layer's."""
        try:
            await asyncio.to_thread(self._deliver, chat_key, payload)
        except WeChatClientException as error:
            code = error.errcode
            if code == TOO_FAST:
                self.pacer.pause(60)
                raise DeliveryLater(60) from error
            if code in DEPLOYER_LINES:
                log.error("%s", DEPLOYER_LINES[code])
                raise DeliveryLater(600) from error
            if code is None:  # an HTTP error: WeCom or the network, try again
                raise DeliveryFailed("WeCom HTTP error") from error
            raise DeliveryRefused(f"WeCom error {code}") from error
        except requests.RequestException as error:
            raise DeliveryFailed(type(error).__name__) from error

    def _deliver(self, user: str, payload: dict[str, Any]) -> None:
        document = payload.get("document")
        if document:
            ref = DocumentRef.from_payload(document)
            opened = self.engine.open_document(ref)
            if opened is None:  # purged since it was queued
                raise DeliveryRefused("the document is no longer there")
            if opened.path.stat().st_size > MEDIA_LIMIT:
                caption = str(payload.get("text") or "")
                link = recipient_link(self.links, self.engine.identity(CHANNEL, user), ref)
                note = too_large_to_send(opened, "企业微信", MEDIA_LIMIT, link, caption)
                self.api.send(user, {"msgtype": "text", "text": {"content": note}})
                return
            media_id = self.api.upload_file(opened.file_name, opened.path.read_bytes(), opened.mime)
            self.api.send(user, {"msgtype": "file", "file": {"media_id": media_id}})
        elif payload.get("options"):
            if "title" in payload:  # the question in its card
                before, title, desc = "", str(payload["title"]), str(payload.get("desc", ""))
            else:  # a notice with buttons, as the engine queued it (or a card queued before cards held it)
                before, title, desc = card_heading(str(payload.get("text") or ""))
            if before:
                self.api.send(user, {"msgtype": "text", "text": {"content": before}})
            card = button_card(payload["options"], str(payload.get("menu", "")), title, desc)
            self.api.send(user, {"msgtype": "template_card", "template_card": card})
        else:
            self.api.send(user, {"msgtype": "text", "text": {"content": str(payload.get("text", ""))}})


def fits_a_card(options: Sequence[str]) -> bool:
    """Whether options fit a button card: at most six, each short enough for a button."""
    return len(options) <= CARD_BUTTONS and all(len(option) <= BUTTON_TEXT for option in options)


def card_heading(text: str) -> tuple[str, str, str]:
    """A question's text as a card holds it: what must go before the card as a text of its own (empty
    when the whole question fits, the usual case), the card's title (at most ``CARD_TITLE``
    characters: the question's first line, or its start up to a pause) and its description (the rest, at most
    ``CARD_DESC``). As much as fits goes in the card, from the question's last lines up; a text with
    no line short enough keeps it whole and the card says only how to answer."""
    lines = text.strip().split("\n") if text.strip() else []
    for start in range(len(lines)):
        title, rest = lines[start].strip(), "\n".join(lines[start + 1 :]).strip()
        if len(title) > CARD_TITLE:
            at = title_end(title)
            cut = title[at:].strip()
            title, rest = title[:at].strip(), f"{cut}\n{rest}" if rest else cut
        if title and len(rest) <= CARD_DESC:
            return "\n".join(lines[:start]).strip(), title, rest or CARD_HINT
    return text.strip(), CARD_FALLBACK_TITLE, CARD_HINT


def title_end(line: str) -> int:
    """Where a line too long for a card's title is cut: after its last pause (，。：；！？) within
    ``CARD_TITLE`` characters, or at ``CARD_TITLE``."""
    pauses = [at + 1 for at, character in enumerate(line[:CARD_TITLE]) if character in "，。：；！？,:;"]
    return pauses[-1] if pauses and pauses[-1] >= CARD_TITLE // 3 else CARD_TITLE


def button_card(options: Sequence[str], menu: str, title: str, desc: str) -> dict[str, Any]:
    """A button card for the options under ``title`` and ``desc``: each button's key names the menu
    and the option's number."""
    task_id = f"{_TASK_ID.sub('', menu)[:90]}-{secrets.token_hex(8)}"
    return {
        "card_type": "button_interaction",
        "main_title": {"title": title, "desc": desc},
        "task_id": task_id,
        "button_list": [
            {"text": option, "style": 1, "key": f"{menu}|{number}"}
            for number, option in enumerate(options, 1)
        ],
    }


# The routes -----------------------------------------------------------------------------------------


def callback_routes(channel: WeComChannel) -> list[Route]:
    async def answer(request: Request) -> Response:
        query = request.query_params
        signature, timestamp, nonce = (query.get(k, "") for k in ("msg_signature", "timestamp", "nonce"))
        if request.method == "GET":
            return PlainTextResponse(channel.verify(signature, timestamp, nonce, query.get("echostr", "")))
        body = await limited_body(request, "a body larger than a WeCom message")
        await channel.receive(signature, timestamp, nonce, body)
        return PlainTextResponse("")

    return [callback_route(CALLBACK_PATH, "WeCom", answer)]


# Checking a deployment ------------------------------------------------------------------------------

#: What WeCom's error codes mean to the deployer setting the app up (``intake wecom check``).
SETUP_ERRORS = {
    40001: "应用 Secret（WECOM_SECRET）不对，请在应用详情页重新查看",
    40013: "企业 ID（WECOM_CORP_ID）不对，请在“我的企业”页底部查看",
    40091: "应用 Secret（WECOM_SECRET）不对，请在应用详情页重新查看",
    40056: "应用 AgentId（WECOM_AGENT_ID）不对，请在应用详情页查看",
    301002: "WECOM_SECRET 与 WECOM_AGENT_ID 不是同一个应用的",
    NOT_TRUSTED_IP: "本服务器的出口 IP 不在应用的“企业可信IP”中，请在应用详情页添加",
}


def check_setup(
    settings: Settings, repository: Repository | None, callback_url: str
) -> list[tuple[bool, str]]:
    """The access token, the app, and the callback as WeCom will reach it: one Chinese line each,
    passed or not, with what a failure means. Stops at the first failure that hides the rest.
    Without a repository the token is fetched for this check alone (``WeComApi``)."""
    api = WeComApi(settings, repository, timeout=5.0)
    lines: list[tuple[bool, str]] = []
    try:
        api.client.fetch_access_token()
        lines.append((True, f"访问令牌：取得（{api.base_url}）"))
        agent = api.client.agent.get(settings.wecom_agent_id)
        lines.append((True, f"应用：{agent.get('name', '')}（AgentId {settings.wecom_agent_id}）"))
    except WeChatClientException as error:
        meaning = SETUP_ERRORS.get(error.errcode, f"企业微信返回错误 {error.errcode}")
        lines.append((False, f"企业微信拒绝：{meaning}。"))
        return lines
    except requests.RequestException as error:
        problem = f"连不上企业微信接口 {api.base_url}（{type(error).__name__}）"
        lines.append((False, f"{problem}，请检查网络和 WECOM_API_BASE_URL。"))
        return lines
    lines.append(_check_callback(settings, callback_url))
    return lines


def _check_callback(settings: Settings, url: str) -> tuple[bool, str]:
    """The URL check WeCom makes when the callback is saved, made here: an encrypted echostr sent to
    the callback, which must answer it decrypted."""
    echo = secrets.token_hex(8)
    crypto = WeChatCrypto(settings.wecom_token, settings.wecom_aes_key, settings.wecom_corp_id)
    sealed = PrpCrypto(crypto.key).encrypt(echo, settings.wecom_corp_id)
    sealed = sealed.decode() if isinstance(sealed, bytes) else str(sealed)
    timestamp, nonce = str(int(time.time())), secrets.token_hex(5)
    parts = "".join(sorted([settings.wecom_token, timestamp, nonce, sealed]))
    signed = hashlib.sha1(parts.encode()).hexdigest()
    params = {"msg_signature": signed, "timestamp": timestamp, "nonce": nonce, "echostr": sealed}
    return url_check(url, params, echo, "", "WECOM_TOKEN 或 WECOM_AES_KEY 与运行中的服务不一致？")
