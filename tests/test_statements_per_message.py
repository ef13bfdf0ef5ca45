"""What a message costs the database: the engine loads a turn, decides, and saves what changed once
(issue 24); the inbox claims an update and marks it done in one statement. Each figure is a ceiling
measured on SQLite: a change that reads or writes once more per message fails here, with the SQL."""

from __future__ import annotations

import asyncio

from telegram import Bot

from bot.telegram_channel import CHANNEL, TelegramChannel
from dialogs.engine import DialogEngine
from dialogs.sample_answers import CADRE_ANSWERS
from tests.conftest import Chat
from tests.statement_counter import Tally, counting
from tests.test_dialog_forms import fill_cadre, start
from tests.test_telegram_webhook import text_update


def cost(chat: Chat, text: str) -> Tally:
    with counting(chat.engine.repository.engine) as tally:
        chat.send(text)
    return tally


def test_an_answer_reads_the_turn_once_and_writes_the_draft_alone(chat: Chat) -> None:
    start(chat, "登记表")
    answer = cost(chat, CADRE_ANSWERS[0])
    assert "性别" in chat.text
    # the contact with its draft read in one query; the draft saved; the contact, unchanged, not
    assert (len(answer), answer.commits) == (2, 1), answer.lines()
    refused = cost(chat, "不知道")  # not one of 性别's options: nothing changes, nothing is written
    assert "请从以下选项中选择" in chat.text
    assert (len(refused), refused.commits) == (1, 1), refused.lines()


def test_a_menu_and_a_new_draft_write_only_what_changed(chat: Chat) -> None:
    chat.send("/new")
    again = cost(chat, "/new")  # the same menu shown again: nothing to write
    assert len(again) == 1 + 1, again.lines()  # the contact, the unit's progress
    picked = cost(chat, "1")
    assert "姓名" in chat.text
    # the contact; the unit's drafts (one to go on with?); its progress (quota); the new draft; the
    # contact's pointer to it
    assert len(picked) == 5, picked.lines()


def test_submissions_are_listed_in_one_query_however_many(chat: Chat) -> None:
    fill_cadre(chat, "韦丽华")
    one = cost(chat, "已交")
    fill_cadre(chat, "覃美玲")
    two = cost(chat, "已交")
    assert "#2" in chat.text
    assert len(one) == len(two) == 3, two.lines()


def test_a_text_message_through_the_inbox_claims_and_marks_its_update_at_once(engine: DialogEngine) -> None:
    channel = TelegramChannel(Bot("123456:OFFLINE-never-used"), engine)
    unit = engine.repository.unit_by_code("liuzhou-2021", "yufeng")
    assert unit is not None
    engine.repository.bind_contact(CHANNEL, "77", unit.id)
    for update_id, text in enumerate(["/new", "1"], start=1):
        channel.receive(text_update(update_id, 77, text))
    asyncio.run(channel.process_pending())
    channel.receive(text_update(3, 77, CADRE_ANSWERS[0]))
    with counting(engine.repository.engine) as handled:
        assert asyncio.run(channel.process_pending()) == 1
    # the pending updates; the update taken and marked done; the contact and draft; the draft saved;
    # the reply queued — one commit
    assert (len(handled), handled.commits) == (5, 1), handled.lines()
    assert engine.repository.pending_updates(CHANNEL) == []
    [queued] = [
        m for m in engine.repository.due_messages(CHANNEL, engine.clock()) if "性别" in str(m.payload)
    ]
    assert queued.chat_key == "77"
