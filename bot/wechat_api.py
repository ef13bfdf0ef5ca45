"""What the 公众号 and 企业微信 channels share of Tencent's server API and its callbacks.

Both are wechatpy clients moved to a configurable base (wechatpy hard-codes the public host for the
token), with a timeout on every call and one retry after a token error; both fetch a member's media by
``cgi-bin/media/get`` with the same refusal of an error answered as a body; both callbacks are XML
messages, signed with a timestamp, that Tencent sends again when not answered within 5 s. What differs
between the two (the token's URL and parameters, the callback's encryption and answer, the events and
what an error means for delivery) stays in ``bot.mp`` and ``bot.wecom``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from typing import Any

import requests
import xmltodict
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage

from bot.wechat_tokens import FreshToken
from dialogs.chinese_text import plain_number

log = logging.getLogger(__name__)

MAX_CALLBACK_BYTES = 64 * 1024
#: The fields every callback message has, as plain text up to this long (an OpenID is 28 characters,
#: a UserID at most 64).
PLAIN_FIELDS = {"FromUserName": 64, "MsgType": 32}
REPLAY_WINDOW = 300  # seconds: an older (or future) timestamp is a replay, not Tencent


class CallbackRefused(Exception):
    """A callback request that is not Tencent's (or not for this app): answered 4xx, nothing stored."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class FileTooLarge(Exception):
    """A media file over the limit: ``size`` is its whole size (None: not known, or more than
    ``counted`` times the limit, not counted further)."""

    def __init__(self, size: int | None) -> None:
        super().__init__(size)
        self.size = size


# The API --------------------------------------------------------------------------------------------


class TencentClient(FreshToken):
    """Mixed into a wechatpy client (before it): its calls at ``base_url``, the token fetched from
    ``token_path`` with ``token_params()``, a timeout on every call and one retry after a token error
    (wechatpy's own retry never stops)."""

    token_path = "token"
    #: How many times the limit an over-large media file of undeclared length is counted, to say its
    #: size; 0: not counted (the connection is dropped at once).
    counted = 0
    # What the wechatpy client below this mixin holds.
    _http: requests.Session
    session: SessionStorage
    timeout: float
    expires_at: int | None
    access_token_key: str
    access_token: str

    def __init__(
        self, base_url: str, app_id: str, secret: str, tokens: SessionStorage, timeout: float
    ) -> None:
        super().__init__(app_id, secret, session=tokens, timeout=timeout, auto_retry=False)  # type: ignore[call-arg]
        self.base_url = base_url.rstrip("/")
        self.API_BASE_URL = f"{self.base_url}/cgi-bin/"

    def token_params(self) -> dict[str, str]:
        """The query that asks ``token_path`` for an access token."""
        raise NotImplementedError

    def fetch_access_token(self) -> dict[str, Any]:
        response = self._http.get(
            f"{self.base_url}/cgi-bin/{self.token_path}", params=self.token_params(), timeout=self.timeout
        )
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        if result.get("errcode", 0) != 0:
            raise WeChatClientException(result["errcode"], result.get("errmsg", ""), client=self)
        expires_in = int(result.get("expires_in", 7200))
        self.session.set(self.access_token_key, result["access_token"], expires_in)
        self.expires_at = int(time.time()) + expires_in
        return result

    def media_file(self, media_id: str, limit: int) -> tuple[bytes, str]:
        """A media file's bytes and type from ``media/get`` (at most ``limit`` bytes: ``FileTooLarge``
        beyond); the access token fetched again once when Tencent refuses it."""
        return self.with_fresh_token(lambda: self._media_file(media_id, limit))

    def _media_file(self, media_id: str, limit: int) -> tuple[bytes, str]:
        response = self._http.get(
            f"{self.base_url}/cgi-bin/media/get",
            params={"access_token": self.access_token, "media_id": media_id},
            timeout=self.timeout,
            stream=True,
        )
        with response:
            response.raise_for_status()
            kind = response.headers.get("Content-Type", "").split(";")[0].strip()
            declared = plain_number(response.headers.get("Content-Length", ""), max_digits=15)
            if declared is not None and declared > limit:
                raise FileTooLarge(declared)  # said by Tencent: nothing of it read
            data = bytearray()
            chunks = response.iter_content(64 * 1024)
            for chunk in chunks:
                data += chunk
                if len(data) > limit:
                    counted = _whole_size(len(data), chunks, self.counted * limit) if self.counted else None
                    raise FileTooLarge(counted)
        if kind.startswith(("application/json", "text/plain")):  # an error, not the file
            try:
                errcode = int(json.loads(bytes(data)).get("errcode", -1))
            except (ValueError, AttributeError):
                errcode = -1
            raise WeChatClientException(errcode, "media/get failed", client=self)
        return bytes(data), kind


