"""The Telegram channel: an adapter between Bot API updates and the delivery layer (``bot.delivery``).

Delivery loses nothing: each update is stored in the inbox (unique by update id) before it is
acknowledged (the webhook's 200, the poll's next offset), then handled by the delivery layer in
update order and marked done in the same transaction as its effects and its queued replies. Replies
leave through the outbox at Telegram's pace (about 30 messages a second overall, about one a second
per chat), retrying after a 429 for as long as Telegram asks. What is Telegram's here: turning an
update into an ``Inbound`` (downloading its photo), replies into Bot API calls, and the command menus.

No message text, name, phone number or raw update is ever logged: only ids, counts and error types.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TelegramError

from bot.delivery import DeliveryFailed, DeliveryLater, DeliveryRefused, Dispatcher, Inbox, Translated
from bot.delivery.compose import CONSENT_BUTTONS, outgoing_payloads, too_large_to_send
from bot.public_links import PublicLinks, recipient_link
from bot.rate_limit import SendPacer
from dialogs.engine import DialogEngine
from dialogs.exchange import DocumentRef, Inbound, IncomingFile, Reply
from dialogs.validators import PHOTO_MAX_BYTES, photo_too_large
from storage.repository import Incoming

os.environ.setdefault("PTB_TIMEDELTA", "true")  # PTB 22: durations as timedelta, without warnings

log = logging.getLogger(__name__)

CHANNEL = "telegram"
MAX_TEXT = 4000  # Telegram's limit is 4096 characters; keep a margin for safety
MAX_DOWNLOAD = 20 * 1024 * 1024  # the cloud Bot API serves files up to 20 MB
DOCUMENT_MAX_BYTES = 50 * 1024 * 1024  # and takes files up to 50 MB from a bot

SUPERVISOR_COMMANDS = (
    ("status", "进度：各单位报送情况"),
    ("pending", "未交：还没报齐的单位"),
    ("help", "帮助"),
)
CONTACT_COMMANDS = (
    ("new", "新建：选择要填写的表"),
    ("drafts", "草稿：继续未填完的表"),
    ("submissions", "已交：查看已提交的表"),
    ("review", "查看已填内容"),
    ("edit", "修改某一项"),
    ("back", "上一步"),
    ("skip", "跳过选填项"),
    ("cancel", "放弃当前的表"),
    ("help", "帮助"),
)

EDITED_IGNORED = "修改已发送的消息不会改变已保存的内容。如需修改，请发送“修改”。"
FILE_TOO_LARGE = "这个文件超过 20MB，无法接收。照片请直接以“图片”方式发送（会自动压缩）。"
FILE_UNAVAILABLE = "这个文件暂时无法从 Telegram 取得，请重新发送一次。"


class FileRefused(Exception):
    """A file not taken in, with what the person reads."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _seconds(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, timedelta):
        return int(value.total_seconds())
    return int(value)


def chat_key_of(payload: dict[str, Any]) -> str | None:
    """The chat an update (as JSON) belongs to, for the kinds the bot asks for: a message, an edited
    message, a button pressed under a message. Read from the JSON: storing needs no parsing."""
    body = payload.get("message") or payload.get("edited_message")
    if body is None and isinstance(payload.get("callback_query"), dict):
        body = payload["callback_query"].get("message")
    chat = body.get("chat") if isinstance(body, dict) else None
    chat_id = chat.get("id") if isinstance(chat, dict) else None
    return str(chat_id) if isinstance(chat_id, int) else None


