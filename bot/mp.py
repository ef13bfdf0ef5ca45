"""The 公众号 channel: the federation's 服务号 as one adapter on the delivery layer.

A follower's messages come in through the 服务器配置's URL (``/mp/callback``, served beside the web
chat). In 安全模式 each body is signed (``msg_signature``) and encrypted (AES-256-CBC, the AppID as the
receiver: wechatpy's ``WeChatCrypto``); a plain (明文) body is refused unless
``WECHAT_MP_ALLOW_PLAIN`` says otherwise. The URL check (GET with ``echostr``) is signed, not
encrypted. A message is stored in the inbox keyed by its ``MsgId`` (an event, which has none, by its
sender, time and kind) and ``success`` is answered at once: the 公众号 waits 5 s, then sends the same
message again, three times in all.

Replies leave as 客服消息 (``message/custom/send``), which the 公众号 takes only within 48 hours of the
follower's last message: a choice as a numbered list (the chat has no buttons; the follower answers
with the number or the option's words). The list a reply of the dialog asked is kept
(``Repository.remember_list``) so that her number answers it; a notice pushed meanwhile (a reminder,
a 退回: its “buttons” are words she can send) neither replaces nor forgets it, so her bare number
still answers the dialog's question. The Word file comes as a signed link to the web chat (a 公众号
cannot send a .docx). Outside the 48 hours (45015) a notice — a reminder, a 退回, an 已接收 — goes as
the template message of ``WECHAT_MP_NOTICE_TEMPLATE_ID`` (its first line and the time; the message
opens the web chat), or, without one, is dropped with a line in the log saying so. The outbox does
not say which kind of notice a message is, so one template serves them all.

No message text or OpenID is logged: only ids of updates, counts and error codes.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import requests
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from wechatpy import WeChatClient
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage
from wechatpy.utils import check_signature

from bot.delivery import DeliveryFailed, DeliveryLater, DeliveryRefused, Dispatcher, Inbox, Translated
from bot.delivery.compose import CONSENT_BUTTONS, outgoing_payloads, split_text, typed_invite
from bot.download_grants import GRANT_LIFETIME
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
)
from bot.wechat_tokens import DatabaseTokens
from dialogs.chinese_text import plain_number
from dialogs.engine import DialogEngine
from dialogs.exchange import DocumentRef, Inbound, IncomingFile, Reply
from dialogs.validators import PHOTO_MAX_BYTES, photo_too_large
from storage.repository import Incoming

log = logging.getLogger(__name__)

CHANNEL = "mp"
CALLBACK_PATH = "/mp/callback"
ANSWER = "success"  # what the 公众号 wants back when there is no passive reply
MAX_TEXT = 600  # characters of a 客服消息 text: its limit is 2,048 bytes, a Chinese character 3
TOKEN_ERRORS = frozenset({40001, 40014, 42001})  # invalid or expired access token: fetch again, once
OUTSIDE_WINDOW = frozenset({45015, 45047})  # over 48 hours since her last message; too many since
TOO_FAST = 45009  # the API's daily quota
NOT_FOLLOWING = 43004  # she unfollowed: nothing reaches her
TEMPLATE_THING = 20  # characters of a template's “thing” field
QR_LONGEST = 30 * 24 * 3600  # seconds: the longest a temporary QR code lives
SCENE_LONGEST = 64  # characters of a QR code's scene_str
SUBSCRIBED_BY_SCAN = "qrscene_"  # a follow by scanning a QR code: its EventKey, before the scene

# Messages only for pushes outside the window: the rest (7 a second overall, 2 a second to one
# follower after a burst of 5) keeps well under the 公众号's own limits.
OVERALL_RATE = 7.0
FOLLOWER_RATE = 2.0
FOLLOWER_BURST = 5.0

WELCOME = (
    "欢迎关注！本号用于各单位报送妇联通知要求的表格。\n"
    "如果您是单位的报送联系人，请发送“绑定 邀请码”（邀请码由市妇联组联部提供），"
    "阅读个人信息保护告知并回复“同意”后即可开始填写。"
)
NOT_A_MESSAGE_WE_READ = (
    "这里可以发送文字和照片；语音、视频、位置和链接无法识别，请改用文字。视频请在网页上发送。"
)
FILE_UNAVAILABLE = "这张照片暂时无法从公众号取得，请重新发送一次。"
CHOOSE_BY_NUMBER = "（请回复数字选择）"
#: An option's line: not “1. …”, which a review's own numbered lines use.
OPTION_LINE = "【{number}】{option}"
DOCUMENT_LINK = "公众号不能直接发送文件。请点开这个链接下载“{name}”（{hours} 小时内有效）：\n{link}"
DOCUMENT_NO_LINK = "公众号不能直接发送文件“{name}”，请在网页聊天中下载，或联系管理员。"
TEMPLATE_TIME = "%Y年%m月%d日 %H:%M"
#: What an event's inbox key is made of: what the 公众号 repeats when it sends the same event again.
EVENT_FIELDS = ("FromUserName", "CreateTime", "Event", "EventKey")
#: Marks a payload made from the dialog's replies to her (``MpChannel.payloads``), as opposed to a
#: notice pushed to her: only the former says which list her number answers.
REPLY = "reply"
CHINA = timezone(timedelta(hours=8))  # a template's time is read in Beijing time


# The API --------------------------------------------------------------------------------------------


class _Client(TencentClient, WeChatClient):
    """wechatpy's 公众号 client at a configurable base (``TencentClient``)."""

    token_errors = TOKEN_ERRORS
    service_name = "WeChat MP"

    def token_params(self) -> dict[str, str]:
        return {"grant_type": "client_credential", "appid": self.appid, "secret": self.secret}


