"""The webhook over real HTTP: the secret token guards it, duplicates are stored once, and a stored
update is processed into queued replies without any further call to Telegram."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import event
from telegram import Bot

from bot.delivery.compose import outgoing_payloads, split_text
from bot.delivery.together import GROUP_SIZE as GROUP_COMMIT
from bot.settings import Settings
from bot.telegram_channel import CHANNEL, MAX_TEXT, TelegramChannel, chat_key_of
from bot.web import SECRET_HEADER, WEBHOOK_PATH, build_app
from dialogs.engine import NOT_BOUND, DialogEngine
from dialogs.exchange import Inbound, Reply
from storage.models import utc_now

SECRET = "s3cret-token_for-tests"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def text_update(update_id: int, user_id: int, text: str) -> dict[str, object]:
    user = {"id": user_id, "is_bot": False, "first_name": "测试"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": "测试"},
            "from": user,
            "text": text,
        },
    }


@pytest.fixture(name="channel")
def channel_fixture(engine: DialogEngine) -> TelegramChannel:
    return TelegramChannel(Bot("123456:OFFLINE-TOKEN-never-used"), engine)


@pytest.fixture(name="server")
def server_fixture(channel: TelegramChannel) -> Iterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            build_app(channel.engine, Settings(), channel, SECRET),
            host="127.0.0.1",
            port=port,
            log_level="error",
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def post(server: str, payload: dict[str, object], secret: str | None) -> httpx.Response:
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    return httpx.post(server + WEBHOOK_PATH, json=payload, headers=headers, timeout=10)


def test_wrong_or_missing_secret_is_403_and_changes_nothing(server: str, channel: TelegramChannel) -> None:
    assert post(server, text_update(1, 42, "你好"), None).status_code == 403
    assert post(server, text_update(1, 42, "你好"), "guess").status_code == 403
    assert channel.engine.repository.pending_updates(CHANNEL) == []
    assert httpx.get(server + "/healthz", timeout=10).text == "ok"


def test_the_right_secret_stores_the_update_once(server: str, channel: TelegramChannel) -> None:
    assert post(server, text_update(7, 42, "你好"), SECRET).status_code == 200
    assert post(server, text_update(7, 42, "你好"), SECRET).status_code == 200
    assert [u.update_id for u in channel.engine.repository.pending_updates(CHANNEL)] == [7]
    assert post(server, {"not": "an update"}, SECRET).status_code == 400


def test_a_stored_update_is_processed_into_queued_replies(server: str, channel: TelegramChannel) -> None:
    post(server, text_update(8, 42, "你好"), SECRET)
    assert asyncio.run(channel.process_pending()) == 1
    assert channel.engine.repository.pending_updates(CHANNEL) == []
    [message] = channel.engine.repository.due_messages(CHANNEL, utc_now())
    assert message.chat_key == "42" and message.payload == {"text": NOT_BOUND}
    post(server, text_update(8, 42, "你好"), SECRET)  # Telegram delivering it again after the 200
    assert channel.engine.repository.pending_updates(CHANNEL) == []
    assert asyncio.run(channel.process_pending()) == 0


def test_replies_of_one_turn_become_few_messages_within_limits() -> None:
    replies = [Reply("还差 37 字。"), Reply("请输入主要事迹。"), Reply("性别？", ("女", "男"), menu="d1")]
    assert outgoing_payloads(replies, MAX_TEXT) == [
        {"text": "还差 37 字。\n\n请输入主要事迹。\n\n性别？", "options": ["女", "男"], "menu": "d1"}
    ]
    long = "\n".join(["一二三四五六七八九十" * 30] * 40)  # 12,000 characters in 40 lines
    pieces = split_text(long, MAX_TEXT)
    assert all(len(piece) <= 4000 for piece in pieces) and "\n".join(pieces) == long
    huge = "字" * 9000
    assert [len(p) for p in split_text(huge, MAX_TEXT)] == [4000, 4000, 1000]


# Group commit ------------------------------------------------------------------------------------------


def bind_chats(engine: DialogEngine, users: list[int]) -> None:
    unit = engine.repository.unit_by_code(engine.campaign.id, "yufeng")
    assert unit is not None
    for user in users:
        engine.repository.bind_contact(CHANNEL, str(user), unit.id)


def replies_to(channel: TelegramChannel, user: int) -> list[str]:
    due = channel.engine.repository.due_messages(CHANNEL, utc_now(), limit=1000)
    return [m.payload.get("text", "") for m in due if m.chat_key == str(user)]


def test_a_group_of_updates_is_committed_once(channel: TelegramChannel) -> None:
    users = [201, 202, 203, 204, 205]
    bind_chats(channel.engine, users)
    channel.receive_many([text_update(900 + n, user, "/new") for n, user in enumerate(users)])
    commits: list[object] = []

    def count(connection: object) -> None:
        commits.append(connection)

    database = channel.engine.repository.engine
    event.listen(database, "commit", count)
    try:
        assert asyncio.run(channel.process_pending()) == 5
    finally:
        event.remove(database, "commit", count)
    assert len(commits) == 1, "one transaction (one disk flush) for the group, not one per update"
    assert all("请选择要填写的表" in "".join(replies_to(channel, user)) for user in users)
    assert channel.engine.repository.pending_updates(CHANNEL) == []


def test_a_failing_update_rolls_its_group_back_and_the_others_are_still_answered(
    channel: TelegramChannel, monkeypatch: pytest.MonkeyPatch
) -> None:
    users = [301, 302, 303]
    bind_chats(channel.engine, users)
    engine = channel.engine
    handle = engine._handle

    def fail_for_302(inbound: Inbound) -> list[Reply]:
        if inbound.user_id == "302":
            raise RuntimeError("a bug")
        return handle(inbound)

    monkeypatch.setattr(engine, "_handle", fail_for_302)
    channel.receive_many([text_update(950 + n, user, "/new") for n, user in enumerate(users)])
    assert asyncio.run(channel.process_pending()) == 3
    assert "请选择要填写的表" in "".join(replies_to(channel, 301))
    assert "请选择要填写的表" in "".join(replies_to(channel, 303))
    [apology] = replies_to(channel, 302)
    assert "抱歉" in apology
    assert channel.engine.repository.pending_updates(CHANNEL) == []
    contact = engine.repository.contact(CHANNEL, "301")
    assert contact is not None and contact.menu, "the first update's effects survived the group's rollback"


def test_the_chat_of_an_update_is_read_from_its_json() -> None:
    chat = {"id": 42, "type": "private"}
    assert chat_key_of(text_update(1, 42, "你好")) == "42"
    assert chat_key_of({"update_id": 2, "edited_message": {"chat": chat}}) == "42"
    assert chat_key_of({"update_id": 3, "callback_query": {"id": "9", "message": {"chat": chat}}}) == "42"
    assert chat_key_of({"update_id": 4, "callback_query": {"id": "9", "inline_message_id": "x"}}) is None
    assert chat_key_of({"update_id": 5, "my_chat_member": {"chat": chat}}) is None, "not a kind we ask for"
    assert chat_key_of({"update_id": 6, "message": {"chat": {"id": "42"}}}) is None, "malformed"


def test_updates_without_a_chat_or_an_id_are_not_stored(channel: TelegramChannel) -> None:
    assert not channel.receive({"update_id": 7, "my_chat_member": {"chat": {"id": 42}}})
    assert not channel.receive({"message": text_update(8, 42, "你好")["message"]})
    assert channel.receive(text_update(9, 42, "你好"))
    assert [item.update_id for item in channel.engine.repository.pending_updates(CHANNEL)] == [9]


def test_updates_are_read_a_group_at_a_time_not_a_whole_batch(
    channel: TelegramChannel, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A group's photos are held in memory, not a batch's (a hundred albums would be gigabytes)."""
    users = list(range(401, 421))
    bind_chats(channel.engine, users)
    channel.receive_many([text_update(1000 + n, user, "/new") for n, user in enumerate(users)])
    read: list[int] = []
    groups: list[tuple[int, int]] = []  # (updates read so far, size of the group handled)
    translate, handle_group = channel.translate, channel.inbox._handle_group

    async def reading(item: Any) -> Any:
        read.append(item.update_id)
        return await translate(item)

    def handling(group: Any) -> list[bool]:
        groups.append((len(read), len(group)))
        return handle_group(group)

    monkeypatch.setattr(channel, "translate", reading)
    monkeypatch.setattr(channel.inbox, "_handle_group", handling)
    assert asyncio.run(channel.process_pending()) == 20
    assert groups == [(GROUP_COMMIT, GROUP_COMMIT), (20, 20 - GROUP_COMMIT)]


