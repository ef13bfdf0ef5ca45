"""The one ASGI app and its server: the web chat's routes (``bot.web_chat``), ``/healthz``, the
Telegram webhook and the 企业微信 callback under one error boundary, served by uvicorn beside the
reminders, the exports and the 企业微信 and 公众号 outboxes (``serve_web``)."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from types import FrameType

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.delivery import run_exports, run_reminders
from bot.delivery.inbox import run_channel
from bot.http_edge import (
    BodyDeadline,
    OncePerMinute,
    OutOfFiles,
    raise_open_file_limit,
    server_config,
    streams_for,
)
from bot.live_notices import LiveNotices
from bot.mp import MpChannel
from bot.mp import callback_routes as mp_callback_routes
from bot.settings import Settings
from bot.telegram_channel import TelegramChannel
from bot.web_chat import WebChat
from bot.web_edge import (
    BAD_REQUEST,
    WEBHOOK_PATH,
    ErrorBoundary,
    SecurityHeaders,
    answers_in_json,
    error_json,
    limited_body,
)
from bot.wecom import WeComChannel, callback_routes
from dialogs.engine import DialogEngine
from storage.database import DatabaseFileGone, availability

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MAX_UPDATE_BYTES = 1024 * 1024  # a Telegram update is a few KB; its files come by id, not inline
DATABASE_FILE_GONE = (
    "数据库文件已被删除或替换，服务已停止接收数据。请停止服务，用 intake restore 从备份恢复。"
)
NO_SUCH_PAGE = "找不到这个页面。请从邀请链接或首页进入。"

Handler = Callable[[Request], Awaitable[Response]]


def _webhook(channel: TelegramChannel, webhook_secret: str) -> Handler:
    async def webhook(request: Request) -> Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not webhook_secret or not hmac.compare_digest(given.encode(), webhook_secret.encode()):
            log.warning("webhook request refused: wrong or missing secret token")
            return JSONResponse({"ok": False}, status_code=403)
        data = await limited_body(request, MAX_UPDATE_BYTES)
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
    mp: MpChannel | None = None,
) -> Starlette:
    """The one ASGI app: the web chat, its API and downloads, the status page, ``/healthz``, the
    Telegram webhook (only when a Telegram channel and a secret are given) and the 企业微信 and 公众号
    callbacks (when those channels are configured)."""
    chat = WebChat(engine, settings, wecom=wecom)
    routes = [Route("/healthz", _healthz(engine)), *chat.routes()]
    if telegram is not None and webhook_secret:
        routes.append(Route(WEBHOOK_PATH, _webhook(telegram, webhook_secret), methods=["POST"]))
    if wecom is not None:
        routes += callback_routes(wecom)
    if mp is not None:
        routes += mp_callback_routes(mp)

    async def no_such_route(request: Request, error: Exception) -> Response:
        """An address or method no route takes: Chinese words, as everywhere else."""
        status = error.status_code if isinstance(error, HTTPException) else 404
        message = NO_SUCH_PAGE if status == 404 else BAD_REQUEST
        return (
            error_json(status, message)
            if answers_in_json(request.url.path)
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
    app.state.live = chat.events.live  # closed before the server stops (``stop_streams``)
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
    mp = MpChannel(settings, engine) if settings.wechat_mp_enabled else None
    app = build_app(engine, settings, telegram, webhook_secret, wecom, mp)
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
    answering = asyncio.create_task(run_channel(mp.inbox, mp.dispatcher, stop)) if mp else None
    log.info("web chat serving on %s:%s%s", settings.host, settings.port, " with 企业微信" if wecom else "")
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({serving, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stop_streams(app)
    server.should_exit = True
    stopping.cancel()
    others = [task for task in (nudging, pushing, answering, exporting) if task is not None]
    for task in others:
        task.cancel()
    await asyncio.gather(serving, *others, return_exceptions=True)
