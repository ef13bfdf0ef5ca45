"""Databases to measure on, filled the fast way (bulk inserts through SQLModel's tables).

* ``sqlite_database`` — a file in WAL mode with the product's pragmas (``storage.database.make_engine``),
  copied from one migrated template per run;
* ``postgres_database`` — a database created next to the given URL's, migrated, dropped afterwards;
* ``region_campaign`` — the real campaign with its units copied up to any number (a region's
  villages and communities), the tasks, quotas and deadlines unchanged;
* ``Loader`` — bulk inserts with explicit ids: units, contacts, stored conversations (a contact with
  a half-filled 登记表 draft and its processed inbox/outbox history) and region-scale submissions.
"""

from __future__ import annotations

import shutil
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, create_engine, text
from sqlmodel import Session

from bench.scenario import CADRE_STORED
from dialogs.campaign import Campaign, UnitDecl
from dialogs.sample_answers import chinese_text
from dialogs.supervision import quota_count
from storage.database import make_engine, migrate
from storage.models import (
    CampaignUnit,
    Contact,
    Draft,
    InboxUpdate,
    OutboxMessage,
    Submission,
    SubmissionVersion,
    Unit,
    utc_now,
)
from storage.repository import rebuild_progress

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
STORED_CHAT_BASE = 5_000_000_000  # chat ids of stored (idle) conversations
HISTORY_UPDATE_BASE = 10_000_000_000  # update ids of their processed history
CADRE_STATES = [key for key, _value in CADRE_STORED] + ["id_photo", "work_photo"]


@dataclass
class Database:
    """A database to measure on; ``drop()`` removes it."""

    url: str
    kind: str  # "SQLite" | "PostgreSQL"
    drop: Callable[[], None]
    settings: str = ""  # durability settings, for the run conditions

    def engine(self) -> Engine:
        return make_engine(self.url)


_templates: dict[str, Path] = {}
_template_lock = threading.Lock()  # Alembic's migration context is global: one migration at a time


def sqlite_template(folder: Path) -> Path:
    """The migrated SQLite file every SQLite database of the run is copied from (made once)."""
    with _template_lock:
        template = _templates.get("sqlite")
        if template is None or not template.exists():
            template = folder / "template-intake.db"
            template.unlink(missing_ok=True)
            migrate(f"sqlite:///{template}")
            _templates["sqlite"] = template
        return template


def sqlite_database(directory: Path) -> Database:
    """A migrated SQLite file in ``directory`` (WAL, synchronous=FULL: the product's settings)."""
    template = sqlite_template(directory.parent)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "intake.db"
    shutil.copy(template, path)

    def drop() -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    return Database(f"sqlite:///{path}", "SQLite", drop, "file, WAL, synchronous=FULL")


def postgres_reason(url: str) -> str | None:
    """None when PostgreSQL at ``url`` answers; otherwise why not."""
    try:
        admin = create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3})
        with admin.connect() as connection:
            connection.execute(text("SELECT 1"))
        admin.dispose()
    except Exception as error:  # any driver or connection error means: skip PostgreSQL
        return f"{type(error).__name__}: {str(error).splitlines()[0][:120]}"
    return None


def postgres_database(url: str) -> Database:
    """A fresh migrated database next to ``url``'s (``intake_bench_…``), dropped by ``drop()``."""
    name = f"intake_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
        settings = ", ".join(
            f"{setting}={connection.execute(text(f'SHOW {setting}')).scalar()}"
            for setting in ("fsync", "synchronous_commit")
        )
    database_url = url.rsplit("/", 1)[0] + f"/{name}"
    with _template_lock:
        migrate(database_url)

    def drop() -> None:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return Database(database_url, "PostgreSQL", drop, f"{settings}, {server_version(url)}")


def server_version(url: str) -> str:
    engine = create_engine(url)
    with engine.connect() as connection:
        version = str(connection.execute(text("SHOW server_version")).scalar())
    engine.dispose()
    return f"PostgreSQL {version.split()[0]}"


# The campaign at any scale ------------------------------------------------------------------------


