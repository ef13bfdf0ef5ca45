"""This process's SQLite writers take turns (``storage.database.WriterGate``): a writer waiting behind
a long transaction gets the database the moment it commits — not when SQLite's busy handler next
wakes up, which may be 100 ms later or, behind a stream of transactions, much later — in the order
the writers asked; a wait past the busy timeout is SQLite's own “database is locked”, which the
service treats as an outage, not a bug. A group of messages commits early when a writer waits."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from bot.delivery import handle_together
from bot.delivery.inbox import Inbox, Translated
from dialogs.engine import DialogEngine
from storage.database import is_unavailable, make_engine, writers_waiting
from storage.repository import Incoming, Repository


def test_a_waiting_writer_goes_as_soon_as_the_holder_commits_and_writers_go_in_order(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'gate.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE note (who TEXT)"))
    holding = threading.Event()
    moments: dict[str, float] = {}

    def holder() -> None:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO note VALUES ('holder')"))
            holding.set()
            time.sleep(0.3)
        moments["holder committed"] = time.perf_counter()

    def writer(name: str) -> None:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO note VALUES (:who)"), {"who": name})
            moments[name] = time.perf_counter()

    first = threading.Thread(target=holder)
    first.start()
    holding.wait()
    waiting = []
    for name in ("second", "third", "fourth"):
        waiting.append(threading.Thread(target=writer, args=(name,)))
        waiting[-1].start()
        deadline = time.monotonic() + 5
        while writers_waiting(engine) < len(waiting):  # each asks after the one before
            assert time.monotonic() < deadline
            time.sleep(0.001)
    for thread in (first, *waiting):
        thread.join()
    with engine.connect() as connection:
        rows = [who for (who,) in connection.execute(text("SELECT who FROM note ORDER BY rowid"))]
    assert rows == ["holder", "second", "third", "fourth"], "in the order they asked"
    delay_ms = (moments["second"] - moments["holder committed"]) * 1000
    assert delay_ms < 20, f"the first in line wrote {delay_ms:.0f} ms after the commit (SQLite sleeps ~100)"
    assert not writers_waiting(engine)
    engine.dispose()


def test_a_writer_waiting_past_the_busy_timeout_hears_database_locked_an_outage(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'gate.db'}", sqlite_busy_timeout=0.2)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE note (who TEXT)"))
    holding, release = threading.Event(), threading.Event()

    def holder() -> None:
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO note VALUES ('holder')"))
            holding.set()
            release.wait(5)

    thread = threading.Thread(target=holder)
    thread.start()
    holding.wait()
    with pytest.raises(OperationalError) as raised, engine.begin() as connection:
        connection.execute(text("INSERT INTO note VALUES ('late')"))
    assert "locked" in str(raised.value) and is_unavailable(raised.value)
    release.set()
    thread.join()
    with engine.begin() as connection:  # the gate is free again, and the queue holds no ghost
        connection.execute(text("INSERT INTO note VALUES ('after')"))
        assert [who for (who,) in connection.execute(text("SELECT who FROM note ORDER BY rowid"))] == [
            "holder",
            "after",
        ]
    engine.dispose()


def test_a_second_connection_of_the_holding_thread_is_not_made_to_wait_for_itself(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'gate.db'}", sqlite_busy_timeout=0.3)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE note (who TEXT)"))
    started = time.monotonic()
    with engine.begin() as outer:
        outer.execute(text("INSERT INTO note VALUES ('outer')"))
        with pytest.raises(OperationalError), engine.begin() as inner:  # SQLite's own lock answers
            inner.execute(text("INSERT INTO note VALUES ('inner')"))
    assert time.monotonic() - started < 5, "no deadlock on the gate"
    engine.dispose()


def test_a_group_commits_early_when_another_writer_waits(engine: DialogEngine) -> None:
    """The inbox's group of messages is one transaction while nobody else writes; a callback that
    wants to store a message meanwhile waits for one message's handling, not the group's."""
    repository = engine.repository
    unit = repository.unit_by_code("liuzhou-2021", "yufeng")
    assert unit is not None and unit.id is not None
    stored_during: list[bool] = []
    callback = threading.Thread(target=lambda: repository.store_updates("test", [(1, "c", {"n": 1})]))

    def piece(user: str) -> object:
        def work(in_batch: bool) -> str:
            repository.bind_contact("test", user, unit.id)
            if user == "a":  # a callback arrives while the group is under way, and waits for the gate
                callback.start()
                deadline = time.monotonic() + 5
                while not repository.writers_waiting():
                    assert time.monotonic() < deadline
                    time.sleep(0.001)
            if user == "b":
                stored_during.append(bool(repository.pending_updates("test")))
            return user

        return work

    assert handle_together(repository, [piece("a"), piece("b"), piece("c")]) == ["a", "b", "c"]
    callback.join()
    assert stored_during == [True], "the callback's row was committed between the group's messages"
    assert all(repository.contact("test", user) is not None for user in "abc")


class Quiet:
    channel = "test"

    async def translate(self, item: Incoming) -> Translated:
        return Translated(None)

    def payloads(self, replies: object) -> list[dict[str, object]]:
        return []

    async def handled(self, item: Incoming, translated: Translated) -> None:
        return None


def test_callbacks_arriving_together_are_stored_in_few_commits_and_a_resend_is_not_new(
    engine: DialogEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    repository: Repository = engine.repository
    calls: list[int] = []
    store = repository.store_updates

    def counted(channel: str, updates: object, sequences: object = None) -> set[int]:
        calls.append(len(updates))  # type: ignore[arg-type]
        return store(channel, updates, sequences)  # type: ignore[arg-type]

    monkeypatch.setattr(repository, "store_updates", counted)

    async def burst() -> list[bool]:
        inbox = Inbox(engine, Quiet())
        arrivals = [inbox.store_soon(n, f"member-{n % 7}", {"n": n}) for n in range(1, 101)]
        resend = inbox.store_soon(5, "member-5", {"n": 5})
        return await asyncio.gather(*arrivals, resend)

    results = asyncio.run(burst())
    assert results[:100] == [True] * 100 and results[100] is False, "WeCom's resend of a MsgId is not new"
    assert sum(calls) == 101 and len(calls) <= 3, f"one statement per burst, not per callback: {calls}"
    assert len(repository.pending_updates("test", limit=1000)) == 100
