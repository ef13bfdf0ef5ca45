"""What the local fakes of the 公众号 (``tests.mp_fake``) and of 企业微信 (``tests.wecom_fake``) share:
Tencent's server API as both answer it, and a user writing to the product's callback URL as both
send it.

The API side (``FakeTencentApi``): access tokens, each valid ``token_seconds`` (an expired one answers
42001, an unknown one ``UNKNOWN_TOKEN``), ``expire_tokens`` and the count of fetches; errors injected by
``fail_next``; an error answered as ``{"errcode", "errmsg"}``. The user side (``CallbackSender``): a
new ``MsgId`` per message, a text message, and the POST that waits at most 5 s for a 200 and sends the
same message again, up to three more times.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import ClassVar, TypeVar

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

Kept = TypeVar("Kept")

CALLBACK_TIMEOUT = 5.0
CALLBACK_TRIES = 4  # the first POST and three more


def error(code: int, message: str) -> JSONResponse:
    """An API error as Tencent answers it (HTTP 200, the code in the body)."""
    return JSONResponse({"errcode": code, "errmsg": message})


@dataclass
class FakeTencentApi:
    """The access tokens and injected errors of a fake Tencent server API."""

    #: The error a call with a token this server never issued answers.
    UNKNOWN_TOKEN: ClassVar[tuple[int, str]] = (40014, "invalid access_token")

    token_seconds: float = 7200.0
    token_fetches: int = 0
    _tokens: dict[str, float] = field(default_factory=dict)
    _failures: list[int] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, *errcodes: int) -> None:
        """The next calls that take injected errors answer these error codes, one each."""
        with self._lock:
            self._failures.extend(errcodes)

    def expire_tokens(self) -> None:
        with self._lock:
            self._tokens = {token: 0.0 for token in self._tokens}

    def new_token(self, *, only: bool = False) -> str:
        """A token issued, valid ``token_seconds`` (``only``: every earlier one unknown from now)."""
        token = secrets.token_urlsafe(24)
        with self._lock:
            if only:
                self._tokens.clear()
            self._tokens[token] = time.monotonic() + self.token_seconds
            self.token_fetches += 1
        return token

    def _token_error(self, request: Request) -> Response | None:
        with self._lock:
            expiry = self._tokens.get(request.query_params.get("access_token", ""))
        if expiry is None:
            return error(*self.UNKNOWN_TOKEN)
        if expiry < time.monotonic():
            return error(42001, "access_token expired")
        return None

    def _kept(self, request: Request, media: dict[str, Kept]) -> Kept | Response:
        """What ``media/get`` asks for (its ``media_id``) among ``media``, or the API's refusal."""
        refused = self._token_error(request)
        if refused is not None:
            return refused
        with self._lock:
            kept = media.get(request.query_params.get("media_id", ""))
        return error(40007, "invalid media_id") if kept is None else kept

    def _injected(self) -> Response | None:
        with self._lock:
            failure = self._failures.pop(0) if self._failures else None
        return error(failure, "injected") if failure is not None else None


class CallbackSender:
    """A user writing to the product's callback URL (mixed into a dataclass that holds ``last_id``):
    each message with a new ``MsgId``, POSTed as Tencent does it."""

    _next_id: ClassVar[int]
    last_id: int

    def _msg_id(self) -> int:
        kind = type(self)
        kind._next_id += 1
        self.last_id = kind._next_id
        return self.last_id

    def _xml(self, inner: str, created: int | None = None) -> str:
        """A message's plain XML: the sender's fields around ``inner``."""
        raise NotImplementedError

    def text(self, content: str, msg_id: int | None = None) -> int:
        msg_id = msg_id or self._msg_id()
        inner = (
            f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content>"
            f"<MsgId>{msg_id}</MsgId>"
        )
        self.post(self._xml(inner))
        return msg_id

    def post(self, plain_xml: str, *, tries: int = CALLBACK_TRIES) -> httpx.Response:
        """POST as Tencent does: wait at most 5 s for a 200, else send the same message again."""
        last: httpx.Response | None = None
        for _try in range(tries):
            try:
                last = self.post_once(plain_xml)
            except httpx.TimeoutException:
                continue
            if last.status_code == 200:
                return last
        assert last is not None, "the callback never answered"
        return last

    def post_once(self, plain_xml: str, **signing: str | None) -> httpx.Response:
        """One POST of a message, signed (and sealed) as the sender's service does it (``signing``:
        its ``timestamp``, ``nonce`` or ``sign`` as a test sets them)."""
        raise NotImplementedError
