"""Backup and restore lose nothing (every table and file compared); purge removes a campaign's
personal data after its retention period and says what it removed."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlmodel import SQLModel

from bot.app import Declarations
from dialogs.engine import DialogEngine
from storage.backup import BackupError, backup, purge, restore
from storage.database import make_engine, migrate
from tests.conftest import SHANGHAI, Chat, FakeClock, postgres_repository
from tests.test_dialog_commands import SITE_ANSWERS
from tests.test_dialog_forms import fill_cadre, start
from tests.test_supervision import ask, supervisor


def everything(engine: Engine, data_dir: Path) -> tuple[dict[str, list[dict[str, object]]], dict[str, bytes]]:
    """Every row of every table (ids included) and every stored file's bytes."""
    tables = {}
    with engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            rows = connection.execute(select(table).order_by(*table.primary_key.columns)).mappings()
            tables[table.name] = [
                {k: (v.astimezone(SHANGHAI) if isinstance(v, datetime) else v) for k, v in row.items()}
                for row in rows
            ]
    files = {
        str(path.relative_to(data_dir)): path.read_bytes()
        for folder in ("files", "submissions")
        for path in sorted((data_dir / folder).rglob("*"))
        if path.is_file()
    }
    return tables, files


@pytest.fixture(name="filled")
def filled_fixture(engine: DialogEngine, chat: Chat, clock: FakeClock) -> DialogEngine:
    fill_cadre(chat)
    start(chat, "示范点申报表")
    for answer in SITE_ANSWERS:
        chat.send(answer)
    chat.photo(caption="会场", color=(7, 7, 7))  # a draft in progress, with a photo
    boss = supervisor(engine, clock)
    ask(engine, boss, "/return 1 照片不清晰")
    return engine


def test_backup_and_restore_into_sqlite_lose_nothing(filled: DialogEngine, tmp_path: Path) -> None:
    source = filled.repository
    archive = tmp_path / "backup.tar.gz"
    counts = backup(source.engine, source.data_dir, archive)
    assert counts["submission"] == 1 and counts["draft"] == 2 and counts["files"] >= 5
    url = f"sqlite:///{tmp_path / 'restored.db'}"
    migrate(url)
    target = make_engine(url)
    restored_dir = tmp_path / "restored-data"
    restore(target, restored_dir, archive)
    assert everything(target, restored_dir) == everything(source.engine, source.data_dir)
    with pytest.raises(BackupError, match="不是空的"):
        restore(target, restored_dir, archive)


def test_backup_from_sqlite_restores_into_postgresql(
    filled: DialogEngine, tmp_path: Path, postgres_url: str, declarations: Declarations
) -> None:
    archive = tmp_path / "backup.tar.gz"
    backup(filled.repository.engine, filled.repository.data_dir, archive)
    target = postgres_repository(postgres_url, tmp_path / "pg", declarations)
    with target.engine.begin() as connection:  # postgres_repository synced units: start empty
        for table in reversed(SQLModel.metadata.sorted_tables):
            connection.execute(table.delete())
    restore(target.engine, tmp_path / "pg-data", archive)
    assert everything(target.engine, tmp_path / "pg-data") == everything(
        filled.repository.engine, filled.repository.data_dir
    )
    unit = target.unit_by_code("liuzhou-2021", "liunan")
    assert unit is not None
    target.bind_contact("test", "after-restore", unit.id)  # sequences continue after the restored ids
    target.engine.dispose()


def test_purge_removes_personal_data_and_reports_it(filled: DialogEngine, tmp_path: Path) -> None:
    repository = filled.repository
    archive = tmp_path / "before-purge.tar.gz"
    backup(repository.engine, repository.data_dir, archive)
    removed = purge(
        repository.engine, repository.data_dir, filled.campaign.id, datetime(2100, 1, 1, tzinfo=SHANGHAI)
    )
    assert removed["提交"] == 1 and removed["提交版本"] == 1 and removed["草稿"] == 2
    assert removed["审核记录"] == 1 and removed["照片"] == 3 and removed["联系人"] >= 1
    tables, files = everything(repository.engine, repository.data_dir)
    assert files == {}
    assert all(
        not tables[name] for name in ("draft", "submission", "submissionversion", "attachment", "contact")
    )
    assert len(tables["unit"]) == 14, "the campaign's structure stays"
    database = Path(str(repository.engine.url.database))
    repository.engine.dispose()
    forms = ["韦丽华".encode(), json.dumps("韦丽华")[1:-1].encode()]  # as UTF-8, and as JSON stores it
    for path in (database, database.with_name(database.name + "-wal")):
        if path.exists():
            raw = path.read_bytes()
            assert not any(form in raw for form in forms), f"{path.name} still holds a purged name"


def test_purge_before_a_date_keeps_newer_records(filled: DialogEngine) -> None:
    removed = purge(
        filled.repository.engine,
        filled.repository.data_dir,
        filled.campaign.id,
        datetime(2000, 1, 1, tzinfo=SHANGHAI),
    )
    assert set(removed.values()) == {0}
    assert filled.repository.submission(1) is not None
