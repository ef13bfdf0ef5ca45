"""Two worker processes on one PostgreSQL database, fed interleaved updates for the same chats: each update is
processed exactly once, each chat's in order, and no answer lands in the wrong field."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from telegram import Bot

from bot.app import Declarations
from bot.telegram_channel import CHANNEL, TelegramChannel
from dialogs.engine import DialogEngine
from renderers import render_form
from storage.database import make_engine
from storage.models import utc_now
from storage.repository import Repository
from tests.conftest import FakeClock, postgres_repository
from tests.test_dialog_forms import CADRE_ANSWERS
from tests.test_telegram_webhook import text_update

CHATS = 6


def test_two_workers_serialise_each_chat_and_lose_nothing(
    postgres_url: str, tmp_path: Path, declarations: Declarations
) -> None:
    first = postgres_repository(postgres_url, tmp_path, declarations)
    second = Repository(make_engine(postgres_url), tmp_path / "data")

    def channel(repository: Repository) -> TelegramChannel:
        engine = DialogEngine(
            campaign=declarations.campaign,
            forms=declarations.forms,
            machines=declarations.machines,
            repository=repository,
            clock=FakeClock(),
            render=render_form,
        )
        return TelegramChannel(Bot("123456:OFFLINE-never-used"), engine)

    workers = [channel(first), channel(second)]  # receive only: the processing is done by two processes
    unit = first.unit_by_code("liuzhou-2021", "yufeng")
    assert unit is not None
    script = ["/new", "1", *CADRE_ANSWERS[:12]]  # up to 开始从事妇联工作的时间
    for chat in range(CHATS):
        first.bind_contact(CHANNEL, str(1000 + chat), unit.id)
    update_id = 0
    for message in script:  # interleaved: every chat's n-th message before any chat's (n+1)-th
        for chat in range(CHATS):
            update_id += 1
            workers[update_id % 2].receive(text_update(update_id, 1000 + chat, message))

    root = Path(__file__).resolve().parent.parent
    command = [sys.executable, "-m", "tests.worker_process", postgres_url, str(tmp_path / "data")]
    processes = [subprocess.Popen(command, cwd=root) for _ in range(2)]  # two OS processes, one database
    for process in processes:
        assert process.wait(timeout=120) == 0
    assert first.pending_updates(CHANNEL) == []
    for chat in range(CHATS):
        contact = first.contact(CHANNEL, str(1000 + chat))
        assert contact is not None and contact.current_draft_id is not None
        draft = first.draft(contact.current_draft_id)
        assert draft is not None
        assert draft.state == "story", f"chat {chat}: every answer in its own field, none skipped"
        assert draft.answers["name"] == "韦丽华" and draft.answers["service_start"] == "2018-06"
        assert draft.answers["phone"] == "13877212345" and draft.answers["postcode"] == "545100"
    messages = first.due_messages(CHANNEL, utc_now(), limit=10_000)
    assert len(messages) == update_id, "one reply per update: none processed twice, none dropped"
    first.engine.dispose()
    second.engine.dispose()


def test_updates_stored_out_of_order_are_processed_in_update_order(engine: DialogEngine) -> None:
    channel = TelegramChannel(Bot("123456:OFFLINE-never-used"), engine)
    unit = engine.repository.unit_by_code("liuzhou-2021", "yufeng")
    assert unit is not None
    engine.repository.bind_contact(CHANNEL, "77", unit.id)
    script = ["/new", "1", "韦丽华", "女", "1985.3", "壮族"]
    for update_id in [4, 1, 6, 3, 2, 5]:  # arrived (or were redelivered) in a shuffled order
        channel.receive(text_update(update_id, 77, script[update_id - 1]))
    asyncio.run(channel.process_pending())
    contact = engine.repository.contact(CHANNEL, "77")
    assert contact is not None and contact.current_draft_id is not None
    draft = engine.repository.draft(contact.current_draft_id)
    assert draft is not None and draft.state == "education"
    assert (draft.answers["name"], draft.answers["gender"], draft.answers["birth"]) == (
        "韦丽华",
        "女",
        "1985-03",
    )
