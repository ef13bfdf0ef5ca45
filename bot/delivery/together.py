"""Group commit: messages handled in one transaction, and the web chat's requests gathered into one.

SQLite in WAL mode with ``synchronous=FULL`` (and PostgreSQL) flush the disk at every commit; a
message alone costs that flush, sixteen together share it. A reply leaves only after the commit that
holds its effects.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from starlette.concurrency import run_in_threadpool

from storage.database import is_unavailable
from storage.repository import Repository

log = logging.getLogger(__name__)

Result = TypeVar("Result")
#: One message's handling: called with True inside the group's transaction (it must raise on any
#: failure, to roll the group back), or with False on its own (it answers a failure itself).
Work = Callable[[bool], Result]

GROUP_SIZE = 16  # messages in one transaction: one commit for them, a short hold on the others


def handle_together(repository: Repository, work: Sequence[Work[Result]]) -> list[Result]:
    """Run the pieces of ``work`` in as few transactions as the other writers allow: one for all of
    them, unless another writer of this process waits (on SQLite, a messenger's callback storing its
    next message) — then the transaction commits after the piece at hand, so that writer waits for
    one message, not a group, and the rest go on in the next.

    Should a piece fail, its transaction is rolled back and the pieces it held run each in its own,
    where the failing message gets its apology and the others their answers; the pieces after it go
    on together. An unavailable database is raised: nothing can be recorded, the messages stay where
    they are."""
    results: list[Result] = []
    while len(results) < len(work):
        results += _one_transaction(repository, work[len(results) :])
    return results


def _one_transaction(repository: Repository, work: Sequence[Work[Result]]) -> list[Result]:
    """Run pieces of ``work`` from the first, in one transaction; what they returned (fewer than
    ``work`` when another writer asked for its turn)."""
    done: list[Result] = []
    try:
        with repository.unit_of_work():
            for piece in work:
                done.append(piece(True))
                if repository.writers_waiting():
                    break
        return done
    except Exception as error:
        if is_unavailable(error):
            raise
        taken = work[: len(done) + 1]  # the pieces before the failing one, and that one
        log.warning("a group of %s messages rolled back (%s); one by one", len(taken), type(error).__name__)
        return [piece(False) for piece in taken]


@dataclass
class _Waiting(Generic[Result]):
    work: Work[Result]
    done: asyncio.Future[Result] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class GroupCommit(Generic[Result]):
    """Gathers the pieces of work that arrive while a group is being handled into the next group.

    Idle, a piece is handled at once, alone: no waiting to fill a group. Under load, the requests
    that came in during one commit share the next. Run ``serve()`` as a task on the event loop;
    ``handle()`` from request handlers (one piece per chat at a time: the caller keeps each chat's
    messages in order).
    """

    def __init__(self, repository: Repository, group_size: int = GROUP_SIZE) -> None:
        self.repository = repository
        self.group_size = group_size
        self._queue: asyncio.Queue[_Waiting[Result]] = asyncio.Queue()

    async def handle(self, work: Work[Result]) -> Result:
        waiting = _Waiting(work)
        await self._queue.put(waiting)
        return await waiting.done

    async def serve(self) -> None:
        while True:
            group = [await self._queue.get()]
            while len(group) < self.group_size and not self._queue.empty():
                group.append(self._queue.get_nowait())
            try:
                # In a worker thread: a database that is slow to refuse (a lock held elsewhere, a server
                # restarting) must not freeze the event loop and every other request with it.
                results = await run_in_threadpool(handle_together, self.repository, [w.work for w in group])
            except Exception as error:  # the database is away: every request of the group hears of it
                for waiting in group:
                    if not waiting.done.done():  # its request may have gone (the browser left)
                        waiting.done.set_exception(error)
                continue
            for waiting, result in zip(group, results, strict=True):
                if not waiting.done.done():
                    waiting.done.set_result(result)
