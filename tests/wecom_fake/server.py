"""A local fake of WeCom (企业微信) for tests: the server API the product calls, and a member who writes
to the product's callback URL, as WeCom does.

The API side (under ``/cgi-bin/``, so that ``WECOM_API_BASE_URL`` points at this server exactly as a
政务微信 deployment points it at its own host):

* ``gettoken`` — the access token for the corp id and secret, valid ``token_seconds``; an expired or
  unknown token makes every call answer 42001 / 40014, as WeCom does; ``agent/get`` — the app;
* ``message/send`` — text, markdown, file, template_card; each delivery is recorded; a member outside
  the app's visible range comes back in ``invaliduser`` (81013 when nobody was valid); errors can be
  injected (``fail_next``: 42001, 45009, 60020, 81013 …); a button card returns a single-use
  ``response_code``;
* ``message/update_template_card`` — consumes a ``response_code`` once (a second use is refused);
* ``media/upload`` — multipart, with WeCom's size limits per type (image 10 MB, video 10 MB, file
  20 MB, anything under 5 bytes refused); ``media/get`` — the bytes of a media id, with its type and
  its length (``Content-Length``, as WeCom sends it; chunked without one when ``media_length_declared``
  is False).
* OAuth2 (``snsapi_base``): ``/connect/oauth2/authorize`` plays the member's WeCom, which knows who
  opened the link (here: the browser's ``wecom_member`` cookie) and sends the browser back to the
  ``redirect_uri`` with a code and the ``state``, only for this corp's app and a ``redirect_uri``
  on the app's trusted domain (``trusted_domain``); ``auth/getuserinfo`` turns a code into the member's
  UserID once, within 5 minutes (40029 otherwise).

The member side (``Member``): encrypts and signs text, image, video and card-click XML, POSTs it to
the callback URL and, like WeCom, waits at most 5 s for a 200 and sends the same message again up to
three times; runs the echostr handshake. The cryptography is ``tests.wecom_fake.crypto``'s, written
apart from the product's.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import urlencode, urlsplit

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from tests.tencent_fake import CALLBACK_TIMEOUT, CallbackSender, FakeTencentApi, error
from tests.wecom_fake.crypto import CallbackCipher, signature

MEDIA_LIMITS = {"image": 10 * 1024 * 1024, "video": 10 * 1024 * 1024, "file": 20 * 1024 * 1024}
RESPONSE_CODE_USED = 301083


@dataclass
class Delivery:
    """One message the product sent through ``message/send``."""

    user: str
    msgtype: str
    body: dict[str, Any]
    msgid: str
    at: float

    @property
    def text(self) -> str:
        if self.msgtype == "text":
            return str(self.body["text"]["content"])
        if self.msgtype == "markdown":
            return str(self.body["markdown"]["content"])
        if self.msgtype == "template_card":
            title = self.body["template_card"].get("main_title", {})
            return "\n".join(str(part) for part in (title.get("title"), title.get("desc")) if part)
        return ""

    @property
    def buttons(self) -> list[dict[str, Any]]:
        if self.msgtype != "template_card":
            return []
        return list(self.body["template_card"].get("button_list", []))


@dataclass
class Media:
    data: bytes
    kind: str
    file_name: str
    content_type: str


@dataclass
class FakeWeCom(FakeTencentApi):
    corp_id: str = "ww-fake-corp"
    secret: str = "fake-secret"
    agent_id: int = 1000002
    token: str = "FakeToken123"
    aes_key: str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
    visible: set[str] | None = None  # the app's visible range; None: every member
    media_length_declared: bool = True  # media/get with a Content-Length (else chunked)
    deliveries: list[Delivery] = field(default_factory=list)
    card_updates: list[dict[str, Any]] = field(default_factory=list)
    media: dict[str, Media] = field(default_factory=dict)
    _response_codes: dict[str, bool] = field(default_factory=dict)  # code -> used
    trusted_domain: str = "127.0.0.1"  # the app's 可信域名: where a sign-in may send the member back
    _sign_in_codes: dict[str, tuple[str, float]] = field(default_factory=dict)  # code -> member, expiry

    @property
    def cipher(self) -> CallbackCipher:
        return CallbackCipher(self.aes_key, self.corp_id)

    # Control ---------------------------------------------------------------------------------------

    def to(self, user: str) -> list[Delivery]:
        with self._lock:
            return [d for d in self.deliveries if d.user == user]

    def wait_for(self, user: str, count: int, timeout: float = 20.0) -> list[Delivery]:
        """The first ``count`` messages to ``user`` once they have come (AssertionError after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.to(user)
            if len(got) >= count:
                return got[:count]
            time.sleep(0.02)
        raise AssertionError(f"{user} got {len(self.to(user))} messages, not {count}: {self.to(user)}")

    def upload_media(self, data: bytes, kind: str, file_name: str, content_type: str) -> str:
        """A file a member sent, kept as WeCom keeps it (the product fetches it by ``media/get``)."""
        media_id = f"{kind}-{secrets.token_hex(12)}"
        with self._lock:
            self.media[media_id] = Media(data, kind, file_name, content_type)
        return media_id

    # The API ---------------------------------------------------------------------------------------

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/cgi-bin/gettoken", self._gettoken),
                Route("/cgi-bin/agent/get", self._agent),
                Route("/cgi-bin/message/send", self._send, methods=["POST"]),
                Route("/cgi-bin/message/update_template_card", self._update_card, methods=["POST"]),
                Route("/cgi-bin/media/upload", self._upload, methods=["POST"]),
                Route("/cgi-bin/media/get", self._get_media),
                Route("/cgi-bin/auth/getuserinfo", self._user_of_code),
                Route("/connect/oauth2/authorize", self._authorize),
            ]
        )

    async def _gettoken(self, request: Request) -> Response:
        if request.query_params.get("corpid") != self.corp_id:
            return error(40013, "invalid corpid")
        if request.query_params.get("corpsecret") != self.secret:
            return error(40001, "invalid credential")
        token = self.new_token()
        return JSONResponse(
            {"errcode": 0, "errmsg": "ok", "access_token": token, "expires_in": int(self.token_seconds)}
        )

    async def _agent(self, request: Request) -> Response:
        refused = self._token_error(request)
        if refused is not None:
            return refused
        if request.query_params.get("agentid") != str(self.agent_id):
            return error(40056, "invalid agentid")
        return JSONResponse({"errcode": 0, "errmsg": "ok", "agentid": self.agent_id, "name": "妇联报送助手"})

    async def _send(self, request: Request) -> Response:
        refused = self._token_error(request)
        if refused is not None:
            return refused
        body = await request.json()
        injected = self._injected()  # ``fail_next``: only message/send takes them
        if injected is not None:
            return injected
        if body.get("agentid") != self.agent_id:
            return error(40056, "invalid agentid")
        users = [u for u in str(body.get("touser", "")).split("|") if u]
        valid = [u for u in users if self.visible is None or u in self.visible]
        invalid = [u for u in users if u not in valid]
        if not valid:
            return error(81013, "user & party & tag all invalid")
        msgtype = str(body.get("msgtype"))
        if msgtype not in ("text", "markdown", "file", "image", "template_card"):
            return error(40008, "invalid message type")
        if msgtype == "text" and len(str(body["text"]["content"]).encode()) > 2048:
            return error(45002, "content size out of limit")
        if msgtype == "file" and body.get("file", {}).get("media_id") not in self.media:
            return error(40007, "invalid media_id")
        answer: dict[str, Any] = {"errcode": 0, "errmsg": "ok", "msgid": secrets.token_hex(8)}
        if invalid:
            answer["invaliduser"] = "|".join(u.lower() for u in invalid)
        if msgtype == "template_card":
            card = body["template_card"]
            if len(card.get("button_list", [])) > 6 or not card.get("task_id"):
                return error(40058, "invalid template_card")
            code = secrets.token_hex(10)
            with self._lock:
                self._response_codes[code] = False
            answer["response_code"] = code
        with self._lock:
            for user in valid:
                self.deliveries.append(Delivery(user, msgtype, body, answer["msgid"], time.monotonic()))
        return JSONResponse(answer)

    def issue_response_code(self) -> str:
        """A response code as a card click's callback carries one (usable once)."""
        code = secrets.token_hex(10)
        with self._lock:
            self._response_codes[code] = False
        return code

    async def _update_card(self, request: Request) -> Response:
        refused = self._token_error(request)
        if refused is not None:
            return refused
        body = await request.json()
        code = str(body.get("response_code", ""))
        with self._lock:
            used = self._response_codes.get(code)
            if used is None:
                return error(40125, "invalid response_code")
            if used:
                return error(RESPONSE_CODE_USED, "response_code already used")
            self._response_codes[code] = True
            self.card_updates.append(body)
        return JSONResponse({"errcode": 0, "errmsg": "ok"})

    async def _upload(self, request: Request) -> Response:
        refused = self._token_error(request)
        if refused is not None:
            return refused
        kind = request.query_params.get("type", "")
        if kind not in MEDIA_LIMITS:
            return error(40004, "invalid media type")
        async with request.form() as form:
            upload = form.get("media")
            if upload is None or isinstance(upload, str):
                return error(41001, "media missing")
            data = await upload.read()
            file_name, content_type = upload.filename or "", upload.content_type or ""
        if len(data) < 5:
            return error(40005, "invalid file size")
        if len(data) > MEDIA_LIMITS[kind]:
            return error(40006, "invalid file size")
        media_id = self.upload_media(data, kind, file_name, content_type)
        return JSONResponse(
            {
                "errcode": 0,
                "errmsg": "ok",
                "type": kind,
                "media_id": media_id,
                "created_at": str(int(time.time())),
            }
        )

    async def _get_media(self, request: Request) -> Response:
        media = self._kept(request, self.media)
        if isinstance(media, Response):
            return media
        media_type = media.content_type or "application/octet-stream"
        headers = {"Content-Disposition": f'attachment; filename="{media.file_name or "file"}"'}
        if not self.media_length_declared:
            chunks = (media.data[at : at + 65536] for at in range(0, len(media.data), 65536))
            return StreamingResponse(chunks, media_type=media_type, headers=headers)
        return Response(media.data, media_type=media_type, headers=headers)

    async def _authorize(self, request: Request) -> Response:
        """The member's WeCom opening a sign-in link: back to the app's page with a code."""
        query = request.query_params
        if query.get("appid") != self.corp_id or query.get("agentid") != str(self.agent_id):
            return PlainTextResponse("invalid appid or agentid", status_code=400)
        if query.get("response_type") != "code" or query.get("scope") != "snsapi_base":
            return PlainTextResponse("invalid scope", status_code=400)
        back = urlsplit(query.get("redirect_uri", ""))
        if back.hostname != self.trusted_domain:
            return PlainTextResponse("redirect_uri not on the app's trusted domain", status_code=400)
        member = request.cookies.get("wecom_member")
        if not member:
            return PlainTextResponse("not opened in WeCom", status_code=403)
        code = secrets.token_urlsafe(16)
        with self._lock:
            self._sign_in_codes[code] = (member, time.monotonic() + 300)
        separator = "&" if back.query else "?"
        target = (
            f"{query['redirect_uri']}{separator}{urlencode({'code': code, 'state': query.get('state', '')})}"
        )
        return RedirectResponse(target, status_code=302)

    async def _user_of_code(self, request: Request) -> Response:
        refused = self._token_error(request)
        if refused is not None:
            return refused
        with self._lock:
            member, expiry = self._sign_in_codes.pop(request.query_params.get("code", ""), ("", 0.0))
        if not member or expiry < time.monotonic():
            return error(40029, "invalid code")
        return JSONResponse({"errcode": 0, "errmsg": "ok", "userid": member, "user_ticket": "t"})


