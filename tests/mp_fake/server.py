"""A local fake of the 公众号 (a 服务号) for tests: the server API the product calls, and a follower who
writes to the product's callback URL, as the 公众号 does.

The API side, under ``/cgi-bin/`` (``WECHAT_MP_API_BASE_URL`` points at this server):

* ``token`` (``grant_type=client_credential``) — an access token for the AppID and AppSecret, valid
  ``token_seconds``; an unknown token makes every call answer 40001, an expired one 42001; with
  ``one_token``, a new token makes every earlier one unknown (the real one does so after 5 minutes);
* ``message/custom/send`` (客服消息, text) — taken only within 48 hours of the follower's last message
  (45015 otherwise; the fake's clock can be moved with ``pass_hours``), only to a follower (43004),
  2,048 bytes at most (45002); errors can be injected (``fail_next``: 45009, 40001 …);
* ``message/template/send`` — only with a template the account has added (40037), to a follower, at
  any time; every template message is recorded with its data and link;
* ``template/get_all_private_template`` — the templates the account has added, each with its title
  and content (its fields as ``{{thing1.DATA}}``);
* ``media/get`` — the bytes of a temporary media id (a photo the follower sent);
* ``qrcode/create`` — a temporary parametric QR code (``QR_STR_SCENE`` / ``QR_SCENE``, at most 30
  days: 40009 beyond, as for a scene over 64 characters), its ticket; ``showqrcode?ticket=`` — its
  picture, a PNG (on this server: ``WECHAT_MP_QRCODE_URL`` points here).

The follower side (``Follower``): follows (a ``subscribe`` event), scans a QR code (following by
it, EventKey ``qrscene_<scene>``, or already following, a ``SCAN`` event), writes text, sends photos; each
callback encrypted and signed in 安全模式 (or plain, when asked), POSTed as the 公众号 does it: it waits
at most 5 s for a 200 and sends the same message again, up to three more times. ``verify_url`` makes
the URL check of 服务器配置. The cryptography is ``tests.wecom_fake.crypto``'s (the same scheme, the
AppID as the receiver), written apart from the product's (wechatpy's) and pinned to Tencent's sample
vectors in ``tests/test_mp_crypto.py``.
"""

from __future__ import annotations

import io
import secrets
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar

import httpx
from PIL import Image
from PIL.PngImagePlugin import PngInfo
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.tencent_fake import CALLBACK_TIMEOUT, CALLBACK_TRIES, CallbackSender, FakeTencentApi, error
from tests.wecom_fake.crypto import CallbackCipher, signature

WINDOW = 48 * 3600  # seconds after a follower's message in which 客服消息 reach her
QR_LONGEST = 30 * 24 * 3600  # seconds a temporary QR code lives at most


def plain_signature(token: str, timestamp: str, nonce: str) -> str:
    """The signature of the URL check and of every callback's query: the three sorted, SHA-1."""
    return signature(token, timestamp, nonce, "")


@dataclass
class Sent:
    """One message the product sent: a 客服消息 (``kind`` "custom") or a template message."""

    openid: str
    kind: str
    body: dict[str, Any]

    @property
    def text(self) -> str:
        if self.kind == "custom":
            return str(self.body["text"]["content"])
        return "\n".join(str(value["value"]) for value in self.body.get("data", {}).values())


