"""Notices pushed to open web pages: a 退回 reason, a reminder, 已接收 show within a second.

The web chat cannot push to a phone, but while its page is open it holds one Server-Sent Events
stream (``GET /api/events``). Notices for web contacts wait in the outbox like any channel's
messages; one loop per process (``LiveNotices.run``) looks, while at least one page listens, which
listening browsers have something waiting — one query for all of them, every ``LOOK_EVERY`` seconds,
so a notice queued by another process (a second worker, the Telegram service) arrives too — and
wakes their streams, which take the notices (each given once) and send them. A message this process
handles wakes the loop at once (``ring``). The page's minute poll stays as the fallback.

Each open page holds a seat. A person gets at most ``PER_PERSON`` (their tabs and browsers): one more
ends the oldest, so one cookie opening streams in a loop holds a handful of connections, not the
process's open files. The whole process holds at most ``most`` (past it a new stream is turned down
and the page falls back to its poll). A revoked contact's streams end at the next look (``bound``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from dialogs.failures import report_failure

log = logging.getLogger(__name__)

LOOK_EVERY = 0.25  # seconds between looks while a page listens: a notice waits at most this long
OUTAGE_PAUSE = 5.0
PER_PERSON = 6  # open streams of one person (tabs, browsers); one more ends the oldest
MOST_STREAMS = 400  # open streams of the whole process; past it a page polls instead
FULL_SAID_EVERY = 60.0  # seconds between two log lines about streams turned down


@dataclass(eq=False)
class Seat:
    """One open page's stream: its bell rings when notices may be waiting; ``ended`` when the stream
    must close (a newer page of the same person took its place, the person was revoked, the service
    stops)."""

    bell: asyncio.Event = field(default_factory=asyncio.Event)
    ended: bool = False
    replaced: bool = False  # ended for a newer page of the same person

    def end(self, *, replaced: bool = False) -> None:
        self.ended = True
        self.replaced = replaced
        self.bell.set()


class LiveNotices:
    """Which open pages have notices waiting.

    Args:
        waiting: which of the given chat keys have notices due now (one query for all).
        every: seconds between looks while anyone listens.
    """

    def __init__(
        self,
        waiting: Callable[[list[str]], set[str]],
        every: float = LOOK_EVERY,
        *,
        bound: Callable[[list[str]], set[str]] | None = None,
        per_person: int = PER_PERSON,
        most: int = MOST_STREAMS,
    ) -> None:
        if per_person < 1 or most < 1:
            raise ValueError("at least one stream per person and in all")
        self._waiting = waiting
        self._bound = bound
        self._every = every
        self.per_person = per_person
        self.most = most
        self._seats: dict[str, list[Seat]] = {}  # oldest first
        self._wake = asyncio.Event()
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._said_full = -FULL_SAID_EVERY

    def take_seat(self, chat_key: str) -> Seat | None:
        """A seat for one open page of ``chat_key``, taken at once (no other stream can take it
        meanwhile), or None when the process holds ``most`` already and the person none (a person's
        new stream takes the place of their oldest past ``per_person``). Its bell rings at once, for
        what waited before the page opened. Given back with ``leave``."""
        if chat_key not in self._seats and self.listeners >= self.most:
            return None
        self._loop = asyncio.get_running_loop()
        seat = Seat()
        seat.bell.set()
        seats = self._seats.setdefault(chat_key, [])
        seats.append(seat)
        for old in seats[: -self.per_person]:
            old.end(replaced=True)
        self._wake.set()
        return seat

    def leave(self, chat_key: str, seat: Seat) -> None:
        """Give back a seat ``take_seat`` gave (its stream ended, or never started)."""
        seats = self._seats.get(chat_key, [])
        with contextlib.suppress(ValueError):
            seats.remove(seat)
        if not seats:
            self._seats.pop(chat_key, None)

    def say_full(self) -> None:
        """Log that a stream was turned down, once a minute however many are."""
        now = time.monotonic()
        if now - self._said_full >= FULL_SAID_EVERY:
            self._said_full = now
            log.warning("event streams turned down: %d open, the most this process holds", self.listeners)

    def wake(self, chat_key: str) -> None:
        """Ring every open page of ``chat_key``: one of them took notices the others must show too."""
        for seat in self._seats.get(chat_key, ()):
            seat.bell.set()

    def wake_soon(self, chat_key: str) -> None:
        """``wake``, from another thread than the one serving (where notices are taken)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self.wake, chat_key)

    def end(self, chat_key: str) -> None:
        """Close every open stream of ``chat_key`` (revoked)."""
        for seat in self._seats.get(chat_key, ()):
            seat.end()

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def listeners(self) -> int:
        return sum(len(seats) for seats in self._seats.values())

    def ring(self) -> None:
        """Look now: this process has just handled something that may have queued a notice."""
        self._wake.set()

    def close(self) -> None:
        """The service is stopping: every stream ends (the page's EventSource comes back later). Safe
        to call from another thread than the one serving (a test's)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # RuntimeError: the running loop is not that one
                if asyncio.get_running_loop() is loop:
                    self._close()
                    return
            loop.call_soon_threadsafe(self._close)
            return
        self._close()

    def _close(self) -> None:
        self._closed = True
        for seats in self._seats.values():
            for seat in seats:
                seat.end()
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Look for waiting notices while pages listen, until ``stop`` is set."""
        while not stop.is_set() and not self._closed:
            if not self._seats:
                self._wake.clear()
                await _first(self._wake.wait(), stop.wait())
                continue
            self._wake.clear()
            keys = list(self._seats)
            try:
                waiting, bound = await asyncio.to_thread(self._look, keys)
            except Exception as error:  # the database away: the streams wait, then carry on
                report_failure(error, "the web notice loop")
                await _first(asyncio.sleep(OUTAGE_PAUSE), stop.wait())
                continue
            for chat_key in keys:
                if chat_key not in bound:
                    self.end(chat_key)
                elif chat_key in waiting:
                    self.wake(chat_key)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._every)
        self.close()

    def _look(self, keys: list[str]) -> tuple[set[str], set[str]]:
        """Which of ``keys`` have notices waiting, and which are still bound (one thread hop)."""
        return self._waiting(keys), (self._bound(keys) if self._bound else set(keys))


async def _first(*waits: object) -> None:
    """Wait until the first of several awaitables is done; cancel the rest."""
    tasks = [asyncio.ensure_future(wait) for wait in waits]  # type: ignore[call-overload]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
