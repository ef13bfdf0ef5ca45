"""The answer pipeline: python-telegram-bot's ``Bot`` + our ``TelegramChannel`` + the dialog engine.

Each worker process runs the product's loop as ``bot/telegram_service.py`` does — updates received
into the inbox as a long poll's batch is (polling is the default; ``TelegramChannel.receive_many``,
one transaction per batch — a webhook stores each update with its own commit), ``process_pending``
(one transaction per message: the draft, the outbox rows and the inbox row's “done” commit together),
``send_due`` (each reply through ``Bot.send_message``/``send_document``, a pass marked sent at once) —
against ``scenario.FakeTelegram``: many chats in parallel, each sending its next answer as soon as the bot has
answered (a saturated closed loop). The pacer is set out of the way (the product's own pace is 30
messages/s by design, measured separately in ``supervisor.dispatch_pace``).

A message's cost is the time spent on it: receiving it into the inbox, turning it into the engine's
input, handling it (commit included) and sending its replies. Throughput is messages over wall time,
batch overheads (reading the inbox, the outbox) included.

Two workers share the one inbox through the per-update claim (``Repository.claim_update``): the
first receives, processes and sends, the second processes. (Without a claim in the product the
benchmark falls back to each worker owning half the chats on a channel name of its own.)
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bench.processes import Start, memory_mb, run_workers
from bench.scenario import BOT_TOKEN, FakeBotApi, FakeTelegram, Step, registration_script
from bench.setup_db import Database, Loader, region_campaign

if TYPE_CHECKING:
    from dialogs.engine import DialogEngine

#: The engine's clock: inside the campaign (before every deadline), as in the tests.
CAMPAIGN_NOW = datetime(2021, 5, 10, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
ACTIVE_CHAT_BASE = 1_000_000
WARMUP_CHAT_BASE = 3_000_000
WARMUP_CHATS = 2  # per worker, on a unit of their own, before the timed part
STALL_SECONDS = 30.0


@dataclass(frozen=True)
class WorkerSpec:
    database_url: str
    data_dir: str
    campaign_units: int
    channel: str
    role: str  # "all": its chats in, processed, out · "front": that, sharing the inbox · "helper": processes
    chats: tuple[int, ...]
    warmup_chats: tuple[int, ...]
    script_length: int  # messages of the registration script each chat sends
    max_seconds: float
    first_update_id: int


@dataclass
class WorkerResult:
    messages: int
    started: float  # time.monotonic(), comparable across processes on Linux
    ended: float
    costs_ms: dict[int, float]  # per update id
    rss_mb: float
    peak_rss_mb: float
    finished_chats: int
    api_calls: dict[str, int] = field(default_factory=dict)
    positions: dict[int, int] = field(default_factory=dict)  # update id -> place in the script


@dataclass
class PipelineResult:
    messages: int
    seconds: float
    costs_ms: list[float]
    rss_mb: float
    peak_rss_mb: float
    finished_chats: int
    chats: int
    workers: int
    split: str  # how two workers share the work
    by_position: dict[int, list[float]] = field(default_factory=dict)  # script place -> costs (ms)

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else float("nan")


def first_update_id(worker_index: int) -> int:
    return (worker_index + 1) * 100_000_000


def warmup_channel(first_update: int) -> str:
    """A worker's own channel for its warm-up chats (never on the shared inbox)."""
    return f"warmup-{first_update}"


def shared_inbox() -> bool:
    """True when the product lets several workers take updates from one inbox (a per-update claim)."""
    from storage.repository import Repository

    return hasattr(Repository, "claim_update")