@dataclass
class FakeMp(FakeTencentApi):
    UNKNOWN_TOKEN: ClassVar[tuple[int, str]] = (
        40001,
        "invalid credential, access_token is invalid or not latest",
    )

    app_id: str = "wx5f1e0a9c3b7d2e48"
    secret: str = "fake-mp-secret"
    token: str = "FakeMpToken"
    aes_key: str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
    original_id: str = "gh_fa4e0b1c2d3e"
    one_token: bool = False
    #: The templates the account has added: id -> (title, content).
    templates: dict[str, tuple[str, str]] = field(
        default_factory=lambda: {
            "TPL-notice-0001": ("报送事项提醒", "事项：{{thing1.DATA}}\n时间：{{time2.DATA}}"),
            "TPL-other-0002": ("会议通知", "会议：{{thing3.DATA}}\n地点：{{thing4.DATA}}"),
        }
    )
    sent: list[Sent] = field(default_factory=list)
    followers: set[str] = field(default_factory=set)
    last_wrote: dict[str, float] = field(default_factory=dict)  # openid -> the fake's clock
    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    qr_codes: dict[str, tuple[str, float]] = field(default_factory=dict)  # ticket -> scene, expiry
    offset: float = 0.0  # hours passed on the fake's clock, beyond the real ones

    @property
    def cipher(self) -> CallbackCipher:
        return CallbackCipher(self.aes_key, self.app_id)

    def now(self) -> float:
        return time.time() + self.offset

    # Control ---------------------------------------------------------------------------------------

    def pass_hours(self, hours: float) -> None:
        """Move the fake's clock on (the 48-hour window closes; tokens do not expire by it)."""
        with self._lock:
            self.offset += hours * 3600

    def to(self, openid: str) -> list[Sent]:
        with self._lock:
            return [s for s in self.sent if s.openid == openid]

    def wrote(self, openid: str) -> None:
        """A follower's message reached the 公众号: her 48 hours start again."""
        with self._lock:
            self.last_wrote[openid] = self.now()

    def keep_media(self, data: bytes, content_type: str) -> str:
        media_id = f"media-{secrets.token_hex(12)}"
        with self._lock:
            self.media[media_id] = (data, content_type)
        return media_id

    # The API ---------------------------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/cgi-bin/token", self._token),
                Route("/cgi-bin/message/custom/send", self._custom, methods=["POST"]),
                Route("/cgi-bin/message/template/send", self._template, methods=["POST"]),
                Route("/cgi-bin/media/get", self._get_media),
                Route("/cgi-bin/qrcode/create", self._create_qr_code, methods=["POST"]),
                Route("/cgi-bin/showqrcode", self._show_qr_code),
                Route("/cgi-bin/template/get_all_private_template", self._template_list),
            ]
        )

    async def _token(self, request: Request) -> Response:
        query = request.query_params
        if query.get("grant_type") != "client_credential":
            return error(40002, "invalid grant_type")
        if query.get("appid") != self.app_id:
            return error(40013, "invalid appid")
        if query.get("secret") != self.secret:
            return error(40125, "invalid appsecret")
        token = self.new_token(only=self.one_token)
        return JSONResponse({"access_token": token, "expires_in": int(self.token_seconds)})

    async def _custom(self, request: Request) -> Response:
        refused = self._token_error(request) or self._injected()
        if refused is not None:
            return refused
        body = await request.json()
        openid = str(body.get("touser", ""))
        if openid not in self.followers:
            return error(43004, "require subscribe")
        with self._lock:
            last = self.last_wrote.get(openid)
        if last is None or self.now() - last > WINDOW:
            return error(45015, "response out of time limit or subscription is canceled")
        if body.get("msgtype") != "text":
            return error(40008, "invalid message type")
        if len(str(body["text"]["content"]).encode()) > 2048:
            return error(45002, "content size out of limit")
        with self._lock:
            self.sent.append(Sent(openid, "custom", body))
        return JSONResponse({"errcode": 0, "errmsg": "ok"})

    async def _template(self, request: Request) -> Response:
        refused = self._token_error(request) or self._injected()
        if refused is not None:
            return refused
        body = await request.json()
        openid = str(body.get("touser", ""))
        if body.get("template_id") not in self.templates:
            return error(40037, "invalid template_id")
        if openid not in self.followers:
            return error(43004, "require subscribe")
        data = body.get("data")
        if not isinstance(data, dict) or not all(isinstance(v, dict) and "value" in v for v in data.values()):
            return error(47001, "data format error")
        with self._lock:
            self.sent.append(Sent(openid, "template", body))
        return JSONResponse({"errcode": 0, "errmsg": "ok", "msgid": secrets.randbits(40)})

    async def _template_list(self, request: Request) -> Response:
        refused = self._token_error(request) or self._injected()
        if refused is not None:
            return refused
        listed = [
            {"template_id": template_id, "title": title, "content": content, "example": ""}
            for template_id, (title, content) in self.templates.items()
        ]
        return JSONResponse({"template_list": listed})

    async def _create_qr_code(self, request: Request) -> Response:
        refused = self._token_error(request) or self._injected()
        if refused is not None:
            return refused
        body = await request.json()
        kind, scene = body.get("action_name"), body.get("action_info", {}).get("scene", {})
        value = scene.get("scene_str") if kind == "QR_STR_SCENE" else scene.get("scene_id")
        seconds = body.get("expire_seconds", 60)
        if kind not in ("QR_STR_SCENE", "QR_SCENE") or not value or len(str(value)) > 64:
            return error(40009, "invalid scene")
        if not isinstance(seconds, int) or not 60 <= seconds <= QR_LONGEST:
            return error(40009, "invalid expire_seconds")
        ticket = secrets.token_urlsafe(32)
        with self._lock:
            self.qr_codes[ticket] = (str(value), self.now() + seconds)
        return JSONResponse(
            {"ticket": ticket, "expire_seconds": seconds, "url": f"http://weixin.qq.com/q/{ticket[:22]}"}
        )

    async def _show_qr_code(self, request: Request) -> Response:
        ticket = request.query_params.get("ticket", "")
        with self._lock:
            known = ticket in self.qr_codes
        if not known:
            return Response(b"", status_code=404)
        return Response(qr_picture(ticket), media_type="image/png")

    def scene_of(self, ticket: str) -> str | None:
        """What a scan of the ticket's QR code tells the callback; None once it has expired."""
        with self._lock:
            scene, expiry = self.qr_codes[ticket]
        return scene if self.now() < expiry else None

    async def _get_media(self, request: Request) -> Response:
        media = self._kept(request, self.media)
        if isinstance(media, Response):
            return media
        data, content_type = media
        return Response(data, media_type=content_type)


