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
    """Run every piece of ``work`` in one transaction; should one fail, roll back and run each in its
    own, where a failing message gets its apology and the others their answers. An unavailable
    database is raised: nothing can be recorded, the messages stay where they are."""
    try:
        with repository.unit_of_work():
            return [piece(True) for piece in work]
    except Exception as error:
        if is_unavailable(error):
            raise
        log.warning("a group of %s messages rolled back (%s); one by one", len(work), type(error).__name__)
        return [piece(False) for piece in work]


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
