"""The supervisor's side at region scale, and the outbox dispatcher's pace.

A region: the real campaign copied to 16,000 units (``setup_db.region_campaign``), ~100,000
submissions bulk-inserted as a region would have them near the 5月25日 deadline (a third of the
units still a candidate short, a quarter of the county federations a course short, a ninth without a
示范点), one or two bound contacts per unit. Measured through ``DialogEngine.handle`` — the whole
message, as 组联部 sends it — /status and /pending; a unit contact's /new (its menu counts what the
unit has sent); then ``send_due_nudges`` at the first reminder slot of the 5月25日 deadline (the
reminders planned, recorded and queued; the daily digest is off here, it is one /status), and again a
minute later, as the service does every minute.

``dispatch_pace`` sends a queued burst through ``TelegramChannel.send_due`` with the product's own
``SendPacer`` (30 messages/s overall, 1/s per chat after a burst of 3) and reports the pace reached.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.pipeline import CAMPAIGN_NOW
from bench.report import busiest
from bench.scenario import BOT_TOKEN, FakeBotApi, FakeTelegram, percentile
from bench.setup_db import Database, Loader, region_campaign

SHANGHAI = ZoneInfo("Asia/Shanghai")
FIRST_REMINDER = datetime(2021, 5, 18, 9, 0, tzinfo=SHANGHAI)  # 7 days before 5月25日, 09:00
CONTACT_CHAT_BASE = 7_000_000
SUPERVISOR_CHAT = 9_000_000


@dataclass
class Region:
    engine: Any  # DialogEngine
    units: int
    submissions: int
    contacts: int
    per_task: dict[str, int]
    build_seconds: float
    replies: dict[str, tuple[int, int]] = field(default_factory=dict)  # text -> (characters, messages)


def build_region(database: Database, data_dir: Path, units: int, submissions: int) -> Region:
    from bot.app import load_declarations
    from bot.settings import Settings
    from dialogs.engine import DialogEngine
    from renderers import render_form
    from storage.repository import Repository

    began = time.perf_counter()
    declarations = load_declarations(Settings())
    campaign = region_campaign(declarations.campaign, units)
    quiet = campaign.nudges.model_copy(update={"digest": False})
    campaign = campaign.model_copy(update={"nudges": quiet})
    engine = database.engine()
    loader = Loader(engine)
    unit_ids = loader.units(campaign)
    per_task = loader.submissions(campaign, unit_ids, submissions)
    chats = [CONTACT_CHAT_BASE + n for n in range(units)]
    owners = list(unit_ids)
    seconds = [n for n in range(units) if n % 4 == 0]  # every 4th unit has two contacts
    chats += [CONTACT_CHAT_BASE + units + n for n in range(len(seconds))]
    owners += [unit_ids[n] for n in seconds]
    loader.contacts("telegram", chats, owners)
    loader.contacts("telegram", [SUPERVISOR_CHAT], [None], role="supervisor")
    loader.finish()
    engine.dispose()
    repository = Repository(database.engine(), data_dir)
    dialog = DialogEngine(
        campaign=campaign,
        forms=declarations.forms,
        machines=declarations.machines,
        repository=repository,
        clock=lambda: CAMPAIGN_NOW,
        render=render_form,
    )
    return Region(
        engine=dialog,
        units=units,
        submissions=sum(per_task.values()),
        contacts=len(chats),
        per_task=per_task,
        build_seconds=time.perf_counter() - began,
    )


def repeat(action: Callable[[], Any], budget: float, at_most: int = 7) -> list[float]:
    """Run ``action`` at least once and until ``budget`` seconds are used (at most ``at_most``); ms."""
    times: list[float] = []
    spent = 0.0
    while not times or (spent < budget and len(times) < at_most):
        began = time.perf_counter()
        action()
        elapsed = time.perf_counter() - began
        times.append(elapsed * 1000)
        spent += elapsed
    return times


def message(region: Region, chat: int, text: str) -> Callable[[], Any]:
    from bot.delivery.compose import outgoing_payloads
    from bot.telegram_channel import MAX_TEXT
    from dialogs.exchange import Inbound

    def send() -> Any:
        replies = region.engine.handle(Inbound("telegram", str(chat), text))
        assert replies and "抱歉" not in replies[0].text, replies[0].text[:200]
        characters = sum(len(reply.text) for reply in replies)
        region.replies[text] = (characters, len(outgoing_payloads(replies, MAX_TEXT)))
        return replies

    return send


@dataclass
class NudgeResult:
    first_ms: float
    queued: int
    again_ms: float
    messages: int


def time_nudges(region: Region) -> NudgeResult:
    """The first reminder slot of 5月25日 across the region, then the same call a minute later."""
    from dialogs.nudges import send_due_nudges

    engine = region.engine
    began = time.perf_counter()
    queued = send_due_nudges(engine.repository, engine.campaign, engine.forms, FIRST_REMINDER)
    first = (time.perf_counter() - began) * 1000
    began = time.perf_counter()
    again = send_due_nudges(
        engine.repository, engine.campaign, engine.forms, FIRST_REMINDER + timedelta(minutes=1)
    )
    second = (time.perf_counter() - began) * 1000
    assert again == 0, "a slot is never sent twice"
    messages = len(engine.repository.due_messages("telegram", datetime.now(SHANGHAI), limit=1_000_000))
    return NudgeResult(first, queued, second, messages)


# The dispatcher's pace -------------------------------------------------------------------------------


@dataclass
class PaceResult:
    messages: int
    seconds: float
    busiest_second: int  # most messages sent within any 1-s window
    busiest_chat_second: int  # most messages one chat got within any 1-s window
    per_chat_gaps_ms: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return (self.messages - 1) / self.seconds if self.seconds > 0 else float("nan")


class _Recorder(FakeTelegram):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[tuple[float, int]] = []

    def call(self, method: str, parameters: dict[str, Any]) -> Any:
        if method == "sendMessage":
            self.sent.append((time.monotonic(), int(parameters["chat_id"])))
        return super().call(method, parameters)


def dispatch_pace(
    database: Database, data_dir: Path, chats: int, per_chat: int, talkative: int = 6
) -> PaceResult:
    """Queue ``talkative`` messages for one chat (to meet the per-chat pace), then ``per_chat`` for
    each of ``chats`` chats, and send them all with the default pacer."""
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    from telegram import Bot

    from bot.app import load_declarations
    from bot.logs import quiet_third_party_logs
    from bot.rate_limit import SendPacer
    from bot.settings import Settings
    from bot.telegram_channel import CHANNEL, TelegramChannel
    from dialogs.engine import DialogEngine
    from renderers import render_form
    from storage.repository import Repository

    quiet_third_party_logs()
    declarations = load_declarations(Settings())
    repository = Repository(database.engine(), data_dir)
    engine = DialogEngine(
        campaign=declarations.campaign,
        forms=declarations.forms,
        machines=declarations.machines,
        repository=repository,
        clock=lambda: CAMPAIGN_NOW,
        render=render_form,
    )
    with repository.unit_of_work():
        for round_ in range(talkative):  # first: a long reply in parts, a digest, a burst of reminders
            repository.enqueue_message(CHANNEL, str(SUPERVISOR_CHAT), {"text": f"汇总 {round_}"})
        for round_ in range(per_chat):
            for chat in range(chats):
                repository.enqueue_message(CHANNEL, str(CONTACT_CHAT_BASE + chat), {"text": f"提醒 {round_}"})
    telegram = _Recorder()

    async def send() -> None:
        bot = Bot(BOT_TOKEN, request=FakeBotApi(telegram), get_updates_request=FakeBotApi(telegram))
        await bot.initialize()
        channel = TelegramChannel(bot, engine, SendPacer())
        # A pass skips the chats that must wait; the service runs the next pass within a second
        # (its tick), here as soon as 50 ms later, so that the pacer alone sets the pace measured.
        while repository.due_messages(CHANNEL, datetime.now(SHANGHAI), limit=1):
            if not await channel.send_due():
                await asyncio.sleep(0.05)
        await bot.shutdown()

    asyncio.run(send())
    repository.engine.dispose()
    stamps = [stamp for stamp, _chat in telegram.sent]
    by_chat: dict[int, list[float]] = {}
    for stamp, chat in telegram.sent:
        by_chat.setdefault(chat, []).append(stamp)
    gaps = [(b - a) * 1000 for times in by_chat.values() for a, b in itertools.pairwise(times)]
    return PaceResult(
        messages=len(stamps),
        seconds=stamps[-1] - stamps[0] if len(stamps) > 1 else 0.0,
        busiest_second=busiest(stamps, 1.0),
        busiest_chat_second=max((busiest(times, 1.0) for times in by_chat.values()), default=0),
        per_chat_gaps_ms=gaps,
    )


def median(values: list[float]) -> float:
    return percentile(values, 0.5)
