"""The HTTP side of the product: the web chat (page, JSON API, downloads, 组联部's status page), the
Telegram webhook and a health check — one ASGI app, so one process serves every channel.

The web chat is a thin channel like the others: a browser message becomes an ``Inbound`` on channel
``web``, the engine's ``Reply`` objects go back as JSON. A browser is bound to a unit the same way as a
Telegram chat: an invite code, the privacy notice, “同意”. Only then is anything stored, and the browser
gets a signed, HttpOnly session cookie holding nothing but a random web user id (the contact's
``external_id``).

Every state-changing request needs the same origin (Origin, else Referer) and the session's CSRF token
in a header. Files go out by submission id only, to the unit's own contacts and to 组联部; anyone else
gets 404. Each file link the page is given carries a day-long grant for that file and that contact
(``bot.download_grants``), so that it opens in a browser without the cookie (WeChat's “在浏览器打开”).
No message text, name, phone number or invite code is ever logged: only ids and counts.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import html
import ipaddress
import json
import logging
import os
import secrets
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, Literal
from urllib.parse import quote, unquote, urlsplit

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.delivery import GroupCommit, run_exports, run_reminders
from bot.delivery.compose import CONSENT_BUTTONS, download_path
from bot.delivery.inbox import run_channel
from bot.delivery.together import Work
from bot.download_grants import LINK_REVOKED, DownloadGrants, link_expired
from bot.http_edge import (
    TOO_SLOW,
    BodyDeadline,
    OncePerMinute,
    OutOfFiles,
    RequestTooSlow,
    raise_open_file_limit,
    server_config,
    streams_for,
)
from bot.live_notices import LiveNotices
from bot.mp4_probe import VideoDamaged, spooled_video_file, video_file
from bot.settings import Settings
from bot.telegram_channel import TelegramChannel
from bot.wecom import CHANNEL as WECOM_CHANNEL
from bot.wecom import WeComChannel, callback_routes
from bot.wecom_sign_in import WeComSignIn
from dialogs.chinese_text import clean_text, plain_number
from dialogs.engine import TOO_MANY_TRIES, DialogEngine
from dialogs.exchange import DocumentRef, Identity, Inbound, IncomingFile, Reply
from dialogs.failures import failure_line
from dialogs.invites import INVITE_UNKNOWN, FailedAttempts
from dialogs.privacy import TRIAL_NOTE
from dialogs.reports import Cell, StatusReport
from dialogs.validators import PHOTO_MAX_BYTES, VIDEO_MAX_BYTES, Accepted, photo_too_large, video_too_large
from renderers.photos import prepare_photo
from storage.database import DatabaseFileGone, availability, is_unavailable

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"

CHANNEL = "web"
SESSION_COOKIE = "intake_session"
GUEST_COOKIE = "intake_guest"
CSRF_HEADER = "X-CSRF-Token"
FILE_NAME_HEADER = "X-File-Name"
MESSAGE_ID_HEADER = "X-Message-Id"
PAGE_DIR = Path(__file__).resolve().parent / "web_page"
MAX_TEXT_CHARS = 10_000
MAX_JSON_BYTES = 256 * 1024  # a message of MAX_TEXT_CHARS fits even with every character escaped
MAX_CODE_CHARS = 40
GUEST_MAX_AGE = 24 * 3600
STREAM_FOR = 300.0  # seconds an event stream stays open before the page reconnects (and is checked again)
HEARTBEAT_EVERY = 20.0  # seconds between beats on a quiet stream, so that proxies keep it open

STREAMS_FULL = "通知通道暂时已满，页面会每分钟自动查看一次新通知；已填的内容不会丢失。"
NEED_SIGN_IN = "请先登录：打开市妇联组联部发给您的邀请链接，或在首页输入邀请码。"
REFUSED_ORIGIN = "页面已过期或来源不明，请刷新页面后再试。"
BAD_REQUEST = "请求格式不正确，请刷新页面后再试。"
TEXT_TOO_LONG = f"这条消息太长了（超过 {MAX_TEXT_CHARS} 字），请分几次发送。"
MAINTENANCE = "系统正在维护，请稍后再发送；已填的内容不会丢失。"
SOMETHING_WRONG = "系统刚才出了点问题，请稍后再试；已填的内容不会丢失。"
ALREADY_RECEIVED = "（刚才这条已经收到，不会重复保存。）"
DATABASE_FILE_GONE = (
    "数据库文件已被删除或替换，服务已停止接收数据。请停止服务，用 intake restore 从备份恢复。"
)
NOT_A_PHOTO = "只能发送照片（JPG、PNG、WEBP 或 HEIC 格式）或 MP4 视频，这个文件没有收到。"
NOT_WHAT_ITS_NAME_SAYS = (
    "这个文件名以 {suffix} 结尾，但里面不是真正的照片或视频（可能已损坏，或只是改了文件名），没有收到。"
    "请重新拍摄，或从相册里选原图发送。"
)
_PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif"}
BROWSER_IMAGES = {"image/jpeg", "image/png", "image/webp", "image/gif"}  # shown by every browser as they are
FILE_NOT_FOUND = "找不到这个文件。"
#: A message page's title by its status (the page's <title> adds “ · 妇联表格报送助手”).
MESSAGE_PAGE_TITLES = {401: "请先登录", 403: "无法打开", 404: "找不到", 503: "暂停服务"}
NO_SUCH_PAGE = "找不到这个页面。请从邀请链接或首页进入。"

MAX_UPDATE_BYTES = 1024 * 1024  # a Telegram update is a few KB; its files come by id, not inline

_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}

Handler = Callable[[Request], Awaitable[Response]]


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


# Translation between the engine and JSON -----------------------------------------------------------


def document_link(document: DocumentRef) -> dict[str, str]:
    """Where the page downloads a document: a submission's DOCX by number and version, the export by
    its name — the download itself asks the engine for the file, for this browser's contact."""
    url = download_path(document)
    if document.kind == "export":
        label = "下载课程视频（ZIP 压缩包）" if document.videos_zip else "下载全部表格（ZIP 压缩包）"
        return {"url": url, "name": document.key, "label": label, "icon": "ZIP"}
    shown = f"#{document.key} 第{document.version}版" if document.version else f"#{document.key}"
    return {"url": url, "name": shown, "label": "下载 Word 表格", "icon": "W"}