# The database away --------------------------------------------------------------------------------------


def test_the_telegram_loop_waits_out_a_locked_database_and_carries_on(
    engine: DialogEngine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The loop that processes the inbox meets an unavailable database: it says so once, waits, and
    answers the waiting update when the database is back (it used to die, silently, for good)."""
    from bot.delivery.inbox import run_channel
    from storage.database import make_engine
    from storage.repository import Repository
    from tests.test_web_edge import locked_database

    database = Path(str(engine.repository.engine.url.database))
    repository = Repository(make_engine(f"sqlite:///{database}", sqlite_busy_timeout=0.2), tmp_path / "data")
    engine.repository = repository
    channel = TelegramChannel(Bot("123456:OFFLINE-TOKEN-never-used"), engine)
    channel.receive(text_update(501, 77, "你好"))

    async def serve_for(seconds: float) -> None:
        stop = asyncio.Event()
        working = asyncio.create_task(run_channel(channel.inbox, channel.dispatcher, stop))
        await asyncio.sleep(seconds)
        stop.set()
        await working

    async def no_sending() -> int:
        return 0

    channel.dispatcher.send_due = no_sending  # type: ignore[method-assign]
    holder = locked_database(database, 1.5)
    with caplog.at_level(logging.INFO):
        asyncio.run(serve_for(4.5))
    holder.join()
    assert channel.engine.repository.pending_updates(CHANNEL) == [], "answered once the lock was gone"
    [message] = channel.engine.repository.due_messages(CHANNEL, utc_now())
    assert message.payload == {"text": NOT_BOUND}
    assert caplog.text.count("database unavailable") == 1 and "Traceback" not in caplog.text
    repository.engine.dispose()


def test_an_update_that_cannot_be_read_does_not_hold_up_the_inbox(
    channel: TelegramChannel, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.delivery.inbox import UNREADABLE

    broken = text_update(601, 88, "你好")
    del broken["message"]["date"]  # type: ignore[attr-defined]
    channel.receive_many([broken, text_update(602, 89, "/help")])
    with caplog.at_level(logging.INFO):
        assert asyncio.run(channel.process_pending()) == 2
    assert channel.engine.repository.pending_updates(CHANNEL) == [], "neither is left to block the others"
    assert replies_to(channel, 88) == [UNREADABLE]
    assert replies_to(channel, 89) == [NOT_BOUND]
    assert "update 601 cannot be read: KeyError" in caplog.text and "Traceback" not in caplog.text
