"""The web chat under many browsers at once: messages a second and the wait for each answer.

A fresh worker process builds an engine on an SQLite file (the product's pragmas), binds the browser
contacts, and drives the real Starlette app (``bot.web.build_app``: its middleware, the same-origin
and CSRF checks, the session cookie, the per-browser lock, group commit) through its ASGI interface,
as uvicorn calls it — no network and no HTTP client in the way, as the Telegram pipeline's fake Bot
API has none; each request is an HTTP/1.1 request a browser would send. Each browser fills one
登记表 as the Telegram pipeline's chats do (the same 19 messages, photos uploaded as the page uploads
them), each message with the page's own id, the next as soon as the answer is there: a saturated
closed loop. The latency of a message is the time from its request to its answer, queueing for the
group commit included.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.processes import Start, memory_mb
from bench.scenario import registration_script, unique_photo

SESSION_KEY = "bench-web-session-key-0123456789abcdef"
ORIGIN = "http://bench.local"


@dataclass(frozen=True)
class WebSpec:
    folder: str
    browsers: int
    script_length: int = 19


@dataclass
class WebResult:
    messages: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    peak_rss_mb: float = 0.0
    by_position: dict[int, list[float]] = field(default_factory=dict)  # script place -> latencies (ms)

    @property
    def rate(self) -> float:
        return self.messages / self.seconds if self.seconds > 0 else float("nan")


def web_app(folder: Path, clock: Callable[[], datetime] | None = None) -> tuple[Any, Any, Any]:
    """An engine on a fresh SQLite file in ``folder``, the web chat's app over it, and the signer of
    its session cookies and CSRF tokens (to sign in the benchmark's browsers without invites)."""
    from bot.app import assemble_engine, load_declarations
    from bot.settings import Settings
    from bot.web import Signer, build_app
    from dialogs.engine import system_clock
    from storage.database import make_engine, migrate
    from storage.repository import Repository

    url = f"sqlite:///{folder / 'intake.db'}"
    migrate(url)
    declarations = load_declarations(Settings())
    repository = Repository(make_engine(url), folder / "data")
    campaign = declarations.campaign
    repository.sync_units(campaign.id, [(u.code, u.name, u.area, u.kind) for u in campaign.units])
    engine = assemble_engine(declarations, repository, clock or system_clock)
    app = build_app(engine, Settings(web_session_secret=SESSION_KEY, web_url=ORIGIN))
    return engine, app, Signer(SESSION_KEY.encode())


def run_web_chat(spec: WebSpec, start: Start) -> WebResult:
    from bench.pipeline import CAMPAIGN_NOW
    from bot.logs import quiet_third_party_logs
    from bot.web import MESSAGE_ID_HEADER, SESSION_COOKIE

    logging.basicConfig(level=logging.ERROR)
    quiet_third_party_logs()
    engine, app, signer = web_app(Path(spec.folder), lambda: CAMPAIGN_NOW)
    repository, campaign = engine.repository, engine.campaign
    script = registration_script()[: spec.script_length]
    users = [f"bench-web-{number}" for number in range(spec.browsers)]
    warm = ["bench-warm-0", "bench-warm-1"]  # compile statements, load the renderer, fill caches
    for number, user in enumerate([*warm, *users]):
        unit = campaign.units[number % len(campaign.units)]
        stored = repository.unit_by_code(campaign.id, unit.code)
        assert stored is not None and stored.id is not None
        repository.bind_contact("web", user, stored.id)
    result = WebResult(0, 0.0)

    async def browse(user: str, *, counted: bool = True) -> None:
        cookie = f"{SESSION_COOKIE}={signer.sign('session', user)}"
        csrf = signer.csrf(f"user:{user}")
        for position, step in enumerate(script):
            message_id = f"{user}-{position}"
            began = time.perf_counter()
            if step.photo:
                headers = [("content-type", "image/jpeg"), (MESSAGE_ID_HEADER.lower(), message_id)]
                status = await asgi_post(app, "/api/upload", unique_photo(message_id), cookie, csrf, headers)
            else:
                body = json.dumps({"text": step.text, "id": message_id}).encode()
                status = await asgi_post(
                    app, "/api/messages", body, cookie, csrf, [("content-type", "application/json")]
                )
            result.errors += status != 200
            if counted:
                result.latencies_ms.append((time.perf_counter() - began) * 1000)
                result.by_position.setdefault(position, []).append(result.latencies_ms[-1])
                result.messages += 1

    async def everyone() -> None:
        await asyncio.gather(*(browse(user, counted=False) for user in warm))
        began = time.perf_counter()
        await asyncio.gather(*(browse(user) for user in users))
        result.seconds = time.perf_counter() - began

    start.wait()
    asyncio.run(everyone())
    result.peak_rss_mb = memory_mb()[1]
    repository.engine.dispose()
    return result


async def asgi_post(
    app: Any, path: str, body: bytes, cookie: str, csrf: str, headers: list[tuple[str, str]]
) -> int:
    """One POST from a signed-in browser page into the app; the response's status."""
    from bot.web import CSRF_HEADER

    signed_in = [("origin", ORIGIN), ("cookie", cookie), (CSRF_HEADER.lower(), csrf), *headers]
    return await asgi_request(app, path, body, signed_in)


async def asgi_request(
    app: Any, path: str, body: bytes, headers: list[tuple[str, str]], query: str = ""
) -> int:
    """One POST into the app as uvicorn makes it; the response's status (its body is read and dropped)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "client": ("127.0.0.1", 50000),
        "server": ("bench.local", 80),
        "headers": [
            (b"host", b"bench.local"),
            (b"content-length", str(len(body)).encode()),
            *((name.encode(), value.encode()) for name, value in headers),
        ],
    }
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.Event().wait()  # the client stays connected until the response is done
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status
