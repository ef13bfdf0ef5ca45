"""Migrations on databases that hold data: 0012 turns each campaign's units into one roster of units
(``unit``) and each campaign's pick of it (``campaignunit``), keeping every row; its downgrade splits a
shared unit again. Run on SQLite, and on PostgreSQL when a URL is given (a fresh database per test)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, create_engine, text
from sqlmodel import SQLModel

from storage.database import alembic_config, make_engine
from storage.models import utc_now
from storage.repository import Repository
from tests.conftest import POSTGRES_URL

BEFORE_ROSTER = "0011"
#: Every table that names a unit, and the tables hanging on a submission (no unit, but must survive).
TABLES = (
    "contact",
    "invite",
    "draft",
    "submission",
    "submissionversion",
    "unitprogress",
    "nudgerecord",
    "reviewdecision",
    "selection",
    "exportjob",
)


@pytest.fixture(name="url", params=["sqlite", "postgresql"])
def url_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database's URL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'intake.db'}"
        return
    if not POSTGRES_URL:
        pytest.skip("INTAKE_TEST_POSTGRES_URL is not set: PostgreSQL migration tests skipped")
    name = f"intake_migration_{uuid.uuid4().hex[:10]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield POSTGRES_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def insert(engine: Engine, table: str, **row: Any) -> int:
    """Insert one row with plain SQL (the models are the newest schema's, not this revision's)."""
    names = ", ".join(row)
    values = ", ".join(f":{name}" for name in row)
    with engine.begin() as connection:
        statement = text(f"INSERT INTO {table} ({names}) VALUES ({values}) RETURNING id")
        return int(connection.execute(statement, row).scalar_one())


def rows(engine: Engine, query: str) -> list[tuple[Any, ...]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(query))]


def counts(engine: Engine) -> dict[str, int]:
    return {table: rows(engine, f"SELECT count(*) FROM {table}")[0][0] for table in TABLES}


def campaign_work(engine: Engine, campaign_id: str, unit_id: int, contact_id: int, number: int) -> None:
    """A campaign's draft, submission (with its version, a decision and a selection), progress row and
    reminder, for one unit; the same task id in every campaign, as two years of one notice have."""
    now = utc_now()
    draft = insert(
        engine,
        "draft",
        campaign_id=campaign_id,
        unit_id=unit_id,
        task_id="cadres",
        form_id="cadre_registration",
        started_by=contact_id,
        state="done",
        status="submitted",
        answers='{"name": "韦丽华"}',
        context="{}",
        revision=2,
        created_at=now,
        updated_at=now,
    )
    submission = insert(
        engine,
        "submission",
        campaign_id=campaign_id,
        unit_id=unit_id,
        task_id="cadres",
        form_id="cadre_registration",
        status="submitted",
        current_version=1,
        counted=1,
        in_share=False,
        created_at=now,
        updated_at=now,
    )
    insert(
        engine,
        "submissionversion",
        submission_id=submission,
        version=1,
        answers='{"name": "韦丽华"}',
        draft_id=draft,
        submitted_by=contact_id,
        submitted_at=now,
        record_path=f"submissions/{submission}-1.json",
    )
    insert(
        engine,
        "reviewdecision",
        submission_id=submission,
        version=1,
        action="select",
        reason="",
        decided_by=contact_id,
        decided_at=now,
    )
    insert(engine, "selection", submission_id=submission, row=-1, selected_at=now)
    insert(
        engine,
        "unitprogress",
        campaign_id=campaign_id,
        unit_id=unit_id,
        task_id="cadres",
        records=number,
        counted=number,
        returned=0,
        accepted=0,
        in_share=0,
    )
    insert(
        engine,
        "nudgerecord",
        key=f"{campaign_id}-cadres-{unit_id}",
        campaign_id=campaign_id,
        unit_id=unit_id,
        task_id="cadres",
        kind="manual",
        slot=now,
        recipients=1,
        created_at=now,
    )
    insert(
        engine,
        "exportjob",
        campaign_id=campaign_id,
        kind="forms",
        channel="test",
        chat_key="desk",
        requested_at=now,
        status="done",
        attempts=1,
    )


def unit(engine: Engine, campaign_id: str, code: str, name: str) -> int:
    return insert(engine, "unit", campaign_id=campaign_id, code=code, name=name, area="鱼峰区", kind="county")


def contact(engine: Engine, external_id: str, unit_id: int | None) -> int:
    role = "contact" if unit_id is not None else "supervisor"
    return insert(
        engine,
        "contact",
        channel="test",
        external_id=external_id,
        unit_id=unit_id,
        role=role,
        active=True,
        menu="[]",
        created_at=utc_now(),
    )


def invite(engine: Engine, code: str, unit_id: int) -> int:
    now = utc_now()
    return insert(
        engine,
        "invite",
        code=code,
        unit_id=unit_id,
        role="contact",
        created_at=now,
        expires_at=now + timedelta(1),
    )


def foreign_keys_hold(engine: Engine) -> bool:
    """Every row naming a unit names one that exists (SQLite does not check on a migration's copy)."""
    for table in ("contact", "invite", "draft", "submission", "unitprogress", "nudgerecord", "campaignunit"):
        orphans = (
            f"SELECT count(*) FROM {table} WHERE unit_id IS NOT NULL AND unit_id NOT IN (SELECT id FROM unit)"
        )
        if rows(engine, orphans)[0][0]:
            return False
    return True


def schema_differences(engine: Engine) -> list[Any]:
    """What the migrated schema lacks or has beyond the models (none: the migration is complete)."""
    with engine.connect() as connection:
        return list(compare_metadata(MigrationContext.configure(connection), SQLModel.metadata))


def test_one_campaign_keeps_its_units_rows_and_ids_and_picks_every_unit(url: str, tmp_path: Path) -> None:
    command.upgrade(alembic_config(url), BEFORE_ROSTER)
    engine = make_engine(url)
    yufeng, liunan = (
        unit(engine, "liuzhou-2021", "yufeng", "鱼峰区妇联"),
        unit(engine, "liuzhou-2021", "liunan", "柳南区妇联"),
    )
    mine, desk = contact(engine, "mine", yufeng), contact(engine, "desk", None)
    invite(engine, "A1", liunan)
    campaign_work(engine, "liuzhou-2021", yufeng, mine, 1)
    before = counts(engine)

    command.upgrade(alembic_config(url), "head")

    assert counts(engine) == before, "every row kept"
    assert rows(engine, "SELECT id, code, name FROM unit ORDER BY id") == [
        (yufeng, "yufeng", "鱼峰区妇联"),
        (liunan, "liunan", "柳南区妇联"),
    ]
    assert rows(engine, "SELECT campaign_id, unit_id FROM campaignunit ORDER BY id") == [
        ("liuzhou-2021", yufeng),
        ("liuzhou-2021", liunan),
    ]
    assert rows(engine, "SELECT id, unit_id FROM contact ORDER BY id") == [(mine, yufeng), (desk, None)]
    assert rows(engine, "SELECT unit_id FROM invite") == [(liunan,)]
    assert foreign_keys_hold(engine)
    store = Repository(engine, tmp_path / "data")
    assert [u.code for u in store.units("liuzhou-2021")] == ["yufeng", "liunan"]
    assert [(c.external_id, u and u.code) for c, u in store.contacts("liuzhou-2021")] == [
        ("mine", "yufeng"),
        ("desk", None),
    ]
    assert store.progress("liuzhou-2021", yufeng) == {("yufeng", "cadres"): (1, 1, 0, 0, 0)}
    engine.dispose()


def shared_codes(engine: Engine) -> dict[str, int]:
    """Two campaigns (two years of one notice) holding the code ``yufeng`` each, with a contact and
    the year's work on each row; ``liunan`` only in 2021, ``xin`` only in 2022."""
    ids = {
        "yufeng-2021": unit(engine, "liuzhou-2021", "yufeng", "鱼峰区妇联"),
        "liunan-2021": unit(engine, "liuzhou-2021", "liunan", "柳南区妇联"),
        "yufeng-2022": unit(engine, "liuzhou-2022", "yufeng", "鱼峰区妇女联合会"),
        "xin-2022": unit(engine, "liuzhou-2022", "xin", "新区妇联"),
    }
    ids["old"] = contact(engine, "old", ids["yufeng-2021"])
    ids["new"] = contact(engine, "new", ids["yufeng-2022"])
    ids["desk"] = contact(engine, "desk", None)
    ids["invite"] = invite(engine, "B2", ids["yufeng-2022"])
    campaign_work(engine, "liuzhou-2021", ids["yufeng-2021"], ids["old"], 1)
    campaign_work(engine, "liuzhou-2022", ids["yufeng-2022"], ids["new"], 2)
    return ids


def test_two_campaigns_holding_one_code_share_one_roster_unit_and_its_contacts(
    url: str, tmp_path: Path
) -> None:
    command.upgrade(alembic_config(url), BEFORE_ROSTER)
    engine = make_engine(url)
    ids = shared_codes(engine)
    before = counts(engine)

    command.upgrade(alembic_config(url), "head")

    yufeng = ids["yufeng-2021"]
    assert counts(engine) == before, "every row kept"
    assert rows(engine, "SELECT id, code, name FROM unit ORDER BY id") == [
        (yufeng, "yufeng", "鱼峰区妇女联合会"),  # the oldest row, named as the newest campaign names it
        (ids["liunan-2021"], "liunan", "柳南区妇联"),
        (ids["xin-2022"], "xin", "新区妇联"),
    ]
    assert rows(engine, "SELECT campaign_id, unit_id FROM campaignunit ORDER BY campaign_id, unit_id") == [
        ("liuzhou-2021", yufeng),
        ("liuzhou-2021", ids["liunan-2021"]),
        ("liuzhou-2022", yufeng),
        ("liuzhou-2022", ids["xin-2022"]),
    ]
    assert rows(engine, "SELECT id, unit_id FROM contact ORDER BY id") == [
        (ids["old"], yufeng),
        (ids["new"], yufeng),
        (ids["desk"], None),
    ]
    assert rows(engine, "SELECT unit_id FROM invite") == [(yufeng,)]
    for table in ("draft", "submission", "unitprogress", "nudgerecord"):
        stored = rows(engine, f"SELECT campaign_id, unit_id FROM {table} ORDER BY campaign_id")
        assert stored == [("liuzhou-2021", yufeng), ("liuzhou-2022", yufeng)], table
    assert foreign_keys_hold(engine)
    assert schema_differences(engine) == []

    store = Repository(engine, tmp_path / "data")
    for year in ("liuzhou-2021", "liuzhou-2022"):
        listed = [(c.external_id, u and u.code) for c, u in store.contacts(year)]
        assert listed == [("old", "yufeng"), ("new", "yufeng"), ("desk", None)], "contacts shared now"
        assert store.unit_contacts(year) == {"yufeng": [("test", "old"), ("test", "new")]}
    assert store.progress("liuzhou-2021") == {("yufeng", "cadres"): (1, 1, 0, 0, 0)}
    assert store.progress("liuzhou-2022") == {("yufeng", "cadres"): (2, 2, 0, 0, 0)}, "each year its own"
    assert store.progress("liuzhou-2022", yufeng) == {("yufeng", "cadres"): (1, 1, 0, 0, 0)}, "counted anew"
    assert [u.code for u in store.units("liuzhou-2022")] == ["yufeng", "xin"]
    engine.dispose()


def test_a_downgrade_gives_each_campaign_its_own_units_again_and_the_roster_comes_back(url: str) -> None:
    command.upgrade(alembic_config(url), BEFORE_ROSTER)
    engine = make_engine(url)
    ids = shared_codes(engine)
    before = counts(engine)
    command.upgrade(alembic_config(url), "head")

    command.downgrade(alembic_config(url), BEFORE_ROSTER)

    assert counts(engine) == before
    units = rows(engine, "SELECT id, campaign_id, code FROM unit ORDER BY id")
    copy = next(key for key, campaign_id, code in units if (campaign_id, code) == ("liuzhou-2022", "yufeng"))
    assert units == [
        (ids["yufeng-2021"], "liuzhou-2021", "yufeng"),
        (ids["liunan-2021"], "liuzhou-2021", "liunan"),
        (ids["xin-2022"], "liuzhou-2022", "xin"),
        (copy, "liuzhou-2022", "yufeng"),
    ]
    for table in ("draft", "submission", "unitprogress", "nudgerecord"):
        stored = rows(engine, f"SELECT campaign_id, unit_id FROM {table} ORDER BY campaign_id")
        assert stored == [("liuzhou-2021", ids["yufeng-2021"]), ("liuzhou-2022", copy)], table
    assert rows(engine, "SELECT unit_id FROM contact ORDER BY id") == [(ids["yufeng-2021"],)] * 2 + [(None,)]

    command.upgrade(alembic_config(url), "head")
    assert counts(engine) == before
    assert rows(engine, "SELECT count(*) FROM unit") == [(3,)]
    assert foreign_keys_hold(engine)
    engine.dispose()


def test_0013_gives_the_followers_lists_their_own_table_and_leaves_the_access_tokens(url: str) -> None:
    """The lists the 公众号 kept among the access tokens (``mp-menu:…``) are dropped, the tokens stay."""
    command.upgrade(alembic_config(url), "0012")
    engine = make_engine(url)
    expires = utc_now() + timedelta(hours=2)
    with engine.begin() as connection:
        for key, value in (("wecom:token", "tok"), ("mp-menu:" + "a" * 32, '["d1", ["女", "男"]]')):
            connection.execute(
                text("INSERT INTO apitoken (key, value, expires_at) VALUES (:key, :value, :expires)"),
                {"key": key, "value": value, "expires": expires},
            )
    command.upgrade(alembic_config(url), "head")
    assert rows(engine, "SELECT key FROM apitoken") == [("wecom:token",)]
    assert rows(engine, "SELECT count(*) FROM numberedlist") == [(0,)]
    assert schema_differences(engine) == []
    command.downgrade(alembic_config(url), "0012")
    assert rows(engine, "SELECT key FROM apitoken") == [("wecom:token",)]
    command.upgrade(alembic_config(url), "head")
    engine.dispose()
