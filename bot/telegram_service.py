"""Running the Telegram channel: check the token, then long polling (default) or a webhook.

Whichever way updates arrive, they are stored before they are acknowledged; pending ones left by a
crash are processed first on start.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets

from telegram import Bot
from telegram.error import InvalidToken, NetworkError, TelegramError

from bot.app import build_engine
from bot.delivery import run_reminders
from bot.delivery.inbox import run_channel
from bot.logs import quiet_third_party_logs
from bot.public_links import PublicLinks
from bot.rate_limit import SendPacer
from bot.settings import Settings
from bot.telegram_channel import TelegramChannel
from bot.web import WEBHOOK_PATH, serve_web
from dialogs.engine import DialogEngine
from dialogs.failures import report_failure

log = logging.getLogger(__name__)

OUTAGE_PAUSE = 2.0  # seconds between tries while the database is unavailable


class TelegramUnavailable(RuntimeError):
    """The token is missing or wrong, or the Bot API cannot be reached; the message says which."""


def make_bot(settings: Settings) -> Bot:
    return Bot(
        settings.telegram_bot_token,
        base_url=settings.telegram_api_base_url,
        base_file_url=settings.telegram_file_base_url,
    )


async def start_bot(settings: Settings) -> Bot:
    """An initialised bot (getMe done), or a clear Chinese reason why not."""
    if not settings.telegram_bot_token:
        raise TelegramUnavailable("未设置 TELEGRAM_BOT_TOKEN。")
    bot = make_bot(settings)
    try:
        await bot.initialize()
    except InvalidToken as error:
        raise TelegramUnavailable(
            "TELEGRAM_BOT_TOKEN 不正确（Telegram 不认这个令牌），请向 @BotFather 核对。"
        ) from error
    except NetworkError as error:
        raise TelegramUnavailable(
            f"连不上 Telegram 服务器（{settings.telegram_api_base_url}），"
            "请检查网络或 TELEGRAM_API_BASE_URL。"
        ) from error
    return bot


def telegram_username(settings: Settings) -> str:
    """The bot's username, for invite links; empty when no token is set or Telegram is unreachable."""
    if not settings.telegram_bot_token:
        return ""

    async def ask() -> str:
        try:
            bot = await start_bot(settings)
        except TelegramUnavailable:
            return ""
        username = bot.username
        await bot.shutdown()
        return username

    return asyncio.run(ask())


def webhook_url(settings: Settings) -> str:
    """Where Telegram sends updates: ``TELEGRAM_WEBHOOK_URL``, ending in the webhook's path."""
    url = settings.telegram_webhook_url.rstrip("/")
    return url if url.endswith(WEBHOOK_PATH) else url + WEBHOOK_PATH


async def serve(
    settings: Settings, engine: DialogEngine | None = None, stop: asyncio.Event | None = None
) -> None:
    """Serve Telegram until ``stop`` is set (or forever)."""
    quiet_third_party_logs()
    engine = engine or build_engine(settings)
    stop = stop or asyncio.Event()
    bot = await start_bot(settings)
    pacer = SendPacer(overall=settings.telegram_rate, per_chat=settings.telegram_chat_rate)
    channel = TelegramChannel(bot, engine, pacer, links=PublicLinks.of(settings))
    try:
        await channel.set_commands()
        webhook = bool(settings.telegram_webhook_url)
        secret = ""
        if webhook:
            secret = settings.telegram_webhook_secret or secrets.token_urlsafe(32)
            allowed = ["message", "edited_message", "callback_query"]
            await bot.set_webhook(webhook_url(settings), secret_token=secret, allowed_updates=allowed)
        else:
            await bot.delete_webhook()
        # One process serves every channel: the web chat (and the webhook route, when used) beside Telegram.
        web = asyncio.create_task(serve_web(settings, engine, stop, channel, secret, send_nudges=False))
        receiving = web if webhook else asyncio.create_task(_poll(channel, stop))
        log.info("Telegram channel serving as @%s by %s", bot.username, "webhook" if webhook else "polling")
        working = asyncio.create_task(run_channel(channel.inbox, channel.dispatcher, stop))
        reminding = asyncio.create_task(run_reminders(engine, stop))
        await stop.wait()
        if not webhook:
            receiving.cancel()  # a long poll in flight: its updates stay unconfirmed, delivered next time
        await asyncio.gather(receiving, working, reminding, web, return_exceptions=True)
    finally:
        await bot.shutdown()


async def _poll(channel: TelegramChannel, stop: asyncio.Event) -> None:
    """Long polling. Updates that cannot be stored (the database is down) are not acknowledged: the
    offset stays, and Telegram gives them again on the next poll."""
    offset: int | None = None
    while not stop.is_set():
        try:
            offset = await channel.poll_once(offset, timeout=10)
        except TelegramError as error:
            log.warning("getUpdates failed (%s); retrying", type(error).__name__)
            await _sleep_or_stop(stop, 3)
        except Exception as error:
            report_failure(error, "storing updates")
            await _sleep_or_stop(stop, OUTAGE_PAUSE)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
