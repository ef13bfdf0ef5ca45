"""The open page's notices: the event stream (``/api/events``, Server-Sent Events) and the poll for a
page whose stream is down (``/api/notices``), both reading the notices kept in the conversation."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from bot.live_notices import LiveNotices, Seat
from bot.web_edge import BAD_REQUEST, CHANNEL, NEED_SIGN_IN, REFUSED_ORIGIN, error_json, json_body
from bot.web_replies import reply_json
from dialogs.chinese_text import plain_number
from dialogs.exchange import Identity, Reply

if TYPE_CHECKING:
    from bot.web_chat import WebChat

log = logging.getLogger(__name__)

STREAM_FOR = 300.0  # seconds an event stream stays open before the page reconnects (and is checked again)
HEARTBEAT_EVERY = 20.0  # seconds between beats on a quiet stream, so that proxies keep it open
STREAMS_FULL = "通知通道暂时已满，页面会每分钟自动查看一次新通知；已填的内容不会丢失。"


class WebEvents:
    """The notice routes of the web chat ``chat``, and the open streams (``live``)."""

    def __init__(self, chat: WebChat) -> None:
        self.chat = chat
        engine = chat.engine
        self.live = LiveNotices(
            lambda user_ids: engine.have_notices(CHANNEL, user_ids),
            bound=lambda user_ids: engine.still_bound(CHANNEL, user_ids),
        )
        self._looking: asyncio.Task[None] | None = None

    def routes(self) -> list[Route]:
        return [
            Route("/api/notices", self.notices, methods=["POST"]),
            Route("/api/events", self.events, methods=["GET"]),
        ]

    async def notices(self, request: Request) -> Response:
        """The page's poll: the notices after line ``after`` (the last the page has; without it,
        only those that come now), for a page whose stream is down."""
        contact = await self.chat.bound_contact(request)
        if isinstance(contact, Response):
            return contact
        body = await json_body(request, too_large=BAD_REQUEST)
        given = body.get("after")
        after = given if isinstance(given, int) and 0 <= given < 2**63 else None
        if after is None:
            after = await run_in_threadpool(self.last_line, contact)
        seen, notices = await run_in_threadpool(self.new_notices, contact, after)
        return JSONResponse({"notices": notices, "seen": seen})

    async def events(self, request: Request) -> Response:
        """The open page's stream of notices (Server-Sent Events), to every open page of the person:
        each notice as a ``notice`` event with its line's id the moment it is queued
        (``bot.live_notices``); a ``beat`` with the last line's id at once and now and then, so that
        proxies keep the stream open and the page knows it lives; an end after ``STREAM_FOR``
        seconds (the page reconnects, and who it is, is checked again), or a ``replaced`` event when
        newer pages of the person took its place (``PER_PERSON``). The stream goes on after the
        page's ``Last-Event-ID`` (a reconnect), else its ``?after=``: a notice written into a
        connection that died is offered again. A 企业微信 member's notices go to their phone: 204,
        which tells the page's EventSource not to come back."""
        origin = request.headers.get("origin")
        if origin is not None and not self.chat.same_origin(request):
            log.warning("event stream refused: foreign origin")
            return error_json(403, REFUSED_ORIGIN)
        if "text/event-stream" not in request.headers.get("accept", ""):
            # Not the page's EventSource: a link followed from elsewhere would take the notices
            # (the session cookie goes along with a top-level navigation) and show them raw.
            return error_json(400, BAD_REQUEST)
        contact = await self.chat.signed_in_contact(request)
        if contact is None:
            return error_json(401, NEED_SIGN_IN)
        if contact.channel != CHANNEL:
            return Response(status_code=204)
        seat = self.live.take_seat(contact.user_id)  # taken now: a burst of pages cannot pass ``most``
        if seat is None:
            self.live.say_full()
            return error_json(503, STREAMS_FULL, headers={"Connection": "close", "Retry-After": "60"})
        if request.method == "HEAD":  # the head alone: a stream never ends
            self.live.leave(contact.user_id, seat)
            return Response(media_type="text/event-stream")
        after = plain_number(request.headers.get("last-event-id", ""), max_digits=18)
        if after is None:
            after = plain_number(request.query_params.get("after", ""), max_digits=18)
        if self._looking is None or self._looking.done():
            self._looking = asyncio.create_task(self.live.run(asyncio.Event()))
        return SeatedStream(
            self._notice_stream(contact, after, seat),
            lambda: self.live.leave(contact.user_id, seat),
            media_type="text/event-stream",
            # nginx: pass each event on at once; the connection closes with the stream, so that a
            # stream ended for a newer one frees its socket.
            headers={"X-Accel-Buffering": "no", "Connection": "close"},
        )

    async def _notice_stream(self, contact: Identity, after: int | None, seat: Seat) -> AsyncIterator[str]:
        ends = time.monotonic() + STREAM_FOR
        yield "retry: 3000\n\n"
        seen = await run_in_threadpool(self.last_line, contact) if after is None else after
        yield f"id: {seen}\nevent: beat\ndata: {seen}\n\n"  # where a reconnect goes on from
        while not seat.ended and not self.live.closed and time.monotonic() < ends:
            if seat.bell.is_set():
                seat.bell.clear()
                seen, notices = await run_in_threadpool(self.new_notices, contact, seen)
                for notice in notices:
                    data = json.dumps(notice, ensure_ascii=False)
                    yield f"id: {notice['id']}\nevent: notice\ndata: {data}\n\n"
                continue
            try:
                await asyncio.wait_for(
                    seat.bell.wait(), timeout=min(HEARTBEAT_EVERY, ends - time.monotonic())
                )
            except TimeoutError:
                yield f"event: beat\ndata: {seen}\n\n"
                seat.bell.set()  # and look: another process may have taken a notice for this person
        if seat.replaced:  # the page stops listening until it is looked at again
            yield "event: replaced\ndata: \n\n"

    def last_line(self, contact: Identity) -> int:
        """The id of the conversation's last line (0 for none)."""
        return self.chat.engine.last_chat_line(contact.contact_id)

    def new_notices(self, contact: Identity, after: int) -> tuple[int, list[dict[str, Any]]]:
        """The notices queued for this browser taken into its conversation (returns, reminders; each
        once, whichever page takes it), then every notice of the conversation after line ``after``,
        with its id, and the last line's id. A 企业微信 member's notices reach their phone instead."""
        if contact.channel != CHANNEL:
            return after, []

        def keep(notices: list[Reply]) -> None:
            self.chat.engine.remember_chat(contact.contact_id, [("notice", reply_json(n)) for n in notices])

        if self.chat.engine.notices(CHANNEL, contact.user_id, keep):
            self.live.wake_soon(contact.user_id)  # the person's other open pages show them too
        lines = self.chat.engine.chat_lines_after(contact.contact_id, after)
        notices = [
            self.chat.granted({"id": line_id, **payload}, contact)
            for line_id, speaker, payload in lines
            if speaker == "notice"
        ]
        return (lines[-1][0] if lines else after), notices


class SeatedStream(StreamingResponse):
    """An event stream that gives its seat back however it ends — sent to the end, cut off by the
    client, or never started (the client gone before its first byte)."""

    def __init__(self, content: AsyncIterator[str], leave: Callable[[], None], **options: Any) -> None:
        super().__init__(content, **options)
        self._leave = leave

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._leave()