def qr_picture(ticket: str) -> bytes:
    """The picture of a ticket's QR code: a PNG (not a scannable one) carrying its ticket."""
    picture = Image.new("1", (43, 43), 1)
    info = PngInfo()
    info.add_text("ticket", ticket)
    out = io.BytesIO()
    picture.save(out, format="PNG", pnginfo=info)
    return out.getvalue()


# The follower side -------------------------------------------------------------------------------------


@dataclass
class Follower(CallbackSender):
    """A WeChat user writing to the 公众号: each message encrypted, signed and POSTed to the callback
    URL as the 公众号 does it (a new nonce and timestamp per try, the same ``MsgId``)."""

    mp: FakeMp
    callback_url: str
    openid: str
    encrypted: bool = True
    last_id: int = 0
    _next_id: ClassVar[int] = 6_000_000_000_000_000_000

    def _xml(self, inner: str, created: int | None = None) -> str:
        created = created or int(time.time())
        return (
            f"<xml><ToUserName><![CDATA[{self.mp.original_id}]]></ToUserName>"
            f"<FromUserName><![CDATA[{self.openid}]]></FromUserName><CreateTime>{created}</CreateTime>"
            f"{inner}</xml>"
        )

    def follow(self) -> httpx.Response:
        self.mp.followers.add(self.openid)
        inner = "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[subscribe]]></Event>"
        return self.post(self._xml(inner))

    def scan(self, ticket: str) -> httpx.Response:
        """Scan a QR code: following by it when not yet following, else a ``SCAN`` event."""
        scene = self.mp.scene_of(ticket)
        assert scene is not None, "an expired QR code: WeChat tells the callback nothing"
        if self.openid in self.mp.followers:
            event, key = "SCAN", scene
        else:
            self.mp.followers.add(self.openid)
            event, key = "subscribe", f"qrscene_{scene}"
        inner = (
            f"<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{event}]]></Event>"
            f"<EventKey><![CDATA[{key}]]></EventKey><Ticket><![CDATA[{ticket}]]></Ticket>"
        )
        return self.post(self._xml(inner))

    def image(self, data: bytes, content_type: str = "image/jpeg") -> int:
        media_id = self.mp.keep_media(data, content_type)
        msg_id = self._msg_id()
        inner = (
            "<MsgType><![CDATA[image]]></MsgType><PicUrl><![CDATA[http://mmbiz.qpic.cn/fake]]></PicUrl>"
            f"<MediaId><![CDATA[{media_id}]]></MediaId><MsgId>{msg_id}</MsgId>"
        )
        self.post(self._xml(inner))
        return msg_id

    def post(self, plain_xml: str, *, tries: int = CALLBACK_TRIES) -> httpx.Response:
        """POST as the 公众号 does (``CallbackSender.post``); her 48 hours start again."""
        self.mp.wrote(self.openid)
        return super().post(plain_xml, tries=tries)

    def post_once(
        self,
        plain_xml: str,
        *,
        timestamp: str | None = None,
        nonce: str | None = None,
        sign: str | None = None,
    ) -> httpx.Response:
        timestamp = timestamp or str(int(time.time()))
        nonce = nonce or secrets.token_hex(5)
        params = {
            "signature": plain_signature(self.mp.token, timestamp, nonce),
            "timestamp": timestamp,
            "nonce": nonce,
            "openid": self.openid,
        }
        if not self.encrypted:
            if sign is not None:
                params["signature"] = sign
            return httpx.post(
                self.callback_url, params=params, content=plain_xml.encode(), timeout=CALLBACK_TIMEOUT
            )
        sealed = self.mp.cipher.encrypt(plain_xml)
        body = (
            f"<xml><ToUserName><![CDATA[{self.mp.original_id}]]></ToUserName>"
            f"<Encrypt><![CDATA[{sealed}]]></Encrypt></xml>"
        )
        params.update(
            encrypt_type="aes", msg_signature=sign or signature(self.mp.token, timestamp, nonce, sealed)
        )
        return httpx.post(self.callback_url, params=params, content=body.encode(), timeout=CALLBACK_TIMEOUT)


def verify_url(mp: FakeMp, callback_url: str, *, sign: str | None = None) -> httpx.Response:
    """The check the 公众号 makes when 服务器配置 is saved: a signed GET whose ``echostr`` must come back."""
    echo = str(secrets.randbits(60))
    timestamp, nonce = str(int(time.time())), secrets.token_hex(5)
    params = {
        "signature": sign or plain_signature(mp.token, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
        "echostr": echo,
    }
    response = httpx.get(callback_url, params=params, timeout=1.0)
    response.extensions["expected_echo"] = echo
    return response