def _timed_channel_class() -> Any:
    from bot.telegram_channel import TelegramChannel

    class TimedChannel(TelegramChannel):
        """The product's channel, unchanged, with a stopwatch around each per-message step of the
        delivery layer; the time is booked on the update (a reply's sending on the update its chat
        sent last)."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.costs: dict[int, float] = {}  # update id -> seconds
            self.latest: dict[str, int] = {}  # chat key -> the update id it sent last
            self.messages = 0
            inbox, dispatcher = self.inbox, self.dispatcher
            work, handle_group, send = inbox._work, inbox._handle_group, dispatcher._send

            def timed_work(item: Any, message: Any) -> Any:
                piece = work(item, message)

                def timed(in_batch: bool) -> Any:
                    began = time.perf_counter()
                    done = piece(in_batch)
                    self._add(item.update_id, time.perf_counter() - began)
                    if done is not False:
                        self.messages += 1
                    return done

                return timed

            def timed_group(group: Any) -> Any:
                """The product's; what a group costs beyond its messages (its one commit, mostly) is
                shared equally by the group's messages."""
                before = {item.update_id: self.costs.get(item.update_id, 0.0) for item, _ in group}
                began = time.perf_counter()
                done = handle_group(group)
                whole = time.perf_counter() - began
                inside = sum(self.costs.get(update_id, 0.0) - cost for update_id, cost in before.items())
                for update_id in before:
                    self._add(update_id, max(whole - inside, 0.0) / len(before))
                return done

            async def timed_send(message: Any) -> bool:
                began = time.perf_counter()
                sent: bool = await send(message)
                self._add(self.latest.get(message.chat_key), time.perf_counter() - began)
                return sent

            inbox._work = timed_work  # type: ignore[method-assign]
            inbox._handle_group = timed_group  # type: ignore[method-assign]
            dispatcher._send = timed_send  # type: ignore[method-assign]

        def _add(self, update_id: int | None, seconds: float) -> None:
            if update_id is not None:
                self.costs[update_id] = self.costs.get(update_id, 0.0) + seconds

        def receive_many(self, payloads: Any) -> int:
            """A poll's batch, stored in one transaction; its time shared by the batch's updates."""
            began = time.perf_counter()
            stored: int = super().receive_many(payloads)
            share = (time.perf_counter() - began) / max(len(payloads), 1)
            for payload in payloads:
                update_id = int(payload["update_id"])
                self.latest[str(payload["message"]["chat"]["id"])] = update_id
                self._add(update_id, share)
            return stored

        async def translate(self, item: Any) -> Any:
            began = time.perf_counter()
            result = await super().translate(item)
            self._add(item.update_id, time.perf_counter() - began)
            return result

    return TimedChannel


async def drive(channel: Any, telegram: FakeTelegram, deadline: float = math.inf) -> None:
    """The service loop: receive what the people sent, process the inbox, send the outbox; until
    every script is done (or ``deadline``). Another worker may be processing the same inbox: then an
    idle turn waits a moment and looks again, until the people have all they asked for."""
    last_busy = time.monotonic()
    while telegram.finished < len(telegram.chats) and time.monotonic() < deadline:
        batch = telegram.take()
        if batch:
            channel.receive_many(batch)  # as a long poll's answer is stored (polling is the default)
        busy = bool(batch)
        while processed := await channel.process_pending():
            busy = busy or processed > 0
        while sent := await channel.send_due():
            busy = busy or sent > 0
        if busy:
            last_busy = time.monotonic()
        elif time.monotonic() - last_busy > STALL_SECONDS:
            raise RuntimeError(f"no progress for {STALL_SECONDS:.0f} s; {telegram.finished} chats done")
        else:
            await asyncio.sleep(0.0005)


async def help_out(channel: Any, over: Any) -> None:
    """A helper worker: process whatever the shared inbox holds until the run is over."""
    while not over.is_set():
        if not await channel.process_pending():
            await asyncio.sleep(0.0005)


def dialog_engine(database_url: str, data_dir: str, campaign_units: int) -> DialogEngine:
    """The product's engine as a worker builds it: the shipped declarations, the campaign at
    ``campaign_units`` units, the clock inside the campaign, the real renderer."""
    from bot.app import load_declarations
    from bot.settings import Settings
    from dialogs.engine import DialogEngine
    from renderers import render_form
    from storage.database import make_engine
    from storage.repository import Repository

    declarations = load_declarations(Settings())
    return DialogEngine(
        campaign=region_campaign(declarations.campaign, campaign_units),
        forms=declarations.forms,
        machines=declarations.machines,
        repository=Repository(make_engine(database_url), Path(data_dir)),
        clock=lambda: CAMPAIGN_NOW,
        render=render_form,
    )


def worker(spec: WorkerSpec, start: Start) -> WorkerResult:
    return asyncio.run(_worker(spec, start))


async def _worker(spec: WorkerSpec, start: Start) -> WorkerResult:
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    logging.basicConfig(level=logging.ERROR)
    from telegram import Bot

    from bot.logs import quiet_third_party_logs
    from bot.rate_limit import SendPacer

    quiet_third_party_logs()
    engine = dialog_engine(spec.database_url, spec.data_dir, spec.campaign_units)
    repository = engine.store
    telegram = FakeTelegram(first_update_id=spec.first_update_id)
    bot = Bot(BOT_TOKEN, request=FakeBotApi(telegram), get_updates_request=FakeBotApi(telegram))
    await bot.initialize()
    unpaced = SendPacer(overall=1e9, per_chat=1e9, chat_burst=1e9)
    channel = _timed_channel_class()(bot, engine, unpaced)
    script: list[Step] = registration_script()[: spec.script_length]

    channel.channel = warmup_channel(spec.first_update_id)  # alone, even on a shared inbox
    for chat in spec.warmup_chats:  # compiles statements, loads the renderer, fills caches
        telegram.add_chat(chat, registration_script())
    await drive(channel, telegram)
    channel.channel = spec.channel
    channel.costs.clear()
    channel.messages = 0
    warmed = max(telegram.positions, default=0)
    telegram.chats.clear()
    telegram.finished = 0

    start.wait()
    started = time.monotonic()
    if spec.role == "helper":
        await help_out(channel, start.over)
    else:
        for chat in spec.chats:
            telegram.add_chat(chat, script)
        await drive(channel, telegram, started + spec.max_seconds)
        start.over.set()
    ended = time.monotonic()
    rss, peak = memory_mb()
    await bot.shutdown()
    repository.engine.dispose()
    return WorkerResult(
        messages=channel.messages,
        started=started,
        ended=ended,
        costs_ms={update: cost * 1000 for update, cost in channel.costs.items()},
        rss_mb=rss,
        peak_rss_mb=peak,
        finished_chats=telegram.finished,
        api_calls=dict(telegram.api_calls),
        positions={u: p for u, p in telegram.positions.items() if u in channel.costs or u > warmed},
    )


