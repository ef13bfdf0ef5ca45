"""The delivery layer on its own: group commit keeps a group's effects together or handles its
messages one by one, an unavailable database reaches every waiter, and the dispatcher's errors mean
what they say whatever the channel."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from bot.delivery import (
    DeliveryFailed,
    DeliveryLater,
    DeliveryRefused,
    Dispatcher,
    GroupCommit,
    handle_together,
)
from bot.rate_limit import SendPacer
from dialogs.engine import DialogEngine
from storage.repository import Repository


def unit_of(repository: Repository, code: str) -> int:
    unit = repository.unit_by_code("liuzhou-2021", code)
    assert unit is not None and unit.id is not None
    return unit.id


def test_a_group_is_one_transaction_and_a_failure_replays_it_one_by_one(engine: DialogEngine) -> None:
    repository = engine.repository
    calls: list[tuple[str, bool]] = []

    def bind(user: str, *, fails: bool = False) -> Any:
        def work(in_batch: bool) -> str:
            calls.append((user, in_batch))
            if fails and in_batch:
                raise RuntimeError("a bug in one message")
            repository.bind_contact("test", user, unit_of(repository, "yufeng"))
            return user

        return work

    assert handle_together(repository, [bind("a"), bind("b")]) == ["a", "b"]
    assert calls == [("a", True), ("b", True)]
    calls.clear()
    assert handle_together(repository, [bind("c"), bind("d", fails=True), bind("e")]) == ["c", "d", "e"]
    # c and d rolled back and run alone (d gets its apology); e, never tried with them, goes on in
    # a transaction of its own
    assert calls == [("c", True), ("d", True), ("c", False), ("d", False), ("e", True)]
    assert all(repository.contact("test", user) is not None for user in "abcde")


def test_an_unavailable_database_reaches_every_request_of_the_group(engine: DialogEngine) -> None:
    together: GroupCommit[str] = GroupCommit(engine.repository)

    def down(_in_batch: bool) -> str:
        raise OperationalError("INSERT", {}, Exception("server closed the connection"))

    async def three_at_once() -> list[object]:
        serving = asyncio.create_task(together.serve())
        try:
            return await asyncio.gather(*(together.handle(down) for _ in range(3)), return_exceptions=True)
        finally:
            serving.cancel()

    results = asyncio.run(three_at_once())
    assert [type(result).__name__ for result in results] == ["OperationalError"] * 3


class Scripted:
    """A channel whose messenger answers each payload as told."""

    channel = "scripted"

    def __init__(self, answers: dict[str, Exception]) -> None:
        self.time = 0.0

        async def sleep(seconds: float) -> None:  # a flood-control pause passes at once here
            self.time += seconds

        self.pacer = SendPacer(
            overall=1e6, per_chat=1e6, chat_burst=1e6, clock=lambda: self.time, sleep=sleep
        )
        self.answers = answers
        self.delivered: list[str] = []

    async def deliver(self, chat_key: str, payload: dict[str, Any]) -> None:
        error = self.answers.pop(payload["text"], None)
        if error is not None:
            raise error
        self.delivered.append(payload["text"])


@pytest.mark.parametrize(
    ("error", "status", "attempts", "due_in"),
    [
        (DeliveryLater(30), "pending", 1, timedelta(seconds=30)),
        (DeliveryRefused("Forbidden"), "failed", 1, timedelta(0)),
        (DeliveryFailed("NetworkError"), "pending", 1, timedelta(seconds=1)),
    ],
)
def test_the_dispatcher_retries_backs_off_or_drops_as_the_error_says(
    engine: DialogEngine, error: Exception, status: str, attempts: int, due_in: timedelta
) -> None:
    repository = engine.repository
    now = datetime(2021, 5, 10, 2, 0, tzinfo=UTC)
    for text in ("first", "second", "other"):
        repository.enqueue_message("scripted", "9" if text == "other" else "7", {"text": text})
    sender = Scripted({"first": error})
    dispatcher = Dispatcher(repository, sender, clock=lambda: now)
    assert asyncio.run(dispatcher.send_due()) == 1
    assert sender.delivered == ["other"], "the chat waits behind its message; the others go on"
    left = repository.due_messages("scripted", now + timedelta(days=1))
    if status == "failed":
        assert [message.payload["text"] for message in left] == ["second"], "dropped, never sent again"
        return
    first = left[0]
    assert (first.payload["text"], first.status, first.attempts) == ("first", status, attempts)
    assert first.not_before is not None
    assert first.not_before.replace(tzinfo=UTC) == now + due_in
