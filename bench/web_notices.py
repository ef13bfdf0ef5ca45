"""How soon a notice reaches an open web page: the real app under uvicorn on loopback, browsers holding
their event streams (``GET /api/events``) over real HTTP, and notices queued one after another from
outside the server's event loop — as a second worker or the Telegram service queues a 退回 or a
reminder — each for one browser. The latency of a notice is from just before it is queued (the
queueing's commit included) to the moment its event is read off the stream.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench.processes import Start, memory_mb
from bench.web_chat import ORIGIN, web_app

SETTLE_S = 5.0  # how long the last notices may take before they count as lost


@dataclass(frozen=True)
class NoticesSpec:
    folder: str
    browsers: int
    notices: int
    spacing_s: float = 0.05  # between two notices


@dataclass
class NoticesResult:
    latencies_ms: list[float] = field(default_factory=list)
    lost: int = 0
    seconds: float = 0.0
    peak_rss_mb: float = 0.0


def run_notices(spec: NoticesSpec, start: Start) -> NoticesResult:
    import httpx
    import uvicorn

    from bot.logs import quiet_third_party_logs
    from bot.web import CHANNEL, SESSION_COOKIE, stop_streams

    logging.basicConfig(level=logging.ERROR)
    quiet_third_party_logs()
    engine, app, signer = web_app(Path(spec.folder))
    repository, campaign = engine.repository, engine.campaign
    users = [f"bench-notice-{number}" for number in range(spec.browsers)]
    for number, user in enumerate(users):
        unit = repository.unit_by_code(campaign.id, campaign.units[number % len(campaign.units)].code)
        assert unit is not None and unit.id is not None
        repository.bind_contact(CHANNEL, user, unit.id)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    result = NoticesResult()
    queued: dict[str, float] = {}
    received: dict[str, float] = {}

    async def listen(client: httpx.AsyncClient, user: str) -> None:
        cookie = f"{SESSION_COOKIE}={signer.sign('session', user)}"
        headers = {"cookie": cookie, "accept": "text/event-stream"}
        async with client.stream("GET", "/api/events", headers=headers) as stream:
            event = ""
            async for line in stream.aiter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event == "notice":  # not a beat's line id
                    received[json.loads(line[6:])["text"]] = time.perf_counter()

    def enqueue(user: str, text: str) -> None:
        repository.enqueue_message(CHANNEL, user, {"text": text})

    async def everything() -> None:
        serving = asyncio.create_task(server.serve())
        while not server.started:
            await asyncio.sleep(0.01)
        limits = httpx.Limits(max_connections=spec.browsers + 1)
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{port}", headers={"Origin": ORIGIN}, timeout=None, limits=limits
        ) as client:
            listening = [asyncio.create_task(listen(client, user)) for user in users]
            while app.state.live.listeners < spec.browsers:
                await asyncio.sleep(0.01)
            start.wait()
            chosen = random.Random(7)
            began = time.perf_counter()
            for number in range(spec.notices):
                text = f"【提醒】第{number}条"
                queued[text] = time.perf_counter()
                await asyncio.to_thread(enqueue, chosen.choice(users), text)
                await asyncio.sleep(spec.spacing_s)
            settle = time.perf_counter() + SETTLE_S
            while len(received) < spec.notices and time.perf_counter() < settle:
                await asyncio.sleep(0.01)
            result.seconds = time.perf_counter() - began
            stop_streams(app)
            await asyncio.gather(*listening, return_exceptions=True)
        server.should_exit = True
        await serving

    asyncio.run(everything())
    result.latencies_ms = [(received[text] - at) * 1000 for text, at in queued.items() if text in received]
    result.lost = spec.notices - len(result.latencies_ms)
    result.peak_rss_mb = memory_mb()[1]
    repository.engine.dispose()
    return result
