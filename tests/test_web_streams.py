"""The open pages' event streams under load and on a bad day (issue 22 items 2, 11, 14; issue 21
item 6): every open tab of a person gets every notice, a notice written into a connection that died
is offered again by its id, one cookie opening streams in a loop holds a handful of them, the process
holds a bounded number, and a revoked contact's stream and downloads end at once.

Requests go to the real app served by uvicorn on loopback, as the page's EventSource sends them.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from urllib.parse import urlsplit

import httpx
import pytest

from bot.live_notices import PER_PERSON
from bot.web import CHANNEL, SESSION_COOKIE, STREAMS_FULL, build_app
from dialogs.engine import DialogEngine
from tests.test_web_api import browser, contacts, serving, sign_in, submit_site, web_settings

EVENTS = {"Accept": "text/event-stream"}


@pytest.fixture(name="served")
def served_fixture(engine: DialogEngine) -> Iterator[tuple[str, object]]:
    app = build_app(engine, web_settings())
    with serving(app) as url:
        yield url, app


class Stream:
    """One open ``/api/events`` response, read event by event."""

    def __init__(self, response: httpx.Response) -> None:
        assert response.status_code == 200, response.read()
        self.response = response
        self._lines = response.iter_lines()

    def next_event(self) -> dict[str, str] | None:
        """The next event's fields (``event``, ``id``, ``data``); None when the stream has ended."""
        fields: dict[str, str] = {}
        for line in self._lines:
            if not line:
                if "event" in fields:
                    return fields
                fields = {}
                continue
            name, _, value = line.partition(":")
            fields[name] = value.removeprefix(" ")
        return None

    def next_notice(self) -> dict[str, str]:
        while (event := self.next_event()) is not None:
            if event["event"] == "notice":
                return event
        raise AssertionError("the stream ended without a notice")


@contextmanager
def stream(client: httpx.Client, headers: dict[str, str] | None = None) -> Iterator[Stream]:
    with client.stream("GET", "/api/events", headers={**EVENTS, **(headers or {})}) as response:
        yield Stream(response)


def user_of(client: httpx.Client) -> str:
    return client.cookies[SESSION_COOKIE].rsplit(".", 1)[0]


def test_every_open_tab_of_a_person_gets_every_notice(
    served: tuple[str, object], engine: DialogEngine
) -> None:
    """Issue 21 item 6: with two tabs open, a 退回 reached the newer tab only."""
    url, _app = served
    with browser(url) as client:
        sign_in(client, engine)
        with stream(client) as older, stream(client) as newer:
            assert older.next_event() is not None and newer.next_event() is not None  # both open
            started = time.monotonic()
            engine.repository.enqueue_message(CHANNEL, user_of(client), {"text": "贵单位的#1被退回修改"})
            first, second = older.next_notice(), newer.next_notice()
            took = time.monotonic() - started
        assert (
            json.loads(first["data"])["text"] == json.loads(second["data"])["text"] == "贵单位的#1被退回修改"
        )
        assert first["id"] == second["id"], "the same notice, by the same id"
        assert took < 1.5, f"the second tab got it after {took:.2f} s"


def test_a_notice_written_into_a_connection_that_died_is_offered_again(
    served: tuple[str, object], engine: DialogEngine
) -> None:
    """Issue 22 item 11: the notice went into a connection that had died without a word, was marked
    delivered and never offered again. Now the page's reconnect (Last-Event-ID) gets it again."""
    url, _app = served
    with browser(url) as client:
        sign_in(client, engine)
        cookie = client.cookies[SESSION_COOKIE]
        with stream(client) as first:
            opening = first.next_event()
            assert opening is not None and opening["event"] == "beat"
            last_seen = opening["id"]
        # A connection the page no longer reads (a phone that changed networks): the notice is written
        # into it, and it goes away.
        host, port = urlsplit(url).hostname, urlsplit(url).port
        dead = socket.create_connection((host, port))
        dead.sendall(
            f"GET /api/events HTTP/1.1\r\nHost: {host}:{port}\r\nAccept: text/event-stream\r\n"
            f"Cookie: {SESSION_COOKIE}={cookie}\r\n\r\n".encode()
        )
        time.sleep(0.5)
        engine.repository.enqueue_message(CHANNEL, user_of(client), {"text": "截止提醒：还有3天"})
        deadline = time.monotonic() + 5
        while engine.have_notices(CHANNEL, [user_of(client)]) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not engine.have_notices(CHANNEL, [user_of(client)]), "the dead connection's stream took it"
        dead.close()
        with stream(client, {"Last-Event-ID": last_seen}) as reconnected:
            notice = reconnected.next_notice()
        assert json.loads(notice["data"])["text"] == "截止提醒：还有3天"
        assert int(notice["id"]) > int(last_seen)
        with stream(client, {"Last-Event-ID": notice["id"]}) as after_it:
            event = after_it.next_event()
            assert event is not None and event["event"] == "beat", "once seen, not offered again"


