"""SQL statements and commits per message, by kind of message: a figure that does not depend on the host.

One contact fills one 登记表 through the answer pipeline of ``bench/pipeline.py`` (the real
``telegram.Bot`` over ``FakeBotApi``, our ``TelegramChannel``, the inbox, the engine, the outbox) one
message at a time, as Telegram people do: free-text answers typed, options pressed as buttons (a
``callback_query``), two photos, “确认提交” (which renders the DOCX and sends it); then 组联部 sends
“进度”. Each message goes through the three steps of the service's loop — stored in the inbox
(``receive_many``), handled (``process_pending``: claim, engine, replies queued, update marked done,
one commit) and its replies sent (``send_due``) — and what each step sends to the database is counted
with SQLAlchemy's engine events: ``before_cursor_execute`` (every statement, its SQL kept), ``commit``,
``rollback`` and the pool's ``checkout`` (a connection taken: a ping's round trip on PostgreSQL).

Each message alone: what it costs by itself. Then sixteen chats send a typed answer at once, handled
as one group (one transaction, as under load): what a message costs when it shares the inbox's and
the outbox's reads and the commits. Statements the driver
sends on its own (SQLite's implicit ``BEGIN``, PostgreSQL's pre-ping) are not counted; the checkouts
say how many there are. A warm-up chat walks the same way first (caches filled, as in a running
service), and the counts are the same in every run on the same code.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event

from bench.processes import Start, run_workers
from bench.report import Row, verdict
from bench.scenario import BOT_USER, FakeTelegram, Step
from bench.setup_db import Database, Loader, region_campaign
from bot.delivery.together import GROUP_SIZE
from dialogs.sample_answers import CADRE_ANSWERS

COUNTED_CHAT = 1_000_001
WARMUP_CHAT = 3_000_001
SUPERVISOR_CHAT = 9_000_001
GROUP = GROUP_SIZE  # typed answers of as many chats at once: what one group's transaction holds
GROUP_CHAT = 2_000_001  # the first of them
UNITS = 2 + GROUP  # a unit per contact
STAGES = ("in", "handle", "out")
CONDITIONS = (
    "one 登记表 and one 进度 through bench/pipeline.py's loop, one message at a time (alone, not in a "
    "group): in = receive_many, handle = process_pending, out = send_due · counted with SQLAlchemy's "
    "engine events · the kind's median message"
)

#: The kinds of message, in the table's order: what a kind's figure is taken from.
KINDS = {
    "text": "a typed answer",
    "button": "an option pressed (callback_query)",
    "photo": "a photo",
    "submit": "确认提交 (the DOCX rendered and sent)",
    "status": "进度 (组联部)",
}


@dataclass
class Tally:
    """What one stretch of work sent to the database."""

    statements: list[str] = field(default_factory=list)  # each statement's SQL, as sent
    commits: int = 0
    rollbacks: int = 0
    checkouts: int = 0

    def add(self, other: Tally) -> None:
        self.statements += other.statements
        self.commits += other.commits
        self.rollbacks += other.rollbacks
        self.checkouts += other.checkouts


class StatementCounter:
    """Counts what an engine sends, while ``counting()`` is open (one stretch at a time)."""

    def __init__(self, engine: Engine) -> None:
        self._tally: Tally | None = None
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "commit", self._commit)
        event.listen(engine, "rollback", self._rollback)
        event.listen(engine, "checkout", self._checkout)

    @contextmanager
    def counting(self) -> Iterator[Tally]:
        tally = self._tally = Tally()
        try:
            yield tally
        finally:
            self._tally = None

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if self._tally is not None:
            self._tally.statements.append(statement)

    def _commit(self, _conn: Any) -> None:
        if self._tally is not None:
            self._tally.commits += 1

    def _rollback(self, _conn: Any) -> None:
        if self._tally is not None:
            self._tally.rollbacks += 1

    def _checkout(self, *_args: Any) -> None:
        if self._tally is not None:
            self._tally.checkouts += 1


@dataclass
class MessageCount:
    """One message sent, and what each step of the loop cost on the database."""

    kind: str  # "text" | "button" | "photo" | "submit" | "status" | "command" | "group"
    label: str  # which message: the question answered, or the command
    stages: dict[str, Tally]
    messages: int = 1  # more for a group handled together (its tallies are the group's)

    @property
    def total(self) -> Tally:
        whole = Tally()
        for stage in STAGES:
            whole.add(self.stages[stage])
        return whole


@dataclass(frozen=True)
class CountSpec:
    database_url: str
    data_dir: str


class ButtonTelegram(FakeTelegram):
    """``FakeTelegram`` that remembers the buttons under each chat's latest message and can press one."""

    def __init__(self) -> None:
        super().__init__()
        self.buttons: dict[int, list[tuple[str, str]]] = {}  # chat -> (label, callback data)

    def call(self, method: str, parameters: dict[str, Any]) -> Any:
        if method == "sendMessage":
            markup = parameters.get("reply_markup") or {}
            rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
            self.buttons[int(parameters["chat_id"])] = [
                (button["text"], button["callback_data"]) for row in rows for button in row
            ]
        return super().call(method, parameters)

    def press(self, chat_id: int, number: int) -> dict[str, Any]:
        """The update of a person pressing the ``number``-th button (from 1) under the latest message."""
        _label, data = self.buttons[chat_id][number - 1]
        self._update_id += 1
        person = {"id": chat_id, "is_bot": False, "first_name": "联系人", "language_code": "zh-hans"}
        under = {
            "message_id": self._message_id,
            "date": 0,
            "chat": {"id": chat_id, "type": "private", "first_name": "联系人"},
            "from": BOT_USER,
            "text": "…",
        }
        query = {
            "id": str(self._update_id),
            "from": person,
            "chat_instance": "1",
            "data": data,
            "message": under,
        }
        return {"update_id": self._update_id, "callback_query": query}

    def send(self, chat_id: int, text: str = "", photo: bool = False) -> dict[str, Any]:
        return self.update(chat_id, Step(text, photo), 0)


