"""A messenger's updates: stored once before they are acknowledged, then handled a group at a time.

Storing is keyed by the messenger's own id (Telegram's update id), so an update delivered twice, or
again after a restart, is one row. Handling claims each row inside the transaction that handles it
(a row lock with ``SKIP LOCKED`` on PostgreSQL, and no earlier row of the same chat pending), so any
number of workers share one inbox and each chat's updates go one at a time, in order. The statement
that claims the row also marks it done (``Repository.take_update``), and the replies are queued in the
outbox in one statement, in that same transaction.

A channel gives a ``Translator``: what a stored update means (``translate``, which may download a
file), its replies as the messenger's payloads (``payloads``), and what it does once an update is
handled (``handled``: stop a button's spinner, say).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from bot.delivery.outbox import DeliveryFailed, Dispatcher
from bot.delivery.together import GROUP_SIZE, Work, handle_together
from dialogs.engine import DialogEngine
from dialogs.exchange import Inbound, Reply
from dialogs.failures import failure_line, report_failure
from storage.database import is_unavailable
from storage.repository import Incoming

log = logging.getLogger(__name__)

#: An update as a messenger gave it: its own id, the chat, the payload.
Update = tuple[int, str, dict[str, Any]]

UNREADABLE = "这条消息无法识别，没有保存。请重新发送，或发送“帮助”。"
OUTAGE_PAUSE = 2.0  # seconds between tries while the database is unavailable


@dataclass(frozen=True)
class Translated:
    """What a stored update means: a message for the engine, a reply to send without the engine (an
    edited message, a file too large), or nothing to do; and what the channel keeps for ``handled``."""

    message: Inbound | Reply | None
    keep: Any = None


class Translator(Protocol):
    """One channel's side of receiving."""

    channel: str

    async def translate(self, item: Incoming) -> Translated: ...

    def payloads(self, replies: Sequence[Reply]) -> list[dict[str, Any]]: ...

    async def handled(self, item: Incoming, translated: Translated) -> None: ...