# The member side ---------------------------------------------------------------------------------------


@dataclass
class Member(CallbackSender):
    """A WeCom member writing to the app: each message encrypted, signed and POSTed to the callback
    URL as WeCom does it (a new nonce and timestamp per try, the same ``MsgId``)."""

    wecom: FakeWeCom
    callback_url: str
    user: str
    last_id: int = 0
    _next_id: ClassVar[int] = 7_000_000_000_000_000_000

    def _xml(self, inner: str, created: int | None = None) -> str:
        created = created or int(time.time())
        return (
            f"<xml><ToUserName><![CDATA[{self.wecom.corp_id}]]></ToUserName>"
            f"<FromUserName><![CDATA[{self.user}]]></FromUserName><CreateTime>{created}</CreateTime>"
            f"{inner}<AgentID>{self.wecom.agent_id}</AgentID></xml>"
        )

    def image(self, data: bytes, content_type: str = "image/jpeg") -> int:
        media_id = self.wecom.upload_media(data, "image", "photo.jpg", content_type)
        msg_id = self._msg_id()
        inner = (
            "<MsgType><![CDATA[image]]></MsgType><PicUrl><![CDATA[http://wework.qpic.cn/fake]]></PicUrl>"
            f"<MediaId><![CDATA[{media_id}]]></MediaId><MsgId>{msg_id}</MsgId>"
        )
        self.post(self._xml(inner))
        return msg_id

    def video(self, data: bytes) -> int:
        media_id = self.wecom.upload_media(data, "video", "video.mp4", "video/mp4")
        msg_id = self._msg_id()
        inner = (
            "<MsgType><![CDATA[video]]></MsgType>"
            f"<MediaId><![CDATA[{media_id}]]></MediaId><ThumbMediaId><![CDATA[thumb]]></ThumbMediaId>"
            f"<MsgId>{msg_id}</MsgId>"
        )
        self.post(self._xml(inner))
        return msg_id

    def click(self, delivery: Delivery, number: int) -> str:
        """Press button ``number`` (1-based) of a card the product sent; the response code it carries."""
        button = delivery.buttons[number - 1]
        task_id = delivery.body["template_card"]["task_id"]
        code = self.wecom.issue_response_code()
        inner = (
            "<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[template_card_event]]></Event>"
            f"<EventKey><![CDATA[{button['key']}]]></EventKey><TaskId><![CDATA[{task_id}]]></TaskId>"
            "<CardType><![CDATA[button_interaction]]></CardType>"
            f"<ResponseCode><![CDATA[{code}]]></ResponseCode>"
        )
        self.post(self._xml(inner))
        return code

    def post_once(
        self,
        plain_xml: str,
        *,
        timestamp: str | None = None,
        nonce: str | None = None,
        sign: str | None = None,
    ) -> httpx.Response:
        sealed = self.wecom.cipher.encrypt(plain_xml)
        timestamp = timestamp or str(int(time.time()))
        nonce = nonce or secrets.token_hex(5)
        body = (
            f"<xml><ToUserName><![CDATA[{self.wecom.corp_id}]]></ToUserName>"
            f"<Encrypt><![CDATA[{sealed}]]></Encrypt><AgentID><![CDATA[{self.wecom.agent_id}]]></AgentID></xml>"
        )
        params = {
            "msg_signature": sign or signature(self.wecom.token, timestamp, nonce, sealed),
            "timestamp": timestamp,
            "nonce": nonce,
        }
        return httpx.post(self.callback_url, params=params, content=body.encode(), timeout=CALLBACK_TIMEOUT)


def verify_url(wecom: FakeWeCom, callback_url: str, *, sign: str | None = None) -> httpx.Response:
    """The handshake WeCom makes when the admin saves the callback URL: a GET with an encrypted echostr."""
    echo = secrets.token_hex(8)
    sealed = wecom.cipher.encrypt(echo)
    timestamp, nonce = str(int(time.time())), secrets.token_hex(5)
    params = {
        "msg_signature": sign or signature(wecom.token, timestamp, nonce, sealed),
        "timestamp": timestamp,
        "nonce": nonce,
        "echostr": sealed,
    }
    response = httpx.get(callback_url, params=params, timeout=1.0)
    response.extensions["expected_echo"] = echo
    return response
