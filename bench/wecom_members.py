"""企业微信 under many members at once: how fast the callback answers WeCom, and whether the replies
keep WeCom's per-member pace.

A fresh worker process builds an engine on an SQLite file (the product's pragmas), the product's app
with the 企业微信 channel in it (``bot.web.build_app`` with a ``WeComChannel``), and the fake WeCom of
the tests (``tests.wecom_fake``) served by uvicorn on loopback for the channel's API calls — gettoken,
message/send, media/get — made by wechatpy over HTTP, as in production. Members are bound beforehand.
Each sends a 登记表's worth of messages (the Telegram pipeline's 19; photos as image messages whose
media the fake holds) the way WeCom delivers them: encrypted, signed and POSTed to ``/wecom/callback``
through the app's ASGI interface, as uvicorn calls it; a member's next message follows when the
callback has answered and a think time has passed. Meanwhile the channel's loop runs in the same
event loop, as in ``intake run``: inbox → engine → outbox → fake WeCom, at the member's pace.

Measured: the callback's time to answer (what WeCom's 5-second timeout sees, the event loop's other
work included), the time until every reply has reached the fake, and each member's busiest minute of
replies (WeCom drops what goes beyond 30 in a minute).
"""

from __future__ import annotations

import asyncio
import logging
import random
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.processes import Start, memory_mb
from bench.report import busiest
from bench.scenario import registration_script, unique_photo
from bench.web_chat import asgi_request


@dataclass(frozen=True)
class MembersSpec:
    folder: str
    members: int
    script_length: int = 19
    think_s: float = 0.5  # on average: each pause is drawn between half and one and a half of it
    settle_timeout_s: float = 900.0
    # Every member's messages in the same instant (a fixed pause, one start): the worst case for the
    # callback, as opposed to people who type at their own pace.
    in_step: bool = False


@dataclass
class MembersResult:
    callbacks: int = 0
    seconds: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    replies: int = 0
    replied_after_s: float = 0.0  # from the first message to the last reply at the fake
    busiest_minute: int = 0  # the most replies one member got in any 60 s
    unanswered: int = 0  # messages still in the inbox, or replies still in the outbox, at the end
    peak_rss_mb: float = 0.0


def run_members(spec: MembersSpec, start: Start) -> MembersResult:
    from tests.test_web_api import serving
    from tests.wecom_fake.server import FakeWeCom

    fake = FakeWeCom()
    with serving(fake.app()) as base:
        return _run_members(spec, start, fake, base)