def test_one_cookie_opening_streams_in_a_loop_holds_a_handful(
    served: tuple[str, object], engine: DialogEngine
) -> None:
    """Issue 22 item 2: each new stream past ``PER_PERSON`` ends the person's oldest, and its
    connection closes; the newest still get every notice."""
    url, _app = served
    with browser(url) as client, ExitStack() as opened:
        sign_in(client, engine)
        streams = []
        for _ in range(PER_PERSON + 3):
            client_of_tab = opened.enter_context(
                httpx.Client(base_url=url, cookies=client.cookies, timeout=10)
            )
            tab = opened.enter_context(stream(client_of_tab))
            assert tab.next_event() is not None
            streams.append(tab)
        for old in streams[:3]:
            events = []
            while (event := old.next_event()) is not None:  # ended by the server, not by this test
                events.append(event["event"])
            assert events[-1] == "replaced", "the page is told, and polls until it is looked at again"
        engine.repository.enqueue_message(CHANNEL, user_of(client), {"text": "请补充照片"})
        for tab in streams[3:]:
            assert json.loads(tab.next_notice()["data"])["text"] == "请补充照片"


def test_the_process_holds_a_bounded_number_of_streams(
    served: tuple[str, object], engine: DialogEngine
) -> None:
    url, app = served
    app.state.live.most = 2  # type: ignore[attr-defined]
    with ExitStack() as opened:
        tabs = []
        for unit in ("yufeng", "chengzhong"):
            client = opened.enter_context(browser(url))
            sign_in(client, engine, unit)
            tabs.append(opened.enter_context(stream(client)))
            assert tabs[-1].next_event() is not None
        third = opened.enter_context(browser(url))
        sign_in(third, engine, "liunan")
        refused = third.get("/api/events", headers=EVENTS)
        assert refused.status_code == 503 and refused.json() == {"error": STREAMS_FULL}


def test_streams_opened_all_at_once_never_go_past_the_most(
    served: tuple[str, object], engine: DialogEngine
) -> None:
    """The count was checked before a stream took its seat: a burst of pages opening together all
    passed the check, and the process held more streams than ``most``."""
    url, app = served
    live = app.state.live  # type: ignore[attr-defined]
    live.most = 3
    people = 12
    clients = [browser(url) for _ in range(people)]
    for client in clients:
        sign_in(client, engine, "yufeng")
    go, answered, done = threading.Barrier(people), threading.Barrier(people + 1), threading.Event()
    statuses: list[int] = []

    def open_page(client: httpx.Client) -> None:
        go.wait()
        with client.stream("GET", "/api/events", headers=EVENTS) as response:
            statuses.append(response.status_code)
            answered.wait()
            done.wait(10)

    threads = [threading.Thread(target=open_page, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    try:
        answered.wait(30)
        held = live.listeners
    finally:
        done.set()
        for thread in threads:
            thread.join(10)
        for client in clients:
            client.close()
    assert sorted(statuses) == [200] * 3 + [503] * (people - 3), statuses
    assert held == 3, f"{held} streams held with most 3"


def test_a_revoked_contact_loses_its_stream_and_its_downloads_at_once(
    served: tuple[str, object], engine: DialogEngine
) -> None:
    """Issue 22 item 14: revoked with ``intake contacts --revoke``, it still downloaded for 30 s and
    kept its event stream."""
    url, _app = served
    number = submit_site(engine, "yufeng", "yufeng-colleague")
    with browser(url) as client:
        sign_in(client, engine)
        assert client.get(f"/files/submissions/{number}.docx").status_code == 200
        [contact] = [c for c in contacts(engine) if c.external_id == user_of(client)]
        with stream(client) as open_page:
            assert open_page.next_event() is not None
            assert contact.id is not None and engine.repository.revoke_contact(contact.id)
            revoked = time.monotonic()
            assert client.get(f"/files/submissions/{number}.docx").status_code == 401
            while open_page.next_event() is not None:
                pass
            took = time.monotonic() - revoked
        assert took < 1.5, f"the stream stayed open {took:.2f} s after the revocation"
