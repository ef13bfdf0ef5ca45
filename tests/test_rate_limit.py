"""The sending pace, measured on a simulated clock: never faster than Telegram allows, and one busy chat
never holds up the others."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

from telegram import Bot
from telegram.error import RetryAfter

from bot.rate_limit import SendPacer, TokenBucket
from bot.telegram_channel import CHANNEL, TelegramChannel
from dialogs.engine import DialogEngine
from storage.models import utc_now


class SimulatedTime:
    """A clock that moves only when slept on; ``late(n)`` adds to the n-th sleep (a late wake-up)."""

    def __init__(self, late: Callable[[int], float] = lambda n: 0.0) -> None:
        self.now = 0.0
        self.late = late
        self.sleeps = 0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps += 1
        self.now += seconds + self.late(self.sleeps)


def send_times(pacer: SendPacer, time: SimulatedTime, chats: list[str]) -> list[float]:
    """When each message went, every chat ready for it."""

    async def run() -> list[float]:
        stamps = []
        for chat in chats:
            assert await pacer.wait(chat)
            stamps.append(time.now)
        return stamps

    return asyncio.run(run())


def busiest_second(stamps: list[float]) -> int:
    return max(sum(1 for s in stamps if start <= s < start + 1.0 - 1e-9) for start in stamps)


def within_bucket(stamps: list[float], rate: float, burst: float) -> bool:
    """True when no stretch of sends outran the bucket: n sends in t seconds, n ≤ burst + rate·t."""
    return all(
        j - i + 1 <= burst + (stamps[j] - stamps[i]) * rate + 1e-9
        for i in range(len(stamps))
        for j in range(i, len(stamps))
    )


def test_one_chat_gets_a_short_burst_then_one_message_a_second() -> None:
    time = SimulatedTime()
    pacer = SendPacer(clock=time.clock, sleep=time.sleep)

    def tries(at: float, count: int) -> list[bool]:
        time.now = max(time.now, at)

        async def run() -> list[bool]:
            return [await pacer.wait("a") for _ in range(count)]

        return asyncio.run(run())

    assert tries(0.0, 4) == [True, True, True, False], "three at once, then the chat must wait"
    assert time.now < 0.1, "a chat that must wait does not make the pacer wait"
    assert tries(0.99, 1) == [False]
    assert tries(1.0, 2) == [True, False]
    assert tries(1.5, 1) == [False]
    assert tries(2.0, 2) == [True, False]


def test_many_chats_together_stay_under_thirty_a_second() -> None:
    time = SimulatedTime()
    pacer = SendPacer(clock=time.clock, sleep=time.sleep)
    stamps = send_times(pacer, time, [f"chat-{n}" for n in range(300)])
    assert busiest_second(stamps) <= 30
    assert 9.5 <= stamps[-1] <= 10.5, "and no slower than needed"


def test_late_wake_ups_are_not_made_up_by_a_faster_burst() -> None:
    time = SimulatedTime(late=lambda n: 0.02 if n % 7 == 0 else 0.0)
    pacer = SendPacer(clock=time.clock, sleep=time.sleep)
    stamps = send_times(pacer, time, [f"chat-{n}" for n in range(300)])
    assert min(b - a for a, b in pairwise(stamps)) >= 1 / 30 - 1e-9, "never closer than 1/30 s"
    assert busiest_second(stamps) <= 30


def test_a_429_pauses_everything_for_retry_after() -> None:
    time = SimulatedTime()
    pacer = SendPacer(clock=time.clock, sleep=time.sleep)
    send_times(pacer, time, ["a"])
    pacer.pause(7)
    assert send_times(pacer, time, ["b"]) == [7.0]


def test_a_token_bucket_refills_at_its_rate() -> None:
    bucket = TokenBucket(rate=2, burst=2)
    assert bucket.wait_time(0.0) == 0.0
    bucket.take(0.0)
    bucket.take(0.0)
    assert bucket.wait_time(0.0) == 0.5
    assert bucket.wait_time(0.25) == 0.25
    assert bucket.wait_time(10.0) == 0.0


# The dispatcher: TelegramChannel.send_due with the default pace on the simulated clock ------------------


class RecordingChannel(TelegramChannel):
    """Sends nothing anywhere: notes when each message would have reached Telegram."""

    def __init__(
        self, engine: DialogEngine, time: SimulatedTime, refuse: frozenset[str] = frozenset()
    ) -> None:
        pacer = SendPacer(clock=time.clock, sleep=time.sleep)
        super().__init__(Bot("123456:OFFLINE-never-used"), engine, pacer)
        self.time = time
        self.start = utc_now()
        self.refuse = set(refuse)  # texts Telegram answers with a 429, once each
        self.sent: list[tuple[float, int, str]] = []

    def now(self) -> datetime:
        return self.start + timedelta(seconds=self.time.now)

    async def _deliver(self, chat_id: int, payload: dict[str, Any]) -> None:
        if payload["text"] in self.refuse:
            self.refuse.discard(payload["text"])
            raise RetryAfter(timedelta(seconds=5))
        self.sent.append((self.time.now, chat_id, payload["text"]))

    async def send_all(self) -> None:
        """The service's loop: a pass, and when it sent nothing, another within a second."""
        while self.engine.repository.due_messages(CHANNEL, self.now() + timedelta(days=1)):
            if not await self.send_due():
                await self.time.sleep(1.0)


