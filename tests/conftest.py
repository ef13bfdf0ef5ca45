"""Shared fixtures: the real declarations, a migrated SQLite (or PostgreSQL) database, an engine
with an injected clock, and a small chat driver that talks to the engine with plain strings."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from sqlalchemy import create_engine, text
from sqlmodel import SQLModel

from bot.app import Declarations, assemble_engine, load_declarations
from bot.settings import Settings
from dialogs.campaign import DEFAULT_CAMPAIGN
from dialogs.engine import DialogEngine
from dialogs.exchange import DocumentRef, Inbound, IncomingFile, Reply
from dialogs.sample_answers import chinese_text as chinese_text  # for the tests' imports
from storage.database import make_engine, migrate
from storage.repository import Repository

SHANGHAI = ZoneInfo("Asia/Shanghai")
POSTGRES_URL = os.environ.get("INTAKE_TEST_POSTGRES_URL", "")


@dataclass
class FakeClock:
    """A clock the test moves by hand."""

    now: datetime = field(default_factory=lambda: datetime(2021, 5, 10, 10, 0, tzinfo=SHANGHAI))

    def __call__(self) -> datetime:
        return self.now


def report_figures(name: str, figures: dict[str, object]) -> None:
    """Append a run's figures to ``INTAKE_CRASH_REPORT`` when set (docs/RELIABILITY.md is made from them)."""
    target = os.environ.get("INTAKE_CRASH_REPORT")
    if target:
        with open(target, "a", encoding="utf-8") as stream:
            stream.write(json.dumps({name: figures}, ensure_ascii=False) + "\n")


def current_campaign_file(folder: Path) -> Path:
    """The shipped campaign with its retention date a year from today, as a deployer's copy for this
    year would have it: what the real service (``intake run`` without ``--trial``) runs on."""
    shipped = DEFAULT_CAMPAIGN.read_text(encoding="utf-8")
    kept = date.today().replace(year=date.today().year + 1, day=1)
    current = re.sub(r"(?m)^personal_data_kept_until = .*$", f"personal_data_kept_until = {kept}", shipped)
    assert current != shipped
    path = folder / "campaign-current.toml"
    path.write_text(current, encoding="utf-8")
    return path


@pytest.fixture(name="declarations", scope="session")
def declarations_fixture() -> Declarations:
    return load_declarations(Settings())


@pytest.fixture(name="sqlite_template", scope="session")
def sqlite_template_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file per test run; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "intake.db"
    migrate(f"sqlite:///{path}")
    return path


def sqlite_repository(template: Path, directory: Path, declarations: Declarations) -> Repository:
    database = directory / "intake.db"
    shutil.copy(template, database)
    repository = Repository(make_engine(f"sqlite:///{database}"), directory / "data")
    campaign = declarations.campaign
    repository.sync_units(campaign.id, [(u.code, u.name, u.area, u.kind) for u in campaign.units])
    return repository


@pytest.fixture(name="postgres_url", scope="session")
def postgres_url_fixture() -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test run, dropped afterwards."""
    if not POSTGRES_URL:
        pytest.skip(
            "INTAKE_TEST_POSTGRES_URL is not set: PostgreSQL contract tests skipped (.ci/run sets it)"
        )
    name = f"intake_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    migrate(url)
    yield url
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def postgres_repository(url: str, directory: Path, declarations: Declarations) -> Repository:
    engine = make_engine(url)
    with engine.begin() as connection:
        tables = ", ".join(table.name for table in SQLModel.metadata.sorted_tables)
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    repository = Repository(engine, directory / "data")
    campaign = declarations.campaign
    repository.sync_units(campaign.id, [(u.code, u.name, u.area, u.kind) for u in campaign.units])
    return repository


@pytest.fixture(name="repository")
def repository_fixture(
    sqlite_template: Path, tmp_path: Path, declarations: Declarations
) -> Iterator[Repository]:
    repository = sqlite_repository(sqlite_template, tmp_path, declarations)
    yield repository
    repository.engine.dispose()


@pytest.fixture(name="clock")
def clock_fixture() -> FakeClock:
    return FakeClock()


@pytest.fixture(name="engine")
def engine_fixture(declarations: Declarations, repository: Repository, clock: FakeClock) -> DialogEngine:
    return assemble_engine(declarations, repository, clock)


def photo_bytes(
    width: int = 640, height: int = 480, color: tuple[int, int, int] = (200, 30, 30), fmt: str = "JPEG"
) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format=fmt)
    return buffer.getvalue()


def document_path(engine: DialogEngine, reply: Reply) -> Path:
    """The file behind a reply's document, as a channel opens it."""
    assert reply.document is not None
    opened = engine.open_document(reply.document)
    assert opened is not None
    return opened.path