def prepare(
    database: Database,
    *,
    workers: int,
    chats: int,
    stored: int,
    history: int,
    shared: bool,
) -> tuple[int, list[tuple[str, list[int], list[int]]]]:
    """Fill ``database``: a campaign with a unit per two chats, the active contacts, warm-up
    contacts (two per worker, on a unit of their own), and ``stored`` idle conversations with their
    history. With ``shared`` every chat is on the one channel and the first worker talks to all of
    them; otherwise each worker has its own channel and half the chats.

    Returns the campaign's unit count and, per worker, (channel, chats, warm-up chats).
    """
    from bot.app import load_declarations
    from bot.settings import Settings

    base = load_declarations(Settings()).campaign
    units = math.ceil(chats / 2) + workers
    campaign = region_campaign(base, units)
    engine = database.engine()
    loader = Loader(engine)
    unit_ids = loader.units(campaign)
    plan = []
    for index in range(workers):
        channel = "telegram" if index == 0 or shared else f"telegram-w{index}"
        if shared:
            mine = list(range(chats)) if index == 0 else []
        else:
            mine = [n for n in range(chats) if n % workers == index]
        active = [ACTIVE_CHAT_BASE + n for n in mine]
        loader.contacts(channel, active, [unit_ids[n // 2] for n in mine])
        warmup = [WARMUP_CHAT_BASE + index * 10 + n for n in range(WARMUP_CHATS)]
        loader.contacts(
            warmup_channel(first_update_id(index)), warmup, [unit_ids[units - 1 - index]] * WARMUP_CHATS
        )
        plan.append((channel, active, warmup))
    if stored:
        loader.stored_conversations(campaign, unit_ids[: units - workers], stored, "telegram", history)
    loader.finish()
    engine.dispose()
    return units, plan


def run_pipeline(
    database: Database,
    work_dir: Path,
    *,
    workers: int,
    chats: int,
    stored: int,
    history: int,
    script_length: int = len(registration_script()),
    max_seconds: float = 120.0,
) -> PipelineResult:
    """Fill ``database`` and run the pipeline in ``workers`` processes; the merged figures."""
    shared = workers > 1 and shared_inbox()
    units, plan = prepare(
        database, workers=workers, chats=chats, stored=stored, history=history, shared=shared
    )
    specs = [
        WorkerSpec(
            database_url=database.url,
            data_dir=str(work_dir / "data"),
            campaign_units=units,
            channel=channel,
            role=("front" if index == 0 else "helper") if shared else "all",
            chats=tuple(active),
            warmup_chats=tuple(warmup),
            script_length=script_length,
            max_seconds=max_seconds,
            first_update_id=first_update_id(index),
        )
        for index, (channel, active, warmup) in enumerate(plan)
    ]
    results: Sequence[WorkerResult] = run_workers(worker, specs)
    costs: dict[int, float] = {}
    positions: dict[int, int] = {}
    for result in results:
        positions.update(result.positions)
        for update, cost in result.costs_ms.items():
            costs[update] = costs.get(update, 0.0) + cost
    by_position: dict[int, list[float]] = {}
    for update, cost in costs.items():
        if update in positions:
            by_position.setdefault(positions[update], []).append(cost)
    if workers == 1:
        split = "one process"
    elif shared:
        split = (
            "one inbox shared through the per-update claim: worker 1 receives, processes and sends "
            "(one sender keeps Telegram's pace), worker 2 processes"
        )
    else:
        split = "no multi-worker claim in the product: each worker owns half the chats (its own channel)"
    return PipelineResult(
        messages=sum(r.messages for r in results),
        seconds=max(r.ended for r in results) - min(r.started for r in results),
        costs_ms=list(costs.values()),
        rss_mb=max(r.rss_mb for r in results),
        peak_rss_mb=max(r.peak_rss_mb for r in results),
        finished_chats=sum(r.finished_chats for r in results),
        chats=chats,
        workers=workers,
        split=split,
        by_position=by_position,
    )
