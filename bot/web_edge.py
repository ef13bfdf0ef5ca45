"""What every request of the web side passes through: signed cookie values and CSRF tokens, who a
session speaks as, the error boundary (short Chinese answers, one log line, never a traceback), the
security headers, and reading a body within its limit."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.http_edge import TOO_SLOW, RequestTooSlow
from bot.settings import Settings
from bot.wecom import CHANNEL as WECOM_CHANNEL
from dialogs.chinese_text import plain_number
from dialogs.exchange import Identity
from dialogs.failures import failure_line
from storage.database import availability, is_unavailable

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
CHANNEL = "web"
SESSION_COOKIE = "intake_session"
GUEST_COOKIE = "intake_guest"
CSRF_HEADER = "X-CSRF-Token"
MAX_JSON_BYTES = 256 * 1024  # a message of MAX_TEXT_CHARS fits even with every character escaped

NEED_SIGN_IN = "请先登录：打开市妇联组联部发给您的邀请链接，或在首页输入邀请码。"
REFUSED_ORIGIN = "页面已过期或来源不明，请刷新页面后再试。"
BAD_REQUEST = "请求格式不正确，请刷新页面后再试。"
MAINTENANCE = "系统正在维护，请稍后再发送；已填的内容不会丢失。"
SOMETHING_WRONG = "系统刚才出了点问题，请稍后再试；已填的内容不会丢失。"


# Signed values ---------------------------------------------------------------------------------------


class Signer:
    """HMAC-SHA256 signatures for cookie values and CSRF tokens; each use has its own purpose tag."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the web session key must be at least 16 bytes")
        self._key = key

    def _mac(self, purpose: str, value: str) -> str:
        digest = hmac.new(self._key, f"{purpose}|{value}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")

    def sign(self, purpose: str, value: str) -> str:
        return f"{value}.{self._mac(purpose, value)}"

    def unsign(self, purpose: str, signed: str | None) -> str | None:
        """The value inside a signed string, or None when it is missing or tampered with."""
        if not signed or "." not in signed:
            return None
        value, _, mac = signed.rpartition(".")
        if not value or not hmac.compare_digest(mac.encode(), self._mac(purpose, value).encode()):
            return None
        return value

    def csrf(self, holder: str) -> str:
        """The CSRF token of a session (``user:ID``) or of a guest (``guest:NONCE``)."""
        return self._mac("csrf", holder)[:32]

    def check_csrf(self, holder: str, given: str) -> bool:
        return bool(given) and hmac.compare_digest(given.encode(), self.csrf(holder).encode())


def session_key(settings: Settings, data_dir: Path) -> bytes:
    """The configured secret, else a random one kept in the data folder (so sessions survive restarts)."""
    if settings.web_session_secret:
        return settings.web_session_secret.encode()
    path = data_dir / "web-session.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(handle, "w") as stream:
                stream.write(secrets.token_urlsafe(48))
    return path.read_text().strip().encode()


def person_key(channel: str, user_id: str) -> str:
    """Who a person is on the web side, for their lock, their messages' ids and their CSRF token: a
    web user's id, or “wecom:UserID” for a 企业微信 member (the same contact as in the app chat). Kept
    in this process only: never in a cookie (``session_value``)."""
    return user_id if channel == CHANNEL else f"{channel}:{user_id}"


def session_value(contact: Identity) -> str:
    """What a session cookie holds (signed): a web user's id (random: nothing personal), or for a
    企业微信 member signed in through WeCom ``wecom#<contact id>-<binding>`` — never their UserID (often
    a name or a phone number), and only for as long as that binding lasts (``Identity.binding``)."""
    if contact.channel == CHANNEL:
        return contact.user_id
    return f"{contact.channel}#{contact.contact_id}-{contact.binding}"


def member_session(session: str) -> tuple[int, str] | None:
    """The contact id and binding a member's session names (``session_value`` read back), or None for
    a web user's id (``secrets.token_urlsafe`` never makes a ``#``)."""
    channel, mark, named = session.partition("#")
    contact, dash, binding = named.partition("-")
    if channel != WECOM_CHANNEL or not mark or not dash or not contact.isdigit() or len(contact) > 18:
        return None
    return int(contact), binding


def csrf_holder(contact: Identity) -> str:
    return f"user:{person_key(contact.channel, contact.user_id)}"


# Errors at the edge -----------------------------------------------------------------------------------


class Refusal(Exception):
    """A request turned down with a Chinese message, raised anywhere in a handler.

    Args:
        status: the HTTP status.
        message: what the person reads.
        note: the one log line (English, ids and counts only); empty for nothing logged.
    """

    def __init__(self, status: int, message: str, note: str = "") -> None:
        super().__init__(note or message)
        self.status = status
        self.message = message
        self.note = note