def exported(
    engine: DialogEngine, user: str, text: str = "/export", channel: str = "telegram"
) -> tuple[list[Reply], list[Reply]]:
    """导出 as 组联部 meet it: the answer at once, then — the service's export loop run here — the
    files it promised, as the messages queued for ``user`` since (each once)."""
    before = {m.id for m in engine.repository.due_messages(channel, datetime.now(SHANGHAI))}
    answer = engine.handle(Inbound(channel, user, text))
    engine.run_export_jobs()
    files = [
        Reply(str(m.payload["text"]), document=DocumentRef.from_payload(m.payload["document"]))
        for m in engine.repository.due_messages(channel, datetime.now(SHANGHAI))
        if m.chat_key == user and m.id not in before and "document" in m.payload
    ]
    return answer, files


#: A slash command in words a person reads (“/new”), not a path or a link (“https://t.me/…”).
SLASH_COMMAND = re.compile(r"(?<![\w/:.])/[a-z]+")


def assert_no_slash_command(text: str, echoed: AbstractSet[str] = frozenset()) -> None:
    """What the bot says suggests buttons and Chinese words, never a command to type in English
    (``echoed``: what the person typed, which the bot may show back, as in the review)."""
    found = set(SLASH_COMMAND.findall(text)) - echoed
    assert not found, f"an English command in a message a person reads: {found} in {text!r}"


class Chat:
    """Talks to the engine as one contact, one string per message, like a person on a phone."""

    def __init__(
        self, engine: DialogEngine, unit_code: str = "yufeng", user: str = "u1", channel: str = "test"
    ):
        self.engine = engine
        self.user = user
        self.channel = channel
        unit = engine.repository.unit_by_code(engine.campaign.id, unit_code)
        assert unit is not None
        engine.repository.bind_contact(channel, user, unit.id)
        self.replies: list[Reply] = []
        self.typed: set[str] = set()  # what looked like a command in what this contact typed

    def send(self, text: str = "", file: IncomingFile | None = None) -> str:
        self.replies = self.engine.handle(
            Inbound(channel=self.channel, user_id=self.user, text=text, file=file)
        )
        self.typed |= set(SLASH_COMMAND.findall(text))
        assert_no_slash_command(self.text, self.typed)
        return self.text

    def photo(
        self, data: bytes | None = None, caption: str = "", color: tuple[int, int, int] = (10, 120, 200)
    ) -> str:
        payload = data if data is not None else photo_bytes(color=color)
        return self.send(
            caption, IncomingFile(kind="photo", data=payload, mime="image/jpeg", size=len(payload))
        )

    @property
    def text(self) -> str:
        return "\n".join(reply.text for reply in self.replies)

    @property
    def options(self) -> tuple[str, ...]:
        return self.replies[-1].options if self.replies else ()

    def contact(self):  # type: ignore[no-untyped-def]
        return self.engine.repository.contact(self.channel, self.user)

    def draft(self):  # type: ignore[no-untyped-def]
        contact = self.contact()
        assert contact is not None and contact.current_draft_id is not None
        return self.engine.repository.draft(contact.current_draft_id)


@pytest.fixture(name="chat")
def chat_fixture(engine: DialogEngine) -> Chat:
    return Chat(engine)
