"""The HTTP server's edge against slow, greedy or disguised clients (issue 22 items 2, 13, 17):

* a request's line and headers must arrive within ``HEAD_DEADLINE`` seconds (``DeadlineH11``), its
  body at ``BODY_MIN_RATE`` bytes a second after ``BODY_GRACE`` seconds (``BodyDeadline``), else it
  gets a 408 and its connection closes: one phone on a trickle (or a script sending 3 bytes a
  second) no longer holds a connection for ever;
* ``X-Forwarded-For`` is believed only from the proxies named in ``INTAKE_TRUSTED_PROXIES`` (none by
  default): reached directly, a client cannot pick the address its invite guesses are counted under;
* the process's soft limit of open files is raised to its hard limit at start, event streams and
  connections are kept well under it (past them: 503 at once), and running out of file descriptors
  (or connections) is logged once a minute, not at every accept.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import resource
import time
from typing import Any

import h11
import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from bot.settings import Settings

log = logging.getLogger(__name__)

HEAD_DEADLINE = 20.0  # seconds for a request's line and headers
BODY_GRACE = 20.0  # seconds before a body must keep BODY_MIN_RATE
BODY_MIN_RATE = 2048  # bytes a second, on average: a 300 MB video on a 2G phone would not make it
SHUTDOWN_GRACE = 10  # seconds uvicorn waits for the responses under way when it stops
OUT_OF_FILES_EVERY = 60.0  # seconds between two "out of file descriptors" lines
FILES_PER_STREAM = 8  # of the process's open-file limit, one in this many may be an event stream
FILES_PER_CONNECTION = 4  # ... and one in this many a connection (the rest: database, threads, files)

TOO_SLOW = "网络太慢，内容没能及时传完，这次没有收到。请到信号好一些的地方再试一次；已填的内容不会丢失。"
_TOO_SLOW_PAGE = (
    "<!doctype html><meta charset='utf-8'><title>妇联表格报送助手</title><p>" + TOO_SLOW + "</p>"
).encode()


class RequestTooSlow(Exception):
    """A request body that did not keep pace (``BodyDeadline``): answered 408 by the error boundary."""


class DeadlineH11(H11Protocol):
    """uvicorn's HTTP/1.1 protocol with a deadline for each request's line and headers (uvicorn has
    none: a client sending them a byte at a time held the connection for ever)."""

    _head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head_deadline()

    def data_received(self, data: bytes) -> None:
        if self._head_deadline is None and self.conn.their_state is h11.IDLE:
            self._start_head_deadline()  # a keep-alive connection's next request begins
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._stop_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_deadline()
        super().connection_lost(exc)

    def _start_head_deadline(self) -> None:
        self._head_deadline = self.loop.call_later(HEAD_DEADLINE, self._head_too_slow)

    def _stop_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_too_slow(self) -> None:
        self._head_deadline = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        if self.cycle is not None and not self.cycle.response_complete:
            return  # an answer is under way on this connection: not cut
        log.info("a request's headers did not arrive in %.0f s: connection closed", HEAD_DEADLINE)
        self.transport.write(
            b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/html; charset=utf-8\r\n"
            b"connection: close\r\ncontent-length: " + str(len(_TOO_SLOW_PAGE)).encode() + b"\r\n\r\n"
        )
        self.transport.write(_TOO_SLOW_PAGE)
        self.transport.close()


class BodyDeadline:
    """A request body must arrive at ``rate`` bytes a second on average once ``grace`` seconds have
    passed; a slower one raises ``RequestTooSlow`` where the app reads it. Only while the body is
    under way: a stream's wait for the client to go away is not timed."""

    def __init__(self, app: ASGIApp, grace: float | None = None, rate: float | None = None) -> None:
        self.app = app
        self.grace = BODY_GRACE if grace is None else grace
        self.rate = BODY_MIN_RATE if rate is None else rate

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        received = 0
        complete = False

        async def timed_receive() -> Message:
            nonlocal received, complete
            if complete:
                return await receive()
            deadline = started + self.grace + received / self.rate
            try:
                message = await asyncio.wait_for(receive(), timeout=max(0.0, deadline - time.monotonic()))
            except TimeoutError:
                raise RequestTooSlow from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                complete = not message.get("more_body", False)
            else:
                complete = True
            return message

        await self.app(scope, timed_receive, send)


