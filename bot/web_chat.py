"""The web chat itself: its pages (the chat, 组联部's status page, a page that says one thing), signing
a browser in (an invite code, the privacy notice, “同意”) and the chat API (a page load, a message, an
upload). The notices (``bot.web_events``) and files (``bot.web_files``) are routes of their own.

A few lines over ~600: the pages, the sign-in and the chat API share one session and CSRF handling.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import logging
import secrets
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from bot.delivery import GroupCommit
from bot.delivery.compose import CONSENT_BUTTONS
from bot.delivery.together import Work
from bot.download_grants import DownloadGrants
from bot.mp4_probe import VideoDamaged, spooled_video_file
from bot.settings import Settings
from bot.web_edge import (
    BAD_REQUEST,
    CHANNEL,
    CSRF_HEADER,
    GUEST_COOKIE,
    NEED_SIGN_IN,
    REFUSED_ORIGIN,
    SESSION_COOKIE,
    Refusal,
    Signer,
    client_address,
    csrf_holder,
    declared_length,
    error_json,
    json_body,
    limited_body,
    member_session,
    person_key,
    session_key,
    session_value,
    spool_body,
)
from bot.web_events import WebEvents
from bot.web_files import WebFiles
from bot.web_replies import reply_json, status_html
from bot.web_uploads import uploaded_file
from bot.wecom import WeComChannel
from bot.wecom_sign_in import WeComSignIn
from dialogs.chinese_text import clean_text
from dialogs.engine import TOO_MANY_TRIES, DialogEngine
from dialogs.exchange import Identity, Inbound, IncomingFile, Reply
from dialogs.failures import failure_line
from dialogs.invites import INVITE_UNKNOWN, FailedAttempts
from dialogs.privacy import TRIAL_NOTE
from dialogs.validators import PHOTO_MAX_BYTES, VIDEO_MAX_BYTES, Accepted, photo_too_large, video_too_large

log = logging.getLogger(__name__)

FILE_NAME_HEADER = "X-File-Name"
MESSAGE_ID_HEADER = "X-Message-Id"
PAGE_DIR = Path(__file__).resolve().parent / "web_page"
MAX_TEXT_CHARS = 10_000
MAX_CODE_CHARS = 40
GUEST_MAX_AGE = 24 * 3600

TEXT_TOO_LONG = f"这条消息太长了（超过 {MAX_TEXT_CHARS} 字），请分几次发送。"
ALREADY_RECEIVED = "（刚才这条已经收到，不会重复保存。）"
NOT_A_PHOTO = "只能发送照片（JPG、PNG、WEBP 或 HEIC 格式）或 MP4 视频，这个文件没有收到。"
NOT_WHAT_ITS_NAME_SAYS = (
    "这个文件名以 {suffix} 结尾，但里面不是真正的照片或视频（可能已损坏，或只是改了文件名），没有收到。"
    "请重新拍摄，或从相册里选原图发送。"
)
_PHOTO_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif"}
#: A message page's title by its status (the page's <title> adds “ · 妇联表格报送助手”).
MESSAGE_PAGE_TITLES = {401: "请先登录", 403: "无法打开", 404: "找不到", 503: "暂停服务"}

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

        self.events = WebEvents(self)
        self.files = WebFiles(self)

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
            *self.events.routes(),
            *self.files.routes(),
            *(self.wecom_sign_in.routes() if self.wecom_sign_in is not None else []),
        ]

    # Who is asking -------------------------------------------------------------------------------

    def _session(self, request: Request) -> str | None:
        return self.signer.unsign("session", request.cookies.get(SESSION_COOKIE))

    async def signed_in_contact(self, request: Request) -> Identity | None:
        """The bound, active contact of this browser, or None.

        Looked up at every request (one indexed query): a contact revoked with ``intake contacts
        --revoke`` is refused from its next request on, a download included."""
        session = self._session(request)
        if session is None:
            return None
        member = member_session(session)
        if member is None:
            return await run_in_threadpool(self.engine.identity, CHANNEL, session)
        contact = await run_in_threadpool(self.engine.identity_of, *member)
        return contact if contact is not None and contact.channel != CHANNEL else None

    def secure(self, request: Request) -> bool:
        return request.url.scheme == "https" or self.settings.web_url.startswith("https://")

    def same_origin(self, request: Request) -> bool:
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
        if self.attempts.allowed(client_address(request)):
            return
        if not await run_in_threadpool(self.engine.invite_usable, code):
            message = TOO_MANY_TRIES.format(contact=self.engine.contact_line)
            raise Refusal(429, message, "too many failed invite or consent attempts from one address")

    def _failed_attempt(self, request: Request) -> None:
        self.attempts.failed(client_address(request))

    async def bound_contact(self, request: Request) -> Identity | Response:
        """The contact behind a state-changing API call, or the refusal (403 origin/token, 401 unbound)."""
        if not self.same_origin(request):
            log.warning("web request refused: foreign or missing origin")
            return error_json(403, REFUSED_ORIGIN)
        session = self._session(request)
        if session is None:
            return error_json(401, NEED_SIGN_IN)
        # Looked up holding the person's lock, which ``_handle`` takes next: the lock is fair, so a
        # browser's messages reach the engine in the order they came, however long each lookup takes.
        async with self._lock(session):
            contact = await self.signed_in_contact(request)
        if contact is None:
            return error_json(401, NEED_SIGN_IN)
        if not self.signer.check_csrf(csrf_holder(contact), request.headers.get(CSRF_HEADER, "")):
            log.warning("web request of contact %s refused: missing or wrong CSRF token", contact.contact_id)
            return error_json(403, REFUSED_ORIGIN)
        return contact

    async def _handle(
        self,
        inbound: Inbound,
        message_id: str | None = None,
        said: Said | None = None,
        contact: Identity | None = None,
    ) -> list[Reply]:
        """One message through the engine, one at a time per web user (``contact``'s session, the
        lock ``bound_contact`` took); the messages of different users that arrive together share one
        transaction (``bot.delivery.GroupCommit``). With ``said``, the message and its answers are
        kept as lines of the conversation (for a reload)."""
        if self._serving is None or self._serving.done():
            self._serving = asyncio.create_task(self.together.serve())
        held = session_value(contact) if contact is not None else person_key(inbound.channel, inbound.user_id)
        async with self._lock(held):
            replies = await self.together.handle(self._work(inbound, message_id, said))
        self.events.live.ring()  # it may have queued a notice for an open page (a 退回, an 已接收)
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
                update_id = web_update_id(person_key(inbound.channel, inbound.user_id), message_id)
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
        return [self.granted(reply_json(reply), contact) for reply in replies]

    def granted(self, item: dict[str, Any], contact: Identity | None) -> dict[str, Any]:
        return item if contact is None else self.grants.reply(item, contact.contact_id, contact.binding)

    # Pages ---------------------------------------------------------------------------------------

    async def page(self, request: Request) -> Response:
        """The chat page: bound (the chat) or a guest (the sign-in form, or the privacy notice of ?code).
        A bound browser opening an invite link again (the link kept in a WeChat message) goes straight
        to its chat; only a link that would bind it to another unit or role shows that notice."""
        contact = await self.signed_in_contact(request)
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
                secure=self.secure(request),
            )
        return response

    async def status_page(self, request: Request) -> Response:
        """组联部 see every unit; a unit's contact sees their own unit (as with /status in the chat)."""
        contact = await self.signed_in_contact(request)
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
            guest = Inbound(
                CHANNEL, f"guest@{client_address(request)}", f"/start {code}"
            )  # nothing is stored
            replies = await run_in_threadpool(self.engine.handle, guest)
        if not any(reply.consent_for for reply in replies):
            self._failed_attempt(request)
        return JSONResponse({"replies": self._replies(replies)})

    async def consent(self, request: Request) -> Response:
        """同意 / 不同意 on the privacy notice; on 同意 the browser is bound and gets its session cookie."""
        if not self.same_origin(request):
            return error_json(403, REFUSED_ORIGIN)
        contact = await self.signed_in_contact(request)
        given = request.headers.get(CSRF_HEADER, "")
        guest = self.signer.unsign("guest", request.cookies.get(GUEST_COOKIE))
        if contact is not None and self.signer.check_csrf(csrf_holder(contact), given):
            # a bound browser taking a new invite: the same identity (a 企业微信 member's: a new one)
            user_id = contact.user_id if contact.channel == CHANNEL else secrets.token_urlsafe(18)
        elif guest is not None and self.signer.check_csrf(f"guest:{guest}", given):
            user_id = secrets.token_urlsafe(18)
        else:
            log.warning("consent refused: missing or wrong CSRF token")
            return error_json(403, REFUSED_ORIGIN)
        body = await json_body(request, too_large=BAD_REQUEST)
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
        response.delete_cookie(GUEST_COOKIE, httponly=True, samesite="strict", secure=self.secure(request))
        return response

    def sign_in_as(self, request: Request, response: Response, contact: Identity) -> None:
        """Sign the browser in as ``contact`` (a 企业微信 member's, by ``bot.wecom_sign_in``)."""
        self._signed_in(request, response, session_value(contact))

    def _signed_in(self, request: Request, response: Response, session: str) -> None:
        """The browser's session cookie: who it speaks as from now on (``session_value``), signed."""
        response.set_cookie(
            SESSION_COOKIE,
            self.signer.sign("session", session),
            max_age=self.settings.web_session_days * 24 * 3600,
            httponly=True,
            samesite="lax",
            secure=self.secure(request),
        )

    # Chatting ------------------------------------------------------------------------------------

    async def start(self, request: Request) -> Response:
        """A page load: the conversation so far, the greeting (or the question where the contact left
        off), then the notices that came meanwhile. Lines and notices carry their ids; ``seen`` is
        the last one, from where the page's stream and poll go on."""
        contact = await self.bound_contact(request)
        if isinstance(contact, Response):
            return contact
        history = await run_in_threadpool(self.engine.chat_lines_after, contact.contact_id, 0)
        seen = history[-1][0] if history else 0
        replies = await self._handle(Inbound(contact.channel, contact.user_id, "/start"), contact=contact)
        # Taken last: should the greeting fail (the database away), the notices are still waiting.
        seen, notices = await run_in_threadpool(self.events.new_notices, contact, seen)
        log.info("web page of contact %s opened (%d notices)", contact.contact_id, len(notices))
        lines = [
            self.granted({"speaker": speaker, "id": line_id, **payload}, contact)
            for line_id, speaker, payload in history
        ]
        return JSONResponse(
            {"history": lines, "notices": notices, "replies": self._replies(replies, contact), "seen": seen}
        )

    async def message(self, request: Request) -> Response:
        """A typed message, or a pressed button (its number with the reply's menu token)."""
        contact = await self.bound_contact(request)
        if isinstance(contact, Response):
            return contact
        body = await json_body(request, too_large=TEXT_TOO_LONG)
        text, menu = body.get("text"), body.get("menu")
        if not isinstance(text, str) or not (menu is None or (isinstance(menu, str) and len(menu) <= 64)):
            raise Refusal(400, BAD_REQUEST, "message body without a text")
        if len(text) > MAX_TEXT_CHARS:
            raise Refusal(413, TEXT_TOO_LONG, f"message of {len(text)} characters refused")
        inbound = Inbound(contact.channel, contact.user_id, text=text, menu=menu or None)
        shown = body.get("shown")  # a pressed button's label, as the page showed it
        pressed = menu and isinstance(shown, str) and len(shown) <= 200
        said = {"text": clean_text(str(shown)).text if pressed else inbound.text}  # kept: cleaned as typed
        said_line = Said(contact.contact_id, said)
        replies = await self._handle(inbound, _message_id(body.get("id")), said_line, contact)
        log.info("web message of contact %s: %d replies", contact.contact_id, len(replies))
        return JSONResponse({"replies": self._replies(replies, contact)})

    async def upload(self, request: Request) -> Response:
        """One photo or one MP4 video as the request body (several photos: several requests, in
        order). What it is, is read from its bytes, not from its name or declared type."""
        contact = await self.bound_contact(request)
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
                Inbound(contact.channel, contact.user_id, file=file), message_id, said, contact
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
        declared = declared_length(request)
        try:
            if spooled is None:
                data = await limited_body(request, limit)
                if data is None:
                    log.info("upload refused: larger than %d bytes", limit)
                    return error_json(413, photo_too_large(declared))
                file = uploaded_file(data, name)
            else:
                if not await spool_body(request, limit, spooled):
                    log.info("upload refused: larger than %d bytes", limit)
                    return error_json(413, video_too_large(declared))
                file = await run_in_threadpool(spooled_video_file, spooled, file_name=name)
        except VideoDamaged as damaged:
            log.info("upload refused: an MP4 whose media is not all in the file")
            return error_json(422, str(damaged))
        if file is None:
            log.info("upload refused: neither photo nor MP4")
            suffix = Path(name or "").suffix.lower()
            if suffix in _PHOTO_SUFFIXES or suffix == ".mp4":
                return error_json(415, NOT_WHAT_ITS_NAME_SAYS.format(suffix=suffix))
            return error_json(415, NOT_A_PHOTO)
        return file

    # Files ---------------------------------------------------------------------------------------


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


def _message_id(given: object) -> str | None:
    """The page's own id for a message (letters, digits, ``-`` and ``_``, up to 40), if it sent one."""
    if not isinstance(given, str) or not 0 < len(given) <= 40 or not given.isascii():
        return None
    return given if all(char.isalnum() or char in "-_" for char in given) else None


def web_update_id(user_id: str, message_id: str) -> int:
    """The inbox key of a web message: a 63-bit hash of the browser's identity and the page's id, so
    that ids chosen by different pages never meet."""
    digest = hashlib.sha256(f"{user_id}|{message_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1