class MpApi:
    """The calls the channel makes, blocking (the channel runs them in a thread)."""

    def __init__(self, settings: Settings, tokens: SessionStorage, timeout: float = 10.0) -> None:
        self.base_url = settings.wechat_mp_api_base_url.rstrip("/")
        self.qrcode_url = settings.wechat_mp_qrcode_url
        self.client = _Client(
            self.base_url, settings.wechat_mp_app_id, settings.wechat_mp_app_secret, tokens, timeout
        )

    def send_text(self, openid: str, text: str) -> None:
        self.client.message.send_text(openid, text)

    def send_template(self, openid: str, template_id: str, data: dict[str, Any], url: str | None) -> None:
        self.client.message.send_template(openid, template_id, data, url=url or None)

    def qr_code(self, scene: str, seconds: int) -> bytes:
        """A temporary parametric QR code (PNG) whose scan tells the callback ``scene``, for ``seconds``
        (at most ``QR_LONGEST``): ``qrcode/create``, then the picture from ``showqrcode``."""
        made = self.client.qrcode.create(
            {
                "expire_seconds": min(seconds, QR_LONGEST),
                "action_name": "QR_STR_SCENE",
                "action_info": {"scene": {"scene_str": scene}},
            }
        )
        response = self.client._http.get(
            self.qrcode_url, params={"ticket": made["ticket"]}, timeout=self.client.timeout
        )
        response.raise_for_status()
        if not response.headers.get("Content-Type", "").startswith("image/"):
            raise requests.HTTPError(f"showqrcode answered {response.headers.get('Content-Type')}")
        return response.content

    def download(self, media_id: str, limit: int) -> tuple[bytes, str] | None:
        """A temporary media file's bytes and type; None when larger than ``limit``."""
        try:
            return self.client.media_file(media_id, limit)
        except FileTooLarge:
            return None


# The channel ----------------------------------------------------------------------------------------