def region_campaign(base: Campaign, units: int) -> Campaign:
    """``base`` with its units repeated (new codes and names) up to ``units``; tasks unchanged."""
    copies: list[UnitDecl] = []
    for index in range(units):
        source = base.units[index % len(base.units)]
        number = index // len(base.units)
        if number == 0:
            copies.append(source)
            continue
        copies.append(
            UnitDecl(
                code=f"{source.code}-{number}",
                name=f"{source.area}第{number}村（社区）妇联",
                short_name=f"{source.short_name}{number}村",
                area=source.area,
                kind=source.kind,
            )
        )
    return base.model_copy(update={"units": copies})


# Bulk loading ---------------------------------------------------------------------------------------


def _table(model: Any) -> Table:
    table: Table = model.__table__
    return table


class Loader:
    """Bulk inserts with explicit ids (sequences fixed afterwards on PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.next_ids: dict[str, int] = {}
        self.now = utc_now()

    def ids(self, model: Any, count: int) -> range:
        name = _table(model).name
        first = self.next_ids.get(name, 1)
        self.next_ids[name] = first + count
        return range(first, first + count)

    def insert(self, model: Any, rows: Iterable[dict[str, Any]], chunk: int = 5000) -> int:
        table = _table(model)
        batch: list[dict[str, Any]] = []
        count = 0
        with self.engine.begin() as connection:
            for row in rows:
                batch.append(row)
                if len(batch) >= chunk:
                    connection.execute(table.insert(), batch)
                    count += len(batch)
                    batch = []
            if batch:
                connection.execute(table.insert(), batch)
                count += len(batch)
        return count

    def finish(self) -> None:
        """PostgreSQL: move the id sequences past the explicit ids, and ANALYZE (as autovacuum would)."""
        if self.engine.dialect.name != "postgresql":
            return
        with self.engine.begin() as connection:
            for name in self.next_ids:
                connection.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"(SELECT COALESCE(MAX(id), 0) + 1 FROM {name}), false)"
                    )
                )
            connection.execute(text("ANALYZE"))

    # What the measurements need -----------------------------------------------------------------

    def units(self, campaign: Campaign) -> list[int]:
        """The campaign's units, new in the roster, and the campaign's pick of them."""
        ids = self.ids(Unit, len(campaign.units))
        self.insert(
            Unit,
            (
                {"id": unit_id, "code": unit.code, "name": unit.name, "area": unit.area, "kind": unit.kind}
                for unit_id, unit in zip(ids, campaign.units, strict=True)
            ),
        )
        links = self.ids(CampaignUnit, len(ids))
        self.insert(
            CampaignUnit,
            (
                {"id": link_id, "campaign_id": campaign.id, "unit_id": unit_id}
                for link_id, unit_id in zip(links, ids, strict=True)
            ),
        )
        return list(ids)

    def contacts(
        self, channel: str, chats: Sequence[int], unit_ids: Sequence[int | None], role: str = "contact"
    ) -> list[int]:
        """Bound, consented contacts (one per chat id) of the given units (one unit per chat)."""
        ids = self.ids(Contact, len(chats))
        self.insert(
            Contact,
            (
                self._contact(contact_id, channel, str(chat), unit_id, role)
                for contact_id, chat, unit_id in zip(ids, chats, unit_ids, strict=True)
            ),
        )
        return list(ids)

    def _contact(
        self, contact_id: int, channel: str, external_id: str, unit_id: int | None, role: str
    ) -> dict[str, Any]:
        return {
            "id": contact_id,
            "channel": channel,
            "external_id": external_id,
            "unit_id": unit_id,
            "role": role,
            "active": True,
            "current_draft_id": None,
            "menu": [],
            "consented_at": self.now,
            "created_at": self.now,
        }

    def stored_conversations(
        self, campaign: Campaign, unit_ids: Sequence[int], count: int, channel: str, history: int
    ) -> None:
        """``count`` idle contacts, each with a half-filled 登记表 draft (0–13 answers, as the engine
        stores them) and ``history`` processed updates and sent replies each in the inbox/outbox."""
        contact_ids = self.ids(Contact, count)
        draft_ids = self.ids(Draft, count)

        def contacts() -> Iterable[dict[str, Any]]:
            for index, (contact_id, draft_id) in enumerate(zip(contact_ids, draft_ids, strict=True)):
                row = self._contact(
                    contact_id,
                    channel,
                    str(STORED_CHAT_BASE + index),
                    unit_ids[index % len(unit_ids)],
                    "contact",
                )
                row["current_draft_id"] = draft_id
                yield row

        def drafts() -> Iterable[dict[str, Any]]:
            for index, (contact_id, draft_id) in enumerate(zip(contact_ids, draft_ids, strict=True)):
                filled = index % len(CADRE_STORED)
                yield {
                    "id": draft_id,
                    "campaign_id": campaign.id,
                    "unit_id": unit_ids[index % len(unit_ids)],
                    "task_id": "cadres",
                    "form_id": "cadre_registration",
                    "started_by": contact_id,
                    "state": CADRE_STATES[filled],
                    "status": "open",
                    "answers": dict(CADRE_STORED[:filled]),
                    "context": {"row": 0},
                    "submission_id": None,
                    "revision": filled,
                    "created_at": self.now,
                    "updated_at": self.now,
                    "cancelled_at": None,
                }

        self.insert(Contact, contacts())
        self.insert(Draft, drafts())
        if history:
            self._history(channel, count, history)

    def _history(self, channel: str, count: int, history: int) -> None:
        before = self.now - timedelta(days=1)
        inbox_ids = self.ids(InboxUpdate, count * history)
        outbox_ids = self.ids(OutboxMessage, count * history)
        self.insert(
            InboxUpdate,
            (
                {
                    "id": row_id,
                    "channel": channel,
                    "update_id": HISTORY_UPDATE_BASE + row_id,
                    "sequence": HISTORY_UPDATE_BASE + row_id,
                    "chat_key": str(STORED_CHAT_BASE + n // history),
                    "payload": {},
                    "status": "done",
                    "attempts": 1,
                    "received_at": before,
                    "processed_at": before,
                }
                for n, row_id in enumerate(inbox_ids)
            ),
        )
        self.insert(
            OutboxMessage,
            (
                {
                    "id": row_id,
                    "channel": channel,
                    "chat_key": str(STORED_CHAT_BASE + n // history),
                    "payload": {},
                    "status": "sent",
                    "attempts": 1,
                    "not_before": None,
                    "created_at": before,
                    "sent_at": before,
                }
                for n, row_id in enumerate(outbox_ids)
            ),
        )

    def submissions(self, campaign: Campaign, unit_ids: Sequence[int], total: int) -> dict[str, int]:
        """About ``total`` submissions over the units, as a region would have near the deadline:
        two candidates per unit (one for every 3rd: short), one course table per county federation
        (two courses; one for every 4th: short), and the rest 申报表 spread evenly (none for every
        9th unit: short); a tenth are at version 2; 20% accepted, 5% returned. Returns the count per
        task."""
        submitter = self.contacts("bench-submitter", [0], [unit_ids[0]])[0]
        [draft_id] = self.ids(Draft, 1)
        self.insert(Draft, [_submitted_draft(draft_id, campaign.id, unit_ids[0], submitter, self.now)])
        plan: list[tuple[int, str, str, dict[str, Any]]] = []  # unit id, task, form, answers
        for index, (unit, unit_id) in enumerate(zip(campaign.units, unit_ids, strict=True)):
            for _ in range(1 if index % 3 == 0 else 2):
                plan.append((unit_id, "cadres", "cadre_registration", _cadre_answers(index)))
            if unit.kind == "county":
                courses = 1 if index % 4 == 0 else 2
                plan.append((unit_id, "courses", "course_recommendation", _course_answers(courses)))
        sites_left = max(total - len(plan), 0)
        owed = [0 if index % 9 == 4 else 1 for index in range(len(unit_ids))]
        share, extra = divmod(sites_left, max(sum(owed), 1))
        handed = 0
        for index, unit_id in enumerate(unit_ids):
            if not owed[index]:
                continue
            sites = share + (1 if handed < extra else 0)
            handed += 1
            plan += [(unit_id, "sites", "site_application", _site_answers(index))] * sites
        submission_ids = self.ids(Submission, len(plan))
        self.insert(
            Submission,
            (
                {
                    "id": submission_id,
                    "campaign_id": campaign.id,
                    "unit_id": unit_id,
                    "task_id": task,
                    "form_id": form,
                    "status": "returned" if n % 20 == 7 else "accepted" if n % 5 == 0 else "submitted",
                    "current_version": 2 if n % 10 == 5 else 1,
                    "counted": quota_count(campaign.task(task), answers),
                    "in_share": campaign.in_share(task, answers),
                    "created_at": self.now,
                    "updated_at": self.now,
                }
                for n, (submission_id, (unit_id, task, form, answers)) in enumerate(
                    zip(submission_ids, plan, strict=True)
                )
            ),
        )

        def versions() -> Iterable[dict[str, Any]]:
            for n, (submission_id, (_unit_id, _task, _form, answers)) in enumerate(
                zip(submission_ids, plan, strict=True)
            ):
                for version in range(1, (2 if n % 10 == 5 else 1) + 1):
                    yield {
                        "submission_id": submission_id,
                        "version": version,
                        "answers": answers,
                        "draft_id": draft_id,
                        "submitted_by": submitter,
                        "submitted_at": self.now,
                        "record_path": f"submissions/bench/{submission_id}-v{version}.json",
                        "document_path": f"submissions/bench/{submission_id}-v{version}.docx",
                    }

        rows = list(versions())
        version_ids = self.ids(SubmissionVersion, len(rows))
        for row, version_id in zip(rows, version_ids, strict=True):
            row["id"] = version_id
        self.insert(SubmissionVersion, rows)
        with Session(self.engine) as session:  # the running totals the product keeps at submit time
            rebuild_progress(session, campaign.id)
            session.commit()
        counts: dict[str, int] = {}
        for _unit_id, task, _form, _answers in plan:
            counts[task] = counts.get(task, 0) + 1
        return counts


def _submitted_draft(
    draft_id: int, campaign_id: str, unit_id: int, contact: int, now: datetime
) -> dict[str, Any]:
    return {
        "id": draft_id,
        "campaign_id": campaign_id,
        "unit_id": unit_id,
        "task_id": "cadres",
        "form_id": "cadre_registration",
        "started_by": contact,
        "state": "submitted",
        "status": "submitted",
        "answers": {},
        "context": {},
        "submission_id": None,
        "revision": 1,
        "created_at": now,
        "updated_at": now,
        "cancelled_at": None,
    }


def _photo(seed: int) -> dict[str, Any]:
    return {"sha256": f"{seed:064x}", "mime": "image/jpeg", "width": 1280, "height": 960}


def _cadre_answers(index: int) -> dict[str, Any]:
    answers = dict(CADRE_STORED)
    if index % 10 < 3:  # 70% village-level candidates, as the notice asks
        answers["cadre_level"] = "乡镇（街道）妇联执委"
    answers["id_photo"] = _photo(2 * index)
    answers["work_photo"] = _photo(2 * index + 1)
    return answers


def _course_answers(courses: int) -> dict[str, Any]:
    row = {
        "course_title": "巧用妇女议事会化解邻里矛盾",
        "teaching_form": "典型案例",
        "summary": chinese_text(280),
        "speaker_name": "覃美玲",
        "speaker_birth": "1982-07",
        "speaker_post": "鹿寨县中渡镇妇联主席",
        "video": None,
    }
    return {
        "courses": [row] * courses,
        "contact_name_post": "蓝芳 鱼峰区妇联组联部部长",
        "contact_phone": "0772-2823290",
    }


def _site_answers(index: int) -> dict[str, Any]:
    return {
        "org_name": "柳州市螺蛳粉产业园",
        "staff_count": 120,
        "female_count": 86,
        "leader_name": "黄建国",
        "leader_phone": "13907721234",
        "filler_name": "李秀梅",
        "filler_phone": "15878012345",
        "build_mode": "单独创建",
        "domain": "园区",
        "federation_name": "柳州市螺蛳粉产业园妇女联合会",
        "chair_name": "莫小燕",
        "chair_phone": "0772-2823290",
        "vice_chair_count": 2,
        "committee_count": 9,
        "founded_on": "2021-04-18",
        "situation": chinese_text(450),
        "photos": [{"photo": _photo(10 * index + n), "caption": "妇女之家活动室"} for n in range(3)],
    }