class Inbox:
    """One channel's inbox over the engine.

    Args:
        engine: the dialog engine.
        translator: the channel's translation of its updates and replies.
        group_size: updates handled in one transaction.
    """

    def __init__(self, engine: DialogEngine, translator: Translator, group_size: int = GROUP_SIZE) -> None:
        self.engine = engine
        self.repository = engine.store
        self.translator = translator
        self.group_size = group_size
        self.work = asyncio.Event()  # set when there may be something to handle or send
        self._arrivals: asyncio.Queue[tuple[Update, int | None, asyncio.Future[bool]]] = asyncio.Queue()
        self._storing: asyncio.Task[None] | None = None

    @property
    def channel(self) -> str:
        return self.translator.channel

    def store(self, updates: Sequence[Update]) -> set[int]:
        """Store updates (the messenger's id, the chat, the payload) in one transaction; the ids of
        those that were new (one stored before, by this or another process, is not)."""
        stored = self._stored(updates)
        if stored:
            self.work.set()
        return stored

    def _stored(self, updates: Sequence[Update], sequences: Sequence[int] | None = None) -> set[int]:
        stored = self.repository.store_updates(self.channel, updates, sequences)
        for update_id in sorted({update_id for update_id, _, _ in updates} - stored):
            log.info("duplicate update %s ignored", update_id)
        return stored

    async def store_soon(
        self, update_id: int, chat_key: str, payload: dict[str, Any], sequence: int | None = None
    ) -> bool:
        """Store one update as ``store`` does, in one statement and one commit with the updates that
        arrive while the last ones are being stored: a burst of a hundred callbacks is a commit or
        two, not a hundred in a row, each waiting for the one before. True when it was new. For a
        messenger that waits for its callback to be answered (WeCom: 5 s). ``sequence``: the update's
        place in its chat's order, where its id does not say it (``Repository.store_updates``)."""
        if self._storing is None or self._storing.done():
            self._storing = asyncio.create_task(self._store_arrivals())
        arrival: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        await self._arrivals.put(((update_id, chat_key, payload), sequence, arrival))
        return await arrival

    async def _store_arrivals(self) -> None:
        while True:
            waiting = [await self._arrivals.get()]
            while not self._arrivals.empty():
                waiting.append(self._arrivals.get_nowait())
            try:
                updates = [update for update, _, _ in waiting]
                order = [update[0] if sequence is None else sequence for update, sequence, _ in waiting]
                stored = await asyncio.to_thread(self._stored, updates, order)
            except Exception as error:  # the database is away: each callback hears of it
                for _update, _sequence, arrival in waiting:
                    if not arrival.done():
                        arrival.set_exception(error)
                continue
            first: set[int] = set()
            for (update_id, _chat, _payload), _sequence, arrival in waiting:
                new = update_id in stored and update_id not in first  # the same id twice: one is new
                first.add(update_id)
                if not arrival.done():  # its request may have gone
                    arrival.set_result(new)
            if stored:
                self.work.set()

    async def process_pending(self) -> int:
        """Handle stored updates in order; a chat whose update cannot be read now waits for next time.

        They go a group at a time: the group's updates translated (files downloaded — a group's worth
        held in memory, not a batch's), then handled together (``handle_together``) before any reply
        is sent.
        """
        waiting: set[str] = set()
        processed = 0
        pending = self.repository.pending_updates(self.channel)
        for start in range(0, len(pending), self.group_size):
            group: list[tuple[Incoming, Translated]] = []
            for item in pending[start : start + self.group_size]:
                if item.chat_key in waiting:
                    continue
                translated = await self._translate(item)
                if translated is None:
                    self.repository.retry_update_later(item)
                    waiting.add(item.chat_key)
                    continue
                group.append((item, translated))
            # In a worker thread, as the web chat's group commit: the event loop keeps answering the
            # messenger's callbacks (WeCom waits 5 s, Telegram's webhook too) while a group commits.
            done = await asyncio.to_thread(self._handle_group, group) if group else []
            for (item, translated), handled in zip(group, done, strict=True):
                if handled:
                    processed += 1
                    await self.translator.handled(item, translated)
                else:
                    waiting.add(item.chat_key)  # another worker has this chat now
            await asyncio.sleep(0)  # let the other tasks (the web chat, the poll) run between groups
        if processed:
            self.work.set()
        return processed

    def _handle_group(self, group: Sequence[tuple[Incoming, Translated]]) -> list[bool]:
        return handle_together(self.repository, [self._work(item, t.message) for item, t in group])

    async def _translate(self, item: Incoming) -> Translated | None:
        """The update's meaning, its file checked and stored; None to try it again later (its file
        could not be fetched now)."""
        try:
            translated = await self.translator.translate(item)
            message = translated.message
            if isinstance(message, Inbound) and message.file is not None:
                # Checked and stored before the transaction: a photo's decoding must not hold the writer.
                checked = await asyncio.to_thread(self.engine.check_file, message.file)
                translated = replace(translated, message=replace(message, file=checked))
            return translated
        except DeliveryFailed as error:
            log.warning("update %s: %s; will retry", item.update_id, error)
            return None
        except Exception as error:  # one unreadable update must not hold up the inbox
            if is_unavailable(error):
                raise
            log.error("update %s cannot be read: %s", item.update_id, failure_line(error))
            return Translated(Reply(UNREADABLE))

    def _work(self, item: Incoming, message: Inbound | Reply | None) -> Work[bool]:
        """Handling one stored update, for ``handle_together``: True once done, False when another
        worker has claimed it (or an earlier update of its chat is not done)."""

        def work(in_batch: bool) -> bool:
            done = False

            def commit(replies: list[Reply], failed: bool) -> None:
                nonlocal done
                self.repository.enqueue_messages(
                    self.channel, item.chat_key, self.translator.payloads(replies)
                )
                if failed:  # taken as done by the claim: marked failed instead
                    self.repository.finish_update(item, "failed", datetime.now(UTC))
                done = True

            def claim() -> bool:
                # Claimed and marked done at once: the mark is undone with the rest if the
                # transaction rolls back.
                return self.repository.take_update(item, datetime.now(UTC))

            if isinstance(message, Inbound):
                self.engine.handle(message, on_commit=commit, claim=claim, in_batch=in_batch)
                return done
            with self.repository.unit_of_work():
                if claim():
                    commit([message] if message is not None else [], False)
            return done

        return work


async def run_channel(inbox: Inbox, dispatcher: Dispatcher | None, stop: asyncio.Event) -> None:
    """Handle the inbox and send the outbox whenever something arrives (and every second anyway), until
    ``stop`` is set. With the database away, wait and carry on where it was."""
    inbox.work.set()  # pending rows left by a crash go first
    while not stop.is_set():
        inbox.work.clear()
        try:
            await inbox.process_pending()
            if dispatcher is not None and await dispatcher.send_due():
                continue  # a pass is a second's worth: more may be waiting, and updates go first
        except Exception as error:  # the database is down, or a bug: wait, then carry on
            report_failure(error, f"the {inbox.channel} loop")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=OUTAGE_PAUSE)
            continue
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(inbox.work.wait(), timeout=1)