class MpChannel:
    """The 公众号 adapter: callback requests into the inbox and out as ``Inbound``; replies as 客服消息
    (or, outside the 48 hours, template messages). Storing, claiming, group commit, pacing and retries
    are the delivery layer's."""

    channel = CHANNEL

    def __init__(
        self,
        settings: Settings,
        engine: DialogEngine,
        api: MpApi | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.engine = engine
        self.app_id = settings.wechat_mp_app_id
        self.token = settings.wechat_mp_token
        self.allow_plain = settings.wechat_mp_allow_plain
        self.crypto = WeChatCrypto(
            settings.wechat_mp_token, settings.wechat_mp_aes_key, settings.wechat_mp_app_id
        )
        self.tokens = DatabaseTokens(engine.store, clock)
        self.api = api or MpApi(settings, self.tokens)
        self.pacer = SendPacer(overall=OVERALL_RATE, per_chat=FOLLOWER_RATE, chat_burst=FOLLOWER_BURST)
        self.clock = clock
        self.inbox = Inbox(engine, self)
        self.dispatcher = Dispatcher(engine.store, self, clock=clock)
        self.web_url = settings.web_url.rstrip("/")
        self.links = PublicLinks.of(settings)
        self.template_id = settings.wechat_mp_notice_template_id
        keys = [key.strip() for key in settings.wechat_mp_notice_template_keys.split(",") if key.strip()]
        if self.template_id and len(keys) != 2:
            raise ValueError("WECHAT_MP_NOTICE_TEMPLATE_KEYS names two fields: the line, then the time")
        self.template_keys = keys

    # The callback ------------------------------------------------------------------------------

    def verify(self, signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """The URL check the 公众号 makes when 服务器配置 is saved: ``echostr`` back, if signed."""
        check_timestamp(timestamp, self.clock().timestamp())
        self._check_signature(signature, timestamp, nonce)
        return echostr

    async def receive(self, query: dict[str, str], body: bytes) -> bool:
        """Check, decrypt and store one callback message; False for one stored before (a resend)."""
        update_id, openid, payload = self.opened(query, body)
        created = plain_number(str(payload.get("CreateTime", "")), max_digits=12)
        return await self.inbox.store_soon(update_id, openid, payload, sequence=created)

    def opened(self, query: dict[str, str], body: bytes) -> tuple[int, str, dict[str, str]]:
        """A callback message checked (and decrypted): its inbox key, its sender, its fields."""
        timestamp, nonce = query.get("timestamp", ""), query.get("nonce", "")
        check_timestamp(timestamp, self.clock().timestamp())
        if query.get("encrypt_type") == "aes":
            try:
                plain = self.crypto.decrypt_message(body, query.get("msg_signature", ""), timestamp, nonce)
            except Exception as error:  # a bad signature, AppID or ciphertext: all the same here
                raise CallbackRefused(403, type(error).__name__) from error
        elif self.allow_plain:
            self._check_signature(query.get("signature", ""), timestamp, nonce)
            plain = body.decode("utf-8", errors="replace")
        else:
            raise CallbackRefused(
                403, "a plain-text callback: set 服务器配置 to 安全模式 (or allow plain mode)"
            )
        message = callback_message(plain, "the body")
        payload = {key: value for key, value in message.items() if isinstance(value, str)}
        return update_key(payload, EVENT_FIELDS), payload["FromUserName"], payload

    def _check_signature(self, signature: str, timestamp: str, nonce: str) -> None:
        try:
            check_signature(self.token, signature, timestamp, nonce)
        except Exception as error:
            raise CallbackRefused(403, type(error).__name__) from error

    # The translator ----------------------------------------------------------------------------

    async def translate(self, item: Incoming) -> Translated:
        """The engine's view of a stored message (or a direct reply, or nothing)."""
        message, openid = item.payload, item.chat_key
        kind = message.get("MsgType", "")
        if kind == "event":
            return Translated(await asyncio.to_thread(self._event, openid, message))
        if kind == "text":
            return Translated(await asyncio.to_thread(self._typed, openid, message.get("Content", "")))
        if kind == "image":
            photo = await self._photo(message.get("MediaId", ""))
            return Translated(
                photo if isinstance(photo, Reply) else Inbound(self.channel, openid, file=photo)
            )
        return Translated(Reply(NOT_A_MESSAGE_WE_READ))

    def _event(self, openid: str, message: dict[str, str]) -> Inbound | Reply | None:
        """Scanning an invite's QR code (following by it, or already following): the invite, as if its
        code were typed — the privacy notice, then 同意 binds. Following otherwise: the welcome, or —
        someone bound before, following again — where she left off. Every other event (unfollowing, a
        menu's view) needs no answer."""
        event = message.get("Event", "")
        scene = scanned_scene(event, message.get("EventKey", ""))
        if scene is not None:
            return Inbound(self.channel, openid, text=f"/start {scene}")
        if event != "subscribe":
            return None
        if self.engine.identity(self.channel, openid) is None:
            return Reply(WELCOME)
        return Inbound(self.channel, openid, text="/start")

    def _typed(self, openid: str, text: str) -> Inbound:
        """A typed message: an invite, the answer to the numbered list the dialog last asked (its number
        or its words), or text."""
        words = typed_invite(text, lambda: self.engine.identity(self.channel, openid) is not None)
        if words != text:
            return Inbound(self.channel, openid, text=words)
        shown = self.engine.store.shown_list(self.channel, openid, self.clock())
        if shown is not None:
            menu, options = shown
            number = choice_number(text, options)
            if number is not None:
                if menu.startswith(CONSENT_BUTTONS):
                    return Inbound(self.channel, openid, text=str(number), consent_for=menu[1:])
                return Inbound(self.channel, openid, text=str(number), menu=menu or None)
        return Inbound(self.channel, openid, text=text)

    async def _photo(self, media_id: str) -> IncomingFile | Reply:
        try:
            fetched = await asyncio.to_thread(self.api.download, media_id, PHOTO_MAX_BYTES)
        except WeChatClientException as error:
            log.warning("WeChat MP media/get failed: %s", error.errcode)
            return Reply(FILE_UNAVAILABLE)
        except requests.RequestException as error:
            raise DeliveryFailed(f"media download failed ({type(error).__name__})") from error
        if fetched is None:
            return Reply(photo_too_large(None))
        data, mime = fetched
        return IncomingFile(
            kind="photo", data=data, mime=mime or "image/jpeg", size=len(data), file_id=media_id
        )

    def payloads(self, replies: Sequence[Reply]) -> list[dict[str, Any]]:
        """One 客服消息 per payload, each marked as the dialog's reply (``REPLY``): texts joined and
        split under the limit; a question's options as a numbered list in its text (the menu kept, so
        that her number is read against it); a document with its caption, sent as a link."""
        payloads: list[dict[str, Any]] = []
        for payload in outgoing_payloads(replies, MAX_TEXT):
            options: list[str] = list(payload.get("options", []))
            if not options:
                payloads.append({**payload, REPLY: True})
                continue
            listed = "\n".join(
                OPTION_LINE.format(number=n, option=option) for n, option in enumerate(options, 1)
            )
            pieces = split_text(f"{payload.get('text', '')}\n{listed}\n{CHOOSE_BY_NUMBER}".strip(), MAX_TEXT)
            payloads += [{"text": piece, REPLY: True} for piece in pieces[:-1]]
            payloads.append(
                {"text": pieces[-1], "options": options, "menu": payload.get("menu", ""), REPLY: True}
            )
        return payloads

    async def handled(self, item: Incoming, translated: Translated) -> None:
        """Nothing to update once a message is handled (the 公众号 has no buttons to settle)."""

    # The sender --------------------------------------------------------------------------------

    async def deliver(self, chat_key: str, payload: dict[str, Any]) -> None:
        """One payload as one 客服消息 (outside the 48 hours: a template message); errors as the
        delivery layer's."""
        try:
            await asyncio.to_thread(self._deliver, chat_key, payload)
        except WeChatClientException as error:
            code = error.errcode
            if code == TOO_FAST:
                self.pacer.pause(600)
                raise DeliveryLater(600) from error
            if code == NOT_FOLLOWING:
                log.warning("WeChat MP: the follower has unfollowed (43004); message dropped")
                raise DeliveryRefused("not following") from error
            if code is None:
                raise DeliveryFailed("WeChat MP HTTP error") from error
            raise DeliveryRefused(f"WeChat MP error {code}") from error
        except requests.RequestException as error:
            raise DeliveryFailed(type(error).__name__) from error

    def _deliver(self, openid: str, payload: dict[str, Any]) -> None:
        text = self._text_of(openid, payload)
        try:
            self.api.send_text(openid, text)
        except WeChatClientException as error:
            if error.errcode not in OUTSIDE_WINDOW:
                raise
            self._outside_window(openid, text, error.errcode)
            return
        if payload.get(REPLY):
            self._remember_list(openid, payload)

    def _text_of(self, openid: str, payload: dict[str, Any]) -> str:
        text = str(payload.get("text") or "")
        document = payload.get("document")
        if not document:
            return text
        ref = DocumentRef.from_payload(document)
        opened = self.engine.open_document(ref)
        name = opened.file_name if opened is not None else "文件"
        link = recipient_link(self.links, self.engine.identity(CHANNEL, openid), ref)
        note = (
            DOCUMENT_LINK.format(name=name, hours=GRANT_LIFETIME // 3600, link=link)
            if link
            else DOCUMENT_NO_LINK.format(name=name)
        )
        return f"{text}\n{note}" if text else note

    def _outside_window(self, openid: str, text: str, errcode: int) -> None:
        """A message the 公众号 will not take as 客服消息 (over 48 hours since her last message): as the
        notice template when there is one, else dropped with a line for the deployer."""
        if not self.template_id:
            log.warning(
                "WeChat MP refused a 客服消息 (%s): over 48 hours since the follower last wrote, and no "
                "WECHAT_MP_NOTICE_TEMPLATE_ID is set; message dropped",
                errcode,
            )
            raise DeliveryRefused(f"outside the 48-hour window ({errcode})")
        line_key, time_key = self.template_keys
        data = {
            line_key: {"value": template_thing(text)},
            time_key: {"value": self.clock().astimezone(CHINA).strftime(TEMPLATE_TIME)},
        }
        self.api.send_template(openid, self.template_id, data, self.web_url or None)
        log.info("WeChat MP: outside the 48-hour window (%s); sent as a template message", errcode)

    def _remember_list(self, openid: str, payload: dict[str, Any]) -> None:
        """The numbered list the dialog just asked her, so that her number answers it; a reply without
        one forgets the last (her next number is an answer in its own right)."""
        options = payload.get("options")
        if options:
            menu = str(payload.get("menu") or "")
            self.engine.store.remember_list(self.channel, openid, menu, options, self.clock())
        else:
            self.engine.store.forget_list(self.channel, openid)


def choice_number(text: str, options: Sequence[str]) -> int | None:
    """The option a typed answer picks: its number, or its words exactly; None for anything else."""
    words = text.strip()
    number = plain_number(words, max_digits=2)
    if number is not None:
        return number if 1 <= number <= len(options) else None
    return options.index(words) + 1 if words in options else None


def scanned_scene(event: str, key: str) -> str | None:
    """The scene of the QR code a follower scanned: following by it (``subscribe``, EventKey
    ``qrscene_<scene>``) or already following (``SCAN``, EventKey ``<scene>``); None for anything else."""
    if event == "subscribe" and key.startswith(SUBSCRIBED_BY_SCAN):
        key = key.removeprefix(SUBSCRIBED_BY_SCAN)
    elif event != "SCAN":
        return None
    scene = key.strip()
    return scene if 0 < len(scene) <= SCENE_LONGEST and scene.isprintable() else None


def template_thing(text: str) -> str:
    """A notice's first line as a template's short field (at most ``TEMPLATE_THING`` characters)."""
    line = next((line.strip() for line in text.split("\n") if line.strip()), "您有一条新通知")
    line = line.replace("【", "").replace("】", "：").strip("：")  # “【截止提醒】…” → “截止提醒：…”
    return line if len(line) <= TEMPLATE_THING else line[: TEMPLATE_THING - 1] + "…"


# The routes -----------------------------------------------------------------------------------------


def callback_routes(channel: MpChannel) -> list[Route]:
    async def answer(request: Request) -> Response:
        query = dict(request.query_params)
        if request.method == "GET":
            signed = (query.get(k, "") for k in ("signature", "timestamp", "nonce", "echostr"))
            return PlainTextResponse(channel.verify(*signed))
        await channel.receive(query, await limited_body(request, "a body larger than a 公众号 message"))
        return PlainTextResponse(ANSWER)

    return [callback_route(CALLBACK_PATH, "WeChat MP", answer)]
