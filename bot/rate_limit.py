"""The pace of outgoing messages: Telegram allows about 30 messages a second overall and about one
a second in one chat (short bursts are tolerated). Token buckets keep to that, and a 429's
``retry_after`` pauses everything for as long as Telegram asks."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    """``rate`` tokens a second, holding at most ``burst``."""

    rate: float
    burst: float
    tokens: float | None = None  # full until first used
    stamp: float = 0.0

    def delay(self, now: float) -> float:
        """Take one token; return how long to wait before using it (0 when one was there).

        Tokens may go negative: a debt that later calls pay back, so waits queue up in order.
        """
        if self.tokens is None:
            self.tokens, self.stamp = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


@dataclass
class SendPacer:
    """Waits before each message so that no bucket is exceeded.

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

    async def wait(self, chat_key: str) -> None:
        now = self.clock()
        chat = self._chats.setdefault(chat_key, TokenBucket(rate=self.per_chat, burst=self.chat_burst))
        delay = max(self._paused_until - now, chat.delay(now), self._global.delay(now))
        if len(self._chats) > 10_000:  # forget idle chats; a full bucket is the same as a new one
            self._chats = {chat_key: chat}
        if delay > 0:
            await self.sleep(delay)