def _run_members(spec: MembersSpec, start: Start, fake: Any, base: str) -> MembersResult:
    from bench.pipeline import CAMPAIGN_NOW
    from bot.app import assemble_engine, load_declarations
    from bot.delivery.inbox import run_channel
    from bot.logs import quiet_third_party_logs
    from bot.settings import Settings
    from bot.web import build_app
    from bot.wecom import CALLBACK_PATH, WeComChannel
    from storage.database import make_engine, migrate
    from storage.repository import Repository
    from tests.wecom_fake.crypto import signature

    logging.basicConfig(level=logging.ERROR)
    quiet_third_party_logs()
    folder = Path(spec.folder)
    url = f"sqlite:///{folder / 'intake.db'}"
    migrate(url)
    settings = Settings.model_validate(
        {
            "WECOM_CORP_ID": fake.corp_id,
            "WECOM_AGENT_ID": fake.agent_id,
            "WECOM_SECRET": fake.secret,
            "WECOM_TOKEN": fake.token,
            "WECOM_AES_KEY": fake.aes_key,
            "WECOM_API_BASE_URL": base,
            "web_session_secret": "bench-wecom-session-key-0123456789",
        }
    )
    declarations = load_declarations(Settings())
    repository = Repository(make_engine(url), folder / "data")
    campaign = declarations.campaign
    repository.sync_units(campaign.id, [(u.code, u.name, u.area, u.kind) for u in campaign.units])
    engine = assemble_engine(declarations, repository, lambda: CAMPAIGN_NOW)
    channel = WeComChannel(settings, engine)
    app = build_app(engine, settings, wecom=channel)
    users = [f"bench-member-{number}" for number in range(spec.members)]
    for number, user in enumerate(users):
        stored = repository.unit_by_code(campaign.id, campaign.units[number % len(campaign.units)].code)
        assert stored is not None and stored.id is not None
        repository.bind_contact("wecom", user, stored.id)
    script = registration_script()[: spec.script_length]
    cipher = fake.cipher
    result = MembersResult()
    next_id = iter(range(10**15, 10**16))

    async def deliver(user: str, inner: str) -> None:
        created = int(CAMPAIGN_NOW.timestamp())
        plain = (
            f"<xml><ToUserName><![CDATA[{fake.corp_id}]]></ToUserName>"
            f"<FromUserName><![CDATA[{user}]]></FromUserName><CreateTime>{created}</CreateTime>"
            f"{inner}<AgentID>{fake.agent_id}</AgentID></xml>"
        )
        sealed = cipher.encrypt(plain)
        timestamp, nonce = str(int(time.time())), secrets.token_hex(5)
        query = {
            "msg_signature": signature(fake.token, timestamp, nonce, sealed),
            "timestamp": timestamp,
            "nonce": nonce,
        }
        body = f"<xml><Encrypt><![CDATA[{sealed}]]></Encrypt></xml>".encode()
        began = time.perf_counter()
        headers = [("content-type", "text/xml")]
        status = await asgi_request(app, CALLBACK_PATH, body, headers, urlencode(query))
        result.latencies_ms.append((time.perf_counter() - began) * 1000)
        result.callbacks += 1
        result.errors += status != 200

    async def member(user: str, pause: random.Random) -> None:
        if not spec.in_step:
            await asyncio.sleep(pause.uniform(0, spec.think_s))  # people do not start in the same instant
        for step in script:
            msg_id = next(next_id)
            if step.photo:
                media_id = fake.upload_media(unique_photo(f"{user}-{msg_id}"), "image", "p.jpg", "image/jpeg")
                inner = (
                    f"<MsgType><![CDATA[image]]></MsgType><MediaId><![CDATA[{media_id}]]></MediaId>"
                    f"<MsgId>{msg_id}</MsgId>"
                )
            else:
                inner = (
                    f"<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{step.text}]]></Content>"
                    f"<MsgId>{msg_id}</MsgId>"
                )
            await deliver(user, inner)
            await asyncio.sleep(spec.think_s if spec.in_step else pause.uniform(0.5, 1.5) * spec.think_s)

    def settled() -> bool:
        later = CAMPAIGN_NOW.replace(year=CAMPAIGN_NOW.year + 5)
        return not repository.pending_updates("wecom", 1) and not repository.due_messages("wecom", later, 1)

    async def everyone() -> None:
        stop = asyncio.Event()
        loop = asyncio.create_task(run_channel(channel.inbox, channel.dispatcher, stop))
        began = time.perf_counter()
        await asyncio.gather(*(member(user, random.Random(user)) for user in users))
        result.seconds = time.perf_counter() - began
        deadline = time.monotonic() + spec.settle_timeout_s
        while not settled() and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
        stop.set()
        await loop
        result.unanswered = len(repository.pending_updates("wecom")) + len(
            repository.due_messages("wecom", CAMPAIGN_NOW.replace(year=CAMPAIGN_NOW.year + 5))
        )
        deliveries = list(fake.deliveries)
        result.replies = len(deliveries)
        if deliveries:
            result.replied_after_s = max(d.at for d in deliveries) - first_moment
        per_member: dict[str, list[float]] = {}
        for delivery in deliveries:
            per_member.setdefault(delivery.user, []).append(delivery.at)
        result.busiest_minute = max((busiest(m, 60.0) for m in per_member.values()), default=0)

    start.wait()
    first_moment = time.monotonic()
    asyncio.run(everyone())
    result.peak_rss_mb = memory_mb()[1]
    repository.engine.dispose()
    return result
