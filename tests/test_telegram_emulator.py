"""The Telegram emulator's compatibility layer, checked with python-telegram-bot's real ``Bot`` (and once
with a polling ``Application``): each test pins a Bot API behaviour that the bare emulator lacks."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

import docx
import pytest
from PIL import Image
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ChatAction
from telegram.error import BadRequest, Conflict, InvalidToken, RetryAfter
from telegram.ext import Application, CommandHandler, ContextTypes

from tests.telegram_emulator import Emulator, EmulatorError
from tests.telegram_emulator.fixtures import emulator_fixture  # noqa: F401

T = TypeVar("T")
DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def make_bot(emulator: Emulator, token: str | None = None) -> Bot:
    return Bot(token or emulator.token, base_url=emulator.base_url, base_file_url=emulator.base_file_url)


def jpeg(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 30, 30)).save(buffer, format="JPEG")
    return buffer.getvalue()


def test_get_me_is_a_bot_user_and_the_token_is_checked(emulator: Emulator) -> None:
    async def scenario() -> None:
        async with make_bot(emulator) as bot:
            me = await bot.get_me()
            assert me.is_bot is True
            assert me.username == emulator.bot_username
            assert me.id == int(emulator.token.split(":")[0])
            assert await bot.delete_webhook(drop_pending_updates=True) is True
            assert (await bot.get_webhook_info()).url == ""
        with pytest.raises(InvalidToken):
            async with make_bot(emulator, token="999:WRONG-TOKEN"):
                pass

    run(scenario())


def test_a_text_arrives_with_a_unix_time_in_seconds_and_its_chat(emulator: Emulator) -> None:
    user = emulator.user(1001, "王芳", username="wangfang")
    update_id = user.send_text("/start yufeng")

    async def scenario() -> list[Update]:
        async with make_bot(emulator) as bot:
            return list(await bot.get_updates())

    (update,) = run(scenario())
    assert update.update_id == update_id
    message = update.message
    assert message is not None and message.text == "/start yufeng"
    assert abs(message.date.timestamp() - time.time()) < 60
    assert message.chat.id == 1001 and message.chat.type == "private"
    assert message.from_user is not None
    assert (message.from_user.id, message.from_user.first_name, message.from_user.username) == (
        1001,
        "王芳",
        "wangfang",
    )
    assert message.from_user.is_bot is False
    assert [(e.type, e.offset, e.length) for e in message.entities] == [("bot_command", 0, 6)]


def test_offset_confirms_updates_and_ids_increase(emulator: Emulator) -> None:
    user = emulator.user(1002)
    first, second = user.send_text("一"), user.send_text("二")
    assert second > first

    async def scenario() -> None:
        async with make_bot(emulator) as bot:
            unconfirmed = await bot.get_updates()
            assert [u.update_id for u in unconfirmed] == [first, second]
            assert [u.update_id for u in await bot.get_updates()] == [first, second]  # not confirmed yet
            assert await bot.get_updates(offset=second + 1) == ()
            third = user.send_text("三")
            assert [u.update_id for u in await bot.get_updates(offset=second + 1)] == [third]
            assert await bot.get_updates(offset=third + 1, limit=1) == ()

    run(scenario())


def test_long_polling_waits_for_the_timeout_when_idle(emulator: Emulator) -> None:
    async def scenario() -> tuple[tuple[Update, ...], float]:
        async with make_bot(emulator) as bot:
            started = time.monotonic()
            updates = await bot.get_updates(timeout=1)
            return updates, time.monotonic() - started

    updates, elapsed = run(scenario())
    assert updates == ()
    assert 0.9 <= elapsed < 3


def test_long_polling_returns_as_soon_as_an_update_arrives(emulator: Emulator) -> None:
    user = emulator.user(1003)

    async def send_later() -> int:
        await asyncio.sleep(0.3)
        return await asyncio.to_thread(user.send_text, "在吗")

    async def scenario() -> tuple[tuple[Update, ...], int, float]:
        async with make_bot(emulator) as bot:
            started = time.monotonic()
            updates, update_id = await asyncio.gather(bot.get_updates(timeout=5), send_later())
            return updates, update_id, time.monotonic() - started

    updates, update_id, elapsed = run(scenario())
    assert [u.update_id for u in updates] == [update_id]
    assert elapsed < 2


def test_a_second_poller_terminates_the_first_with_conflict(emulator: Emulator) -> None:
    async def scenario() -> None:
        async with make_bot(emulator) as first, make_bot(emulator) as second:
            waiting = asyncio.ensure_future(first.get_updates(timeout=5))
            await asyncio.sleep(0.2)
            assert await second.get_updates() == ()
            with pytest.raises(Conflict, match=r"(?i)terminated by other getUpdates request"):
                await waiting

    run(scenario())


def test_inline_keyboard_press_answer_and_button_removal(emulator: Emulator) -> None:
    user = emulator.user(1004)
    start_id = user.send_text("/start")
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("登记表", callback_data="form:reg")],
            [InlineKeyboardButton("取消", callback_data="x")],
        ]
    )

    async def scenario() -> None:
        async with make_bot(emulator) as bot:
            sent = await bot.send_message(user.chat_id, "请选择要填写的表：", reply_markup=keyboard)
            assert sent.reply_markup == keyboard and sent.from_user is not None and sent.from_user.is_bot
            (shown,) = user.messages()
            assert shown.message_id == sent.message_id
            assert shown.buttons == [[("登记表", "form:reg")], [("取消", "x")]]

            press_id = user.press(shown, "form:reg")
            (update,) = await bot.get_updates(offset=start_id + 1)
            assert update.update_id == press_id
            query = update.callback_query
            assert query is not None and query.data == "form:reg" and query.from_user.id == user.id
            assert query.message is not None and query.message.message_id == sent.message_id
            assert query.chat_instance
            assert await bot.answer_callback_query(query.id, text="好的") is True
            with pytest.raises(BadRequest, match=r"(?i)query is too old"):
                await bot.answer_callback_query(query.id)

            edited = await bot.edit_message_reply_markup(user.chat_id, sent.message_id, reply_markup=None)
            assert not isinstance(edited, bool) and edited.reply_markup is None
            assert user.messages()[0].buttons == []
            with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
                await bot.edit_message_reply_markup(user.chat_id, sent.message_id, reply_markup=None)

    run(scenario())
    with pytest.raises(EmulatorError, match="no inline button"):
        user.press(user.messages()[0], "form:reg")  # the button is gone
    (answer,) = emulator.api_calls("answerCallbackQuery")[:1]
    assert answer["params"]["text"] == "好的"


def test_reply_keyboard_and_its_removal_reach_only_the_user(emulator: Emulator) -> None:
    user = emulator.user(1005)
    user.send_text("你好")

    async def scenario() -> None:
        async with make_bot(emulator) as bot:
            sent = await bot.send_message(
                user.chat_id, "确认提交吗？", reply_markup=ReplyKeyboardMarkup([["是", "否"]])
            )
            assert sent.reply_markup is None  # the Bot API echoes only inline keyboards
            await bot.send_message(user.chat_id, "已提交。", reply_markup=ReplyKeyboardRemove())

    run(scenario())
    asked, done = user.wait_for_messages(2)
    assert (asked.keyboard, asked.buttons) == ("reply", [[("是", "是"), ("否", "否")]])
    assert (done.keyboard, done.buttons) == ("remove", [])


def test_send_message_rejects_what_telegram_rejects(emulator: Emulator) -> None:
    user = emulator.user(1006)

    async def scenario() -> None:
        async with make_bot(emulator) as bot:
            with pytest.raises(BadRequest, match=r"(?i)chat not found"):
                await bot.send_message(user.chat_id, "你好")  # the user never wrote to the bot
            user.send_text("/start")
            with pytest.raises(BadRequest, match=r"(?i)message is too long"):
                await bot.send_message(user.chat_id, "字" * 4097)
            too_long_data = InlineKeyboardMarkup([[InlineKeyboardButton("选", callback_data="选" * 22)]])
            with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):  # 66 bytes of UTF-8
                await bot.send_message(user.chat_id, "请选择", reply_markup=too_long_data)
            assert (await bot.send_message(user.chat_id, "字" * 4096)).text == "字" * 4096

    run(scenario())


def test_send_document_bytes_reach_the_user_intact(emulator: Emulator) -> None:
    user = emulator.user(1007)
    user.send_text("/start")
    document = docx.Document()
    document.add_paragraph("最美基层妇联干部登记表")
    buffer = io.BytesIO()
    document.save(buffer)
    data = buffer.getvalue()

    async def scenario() -> None:
        async with make_bot(emulator) as bot:
            await bot.send_chat_action(user.chat_id, ChatAction.UPLOAD_DOCUMENT)
            sent = await bot.send_document(user.chat_id, data, filename="登记表.docx", caption="请查收")
            assert sent.document is not None and sent.document.file_size == len(data)
            assert sent.document.file_name == "登记表.docx" and sent.caption == "请查收"

    run(scenario())
    (received,) = user.wait_for_messages(1)
    assert received.document == data
    assert (received.document_name, received.caption) == ("登记表.docx", "请查收")
    assert docx.Document(io.BytesIO(received.document)).paragraphs[0].text == "最美基层妇联干部登记表"
    (action,) = emulator.api_calls("sendChatAction")
    assert action["params"]["action"] == "upload_document"


def test_a_user_photo_is_downloadable_with_identical_bytes(emulator: Emulator) -> None:
    user = emulator.user(1008)
    data = jpeg(1600, 1200)
    update_id = user.send_photo(data, caption="妇女之家活动室")

    async def scenario() -> tuple[Update, bytes, bytes]:
        async with make_bot(emulator) as bot:
            (update,) = await bot.get_updates()
            assert update.message is not None
            photo = update.message.photo
            largest = bytes(await (await bot.get_file(photo[-1].file_id)).download_as_bytearray())
            smallest = bytes(await (await bot.get_file(photo[0].file_id)).download_as_bytearray())
            return update, largest, smallest

    update, largest, smallest = run(scenario())
    assert update.update_id == update_id and update.message is not None
    assert update.message.caption == "妇女之家活动室"
    photo = update.message.photo
    sizes = [(p.width, p.height) for p in photo]
    assert sizes == [(90, 68), (320, 240), (800, 600), (1280, 960), (1600, 1200)]  # smallest first
    assert photo[-1].file_size == len(data) and len({p.file_unique_id for p in photo}) == len(photo)
    assert largest == data
    with Image.open(io.BytesIO(smallest)) as thumbnail:
        assert thumbnail.size == (90, 68)


def test_a_user_document_is_downloadable(emulator: Emulator) -> None:
    user = emulator.user(1009)
    data = b"%PDF-1.4\n" + bytes(range(256)) * 40
    user.send_document(data, "申报材料.pdf", "application/pdf", caption="示范点材料")

    async def scenario() -> tuple[Update, bytes]:
        async with make_bot(emulator) as bot:
            (update,) = await bot.get_updates()
            assert update.message is not None and update.message.document is not None
            file = await bot.get_file(update.message.document.file_id)
            return update, bytes(await file.download_as_bytearray())

    update, downloaded = run(scenario())
    assert update.message is not None and update.message.document is not None
    document = update.message.document
    assert (document.file_name, document.mime_type) == ("申报材料.pdf", "application/pdf")
    assert document.file_size == len(data)
    assert update.message.caption == "示范点材料"
    assert downloaded == data


def test_a_video_update_carries_its_metadata(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # PTB 22 warns on int durations unless opted in
    user = emulator.user(1010)
    user.send_video(duration=754, width=1920, height=1080, file_size=48_000_000)

    async def scenario() -> Update:
        async with make_bot(emulator) as bot:
            (update,) = await bot.get_updates()
            assert update.message is not None and update.message.video is not None
            with pytest.raises(BadRequest, match=r"(?i)file is too big"):  # bots download at most 20 MB
                await bot.get_file(update.message.video.file_id)
            return update

    update = run(scenario())
    assert update.message is not None and update.message.video is not None
    video = update.message.video
    assert video.duration.total_seconds() == 754  # type: ignore[union-attr]
    assert (video.width, video.height, video.mime_type) == (1920, 1080, "video/mp4")
    assert (video.file_name, video.file_size) == ("课程.mp4", 48_000_000)


def test_a_redelivered_update_comes_again_with_the_same_id(emulator: Emulator) -> None:
    user = emulator.user(1011)
    update_id = user.send_text("第一条")

    async def scenario() -> None:
        async with make_bot(emulator) as bot:
            assert [u.update_id for u in await bot.get_updates()] == [update_id]
            assert await bot.get_updates(offset=update_id + 1) == ()
            user.redeliver(update_id)
            (again,) = await bot.get_updates(offset=update_id + 1)
            assert again.update_id == update_id
            assert again.message is not None and again.message.text == "第一条"
            assert await bot.get_updates(offset=update_id + 1) == ()  # handed out once

    run(scenario())


def test_set_my_commands_with_scopes(emulator: Emulator) -> None:
    user = emulator.user(1012)
    user.send_text("/start")
    commands = [BotCommand("new", "新建"), BotCommand("drafts", "草稿")]

    async def scenario() -> None:
        async with make_bot(emulator) as bot:
            assert await bot.set_my_commands(commands, scope=BotCommandScopeAllPrivateChats()) is True
            assert await bot.set_my_commands(commands[:1], scope=BotCommandScopeChat(user.chat_id)) is True
            assert await bot.get_my_commands(scope=BotCommandScopeAllPrivateChats()) == tuple(commands)
            assert await bot.get_my_commands(scope=BotCommandScopeChat(user.chat_id)) == tuple(commands[:1])
            assert await bot.get_my_commands() == ()
            with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
                await bot.set_my_commands([BotCommand("新建", "中文命令名")])

    run(scenario())
    scopes = [call["params"].get("scope") for call in emulator.api_calls("setMyCommands")]
    assert scopes[:2] == [{"type": "all_private_chats"}, {"type": "chat", "chat_id": user.chat_id}]


def test_an_injected_flood_error_reaches_the_bot_as_retry_after(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    user = emulator.user(1013)
    user.send_text("/start")
    emulator.inject_error("sendMessage", retry_after=3)

    async def scenario() -> None:
        async with make_bot(emulator) as bot:
            with pytest.raises(RetryAfter) as raised:
                await bot.send_message(user.chat_id, "你好")
            assert raised.value.retry_after.total_seconds() == 3  # type: ignore[union-attr]
            await bot.send_message(user.chat_id, "你好")  # only the next call was failed

    run(scenario())
    assert [m.text for m in user.messages()] == ["你好"]


def test_a_polling_application_receives_commands_and_duplicates(emulator: Emulator) -> None:
    """The real PTB Updater loop (deleteWebhook, long polling, offset bookkeeping) against the emulator."""
    user = emulator.user(1014, "李娜")
    handled: list[int] = []

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        handled.append(update.update_id)
        assert update.message is not None
        await update.message.reply_text(f"欢迎，{' '.join(context.args or [])}")

    async def scenario() -> tuple[int, list[str]]:
        application = (
            Application.builder()
            .token(emulator.token)
            .base_url(emulator.base_url)
            .base_file_url(emulator.base_file_url)
            .build()
        )
        application.add_handler(CommandHandler("start", start))
        async with application:
            await application.start()
            assert application.updater is not None
            await application.updater.start_polling(timeout=1)
            update_id = await asyncio.to_thread(user.send_text, "/start yufeng")
            await user.wait_for_messages_async(1)
            await asyncio.to_thread(user.redeliver, update_id)
            replies = await user.wait_for_messages_async(2)
            await application.updater.stop()
            await application.stop()
        return update_id, [m.text for m in replies]

    update_id, texts = run(scenario())
    assert texts == ["欢迎，yufeng", "欢迎，yufeng"]
    assert handled == [update_id, update_id]
    assert emulator.api_calls("deleteWebhook")
