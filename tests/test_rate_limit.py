"""The sending pace, measured on a simulated clock: never faster than Telegram allows."""

from __future__ import annotations

import asyncio
from itertools import pairwise

from bot.rate_limit import SendPacer, TokenBucket


class SimulatedTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def send_times(pacer: SendPacer, time: SimulatedTime, chats: list[str]) -> list[float]:
    async def run() -> list[float]:
        stamps = []
        for chat in chats:
            await pacer.wait(chat)
            stamps.append(time.now)
        return stamps

    return asyncio.run(run())


def test_one_chat_gets_a_short_burst_then_one_message_a_second() -> None:
    time = SimulatedTime()
    pacer = SendPacer(clock=time.clock, sleep=time.sleep)
    stamps = send_times(pacer, time, ["a"] * 8)
    assert stamps[2] < 0.1, "three at once"
    assert [round(b - a, 6) for a, b in pairwise(stamps[3:])] == [1.0] * 4
    assert round(stamps[-1], 6) == 5.0


def test_many_chats_together_stay_under_thirty_a_second() -> None:
    time = SimulatedTime()
    pacer = SendPacer(clock=time.clock, sleep=time.sleep)
    stamps = send_times(pacer, time, [f"chat-{n}" for n in range(300)])
    for start in range(0, 270):
        window = [s for s in stamps if stamps[start] <= s < stamps[start] + 1.0 - 1e-9]
        assert len(window) <= 30
    assert 9.5 <= stamps[-1] <= 10.5, "and no slower than needed"


def test_a_429_pauses_everything_for_retry_after() -> None:
    time = SimulatedTime()
    pacer = SendPacer(clock=time.clock, sleep=time.sleep)
    send_times(pacer, time, ["a"])
    pacer.pause(7)
    assert send_times(pacer, time, ["b"]) == [7.0]


def test_a_token_bucket_refills_at_its_rate() -> None:
    bucket = TokenBucket(rate=2, burst=2)
    assert [bucket.delay(0.0) for _ in range(3)] == [0.0, 0.0, 0.5]
    assert bucket.delay(10.0) == 0.0