def reply_json(reply: Reply) -> dict[str, Any]:
    """One engine reply for the page: its text, its buttons (with the menu token), a download link."""
    menu = f"{CONSENT_BUTTONS}{reply.consent_for}" if reply.consent_for else reply.menu
    item: dict[str, Any] = {"text": reply.text, "options": list(reply.options), "menu": menu}
    if reply.document is not None:
        item["document"] = document_link(reply.document)
    if reply.refuses_text:
        item["refused"] = True
    if reply.pictures:
        item["pictures"] = [{"url": download_path(p), "kind": p.kind} for p in reply.pictures]
    if reply.fill_in:
        item["fill_in"] = reply.fill_in
    return item


def uploaded_file(data: bytes, name: str | None) -> IncomingFile | None:
    """An upload as the engine takes it: a photo, a video (an MP4 or QuickTime file, with what its
    boxes say), or None for anything else; ``VideoDamaged`` for an MP4 whose media is not there."""
    mime = photo_mime(data)
    if mime is not None:
        return IncomingFile(kind="photo", data=data, file_name=name, mime=mime, size=len(data))
    return video_file(data, file_name=name)


def photo_mime(data: bytes) -> str | None:
    """The image type by its first bytes (never by the name or the browser's word): JPEG, PNG, WEBP, HEIC."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "image/heic"
    return None


def status_html(report: StatusReport, *, link_units: bool = False) -> str:
    """/status as HTML a phone shows well: the title, the deadlines, one row per unit (its cells wrap
    as chips: done green, short amber, overdue red), then the city's figures. An area's row (a region's
    summary) links to that area's own page of units; with ``link_units`` (组联部) a unit's row opens
    the chat at that unit's submissions, each with its buttons."""
    esc = html.escape
    parts = [f"<h1>{esc(report.heading)}</h1>"]
    if report.deadlines:
        parts.append(
            "<ul class='deadlines'>" + "".join(f"<li>{esc(d)}</li>" for d in report.deadlines) + "</ul>"
        )
    if report.rows:
        rows = []
        for row in report.rows:
            header = esc(row.name)
            if row.area is not None:
                header = f"<a href='/status?area={quote(row.area)}'>{header}</a>"
            elif link_units:
                header = f"<a href='/?unit={quote(row.name)}'>{header}</a>"
            chips = "".join(
                f"<span class='cell {_cell_class(cell)}'>{esc(cell.text())}</span>" for cell in row.cells
            )
            rows.append(f"<tr><th scope='row'>{header}</th><td>{chips}</td></tr>")
        parts.append("<table class='units'><tbody>" + "".join(rows) + "</tbody></table>")
    figures = [report.hint, *report.figures] if report.hint else list(report.figures)
    if figures:
        parts.append("<div class='figures'>" + "".join(f"<p>{esc(line)}</p>" for line in figures) + "</div>")
    return "\n".join(parts)


def _cell_class(cell: Cell) -> str:
    """A cell's colour on the page: done is green whatever the date; short is amber until the
    deadline and red after it (“逾期”)."""
    if cell.done:
        return "done"
    return "late" if cell.late else "short"


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

        answer = _error if _answers_in_json(scope["path"]) else self.page
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


def _answers_in_json(path: str) -> bool:
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


# The web chat ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageAssets:
    """The page's files, read once: the chat page and the status page (templates), the script, the
    styles, the icon."""

    chat_page: str
    status_page: str
    script: bytes
    styles: bytes
    icon: bytes

    @classmethod
    def load(cls, folder: Path = PAGE_DIR) -> PageAssets:
        return cls(
            chat_page=(folder / "index.html").read_text(encoding="utf-8"),
            status_page=(folder / "status.html").read_text(encoding="utf-8"),
            script=(folder / "chat.js").read_bytes(),
            styles=(folder / "chat.css").read_bytes(),
            icon=(folder / "icon.svg").read_bytes(),
        )


def fill(template: str, **values: str) -> str:
    """Put escaped values into ``{{name}}`` slots (``raw_*`` values go in as they are: trusted HTML)."""
    for name, value in values.items():
        text = value if name.startswith("raw_") else html.escape(value)
        template = template.replace("{{" + name + "}}", text)
    return template