def trusted_proxies(settings: Settings) -> list[str]:
    """The addresses (or networks) whose ``X-Forwarded-For`` is believed: ``INTAKE_TRUSTED_PROXIES``."""
    return [entry.strip() for entry in settings.trusted_proxies.split(",") if entry.strip()]


def server_config(app: ASGIApp, settings: Settings, open_files: int | None = None) -> uvicorn.Config:
    """How uvicorn serves the app: the deadlines above, forwarded addresses only from the trusted
    proxies, no access log (invite links carry their code in the query string). With the process's
    ``open_files`` limit, connections past a quarter of it are answered 503 at once and closed, so that
    a burst never leaves the service without a descriptor for its database or its health check."""
    proxies = trusted_proxies(settings)
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        http=DeadlineH11,
        timeout_graceful_shutdown=SHUTDOWN_GRACE,
        log_level="warning",
        access_log=False,
        proxy_headers=bool(proxies),
        forwarded_allow_ips=proxies or None,
        limit_concurrency=max(16, open_files // FILES_PER_CONNECTION) if open_files else None,
    )


def raise_open_file_limit() -> int:
    """Raise the soft limit of open files to the hard one (a common default is 1,024); the limit now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        wanted = 65_536 if hard == resource.RLIM_INFINITY else hard
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):
            pass
    return soft


def streams_for(open_files: int, most: int) -> int:
    """How many event streams a process with ``open_files`` may hold: an eighth, at most ``most``."""
    return max(1, min(most, open_files // FILES_PER_STREAM))


class OutOfFiles:
    """The event loop's exception handler: "out of file descriptors" once a minute however often the
    server's accept fails (asyncio reports every failed accept, with its traceback); anything else
    as asyncio would."""

    def __init__(self, every: float = OUT_OF_FILES_EVERY) -> None:
        self.every = every
        self._said = -every

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        error = context.get("exception")
        if isinstance(error, OSError) and error.errno in (errno.EMFILE, errno.ENFILE):
            now = time.monotonic()
            if now - self._said >= self.every:
                self._said = now
                log.error(
                    "out of file descriptors: new connections wait (raise the open-file limit, ulimit -n)"
                )
            return
        loop.default_exception_handler(context)


#: What uvicorn says at every connection past its concurrency limit.
CONCURRENCY_EXCEEDED = "Exceeded concurrency limit."


class OncePerMinute(logging.Filter):
    """Lets one record a minute through of what uvicorn repeats at every connection when the server
    is full: "Exceeded concurrency limit." and a failed accept for want of file descriptors (an
    ``OSError`` EMFILE/ENFILE, "Too many open files"). Every other record passes untouched."""

    def __init__(self, every: float = OUT_OF_FILES_EVERY) -> None:
        super().__init__()
        self.every = every
        self._said: dict[str, float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        kind = _repeated_kind(record)
        if kind is None:
            return True
        now = time.monotonic()
        if now - self._said.get(kind, -self.every) < self.every:
            return False
        self._said[kind] = now
        return True


def _repeated_kind(record: logging.LogRecord) -> str | None:
    """Which of the server-full records ``record`` is, or None for any other."""
    if record.msg == CONCURRENCY_EXCEEDED:
        return "concurrency"
    error = record.exc_info[1] if record.exc_info else None
    if isinstance(error, OSError) and error.errno in (errno.EMFILE, errno.ENFILE):
        return "out of files"
    return "out of files" if "Too many open files" in str(record.msg) else None
