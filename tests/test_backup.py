"""Backup and restore lose nothing (every table and file compared); purge removes a campaign's
personal data after its retention period and says what it removed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlmodel import SQLModel

from bot.app import Declarations
from dialogs.engine import DialogEngine
from dialogs.exchange import DocumentRef
from dialogs.exports import VIDEOS, export_file_name, export_prefix
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
    contact = chat.contact()
    engine.remember_chat(contact.id, [("person", {"text": "韦丽华"}), ("bot", {"text": "请输入出生年月"})])
    assert engine.open_document(DocumentRef("submission", "1")) is not None, "#1 printed, so it is kept"
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
    repository.add_export_job(filled.campaign.id, "forms", "telegram", "6007", datetime.now(SHANGHAI))
    backup(repository.engine, repository.data_dir, archive)
    stored = everything(repository.engine, repository.data_dir)[1]
    removed = purge(
        repository.engine, repository.data_dir, filled.campaign.id, datetime(2100, 1, 1, tzinfo=SHANGHAI)
    ).counts
    assert removed["提交"] == 1 and removed["提交版本"] == 1 and removed["草稿"] == 2
    assert removed["审核记录"] == 1 and removed["照片"] == 3 and removed["联系人"] >= 1
    assert removed["聊天记录"] == 2 and removed["导出记录"] == 1, "who asked for an export goes too"
    assert removed["文件"] == len(stored)
    tables, files = everything(repository.engine, repository.data_dir)
    assert files == {}
    assert all(
        not tables[name]
        for name in (
            "draft",
            "submission",
            "submissionversion",
            "attachment",
            "contact",
            "chatline",
            "exportjob",
        )
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
    assert set(removed.counts.values()) == {0} and removed.files == []
    assert filled.repository.submission(1) is not None


def leftovers(data_dir: Path) -> list[Path]:
    """What a kill inside a write, a photo without its row and an export leave in the data folder."""
    record = json.dumps({"answers": {"name": "韦丽华", "phone": "13877212345"}}, ensure_ascii=False)
    temporary = data_dir / "submissions" / "yufeng" / ".tmp-k2j4h6"
    orphan = data_dir / "files" / "ab" / ("ab" * 32 + ".jpg")
    export = data_dir / "exports" / "liuzhou-2021-20210601-090000.zip"
    an_hour_ago = time.time() - 3600
    for path, data in ((temporary, record.encode()), (orphan, b"\xff\xd8\xff photo"), (export, b"PK")):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        os.utime(path, (an_hour_ago, an_hour_ago))
    return [temporary, orphan, export]


def test_purge_removes_every_file_no_row_names_and_lists_them(filled: DialogEngine) -> None:
    data_dir = filled.repository.data_dir
    temporary, orphan, export = leftovers(data_dir)
    other_campaign = data_dir / "exports" / "liuzhou-2022-20220601-090000.zip"
    other_campaign.write_bytes(b"PK")
    # Exports are named from the notice's 文号 now: this campaign's go, another notice's stay.
    named_now = data_dir / "exports" / export_file_name(filled.campaign, "导出", datetime(2021, 6, 1, 9, 0))
    videos_now = data_dir / "exports" / export_file_name(filled.campaign, VIDEOS, datetime(2021, 6, 1, 9, 0))
    next_notice = data_dir / "exports" / "柳妇通〔2022〕5号-导出-6月1日09时00分.zip"
    for path in (named_now, videos_now, next_notice):
        path.write_bytes(b"PK")
    being_stored = data_dir / "files" / "cd" / ("cd" * 32 + ".jpg")  # its row is not committed yet
    being_stored.parent.mkdir(parents=True)
    being_stored.write_bytes(b"\xff\xd8\xff")
    removed = purge(
        filled.repository.engine,
        data_dir,
        filled.campaign.id,
        datetime(2000, 1, 1, tzinfo=SHANGHAI),
        exports_named=export_prefix(filled.campaign),
    )
    assert removed.files == sorted(
        [
            "exports/liuzhou-2021-20210601-090000.zip",
            "exports/柳妇通〔2021〕29号-导出-6月1日09时00分.zip",
            "exports/柳妇通〔2021〕29号-课程视频-6月1日09时00分.zip",
            f"files/ab/{'ab' * 32}.jpg",
            "submissions/yufeng/.tmp-k2j4h6",
        ]
    ), "referenced or not, by the date or not: a leftover holding personal data goes, and is named"
    assert removed.counts["文件"] == 5 and not any(p.exists() for p in (temporary, orphan, export))
    assert not named_now.exists() and not videos_now.exists() and next_notice.exists()
    assert other_campaign.exists(), "another campaign's export is not this purge's"
    assert being_stored.exists(), "a file written minutes ago may be a photo whose row is on its way"
    assert (
        filled.repository.versions(1)[-1].record_path and (data_dir / "submissions/yufeng/1-v1.json").exists()
    )


def test_start_up_removes_stale_temporaries_only(filled: DialogEngine) -> None:
    data_dir = filled.repository.data_dir
    temporary, orphan, _export = leftovers(data_dir)
    fresh = temporary.with_name(".tmp-being-written")
    fresh.write_bytes(b"{")
    assert filled.repository.remove_stale_temporaries() == 1
    assert not temporary.exists()
    assert fresh.exists(), "another worker may be writing this one right now"
    assert orphan.exists(), "only temporaries: the rest is purge's to judge"


def test_intake_purge_lists_the_files_it_removed(filled: DialogEngine, tmp_path: Path) -> None:
    data_dir = filled.repository.data_dir
    leftovers(data_dir)
    database = str(filled.repository.engine.url)
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "purge", "--before", "2023-01-01", "--db", database],
        env={**os.environ, "INTAKE_DATA_DIR": str(data_dir)},
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "  submissions/yufeng/.tmp-k2j4h6\n" in result.stdout, "each removed file is listed"
    # The submission was stored on today's clock (after the date): kept, with the draft it was made from
    # (the draft itself was last touched in 2021 and used to be deleted under it: a foreign-key failure).
    assert "1-v1.json" not in result.stdout and (data_dir / "submissions/yufeng/1-v1.json").exists()
    assert filled.repository.versions(1) and filled.repository.draft(
        filled.repository.versions(1)[0].draft_id
    )
    assert not list(data_dir.rglob(".tmp-*"))