def _whole_size(read: int, rest: Iterator[bytes], longest: int) -> int | None:
    """A file's whole size when its length was not declared: the rest of it counted, not kept, up to
    ``longest`` bytes (beyond that: None, and the connection is dropped)."""
    for chunk in rest:
        read += len(chunk)
        if read > longest:
            return None
    return read


# The callback ---------------------------------------------------------------------------------------


def check_timestamp(timestamp: str, now: float) -> None:
    """Refuse a callback without a timestamp, or one outside ``REPLAY_WINDOW`` of ``now`` (a replay)."""
    sent = plain_number(timestamp, max_digits=12)
    if sent is None:
        raise CallbackRefused(400, "no timestamp")
    if abs(now - sent) > REPLAY_WINDOW:
        raise CallbackRefused(403, "a stale or future timestamp (a replay)")


def callback_message(plain: str, body: str) -> dict[str, Any]:
    """A callback's XML (``plain``, what ``body`` names in a refusal) as its message, which has a plain
    sender and type."""
    try:
        message = xmltodict.parse(plain)["xml"]
    except Exception as error:
        raise CallbackRefused(400, f"{body} is not a message") from error
    if not isinstance(message, dict) or not all(
        _plain(message.get(name), longest) for name, longest in PLAIN_FIELDS.items()
    ):
        raise CallbackRefused(400, "a message without a plain sender or type")
    return message


def _plain(value: object, longest: int) -> bool:
    """Whether a callback field is plain text of 1 to ``longest`` characters (not an element holding
    others, a repeated element, or attributes — what xmltodict makes a dict or a list)."""
    return isinstance(value, str) and 0 < len(value.strip()) <= longest


def update_key(message: dict[str, Any], event_fields: Sequence[str]) -> int:
    """The inbox key of a callback message: its MsgId; an event (which has none) by ``event_fields``
    (its sender, time, kind …) — what Tencent repeats when it sends the same event again."""
    msg_id = str(message.get("MsgId") or "")
    if msg_id.isdigit() and 0 < int(msg_id) < 2**63:
        return int(msg_id)
    identity = "|".join(str(message.get(key, "")) for key in event_fields)
    return int.from_bytes(hashlib.sha256(identity.encode()).digest()[:8], "big") >> 1


def callback_route(path: str, service_name: str, answer: Callable[[Request], Awaitable[Response]]) -> Route:
    """The callback's route (GET: the URL check; POST: a message): ``answer``'s response, or — for a
    request it refuses — an empty 4xx and a line in the log with the reason (never the body)."""

    async def callback(request: Request) -> Response:
        try:
            return await answer(request)
        except CallbackRefused as refused:
            log.warning("%s callback refused (%s): %s", service_name, refused.status, refused.reason)
            return PlainTextResponse("", status_code=refused.status)

    return Route(path, callback, methods=["GET", "POST"])


async def limited_body(request: Request, too_large: str) -> bytes:
    """A callback's body, refused (413, ``too_large``) beyond ``MAX_CALLBACK_BYTES``."""
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_CALLBACK_BYTES:
            raise CallbackRefused(413, too_large)
    return bytes(data)


# Checking a deployment ------------------------------------------------------------------------------


def url_check(url: str, params: dict[str, str], echo: str, right: str, wrong: str) -> tuple[bool, str]:
    """The URL check Tencent makes when the callback is saved, made here (``params``, whose answer
    must be ``echo``): one Chinese line, passed or not; ``right`` ends the passing line, ``wrong`` says
    what a wrong answer likely means."""
    try:
        answer = requests.get(url, params=params, timeout=5)
    except requests.RequestException as error:
        problem = f"回调地址 {url} 连不上（{type(error).__name__}）"
        return False, f"{problem}：服务是否在运行，INTAKE_WEB_URL 是否正确？"
    if answer.status_code == 200 and answer.text == echo:
        return True, f"回调地址：{url} 应答正确{right}"
    problem = f"回调地址 {url} 应答不对（HTTP {answer.status_code}）"
    return False, f"{problem}：{wrong}"