class TelegramChannel:
    """The Telegram adapter: Bot API updates into the inbox and out as ``Inbound``; replies as Bot API
    calls. Storing, claiming, group commit, pacing and retries are the delivery layer's.

    Args:
        bot: an initialised ``telegram.Bot`` (its ``base_url`` may point at a local Bot API server).
        engine: the dialog engine.
        pacer: the sending pace (tests use a fast one).
        links: signs the web chat's download links of a file too large for Telegram (None: no
            public address; the recipient is told to ask the administrator).
    """

    channel = CHANNEL

    def __init__(
        self,
        bot: Bot,
        engine: DialogEngine,
        pacer: SendPacer | None = None,
        links: PublicLinks | None = None,
    ) -> None:
        self.bot = bot
        self.engine = engine
        self.links = links  # where a file too large for Telegram is downloaded instead
        self.pacer = pacer or SendPacer()
        self.inbox = Inbox(engine, self)
        self.dispatcher = Dispatcher(engine.store, self, clock=self.now)

    def now(self) -> datetime:
        return datetime.now(UTC)

    @property
    def work(self) -> asyncio.Event:
        return self.inbox.work

    # Receiving ---------------------------------------------------------------------------------

    def receive(self, payload: dict[str, Any]) -> bool:
        """Store one update (as JSON) in the inbox; False for a duplicate or an update without a chat."""
        return self.receive_many([payload]) == 1

    def receive_many(self, payloads: Sequence[dict[str, Any]]) -> int:
        """Store updates (as JSON) in the inbox in one transaction; how many were new (duplicates and
        updates without a chat are not stored)."""
        rows = []
        for payload in payloads:
            update_id, chat_key = payload.get("update_id"), chat_key_of(payload)
            if isinstance(update_id, int) and chat_key is not None:
                rows.append((update_id, chat_key, payload))
        return len(self.inbox.store(rows))

    async def poll_once(self, offset: int | None, timeout: int = 25) -> int | None:
        """One long poll: store what arrived, then return the offset that acknowledges it."""
        updates: Sequence[Update] = await self.bot.get_updates(
            offset=offset, timeout=timeout, allowed_updates=["message", "edited_message", "callback_query"]
        )
        self.receive_many([update.to_dict() for update in updates])
        if updates:
            return max(u.update_id for u in updates) + 1
        return offset

    async def process_pending(self) -> int:
        """Handle what the inbox holds (``Inbox.process_pending``)."""
        return await self.inbox.process_pending()

    async def send_due(self) -> int:
        """Send what the outbox holds at Telegram's pace (``Dispatcher.send_due``)."""
        return await self.dispatcher.send_due()

    # The translator ------------------------------------------------------------------------------

    async def translate(self, item: Incoming) -> Translated:
        """The engine's view of an update (or a direct reply, or nothing), and a button's callback id."""
        update = Update.de_json(item.payload, self.bot)
        if update.callback_query is not None:
            query = update.callback_query
            menu, _, number = (query.data or "").partition("|")
            user = str(query.from_user.id)
            if menu.startswith(CONSENT_BUTTONS):  # a privacy notice's 同意/不同意
                consent = Inbound(
                    self.channel, user, text=number, consent_for=menu.removeprefix(CONSENT_BUTTONS)
                )
                return Translated(consent, query.id)
            return Translated(Inbound(self.channel, user, text=number, menu=menu or None), query.id)
        if update.edited_message is not None:
            return Translated(Reply(EDITED_IGNORED))
        message = update.message
        if message is None or message.from_user is None:
            return Translated(None)
        user_id = str(message.from_user.id)
        text = message.text or message.caption or ""
        try:
            file = await self._incoming_file(message)
        except FileRefused as refused:
            return Translated(Reply(refused.message))
        return Translated(Inbound(self.channel, user_id, text=text, file=file))

    def payloads(self, replies: Sequence[Reply]) -> list[dict[str, Any]]:
        return outgoing_payloads(replies, MAX_TEXT)

    async def handled(self, item: Incoming, translated: Translated) -> None:
        """What Telegram needs once an update's effects are committed: the button's spinner stopped,
        and a new supervisor's command menu."""
        if translated.keep is not None:
            await self._answer_callback(str(translated.keep))
        inbound = translated.message
        if isinstance(inbound, Inbound) and inbound.consent_for is not None:
            contact = self.engine.identity(self.channel, inbound.user_id)
            if contact is not None and contact.supervisor:
                await self._set_supervisor_commands(item.chat_key)

    async def _incoming_file(self, message: Message) -> IncomingFile | None:
        if message.photo:
            largest = message.photo[-1]
            return IncomingFile(
                kind="photo",
                data=await self._download(largest.file_id, largest.file_size, photo=True),
                mime="image/jpeg",
                size=largest.file_size,
                width=largest.width,
                height=largest.height,
                file_id=largest.file_id,
            )
        if message.video is not None:
            video = message.video
            return IncomingFile(
                kind="video",
                file_name=video.file_name,
                mime=video.mime_type,
                size=video.file_size,
                duration_s=_seconds(video.duration),
                width=video.width,
                height=video.height,
                file_id=video.file_id,
            )
        if message.document is not None:
            document = message.document
            mime = document.mime_type or ""
            if mime.startswith("image/"):
                data = await self._download(document.file_id, document.file_size, photo=True)
                return IncomingFile(
                    kind="photo", data=data, file_name=document.file_name, mime=mime, size=document.file_size
                )
            kind = "video" if mime.startswith("video/") else "document"
            return IncomingFile(
                kind=kind,  # type: ignore[arg-type]
                file_name=document.file_name,
                mime=mime or None,
                size=document.file_size,
                file_id=document.file_id,
            )
        return None

    async def _download(self, file_id: str, size: int | None, *, photo: bool) -> bytes:
        """A file's bytes; refused before downloading when its reported size is over what is taken
        (a photo: the photo rule's limit; anything else: the cloud Bot API's 20 MB)."""
        if photo and size is not None and size > PHOTO_MAX_BYTES:
            raise FileRefused(photo_too_large(size))
        if size is not None and size > MAX_DOWNLOAD and not self.bot.local_mode:
            raise FileRefused(FILE_TOO_LARGE)
        try:
            telegram_file = await self.bot.get_file(file_id)
            return bytes(await telegram_file.download_as_bytearray())
        except BadRequest as error:  # gone from Telegram's servers, or too large after all
            raise FileRefused(FILE_UNAVAILABLE) from error
        except (NetworkError, TimeoutError) as error:
            raise DeliveryFailed(f"file download failed ({type(error).__name__})") from error

    async def _answer_callback(self, callback_id: str) -> None:
        try:
            await self.bot.answer_callback_query(callback_id)
        except TelegramError as error:  # an expired query: nothing to do
            log.info("answerCallbackQuery failed: %s", type(error).__name__)

    # The sender ----------------------------------------------------------------------------------

    async def deliver(self, chat_key: str, payload: dict[str, Any]) -> None:
        """One payload as one Bot API call; its failures as the delivery layer's errors."""
        try:
            await self._deliver(int(chat_key), payload)
        except RetryAfter as error:
            raise DeliveryLater(_seconds(error.retry_after) or 1) from error
        except (Forbidden, BadRequest) as error:
            raise DeliveryRefused(type(error).__name__) from error
        except (NetworkError, TimeoutError) as error:
            raise DeliveryFailed(type(error).__name__) from error

    async def _deliver(self, chat_id: int, payload: dict[str, Any]) -> None:
        markup = keyboard(payload.get("options", []), payload.get("menu", ""))
        document = payload.get("document")
        if document:
            if isinstance(document, str):  # queued by a version that kept the file's path
                path, name = Path(document), Path(document).name
            else:
                ref = DocumentRef.from_payload(document)
                opened = self.engine.open_document(ref)
                if opened is None:  # purged since it was queued
                    raise DeliveryRefused("the document is no longer there")
                if opened.path.stat().st_size > DOCUMENT_MAX_BYTES and not self.bot.local_mode:
                    caption = str(payload.get("text") or "")
                    recipient = self.engine.identity(CHANNEL, str(chat_id))
                    link = recipient_link(self.links, recipient, ref)
                    note = too_large_to_send(opened, "Telegram", DOCUMENT_MAX_BYTES, link, caption)
                    await self.bot.send_message(chat_id, note)
                    return
                path, name = opened.path, opened.file_name
            with path.open("rb") as stream:
                await self.bot.send_document(
                    chat_id, document=stream, filename=name, caption=payload.get("text") or None
                )
            return
        await self.bot.send_message(chat_id, payload["text"], reply_markup=markup)

    async def set_commands(self) -> None:
        """The command menu in Chinese: the contacts' by default, 组联部's in each supervisor's chat."""
        await self.bot.set_my_commands([BotCommand(name, text) for name, text in CONTACT_COMMANDS])
        for chat_key in self.engine.supervisor_chats(self.channel):
            await self._set_supervisor_commands(chat_key)

    async def _set_supervisor_commands(self, chat_key: str) -> None:
        commands = [BotCommand(name, text) for name, text in SUPERVISOR_COMMANDS]
        try:
            await self.bot.set_my_commands(commands, scope=BotCommandScopeChat(int(chat_key)))
        except TelegramError as error:
            log.warning("supervisor command menu not set: %s", type(error).__name__)


def keyboard(options: Sequence[str], menu: str) -> InlineKeyboardMarkup | None:
    """One button per row; the callback data names the menu and the option's number (well under 64 bytes)."""
    if not options:
        return None
    rows = [[InlineKeyboardButton(label, callback_data=f"{menu}|{n}")] for n, label in enumerate(options, 1)]
    return InlineKeyboardMarkup(rows)