class WebChat:
    """The web chat's routes over one engine.

    Args:
        engine: the dialog engine (its calls are synchronous; they run in a worker thread).
        settings: the public address, the session secret and lifetime, the upload limit.
        assets: the page's files.
    """

    def __init__(
        self,
        engine: DialogEngine,
        settings: Settings,
        assets: PageAssets | None = None,
        wecom: WeComChannel | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.wecom = wecom
        self.wecom_sign_in = WeComSignIn(wecom, self, settings.wecom_secret) if wecom is not None else None
        self.assets = assets or PageAssets.load()
        self.signer = Signer(session_key(settings, settings.data_dir.resolve()))
        self.grants = DownloadGrants(self.signer)
        self.attempts = FailedAttempts()  # per address: a guest has no identity yet
        self._trial_banner = (
            f"<p class='trial' role='note'>{html.escape(TRIAL_NOTE)}</p>" if engine.trial else ""
        )
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self.together: GroupCommit[list[Reply]] = GroupCommit(engine.store)
        self._serving: asyncio.Task[None] | None = None
        self.live = LiveNotices(
            lambda user_ids: engine.have_notices(CHANNEL, user_ids),
            bound=lambda user_ids: engine.still_bound(CHANNEL, user_ids),
        )
        self._looking: asyncio.Task[None] | None = None

    def routes(self) -> list[Route]:
        return [
            Route("/", self.page, methods=["GET"]),
            Route("/join", self.page, methods=["GET"]),
            Route("/status", self.status_page, methods=["GET"]),
            Route("/static/chat.js", self.script, methods=["GET"]),
            Route("/static/chat.css", self.styles, methods=["GET"]),
            Route("/static/icon.svg", self.icon, methods=["GET"]),
            Route("/favicon.ico", self.icon, methods=["GET"]),
            Route("/api/join", self.join, methods=["GET"]),
            Route("/api/consent", self.consent, methods=["POST"]),
            Route("/api/start", self.start, methods=["POST"]),
            Route("/api/messages", self.message, methods=["POST"]),
            Route("/api/upload", self.upload, methods=["POST"]),
            Route("/api/notices", self.notices, methods=["POST"]),
            Route("/api/events", self.events, methods=["GET"]),
            Route("/files/submissions/{submission_id:int}.docx", self.download, methods=["GET"]),
            Route("/files/exports/{name}", self.download_export, methods=["GET"]),
            Route("/files/photos/{sha256}", self.photo, methods=["GET"]),
            Route("/files/videos/{sha256}", self.photo, methods=["GET"]),
            *(self.wecom_sign_in.routes() if self.wecom_sign_in is not None else []),
        ]

    # Who is asking -------------------------------------------------------------------------------

    def _session(self, request: Request) -> str | None:
        return self.signer.unsign("session", request.cookies.get(SESSION_COOKIE))

    async def _contact(self, request: Request) -> Identity | None:
        """The bound, active contact of this browser, or None.

        Looked up at every request (one indexed query): a contact revoked with ``intake contacts
        --revoke`` is refused from its next request on, a download included."""
        session = self._session(request)
        if session is None:
            return None
        return await run_in_threadpool(self.engine.identity, *speaker_of(session))

    def _secure(self, request: Request) -> bool:
        return request.url.scheme == "https" or self.settings.web_url.startswith("https://")

    def _same_origin(self, request: Request) -> bool:
        """The request comes from this site's own page: its Origin (else Referer) names this host."""
        source = request.headers.get("origin") or request.headers.get("referer") or ""
        parts = urlsplit(source)
        if not parts.scheme or not parts.netloc:
            return False
        allowed = {request.headers.get("host", "")}
        if self.settings.web_url:
            allowed.add(urlsplit(self.settings.web_url).netloc)
        return parts.netloc in allowed

    def _lock(self, user_id: str) -> asyncio.Lock:
        lock = self._locks.get(user_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[user_id] = lock
        return lock

    async def _throttle(self, request: Request, code: str) -> None:
        """Refuse (429) an address that has failed more than ``FailedAttempts.per_minute`` codes a
        minute, unless ``code`` is a right one (an office behind one address, where someone mistyped,
        still signs in; codes are too long to guess)."""
        if self.attempts.allowed(_address(request)):
            return
        if not await run_in_threadpool(self.engine.invite_usable, code):
            message = TOO_MANY_TRIES.format(contact=self.engine.contact_line)
            raise Refusal(429, message, "too many failed invite or consent attempts from one address")

    def _failed_attempt(self, request: Request) -> None:
        self.attempts.failed(_address(request))

    async def _bound(self, request: Request) -> Identity | Response:
        """The contact behind a state-changing API call, or the refusal (403 origin/token, 401 unbound)."""
        if not self._same_origin(request):
            log.warning("web request refused: foreign or missing origin")
            return _error(403, REFUSED_ORIGIN)
        session = self._session(request)
        if session is None:
            return _error(401, NEED_SIGN_IN)
        # Looked up holding the person's lock, which ``_handle`` takes next: the lock is fair, so a
        # browser's messages reach the engine in the order they came, however long each lookup takes.
        async with self._lock(session):
            contact = await self._contact(request)
        if contact is None:
            return _error(401, NEED_SIGN_IN)
        if not self.signer.check_csrf(csrf_holder(contact), request.headers.get(CSRF_HEADER, "")):
            log.warning("web request of contact %s refused: missing or wrong CSRF token", contact.contact_id)
            return _error(403, REFUSED_ORIGIN)
        return contact

    async def _handle(
        self, inbound: Inbound, message_id: str | None = None, said: Said | None = None
    ) -> list[Reply]:
        """One message through the engine, one at a time per web user; the messages of different
        users that arrive together share one transaction (``bot.delivery.GroupCommit``). With
        ``said``, the message and its answers are kept as lines of the conversation (for a reload)."""
        if self._serving is None or self._serving.done():
            self._serving = asyncio.create_task(self.together.serve())
        async with self._lock(session_value(inbound.channel, inbound.user_id)):
            replies = await self.together.handle(self._work(inbound, message_id, said))
        self.live.ring()  # it may have queued a notice for an open page (a 退回, an 已接收)
        return replies

    def _work(self, inbound: Inbound, message_id: str | None, said: Said | None) -> Work[list[Reply]]:
        """Handling one web message, for group commit. A message the page sent with its own id is
        handled once: the page sends it again (same id) when the answer did not arrive — the network
        dropped, or the service restarted — and a second copy must not fill the next field. The id is
        recorded in the transaction that handles it."""

        def work(in_batch: bool) -> list[Reply]:
            if message_id is None:
                replies: list[Reply] | None = self.engine.handle(inbound, in_batch=in_batch)
            else:
                update_id = web_update_id(session_value(inbound.channel, inbound.user_id), message_id)
                replies = self.engine.handle_once(inbound, update_id, in_batch=in_batch)
            if replies is not None:
                if said is not None:  # in the same transaction as the answer, when in a group
                    lines = [("person", said.line), *(("bot", reply_json(reply)) for reply in replies)]
                    self._keep_lines(said.contact_id, lines, in_batch)
                return replies
            log.info("a web message sent again was recognised; its answer is shown again")
            again = self.engine.handle(Inbound(inbound.channel, inbound.user_id, "/start"), in_batch=in_batch)
            return [Reply(ALREADY_RECEIVED), *again]

        return work

    def _keep_lines(self, contact_id: int, lines: list[tuple[str, dict[str, Any]]], in_batch: bool) -> None:
        """Keep a message's lines of the conversation. In a group they share its transaction (a
        failure rolls the group back, and each message is handled again alone); alone, the answer is
        already committed, and the conversation's copy is not worth failing it for."""
        if in_batch:
            self.engine.remember_chat(contact_id, lines)
            return
        try:
            self.engine.remember_chat(contact_id, lines)
        except Exception as error:  # the answer stands; only the reload's copy of it is missing
            log.warning("lines of contact %s not kept: %s", contact_id, failure_line(error))

    def _replies(self, replies: list[Reply], contact: Identity | None = None) -> list[dict[str, Any]]:
        """Replies for the page; for a bound contact with grants on their files (``bot.download_grants``)."""
        return [self._granted(reply_json(reply), contact) for reply in replies]

    def _granted(self, item: dict[str, Any], contact: Identity | None) -> dict[str, Any]:
        return item if contact is None else self.grants.reply(item, contact.contact_id)

    # Pages ---------------------------------------------------------------------------------------

    async def page(self, request: Request) -> Response:
        """The chat page: bound (the chat) or a guest (the sign-in form, or the privacy notice of ?code).
        A bound browser opening an invite link again (the link kept in a WeChat message) goes straight
        to its chat; only a link that would bind it to another unit or role shows that notice."""
        contact = await self._contact(request)
        if contact is not None and request.url.path == "/join":
            code = request.query_params.get("code", "")
            if not (
                _plausible_code(code) and await run_in_threadpool(self.engine.invite_rebinds, code, contact)
            ):
                return RedirectResponse("/", status_code=303)
        guest_nonce: str | None = None
        role: str = ""
        if contact is not None:
            who = contact.who
            csrf, state, role = self.signer.csrf(csrf_holder(contact)), "bound", contact.role
        else:
            guest_nonce = self.signer.unsign("guest", request.cookies.get(GUEST_COOKIE))
            guest_nonce = guest_nonce or secrets.token_urlsafe(18)
            who, csrf, state, role = "", self.signer.csrf(f"guest:{guest_nonce}"), "guest", ""
        body = fill(
            self.assets.chat_page,
            raw_trial=self._trial_banner,
            csrf=csrf,
            state=state,
            role=role,
            who=who,
            upload_max=str(PHOTO_MAX_BYTES),
            video_max=str(VIDEO_MAX_BYTES),
            contact_line=self.engine.contact_line,
        )
        response = HTMLResponse(body)
        if guest_nonce is not None:
            response.set_cookie(
                GUEST_COOKIE,
                self.signer.sign("guest", guest_nonce),
                max_age=GUEST_MAX_AGE,
                httponly=True,
                samesite="strict",
                secure=self._secure(request),
            )
        return response

    async def status_page(self, request: Request) -> Response:
        """组联部 see every unit; a unit's contact sees their own unit (as with /status in the chat)."""
        contact = await self._contact(request)
        if contact is None:
            return self.message_page(401, NEED_SIGN_IN)
        area = request.query_params.get("area") if contact.supervisor else None
        report = await run_in_threadpool(self.engine.status, contact, area)
        if report is None:
            return self.message_page(404, f"没有“{area}”这个区域。")
        title = "报送进度" if contact.supervisor else "本单位报送进度"
        page = fill(
            self.assets.status_page,
            title=title,
            raw_trial=self._trial_banner,
            raw_report=status_html(report, link_units=contact.supervisor),
        )
        log.info("status page shown to contact %s", contact.contact_id)
        return HTMLResponse(page)

    def message_page(self, status: int, text: str, raw_after: str = "") -> HTMLResponse:
        """A page that says one thing (a refusal, a missing file, the service under maintenance),
        with ``raw_after`` (trusted HTML: the choices it offers) under it."""
        page = fill(
            self.assets.status_page,
            title=MESSAGE_PAGE_TITLES.get(status, "提示"),  # the page adds “· 妇联表格报送助手”
            raw_trial=self._trial_banner,
            raw_report=f"<p>{html.escape(text)}</p>{raw_after}",
        )
        return HTMLResponse(page, status_code=status)

    async def script(self, _request: Request) -> Response:
        return Response(self.assets.script, media_type="text/javascript; charset=utf-8")

    async def styles(self, _request: Request) -> Response:
        return Response(self.assets.styles, media_type="text/css; charset=utf-8")

    async def icon(self, _request: Request) -> Response:
        """The site's icon (an SVG, also at /favicon.ico, where browsers look for it unasked)."""
        return Response(
            self.assets.icon, media_type="image/svg+xml", headers={"Cache-Control": "public, max-age=86400"}
        )

    # Signing in ----------------------------------------------------------------------------------

    async def join(self, request: Request) -> Response:
        """The privacy notice for an invite code (nothing is stored), or why the code cannot be used."""
        code = request.query_params.get("code", "").strip()
        await self._throttle(request, code[:MAX_CODE_CHARS])
        if not _plausible_code(code):
            replies = [Reply(INVITE_UNKNOWN.format(contact=self.engine.contact_line))]
        else:
            guest = Inbound(CHANNEL, f"guest@{_address(request)}", f"/start {code}")  # nothing is stored
            replies = await run_in_threadpool(self.engine.handle, guest)
        if not any(reply.consent_for for reply in replies):
            self._failed_attempt(request)
        return JSONResponse({"replies": self._replies(replies)})

    async def consent(self, request: Request) -> Response:
        """同意 / 不同意 on the privacy notice; on 同意 the browser is bound and gets its session cookie."""
        if not self._same_origin(request):
            return _error(403, REFUSED_ORIGIN)
        contact = await self._contact(request)
        given = request.headers.get(CSRF_HEADER, "")
        guest = self.signer.unsign("guest", request.cookies.get(GUEST_COOKIE))
        if contact is not None and self.signer.check_csrf(csrf_holder(contact), given):
            # a bound browser taking a new invite: the same identity (a 企业微信 member's: a new one)
            user_id = contact.user_id if contact.channel == CHANNEL else secrets.token_urlsafe(18)
        elif guest is not None and self.signer.check_csrf(f"guest:{guest}", given):
            user_id = secrets.token_urlsafe(18)
        else:
            log.warning("consent refused: missing or wrong CSRF token")
            return _error(403, REFUSED_ORIGIN)
        body = await _json_body(request, too_large=BAD_REQUEST)
        menu, text = body.get("menu"), body.get("text")
        if not isinstance(menu, str) or not isinstance(text, str) or not menu.startswith(CONSENT_BUTTONS):
            raise Refusal(400, BAD_REQUEST, "consent body without its menu and text")
        if len(menu) > MAX_CODE_CHARS + len(CONSENT_BUTTONS) or len(text) > 20:
            raise Refusal(400, BAD_REQUEST, "consent body too long")
        code = menu.removeprefix(CONSENT_BUTTONS)
        await self._throttle(request, code)
        replies = await self._handle(Inbound(CHANNEL, user_id, text=text, consent_for=code))
        bound = await run_in_threadpool(self.engine.identity, CHANNEL, user_id)
        payload: dict[str, Any] = {"replies": self._replies(replies), "bound": False}
        if bound is None:
            if text.strip() not in ("2", "不同意"):  # declining is no failed guess
                self._failed_attempt(request)
            return JSONResponse(payload)
        log.info("web browser bound to contact %s", bound.contact_id)
        payload.update(bound=True, csrf=self.signer.csrf(f"user:{user_id}"), role=bound.role, who=bound.who)
        payload["replies"] = self._replies(replies, bound)
        response = JSONResponse(payload)
        self._signed_in(request, response, user_id)
        response.delete_cookie(GUEST_COOKIE, httponly=True, samesite="strict", secure=self._secure(request))
        return response

    def sign_in_as(self, request: Request, response: Response, contact: Identity) -> None:
        """Sign the browser in as ``contact`` (a 企业微信 member's, by ``bot.wecom_sign_in``)."""
        self._signed_in(request, response, session_value(contact.channel, contact.user_id))

    def _signed_in(self, request: Request, response: Response, session: str) -> None:
        """The browser's session cookie: who it speaks as from now on (``session_value``), signed."""
        response.set_cookie(
            SESSION_COOKIE,
            self.signer.sign("session", session),
            max_age=self.settings.web_session_days * 24 * 3600,
            httponly=True,
            samesite="lax",
            secure=self._secure(request),
        )

    # Chatting ------------------------------------------------------------------------------------

    async def start(self, request: Request) -> Response:
        """A page load: the conversation so far, the greeting (or the question where the contact left
        off), then the notices that came meanwhile. Lines and notices carry their ids; ``seen`` is
        the last one, from where the page's stream and poll go on."""
        contact = await self._bound(request)
        if isinstance(contact, Response):
            return contact
        history = await run_in_threadpool(self.engine.chat_lines_after, contact.contact_id, 0)
        seen = history[-1][0] if history else 0
        replies = await self._handle(Inbound(contact.channel, contact.user_id, "/start"))
        # Taken last: should the greeting fail (the database away), the notices are still waiting.
        seen, notices = await run_in_threadpool(self._new_notices, contact, seen)
        log.info("web page of contact %s opened (%d notices)", contact.contact_id, len(notices))
        lines = [
            self._granted({"speaker": speaker, "id": line_id, **payload}, contact)
            for line_id, speaker, payload in history
        ]
        return JSONResponse(
            {"history": lines, "notices": notices, "replies": self._replies(replies, contact), "seen": seen}
        )

    async def notices(self, request: Request) -> Response:
        """The page's poll: the notices after line ``after`` (the last the page has; without it,
        only those that come now), for a page whose stream is down."""
        contact = await self._bound(request)
        if isinstance(contact, Response):
            return contact
        body = await _json_body(request, too_large=BAD_REQUEST)
        given = body.get("after")
        after = given if isinstance(given, int) and 0 <= given < 2**63 else None
        if after is None:
            after = await run_in_threadpool(self._last_line, contact)
        seen, notices = await run_in_threadpool(self._new_notices, contact, after)
        return JSONResponse({"notices": notices, "seen": seen})

    async def events(self, request: Request) -> Response:
        """The open page's stream of notices (Server-Sent Events), to every open page of the person:
        each notice as a ``notice`` event with its line's id the moment it is queued
        (``bot.live_notices``); a ``beat`` with the last line's id at once and now and then, so that
        proxies keep the stream open and the page knows it lives; an end after ``STREAM_FOR``
        seconds (the page reconnects, and who it is, is checked again), or a ``replaced`` event when
        newer pages of the person took its place (``PER_PERSON``). The stream goes on after the
        page's ``Last-Event-ID`` (a reconnect), else its ``?after=``: a notice written into a
        connection that died is offered again. A 企业微信 member's notices go to their phone: 204,
        which tells the page's EventSource not to come back."""
        origin = request.headers.get("origin")
        if origin is not None and not self._same_origin(request):
            log.warning("event stream refused: foreign origin")
            return _error(403, REFUSED_ORIGIN)
        if "text/event-stream" not in request.headers.get("accept", ""):
            # Not the page's EventSource: a link followed from elsewhere would take the notices
            # (the session cookie goes along with a top-level navigation) and show them raw.
            return _error(400, BAD_REQUEST)
        contact = await self._contact(request)
        if contact is None:
            return _error(401, NEED_SIGN_IN)
        if contact.channel != CHANNEL:
            return Response(status_code=204)
        if not self.live.admits(contact.user_id):
            self.live.say_full()
            return _error(503, STREAMS_FULL, headers={"Connection": "close", "Retry-After": "60"})
        if request.method == "HEAD":  # the head alone: a stream never ends
            return Response(media_type="text/event-stream")
        after = plain_number(request.headers.get("last-event-id", ""), max_digits=18)
        if after is None:
            after = plain_number(request.query_params.get("after", ""), max_digits=18)
        if self._looking is None or self._looking.done():
            self._looking = asyncio.create_task(self.live.run(asyncio.Event()))
        return StreamingResponse(
            self._notice_stream(contact, after),
            media_type="text/event-stream",
            # nginx: pass each event on at once; the connection closes with the stream, so that a
            # stream ended for a newer one frees its socket.
            headers={"X-Accel-Buffering": "no", "Connection": "close"},
        )

    async def _notice_stream(self, contact: Identity, after: int | None) -> AsyncIterator[str]:
        ends = time.monotonic() + STREAM_FOR
        yield "retry: 3000\n\n"
        with self.live.listening(contact.user_id) as seat:
            seen = await run_in_threadpool(self._last_line, contact) if after is None else after
            yield f"id: {seen}\nevent: beat\ndata: {seen}\n\n"  # where a reconnect goes on from
            while not seat.ended and not self.live.closed and time.monotonic() < ends:
                if seat.bell.is_set():
                    seat.bell.clear()
                    seen, notices = await run_in_threadpool(self._new_notices, contact, seen)
                    for notice in notices:
                        data = json.dumps(notice, ensure_ascii=False)
                        yield f"id: {notice['id']}\nevent: notice\ndata: {data}\n\n"
                    continue
                try:
                    await asyncio.wait_for(
                        seat.bell.wait(), timeout=min(HEARTBEAT_EVERY, ends - time.monotonic())
                    )
                except TimeoutError:
                    yield f"event: beat\ndata: {seen}\n\n"
                    seat.bell.set()  # and look: another process may have taken a notice for this person
            if seat.replaced:  # the page stops listening until it is looked at again
                yield "event: replaced\ndata: \n\n"

    def _last_line(self, contact: Identity) -> int:
        """The id of the conversation's last line (0 for none)."""
        lines = self.engine.chat_lines_after(contact.contact_id, 0)
        return lines[-1][0] if lines else 0

    def _new_notices(self, contact: Identity, after: int) -> tuple[int, list[dict[str, Any]]]:
        """The notices queued for this browser taken into its conversation (returns, reminders; each
        once, whichever page takes it), then every notice of the conversation after line ``after``,
        with its id, and the last line's id. A 企业微信 member's notices reach their phone instead."""
        if contact.channel != CHANNEL:
            return after, []

        def keep(notices: list[Reply]) -> None:
            self.engine.remember_chat(contact.contact_id, [("notice", reply_json(n)) for n in notices])

        if self.engine.notices(CHANNEL, contact.user_id, keep):
            self.live.wake_soon(contact.user_id)  # the person's other open pages show them too
        lines = self.engine.chat_lines_after(contact.contact_id, after)
        notices = [
            self._granted({"id": line_id, **payload}, contact)
            for line_id, speaker, payload in lines
            if speaker == "notice"
        ]
        return (lines[-1][0] if lines else after), notices

    async def message(self, request: Request) -> Response:
        """A typed message, or a pressed button (its number with the reply's menu token)."""
        contact = await self._bound(request)
        if isinstance(contact, Response):
            return contact
        body = await _json_body(request, too_large=TEXT_TOO_LONG)
        text, menu = body.get("text"), body.get("menu")
        if not isinstance(text, str) or not (menu is None or (isinstance(menu, str) and len(menu) <= 64)):
            raise Refusal(400, BAD_REQUEST, "message body without a text")
        if len(text) > MAX_TEXT_CHARS:
            raise Refusal(413, TEXT_TOO_LONG, f"message of {len(text)} characters refused")
        inbound = Inbound(contact.channel, contact.user_id, text=text, menu=menu or None)
        shown = body.get("shown")  # a pressed button's label, as the page showed it
        pressed = menu and isinstance(shown, str) and len(shown) <= 200
        said = {"text": clean_text(str(shown)).text if pressed else inbound.text}  # kept: cleaned as typed
        replies = await self._handle(inbound, _message_id(body.get("id")), Said(contact.contact_id, said))
        log.info("web message of contact %s: %d replies", contact.contact_id, len(replies))
        return JSONResponse({"replies": self._replies(replies, contact)})

    async def upload(self, request: Request) -> Response:
        """One photo or one MP4 video as the request body (several photos: several requests, in
        order). What it is, is read from its bytes, not from its name or declared type."""
        contact = await self._bound(request)
        if isinstance(contact, Response):
            return contact
        video = request.headers.get("content-type", "").startswith("video/")
        limit = VIDEO_MAX_BYTES if video else PHOTO_MAX_BYTES
        name = unquote(request.headers.get(FILE_NAME_HEADER, ""))[-100:] or None
        spooled = self.engine.spool_path() if video else None
        try:
            file = await self._received_file(request, limit, name, spooled)
            if isinstance(file, Response):
                return file
            file = await run_in_threadpool(self.engine.check_file, file)  # not inside the group's transaction
            message_id = _message_id(request.headers.get(MESSAGE_ID_HEADER))
            said = Said(contact.contact_id, _file_line(file))
            replies = await self._handle(
                Inbound(contact.channel, contact.user_id, file=file), message_id, said
            )
        finally:
            if spooled is not None:  # stored (moved into place) or refused: the temporary goes
                spooled.unlink(missing_ok=True)
        log.info(
            "web %s of contact %s (%s bytes): %d replies",
            file.kind,
            contact.contact_id,
            file.size,
            len(replies),
        )
        return JSONResponse({"replies": self._replies(replies, contact)})

    async def _received_file(
        self, request: Request, limit: int, name: str | None, spooled: Path | None
    ) -> IncomingFile | Response:
        """The upload as the engine takes it, or the refusal: too large (413), neither a photo nor an
        MP4 (415), an MP4 cut short or damaged (422). A video is written to ``spooled`` as it arrives
        and read from there (a 300 MB upload never sits in memory); a photo (≤10 MB) is read whole."""
        declared = _declared_length(request)
        try:
            if spooled is None:
                data = await _limited_body(request, limit)
                if data is None:
                    log.info("upload refused: larger than %d bytes", limit)
                    return _error(413, photo_too_large(declared))
                file = uploaded_file(data, name)
            else:
                if not await _spool_body(request, limit, spooled):
                    log.info("upload refused: larger than %d bytes", limit)
                    return _error(413, video_too_large(declared))
                file = await run_in_threadpool(spooled_video_file, spooled, file_name=name)
        except VideoDamaged as damaged:
            log.info("upload refused: an MP4 whose media is not all in the file")
            return _error(422, str(damaged))
        if file is None:
            log.info("upload refused: neither photo nor MP4")
            suffix = Path(name or "").suffix.lower()
            if suffix in _PHOTO_SUFFIXES or suffix == ".mp4":
                return _error(415, NOT_WHAT_ITS_NAME_SAYS.format(suffix=suffix))
            return _error(415, NOT_A_PHOTO)
        return file

    # Files ---------------------------------------------------------------------------------------

    async def download(self, request: Request) -> Response:
        """A submission's DOCX by number (and version): the unit's own contacts and 组联部; others 404."""
        submission_id = int(request.path_params["submission_id"])
        contact = await self._viewer(request, "submission")
        if isinstance(contact, Response):
            return contact
        ref = DocumentRef("submission", str(submission_id), plain_number(request.query_params.get("v", "")))
        return await self._send_document(contact, ref, f"submission {submission_id}")

    async def download_export(self, request: Request) -> Response:
        """An export ZIP made by /export, for 组联部 only; anyone else, or any other name, gets 404."""
        contact = await self._viewer(request, "export")
        if isinstance(contact, Response):
            return contact
        return await self._send_document(
            contact, DocumentRef("export", str(request.path_params["name"])), "an export"
        )

    async def photo(self, request: Request) -> Response:
        """A stored photo (or video, under /files/videos/) by its hash, shown in the chat (the photo a
        caption is asked for, the photos and videos of a submission under 查看 and in the review): to
        whom the engine lets see it; others 404."""
        contact = await self._viewer(request, "photo")
        if isinstance(contact, Response):
            return contact
        sha256 = str(request.path_params["sha256"])[:64]
        video = request.url.path.startswith("/files/videos/")
        ref = DocumentRef("video", sha256) if video else DocumentRef("photo", sha256)
        return await self._send_document(contact, ref, f"a {ref.kind}", inline=True)

    async def _viewer(
        self, request: Request, kind: Literal["submission", "export", "photo"]
    ) -> Identity | Response:
        """Who opens a file: the contact its link's grant names, while the grant lasts (in any browser,
        WeChat's or the system's); else this browser's own session. Otherwise a page that says why:
        the link's day is over (and how to get a new one), its contact revoked, or no one signed in."""
        grant = self.grants.read(request.scope["path"], request.query_params)
        granted = None
        if grant is not None:
            granted = await run_in_threadpool(self.engine.identity_of, grant.contact_id)
            if granted is not None and not grant.expired:
                return granted
        contact = await self._contact(request)
        if contact is not None:
            return contact
        if grant is None:
            return self.message_page(401, NEED_SIGN_IN)
        if granted is None:
            log.info("download refused: the link's contact %s is revoked", grant.contact_id)
            return self.message_page(403, LINK_REVOKED.format(contact=self.engine.contact_line))
        log.info("download refused: the link of contact %s has expired", grant.contact_id)
        return self.message_page(410, link_expired(kind, supervisor=granted.supervisor))

    async def _send_document(
        self, contact: Identity, ref: DocumentRef, what: str, *, inline: bool = False
    ) -> Response:
        opened = await run_in_threadpool(self.engine.open_document, ref, contact)
        if opened is None:
            log.info("download of %s refused or missing for contact %s", what, contact.contact_id)
            return self.message_page(404, FILE_NOT_FOUND)
        log.info("contact %s downloaded %s", contact.contact_id, what)
        if inline and ref.kind == "photo" and opened.mime not in BROWSER_IMAGES:
            # an iPhone's HEIC: shown as the JPEG the Word form gets (upright, 1600 px at most)
            preview = await run_in_threadpool(prepare_photo, opened.path)
            name = f"{Path(opened.file_name).stem}.{preview.extension}"
            return Response(
                preview.data,
                media_type="image/png" if preview.extension == "png" else "image/jpeg",
                headers={"Content-Disposition": f'inline; filename="{quote(name)}"'},
            )
        return FileResponse(
            opened.path,
            media_type=opened.mime,
            filename=opened.file_name,
            content_disposition_type="inline" if inline else "attachment",
        )


@dataclass(frozen=True)
class Said:
    """What a person sent, as their conversation keeps it: ``{"text"}``, ``{"photo": sha256}`` (empty
    when the photo was refused) or ``{"video": name}``."""

    contact_id: int
    line: dict[str, Any]


def _file_line(file: IncomingFile) -> dict[str, Any]:
    if file.kind == "video":
        return {"video": file.file_name or "视频"}
    value = file.checked.value if isinstance(file.checked, Accepted) else None
    return {"photo": str(value.get("sha256", "")) if isinstance(value, dict) else ""}


def _plausible_code(code: str) -> bool:
    """Whether ``code`` could be an invite code at all (ASCII letters and digits, not too long)."""
    code = code.strip()
    return bool(code) and len(code) <= MAX_CODE_CHARS and code.isascii() and code.isalnum()


def _declared_length(request: Request) -> int | None:
    """The body's size as the client declared it (Content-Length), if it is a plain number."""
    return plain_number(request.headers.get("content-length", ""), max_digits=15)


def _message_id(given: object) -> str | None:
    """The page's own id for a message (letters, digits, ``-`` and ``_``, up to 40), if it sent one."""
    if not isinstance(given, str) or not 0 < len(given) <= 40 or not given.isascii():
        return None
    return given if all(char.isalnum() or char in "-_" for char in given) else None


def session_value(channel: str, user_id: str) -> str:
    """What a session cookie holds (signed): a web user's id, or “wecom:UserID” for a 企业微信 member
    signed in through WeCom (the same contact as in the app chat)."""
    return user_id if channel == CHANNEL else f"{channel}:{user_id}"


def speaker_of(session: str) -> tuple[str, str]:
    """The channel and user id a session cookie speaks as (``session_value`` read back). A web id
    never holds a colon (``secrets.token_urlsafe``)."""
    channel, colon, user_id = session.partition(":")
    return (channel, user_id) if colon and channel == WECOM_CHANNEL else (CHANNEL, session)


def csrf_holder(contact: Identity) -> str:
    return f"user:{session_value(contact.channel, contact.user_id)}"


def web_update_id(user_id: str, message_id: str) -> int:
    """The inbox key of a web message: a 63-bit hash of the browser's identity and the page's id, so
    that ids chosen by different pages never meet."""
    digest = hashlib.sha256(f"{user_id}|{message_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def _address(request: Request) -> str:
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


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


async def _json_body(request: Request, *, too_large: str) -> dict[str, Any]:
    """The request's JSON object; a ``Refusal`` when it is larger than ``MAX_JSON_BYTES`` (413 with
    ``too_large``), not JSON, nested too deep to parse, or not an object (400 ``BAD_REQUEST``)."""
    data = await _limited_body(request, MAX_JSON_BYTES)
    if data is None:
        raise Refusal(413, too_large, "body over the JSON limit")
    try:
        body = json.loads(data)
    except (ValueError, RecursionError):
        raise Refusal(400, BAD_REQUEST, "body is not JSON (or nested too deep)") from None
    if not isinstance(body, dict):
        raise Refusal(400, BAD_REQUEST, "body is not a JSON object")
    return body


async def _spool_body(request: Request, limit: int, path: Path) -> bool:
    """Write the request body to ``path`` as it arrives; False (and no file) as soon as it is known
    to be larger than ``limit`` bytes. Flushed to disk before it is taken as received."""
    declared = _declared_length(request)
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


async def _limited_body(request: Request, limit: int) -> bytes | None:
    """The request body, or None as soon as it is known to be larger than ``limit`` bytes."""
    declared = _declared_length(request)
    if declared is not None and declared > limit:
        return None
    received = bytearray()
    async for chunk in request.stream():
        received += chunk
        if len(received) > limit:
            return None
    return bytes(received)


# The app -------------------------------------------------------------------------------------------


def _webhook(channel: TelegramChannel, webhook_secret: str) -> Handler:
    async def webhook(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not webhook_secret or not hmac.compare_digest(given.encode(), webhook_secret.encode()):
            log.warning("webhook request refused: wrong or missing secret token")
            return JSONResponse({"ok": False}, status_code=403)
        data = await _limited_body(request, MAX_UPDATE_BYTES)
        try:
            payload = json.loads(data) if data is not None else None
        except (ValueError, RecursionError):
            payload = None
        if not isinstance(payload, dict) or not isinstance(payload.get("update_id"), int):
            log.info("webhook request refused: not an update")
            return JSONResponse({"ok": False}, status_code=400)
        # Stored (or recognised as a duplicate) before Telegram hears 200; with the database
        # unavailable the boundary answers 503 and Telegram sends the update again later.
        await run_in_threadpool(channel.receive, payload)
        return JSONResponse({"ok": True})

    return webhook


def _healthz(engine: DialogEngine) -> Handler:
    async def healthz(_request: Request) -> Response:
        """``ok`` when the database answers (and, for SQLite, is still the file at the configured path)."""
        try:
            await run_in_threadpool(engine.check_health)
        except DatabaseFileGone as error:
            availability.failed(error)
            return PlainTextResponse(DATABASE_FILE_GONE, status_code=503)
        return PlainTextResponse("ok")

    return healthz


def build_app(
    engine: DialogEngine,
    settings: Settings,
    telegram: TelegramChannel | None = None,
    webhook_secret: str = "",
    wecom: WeComChannel | None = None,
) -> Starlette:
    """The one ASGI app: the web chat, its API and downloads, the status page, ``/healthz``, the
    Telegram webhook (only when a Telegram channel and a secret are given) and the 企业微信 callback
    (when that channel is configured)."""
    chat = WebChat(engine, settings, wecom=wecom)
    routes = [Route("/healthz", _healthz(engine)), *chat.routes()]
    if telegram is not None and webhook_secret:
        routes.append(Route(WEBHOOK_PATH, _webhook(telegram, webhook_secret), methods=["POST"]))
    if wecom is not None:
        routes += callback_routes(wecom)

    async def no_such_route(request: Request, error: Exception) -> Response:
        """An address or method no route takes: Chinese words, as everywhere else."""
        status = error.status_code if isinstance(error, HTTPException) else 404
        message = NO_SUCH_PAGE if status == 404 else BAD_REQUEST
        return (
            _error(status, message)
            if _answers_in_json(request.url.path)
            else chat.message_page(status, message)
        )

    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(ErrorBoundary, page=chat.message_page),
            Middleware(BodyDeadline),
        ],
        exception_handlers={HTTPException: no_such_route},
    )
    app.state.live = chat.live  # closed before the server stops (``stop_streams``)
    return app


def stop_streams(app: Starlette) -> None:
    """End the open pages' event streams, so that the server can stop: it waits for every response
    to finish, and a stream never does on its own. Any other app: nothing to do."""
    live = getattr(app.state, "live", None)
    if isinstance(live, LiveNotices):
        live.close()


class StreamingServer(uvicorn.Server):
    """uvicorn's server, which on SIGTERM or Ctrl+C first ends the open pages' event streams: it
    waits for every response to finish before it stops, and a stream would hold it for minutes."""

    def __init__(self, config: uvicorn.Config, app: Starlette) -> None:
        super().__init__(config)
        self.app = app

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        stop_streams(self.app)
        super().handle_exit(sig, frame)


def public_url(settings: Settings, path: str) -> str:
    """An address of this service as people (and WeCom) reach it: on the public address when set,
    else on the local one."""
    base = settings.web_url.rstrip("/") or f"http://{settings.host}:{settings.port}"
    return f"{base}{path}"


def join_link(settings: Settings, code: str) -> str:
    """The web chat's invite link for a code."""
    return public_url(settings, f"/join?code={code}")


async def serve_web(
    settings: Settings,
    engine: DialogEngine,
    stop: asyncio.Event,
    telegram: TelegramChannel | None = None,
    webhook_secret: str = "",
    *,
    send_nudges: bool = True,
) -> None:
    """Serve the app on ``settings.host:settings.port`` until ``stop`` is set.

    With ``send_nudges`` the deadline reminders that are due are queued once a minute (each is
    recorded before it is queued, so a second process doing the same sends nothing twice); web
    contacts see them as notices on their next page load, 企业微信 members on their phones. With the
    ``WECOM_*`` settings the 企业微信 channel runs here too: its callback beside the web chat, its
    inbox and outbox in this process. The exports 组联部 were promised are made here too, apart from
    the messages (``bot.delivery.exports``). How uvicorn serves (deadlines, trusted proxies, no access
    log: invite links carry their code in the query string): ``bot.http_edge``. The open-file limit is
    raised as far as allowed; event streams and connections are kept well under it.
    """
    wecom = WeComChannel(settings, engine) if settings.wecom_enabled else None
    app = build_app(engine, settings, telegram, webhook_secret, wecom)
    open_files = raise_open_file_limit()
    live = app.state.live
    live.most = streams_for(open_files, live.most)
    asyncio.get_running_loop().set_exception_handler(OutOfFiles())
    uvicorn_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(given, OncePerMinute) for given in uvicorn_log.filters):
        uvicorn_log.addFilter(OncePerMinute())
    server = StreamingServer(server_config(app, settings, open_files), app)
    serving = asyncio.create_task(server.serve())
    nudging = asyncio.create_task(run_reminders(engine, stop)) if send_nudges else None
    exporting = asyncio.create_task(run_exports(engine, stop))
    pushing = asyncio.create_task(run_channel(wecom.inbox, wecom.dispatcher, stop)) if wecom else None
    log.info("web chat serving on %s:%s%s", settings.host, settings.port, " with 企业微信" if wecom else "")
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stop_streams(app)
    server.should_exit = True
    stopping.cancel()
    others = [task for task in (nudging, pushing, exporting) if task is not None]
    for task in others:
        task.cancel()
    await asyncio.gather(serving, *others, return_exceptions=True)