def prepare(database: Database) -> None:
    """A unit per contact: the counted one, a warm-up one, the group's; and 组联部 (all bound)."""
    from bot.app import load_declarations
    from bot.settings import Settings

    campaign = region_campaign(load_declarations(Settings()).campaign, UNITS)
    engine = database.engine()
    loader = Loader(engine)
    unit_ids = loader.units(campaign)
    group = [GROUP_CHAT + n for n in range(GROUP)]
    loader.contacts("telegram", [COUNTED_CHAT, WARMUP_CHAT, *group], unit_ids)
    loader.contacts("telegram", [SUPERVISOR_CHAT], [None], role="supervisor")
    loader.finish()
    engine.dispose()


def worker(spec: CountSpec, start: Start) -> list[MessageCount]:
    return asyncio.run(_worker(spec, start))


async def _worker(spec: CountSpec, start: Start) -> list[MessageCount]:
    os.environ.setdefault("PTB_TIMEDELTA", "true")
    logging.basicConfig(level=logging.ERROR)
    from telegram import Bot

    from bench.pipeline import dialog_engine
    from bench.scenario import BOT_TOKEN, FakeBotApi
    from bot.logs import quiet_third_party_logs
    from bot.rate_limit import SendPacer
    from bot.telegram_channel import TelegramChannel

    quiet_third_party_logs()
    engine = dialog_engine(spec.database_url, spec.data_dir, UNITS)
    counter = StatementCounter(engine.store.engine)
    telegram = ButtonTelegram()
    bot = Bot(BOT_TOKEN, request=FakeBotApi(telegram), get_updates_request=FakeBotApi(telegram))
    await bot.initialize()
    channel = TelegramChannel(bot, engine, SendPacer(overall=1e9, per_chat=1e9, chat_burst=1e9))

    async def one(*updates: dict[str, Any]) -> dict[str, Tally]:
        """The loop's three steps for what the people sent (one message, or several at once)."""
        stages = {}
        with counter.counting() as stages["in"]:
            channel.receive_many(updates)
        with counter.counting() as stages["handle"]:
            handled = await channel.process_pending()
        with counter.counting() as stages["out"]:
            sent = await channel.send_due()
        if handled != len(updates) or sent < len(updates):
            raise RuntimeError(f"{len(updates)} message(s) not answered ({handled} handled, {sent} sent)")
        return stages

    async def registration(chat: int) -> list[MessageCount]:
        """One 登记表 from /new to 确认提交, options pressed as buttons."""
        counts = [MessageCount("command", "/new", await one(telegram.send(chat, "/new")))]
        counts.append(MessageCount("button", "选表", await one(telegram.press(chat, 1))))
        form = engine.forms["cadre_registration"]
        for step, answer in zip(form.steps, CADRE_ANSWERS, strict=False):
            if telegram.buttons.get(chat):
                labels = [label for label, _data in telegram.buttons[chat]]
                number = (
                    int(answer)
                    if answer.isdigit()
                    else 1 + next(n for n, label in enumerate(labels) if label.startswith(answer))
                )
                counts.append(MessageCount("button", step.key, await one(telegram.press(chat, number))))
            else:
                counts.append(MessageCount("text", step.key, await one(telegram.send(chat, answer))))
        for key in ("id_photo", "work_photo"):
            counts.append(MessageCount("photo", key, await one(telegram.send(chat, photo=True))))
        counts.append(MessageCount("submit", "确认提交", await one(telegram.send(chat, "确认提交"))))
        return counts

    await registration(WARMUP_CHAT)
    await one(telegram.send(SUPERVISOR_CHAT, "进度"))
    start.wait()
    counts = await registration(COUNTED_CHAT)
    counts.append(MessageCount("status", "进度", await one(telegram.send(SUPERVISOR_CHAT, "进度"))))
    group = [GROUP_CHAT + n for n in range(GROUP)]
    for chat in group:  # each at the 登记表's first question
        await one(telegram.send(chat, "/new"))
        await one(telegram.press(chat, 1))
    answers = [telegram.send(chat, CADRE_ANSWERS[0]) for chat in group]
    counts.append(MessageCount("group", f"name × {GROUP}", await one(*answers), GROUP))
    await bot.shutdown()
    engine.store.engine.dispose()
    return counts