def test_a_chat_with_six_queued_does_not_hold_up_150_others(engine: DialogEngine) -> None:
    time = SimulatedTime()
    channel = RecordingChannel(engine, time)
    with engine.repository.unit_of_work():
        for n in range(6):  # a long reply in parts, a digest, reminders
            engine.repository.enqueue_message(CHANNEL, "7", {"text": f"7-{n}"})
        for n in range(2):
            for chat in range(1000, 1150):
                engine.repository.enqueue_message(CHANNEL, str(chat), {"text": f"{chat}-{n}"})
    asyncio.run(channel.send_all())

    assert len(channel.sent) == 306
    stamps = [stamp for stamp, _chat, _text in channel.sent]
    assert stamps[-1] <= 305 / 30 + 0.01, "the others are not held up: 30 a second from first to last"
    assert min(b - a for a, b in pairwise(stamps)) >= 1 / 30 - 1e-9 and busiest_second(stamps) <= 30
    by_chat: dict[int, list[tuple[float, str]]] = {}
    for stamp, chat, text in channel.sent:
        by_chat.setdefault(chat, []).append((stamp, text))
    busy = by_chat[7]
    assert [text for _stamp, text in busy] == [f"7-{n}" for n in range(6)], "in order"
    assert within_bucket([stamp for stamp, _text in busy], rate=1.0, burst=3), "3 at once, then 1 a second"
    assert all(
        [text for _s, text in sent] == [f"{chat}-0", f"{chat}-1"]
        for chat, sent in by_chat.items()
        if chat != 7
    )


def test_a_429_holds_back_its_own_chat_and_only_what_was_sent_is_marked_sent(engine: DialogEngine) -> None:
    time = SimulatedTime()
    channel = RecordingChannel(engine, time, refuse=frozenset({"7-0"}))
    for text in ("7-0", "8-0", "7-1", "8-1"):
        engine.repository.enqueue_message(CHANNEL, text[0], {"text": text})
    assert asyncio.run(channel.send_due()) == 2
    assert [text for _stamp, _chat, text in channel.sent] == ["8-0", "8-1"]
    assert channel.sent[0][0] >= 5.0, "after the 429, nothing leaves until Telegram's retry_after"
    left = engine.repository.due_messages(CHANNEL, channel.now() + timedelta(seconds=6))
    assert [(m.payload["text"], m.attempts) for m in left] == [("7-0", 1), ("7-1", 0)]
    before_retry = channel.start + timedelta(seconds=4)
    assert engine.repository.due_messages(CHANNEL, before_retry) == [], "7-1 waits behind 7-0's retry"
    asyncio.run(channel.send_all())
    assert [text for _stamp, _chat, text in channel.sent] == ["8-0", "8-1", "7-0", "7-1"]


def test_a_pass_lasts_about_a_second_so_that_updates_are_not_kept_waiting(engine: DialogEngine) -> None:
    time = SimulatedTime()
    channel = RecordingChannel(engine, time)
    with engine.repository.unit_of_work():
        for chat in range(2000, 2100):  # a reminder morning: many queued, one each
            engine.repository.enqueue_message(CHANNEL, str(chat), {"text": f"{chat}"})
    first = asyncio.run(channel.send_due())
    assert first == 30 and time.now < 1.0, "a second's worth at 30 a second, then back to the loop"
    assert len(engine.repository.due_messages(CHANNEL, channel.now(), limit=1000)) == 100 - first
    asyncio.run(channel.send_all())
    assert [text for _stamp, _chat, text in channel.sent] == [str(chat) for chat in range(2000, 2100)]
