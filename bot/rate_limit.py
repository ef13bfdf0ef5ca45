"""The pace of outgoing messages: Telegram allows about 30 messages a second overall and about one
a second in one chat (short bursts are tolerated). Token buckets keep to that, and a 429's
``retry_after`` pauses everything for as long as Telegram asks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

EPSILON = 1e-9  # a token that is there but for float rounding is there


@dataclass
class TokenBucket:
    """``rate`` tokens a second, holding at most ``burst``."""

    rate: float
    burst: float
    tokens: float | None = None  # full until first used
    stamp: float = 0.0

    def wait_time(self, now: float) -> float:
        """How long until a token is there (0 when one is there now)."""
        tokens = self._refill(now)
        return 0.0 if tokens >= 1 - EPSILON else (1 - tokens) / self.rate

    def take(self, now: float) -> None:
        """Use the token ``wait_time`` said is there. Never below zero: time spent waiting past a token
        is not paid back by a later burst, so with ``burst=1`` uses are at least 1/rate apart."""
        self.tokens = max(0.0, self._refill(now) - 1)

    def _refill(self, now: float) -> float:
        elapsed = (now - self.stamp) * self.rate
        self.tokens = self.burst if self.tokens is None else min(self.burst, self.tokens + elapsed)
        self.stamp = now
        return self.tokens


@dataclass
class SendPacer:
    """Decides when each message may go so that no bucket is exceeded.

    Args:
        overall: messages a second for the whole bot.
        per_chat: messages a second in one chat.
        chat_burst: messages one chat may get at once before the per-chat pace applies.
    """

    overall: float = 30.0
    per_chat: float = 1.0
    chat_burst: float = 3.0
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    _global: TokenBucket = field(init=False)
    _chats: dict[str, TokenBucket] = field(default_factory=dict, init=False)
    _paused_until: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        self._global = TokenBucket(rate=self.overall, burst=1)  # evenly spaced: never 30+ in any second

    def pause(self, seconds: float) -> None:
        """Telegram said 429: send nothing for ``seconds``."""
        self._paused_until = max(self._paused_until, self.clock() + seconds)

    async def wait(self, chat_key: str) -> bool:
        """Wait for the bot's turn to send to this chat and take it; False at once, without waiting, when
        the chat has had its burst and must wait for its own pace (the caller tries it again later, so one
        busy chat never holds up the others)."""
        chat = self._chats.setdefault(chat_key, TokenBucket(rate=self.per_chat, burst=self.chat_burst))
        if chat.wait_time(self.clock()) > 0:
            return False
        while True:  # a sleep may end a hair early: look again after each
            now = self.clock()
            delay = max(self._paused_until - now, self._global.wait_time(now))
            if delay <= 0:
                break
            await self.sleep(delay)
        self._global.take(now)
        chat.take(now)
        if len(self._chats) > 10_000:  # forget idle chats; a full bucket is the same as a new one
            self._chats = {chat_key: chat}
        return True