def count_messages(database: Database, work_dir: Path) -> list[MessageCount]:
    """Fill ``database`` and count, in a fresh process, one 登记表, one 进度 and a group of typed answers."""
    prepare(database)
    spec = CountSpec(database.url, str(work_dir / "data"))
    [counts] = run_workers(worker, [spec])
    result: list[MessageCount] = counts
    return result


#: The counts on SQLite at commit e95ed69 (2026-12-07), before the reshape of issue 24: statements,
#: commits. The issue's target: statements per typed answer halved; the other kinds no more than then.
BASELINE = {"text": (10, 3), "button": (10, 3), "photo": (12, 4), "submit": (23, 3), "status": (10, 3)}
HALVED = "text"


def by_kind(counts: list[MessageCount]) -> dict[str, list[MessageCount]]:
    """The counted messages of each kind in ``KINDS`` (the /new and the form's choice are left out)."""
    kinds: dict[str, list[MessageCount]] = {kind: [] for kind in KINDS}
    for message in counts:
        if message.kind in kinds:
            kinds[message.kind].append(message)
    return kinds


def typical(messages: list[MessageCount]) -> tuple[int, int]:
    """Statements and commits of the kind's median message (by statements)."""
    ordered = sorted(messages, key=lambda message: len(message.total.statements))
    middle = ordered[(len(ordered) - 1) // 2].total
    return len(middle.statements), middle.commits


def _stages(messages: list[MessageCount]) -> str:
    """Where the median message's statements go, and the spread over the kind's messages."""
    ordered = sorted(messages, key=lambda message: len(message.total.statements))
    middle = ordered[(len(ordered) - 1) // 2]
    split = " + ".join(f"{stage} {len(middle.stages[stage].statements)}" for stage in STAGES)
    whole = middle.total
    spread = sorted({len(message.total.statements) for message in messages})
    if len(messages) == 1:
        over = "1 message"
    elif len(spread) == 1:
        over = f"{len(messages)} messages, all alike"
    else:
        over = f"{len(messages)} messages: {spread[0]}–{spread[-1]}"
    return (
        f"statements {split} · commits {whole.commits}, rollbacks {whole.rollbacks}, "
        f"connections taken {whole.checkouts} · {over}"
    )


def in_a_group(counts: list[MessageCount]) -> str:
    """Per message, when a group's typed answers are handled together (as under load)."""
    for message in counts:
        if message.kind == "group":
            whole, share = message.total, message.messages
            split = " + ".join(f"{stage} {len(message.stages[stage].statements)}" for stage in STAGES)
            return (
                f"{share} chats' typed answers at once: {len(whole.statements) / share:.2f} statements and "
                f"{whole.commits / share:.2f} commits per message (the group's statements {split}, "
                f"commits {whole.commits})"
            )
    return ""


def rows(sqlite: list[MessageCount], postgres: list[MessageCount] | None, postgres_skip: str) -> list[Row]:
    """Rows 1.7a–e: statements and commits per message by kind, SQLite (checked against ``BASELINE``)
    and PostgreSQL beside it."""
    ours = by_kind(sqlite)
    theirs = by_kind(postgres) if postgres is not None else None
    found = []
    for letter, (kind, what) in zip("abcde", KINDS.items(), strict=True):
        statements, commits = typical(ours[kind])
        result = f"SQLite {statements} statements · {commits} commits"
        if theirs is not None:
            pg_statements, pg_commits = typical(theirs[kind])
            result += f" · PostgreSQL {pg_statements} · {pg_commits}"
            where = f"PostgreSQL: {_stages(theirs[kind])}"
            if kind == "text" and postgres is not None:
                where += f" · {in_a_group(postgres)}"
        else:
            where = f"PostgreSQL skipped: {postgres_skip}"
        here = _stages(ours[kind]) + (f" · {in_a_group(sqlite)}" if kind == "text" else "")
        base, _base_commits = BASELINE[kind]
        limit = base // 2 if kind == HALVED else base
        target = f"≤{limit} statements (halved from {base})" if kind == HALVED else f"≤{base} statements"
        found.append(
            Row(
                f"1.7{letter}",
                f"SQL per message · {what}",
                result,
                f"{target} · SQLite, baseline 2026-12-07",
                verdict(statements <= limit),
                f"{CONDITIONS if letter == 'a' else 'as row 1.7a'} · SQLite: {here} · {where}",
            )
        )
    return found
