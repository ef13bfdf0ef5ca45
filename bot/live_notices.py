"""Notices pushed to open web pages: a 退回 reason, a reminder, 已接收 show within a second.

The web chat cannot push to a phone, but while its page is open it holds one Server-Sent Events
stream (``GET /api/events``). Notices for web contacts wait in the outbox like any channel's
messages; one loop per process (``LiveNotices.run``) looks, while at least one page listens, which
listening browsers have something waiting — one query for all of them, every ``LOOK_EVERY`` seconds,
so a notice queued by another process (a second worker, the Telegram service) arrives too — and
wakes their streams, which take the notices (each given once) and send them. A message this process
handles wakes the loop at once (``ring``). The page's minute poll stays as the fallback.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterator

from dialogs.failures import report_failure

log = logging.getLogger(__name__)

LOOK_EVERY = 0.25  # seconds between looks while a page listens: a notice waits at most this long
OUTAGE_PAUSE = 5.0


class LiveNotices:
    """Which open pages have notices waiting.

    Args:
        waiting: which of the given chat keys have notices due now (one query for all).
        every: seconds between looks while anyone listens.
    """

    def __init__(self, waiting: Callable[[list[str]], set[str]], every: float = LOOK_EVERY) -> None:
        self._waiting = waiting
        self._every = every
        self._bells: dict[str, set[asyncio.Event]] = {}
        self._wake = asyncio.Event()
        self._closed = False
        self._loop: asyncio.AbstractEventLoop | None = None

    @contextlib.contextmanager
    def listening(self, chat_key: str) -> Iterator[asyncio.Event]:
        """A bell for one open page of ``chat_key``: set when its notices should be taken (at once,
        for what waited before the page opened)."""
        self._loop = asyncio.get_running_loop()
        bell = asyncio.Event()
        bell.set()
        self._bells.setdefault(chat_key, set()).add(bell)
        self._wake.set()
        try:
            yield bell
        finally:
            bells = self._bells.get(chat_key, set())
            bells.discard(bell)
            if not bells:
                self._bells.pop(chat_key, None)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def listeners(self) -> int:
        return sum(len(bells) for bells in self._bells.values())

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
        for bells in self._bells.values():
            for bell in bells:
                bell.set()
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Look for waiting notices while pages listen, until ``stop`` is set."""
        while not stop.is_set() and not self._closed:
            if not self._bells:
                self._wake.clear()
                await _first(self._wake.wait(), stop.wait())
                continue
            self._wake.clear()
            try:
                waiting = await asyncio.to_thread(self._waiting, list(self._bells))
            except Exception as error:  # the database away: the streams wait, then carry on
                report_failure(error, "the web notice loop")
                await _first(asyncio.sleep(OUTAGE_PAUSE), stop.wait())
                continue
            for chat_key in waiting:
                for bell in self._bells.get(chat_key, ()):
                    bell.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._every)
        self.close()


async def _first(*waits: object) -> None:
    """Wait until the first of several awaitables is done; cancel the rest."""
    tasks = [asyncio.ensure_future(wait) for wait in waits]  # type: ignore[call-overload]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