class ErrorBoundary:
    """Whatever goes wrong below it, the browser (or Telegram) gets a short JSON answer and the log
    one line, never a traceback nor an exception's text (which may quote personal data):

    * a ``Refusal``: its status and message;
    * a body that did not keep pace (``bot.http_edge.BodyDeadline``): 408 ``TOO_SLOW``, and the
      connection closes; a client that went away while sending (a closed upload): one INFO line;
    * an unavailable database (down, restarting, locked, its file gone): 503 ``MAINTENANCE`` with
      ``Retry-After``; the log hears of it once per outage (``storage.database.availability``);
    * anything else: 500 ``SOMETHING_WRONG`` and one line with the error's type and where.
    """

    def __init__(self, app: ASGIApp, page: Callable[[int, str], Response]) -> None:
        self.app = app
        self.page = page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = finished = False

        async def watch(message: Message) -> None:
            nonlocal started, finished
            started = started or message["type"] == "http.response.start"
            finished = message["type"] == "http.response.body" and not message.get("more_body", False)
            await send(message)

        answer = error_json if answers_in_json(scope["path"]) else self.page
        try:
            await self.app(scope, receive, watch)
            return
        except Refusal as refusal:
            if refusal.note:
                log.info("%s %s: %s", scope["method"], scope["path"], refusal.note)
            response = answer(refusal.status, refusal.message)
        except RequestTooSlow:
            log.info("%s %s: body too slow, refused", scope["method"], scope["path"])
            response = answer(408, TOO_SLOW)
            response.headers["Connection"] = "close"
        except ClientDisconnect:
            log.info(
                "%s %s: the client went away before its request was read", scope["method"], scope["path"]
            )
            return
        except Exception as error:
            if is_unavailable(error):
                availability.failed(error)
                response = answer(503, MAINTENANCE)
                response.headers["Retry-After"] = "5"
            else:
                log.error("%s %s failed: %s", scope["method"], scope["path"], failure_line(error))
                response = answer(500, SOMETHING_WRONG)
        if not started:
            await response(scope, receive, send)
        elif not finished:  # a stream that failed midway ends here (the page's EventSource comes back)
            with contextlib.suppress(OSError, RuntimeError):
                await send({"type": "http.response.body", "body": b"", "more_body": False})


def answers_in_json(path: str) -> bool:
    """The page's API and the webhook answer in JSON; pages and downloads, which a person opens, in HTML."""
    return path.startswith("/api/") or path == WEBHOOK_PATH


# Security headers ------------------------------------------------------------------------------------

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
        b"connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
        b"form-action 'self'",
    ),
]


class SecurityHeaders:
    """Adds the security headers to every response, and ``no-store`` unless it set its own caching."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _value in headers}
                headers += [(name, value) for name, value in SECURITY_HEADERS if name not in present]
                if b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


# Bodies and addresses ---------------------------------------------------------------------------------


def declared_length(request: Request) -> int | None:
    """The body's size as the client declared it (Content-Length), if it is a plain number."""
    return plain_number(request.headers.get("content-length", ""), max_digits=15)


def client_address(request: Request) -> str:
    """The client's address (behind a reverse proxy named in ``INTAKE_TRUSTED_PROXIES``, the one it
    forwarded; anyone else's ``X-Forwarded-For`` is not believed: ``bot.http_edge``); for IPv6
    its /64 network, which one household or phone holds whole and can rotate addresses within."""
    host = request.client.host if request.client is not None else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if address.version == 6:
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return host


def error_json(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


async def json_body(request: Request, *, too_large: str) -> dict[str, Any]:
    """The request's JSON object; a ``Refusal`` when it is larger than ``MAX_JSON_BYTES`` (413 with
    ``too_large``), not JSON, nested too deep to parse, or not an object (400 ``BAD_REQUEST``)."""
    data = await limited_body(request, MAX_JSON_BYTES)
    if data is None:
        raise Refusal(413, too_large, "body over the JSON limit")
    try:
        body = json.loads(data)
    except (ValueError, RecursionError):
        raise Refusal(400, BAD_REQUEST, "body is not JSON (or nested too deep)") from None
    if not isinstance(body, dict):
        raise Refusal(400, BAD_REQUEST, "body is not a JSON object")
    return body


async def spool_body(request: Request, limit: int, path: Path) -> bool:
    """Write the request body to ``path`` as it arrives; False (and no file) as soon as it is known
    to be larger than ``limit`` bytes. Flushed to disk before it is taken as received."""
    declared = declared_length(request)
    if declared is not None and declared > limit:
        return False
    received = 0
    with path.open("wb") as target:
        async for chunk in request.stream():
            received += len(chunk)
            if received > limit:
                break
            target.write(chunk)
        else:
            await run_in_threadpool(os.fsync, target.fileno())
            return True
    path.unlink(missing_ok=True)
    return False


async def limited_body(request: Request, limit: int) -> bytes | None:
    """The request body, or None as soon as it is known to be larger than ``limit`` bytes."""
    declared = declared_length(request)
    if declared is not None and declared > limit:
        return None
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > limit:
            return None
    return bytes(received)
