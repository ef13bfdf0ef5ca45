"""Backup and restore lose nothing (every table and file compared); purge removes a campaign's
personal data after its retention period and says what it removed."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update
from sqlmodel import SQLModel

from bot.app import Declarations, open_repository
from bot.settings import Settings
from dialogs.engine import DialogEngine
from dialogs.exchange import DocumentRef, ExportKind
from dialogs.exports import ZIP_WORDS, export_file_name, export_prefix
from storage.backup import TAMPERED, BackupError, backup, purge, restore
from storage.database import make_engine, migrate
from storage.models import Attachment
from storage.numbered_lists import LIST_KEPT
from storage.repository import Repository
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
    repository.remember_list("mp", "o-follower", "d1", ["女", "男"], datetime.now(SHANGHAI))
    backup(repository.engine, repository.data_dir, archive)
    stored = everything(repository.engine, repository.data_dir)[1]
    removed = purge(
        repository.engine, repository.data_dir, filled.campaign.id, datetime(2100, 1, 1, tzinfo=SHANGHAI)
    ).counts
    assert removed["提交"] == 1 and removed["提交版本"] == 1 and removed["草稿"] == 2
    assert removed["审核记录"] == 1 and removed["照片"] == 3 and removed["联系人"] >= 1
    assert removed["聊天记录"] == 2 and removed["导出记录"] == 1, "who asked for an export goes too"
    assert removed["选项列表"] == 1, "the list a follower was last asked"
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
            "numberedlist",
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


def test_purge_removes_a_list_no_longer_read_whatever_the_date(filled: DialogEngine) -> None:
    """A follower's numbered list answers her number for ``LIST_KEPT``; after that it is only personal
    data, and any purge removes it."""
    repository, now = filled.repository, datetime.now(SHANGHAI)
    repository.remember_list("mp", "o-lately", "d1", ["女", "男"], now - LIST_KEPT + timedelta(hours=1))
    repository.remember_list("mp", "o-long-ago", "d2", ["是", "否"], now - LIST_KEPT - timedelta(hours=1))
    removed = purge(
        repository.engine, repository.data_dir, filled.campaign.id, datetime(2000, 1, 1, tzinfo=SHANGHAI)
    )
    assert removed.counts["选项列表"] == 1
    assert repository.shown_list("mp", "o-lately", now) == ("d1", ["女", "男"])


def test_purge_of_a_notice_leaves_what_another_notice_still_uses(repository: Repository) -> None:
    """A contact and an invite are a unit's, bound once for every notice picking it: a notice's purge
    takes those of units only it picks, and 组联部's only when no other notice exists; a unit picked
    by another notice keeps them. The units and the notices' picks stay."""
    repository.sync_units(
        "other-2022", [("yufeng", "鱼峰区妇联", "鱼峰区", "county"), ("xin", "新区妇联", "新区", "county")]
    )
    units = {code: repository.unit_by_code(code_of, code) for code_of, code in CODES}
    expires = datetime(2100, 1, 1, tzinfo=SHANGHAI)
    for code, unit in units.items():
        assert unit is not None
        repository.bind_contact("test", f"{code}-contact", unit.id)
        repository.create_invite(f"{code}-invite", unit.id, "contact", expires)
    repository.bind_contact("test", "desk", None, role="supervisor")
    repository.create_invite("desk-invite", None, "supervisor", expires)

    def left() -> tuple[list[str], list[str]]:
        with repository.engine.connect() as connection:
            contacts = connection.exec_driver_sql("SELECT external_id FROM contact ORDER BY id").scalars()
            invites = connection.exec_driver_sql("SELECT code FROM invite ORDER BY id").scalars()
            return list(contacts), list(invites)

    removed = purge(repository.engine, repository.data_dir, "liuzhou-2021", expires).counts
    assert removed["联系人"] == 1 and removed["邀请码"] == 1, "liunan's: no other notice picks it"
    assert left() == (
        ["yufeng-contact", "xin-contact", "desk"],
        ["yufeng-invite", "xin-invite", "desk-invite"],
    )
    assert len(repository.units("liuzhou-2021")) == 14 and len(repository.units("other-2022")) == 2

    purge(repository.engine, repository.data_dir, "other-2022", expires)
    assert left() == (["yufeng-contact", "desk"], ["yufeng-invite", "desk-invite"]), (
        "xin's go; yufeng's and 组联部's stay while the 2021 notice picks it (its picks stay)"
    )


#: (a notice picking it, unit code): a unit both notices pick, one only 2021 picks, one only 2022.
CODES = (("liuzhou-2021", "yufeng"), ("liuzhou-2021", "liunan"), ("other-2022", "xin"))


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
    videos_now = (
        data_dir
        / "exports"
        / export_file_name(filled.campaign, ZIP_WORDS[ExportKind.VIDEOS], datetime(2021, 6, 1, 9, 0))
    )
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


KILLED_WRITER = """
import sys, time
from pathlib import Path
from storage.database import make_engine
from storage.repository import Repository
from storage.temporaries import temporary_prefix

repository = Repository(make_engine(sys.argv[1]), Path(sys.argv[2]))
repository.spool_path().write_bytes(sys.argv[3].encode() * 1000)  # a large upload arriving
record = repository.data_dir / "submissions" / "yufeng" / f"{temporary_prefix()}k2j4h6"
record.write_bytes(sys.argv[3].encode())  # a submission record being written
print("writing", flush=True)
time.sleep(60)
"""


def killed_mid_write(repository: Repository) -> list[Path]:
    """The temporaries a process killed inside its writes leaves (seconds old, personal data inside)."""
    before = set(repository.data_dir.rglob(".tmp-*"))
    personal = "韦丽华 13877212345 柳州市柳江区拉堡镇柳堡路88号"
    arguments = [str(repository.engine.url), str(repository.data_dir), personal]
    with subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, *arguments],
        cwd=Path(__file__).resolve().parent.parent,
        stdout=subprocess.PIPE,
        text=True,
    ) as writer:
        assert writer.stdout is not None and writer.stdout.readline() == "writing\n"
        writer.kill()
    left = sorted(set(repository.data_dir.rglob(".tmp-*")) - before)
    assert len(left) == 2 and all(path.stat().st_mtime > time.time() - 60 for path in left)
    return left


def test_start_up_removes_the_temporaries_of_every_writer_no_longer_running(filled: DialogEngine) -> None:
    """Issue 22 item 5: after a kill, an upload spool and a submission record's temporary (a name, a
    phone number, an address inside) survived the restart, being younger than ten minutes."""
    repository = filled.repository
    left = killed_mid_write(repository)
    mine = repository.spool_path()  # this process is still writing it
    unnamed = repository.data_dir / "submissions" / "yufeng" / ".tmp-being-written"
    unnamed.write_bytes(b"{")  # an older version's temporary, minutes old: its writer is unknown
    assert repository.remove_stale_temporaries() == 2
    assert not any(path.exists() for path in left), "a killed writer's temporaries go, however young"
    assert mine.exists(), "a running writer's temporary stays"
    assert unnamed.exists(), "an older version's young temporary may still be being written"
    os.utime(unnamed, (time.time() - 3600, time.time() - 3600))
    assert repository.remove_stale_temporaries() == 1 and not unnamed.exists()


def test_purge_removes_every_temporary_no_running_process_writes(filled: DialogEngine) -> None:
    repository = filled.repository
    left = killed_mid_write(repository)
    unnamed = repository.data_dir / "submissions" / "yufeng" / ".tmp-being-written"
    unnamed.write_bytes(b"{")
    export = repository.data_dir / "exports" / ".tmp-liuzhou-2021-20210601-090000.zip"
    export.parent.mkdir(parents=True, exist_ok=True)
    export.write_bytes(b"PK")
    mine = repository.spool_path()
    removed = purge(
        repository.engine, repository.data_dir, filled.campaign.id, datetime(2000, 1, 1, tzinfo=SHANGHAI)
    )
    named = {str(path.relative_to(repository.data_dir)) for path in [*left, unnamed, export]}
    assert set(removed.files) == named, "with the service stopped, every temporary goes"
    assert mine.exists(), "(one a running process writes stays)"


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


def intake(data_dir: Path, database: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    """``intake`` run as a deployer runs it, on this data folder and database."""
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *arguments, "--db", database],
        env={**os.environ, "INTAKE_DATA_DIR": str(data_dir)},
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_value_a_backup_cannot_write_names_its_row_and_leaves_the_old_backup(
    filled: DialogEngine, chat: Chat, tmp_path: Path, declarations: Declarations
) -> None:
    """Issue 22 item 1: a lone surrogate kept before text was cleaned where it enters (a chat line of
    an older version) made intake backup fail with a traceback, over a truncated archive."""
    repository = filled.repository
    target = tmp_path / "backups" / "backup.tar.gz"
    backup(repository.engine, repository.data_dir, target)
    before = target.read_bytes()
    filled.remember_chat(chat.contact().id, [("person", {"text": "\ud800"})])  # as an older version kept it
    [bad] = [
        row
        for row in everything(repository.engine, repository.data_dir)[0]["chatline"]
        if row["payload"] == {"text": "\ud800"}
    ]
    with pytest.raises(BackupError) as refused:
        backup(repository.engine, repository.data_dir, target)
    assert f"chatline 表中 id = {bad['id']} 的一行，payload 列含有无法保存的字符" in str(refused.value)
    assert target.read_bytes() == before, "the last good backup is untouched"
    assert sorted(p.name for p in target.parent.iterdir()) == ["backup.tar.gz"], "nothing half-written"
    result = intake(repository.data_dir, str(repository.engine.url), "backup", str(target))
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    assert "备份没有完成" in result.stderr and f"id = {bad['id']}" in result.stderr
    assert "服务下次启动（intake run）时自动修复" in result.stderr
    assert target.read_bytes() == before
    settings = Settings(database_url=str(repository.engine.url), data_dir=repository.data_dir)
    open_repository(settings, declarations)  # what intake run does first
    lines = filled.chat_lines_after(chat.contact().id, 0)
    assert ("person", {"text": ""}) in [line[1:] for line in lines], "the page loads again"
    backup(repository.engine, repository.data_dir, target)
    assert target.read_bytes() != before, "and the backup is made"


def crafted(
    source: Path,
    target: Path,
    edit: Callable[[str, bytes], bytes] = lambda _name, data: data,
    extra: tuple[tuple[str, int, int], ...] = (),
    relist: bool = True,
    format_1: bool = False,
) -> Path:
    """``source`` rewritten as someone with the file could: members edited, ``extra`` members of
    zeros added (name, real size, size the manifest says), the manifest listing the edits (``relist``:
    a forger recomputes the hashes) or not; ``format_1``: as the first version wrote it, without a
    list of members."""
    with tarfile.open(source, "r:gz") as archive:
        members = {m.name: archive.extractfile(m).read() for m in archive if m.isfile()}  # type: ignore[union-attr]
    manifest = json.loads(members.pop("manifest.json"))
    with tarfile.open(target, "w:gz", compresslevel=1) as archive:
        for name, data in members.items():
            data = edit(name, data)
            if relist:
                manifest["members"][name] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, size, listed in extra:
            info = tarfile.TarInfo(name)
            info.size = size
            archive.addfile(info, Zeros(size))
            zeros = hashlib.sha256()
            for _chunk in range(size >> 20):
                zeros.update(bytes(1 << 20))
            manifest["members"][name] = {"size": listed, "sha256": zeros.hexdigest()}
        if format_1:
            manifest = {"format": 1, "revision": manifest["revision"], "counts": manifest["counts"]}
        data = json.dumps(manifest).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    return target


class Zeros:
    """``size`` zero bytes, read as a file, never held whole."""

    def __init__(self, size: int) -> None:
        self.left = size

    def read(self, size: int = -1) -> bytes:
        size = self.left if size < 0 else min(size, self.left)
        self.left -= size
        return bytes(size)


def restored_into(tmp_path: Path, archive: Path) -> tuple[Engine, Path]:
    """An empty migrated database and data folder, and the restore of ``archive`` into them."""
    url = f"sqlite:///{tmp_path / 'restored.db'}"
    migrate(url)
    return make_engine(url), tmp_path / "restored-data"


def test_restore_refuses_a_path_out_of_the_data_folder_and_files_that_are_not_what_rows_say(
    filled: DialogEngine, tmp_path: Path
) -> None:
    """Issue 22 item 3: an attachment row whose path was ../../../../../../etc/passwd, restored, made
    /files/photos/<hash> serve /etc/passwd to 组联部."""
    repository = filled.repository
    archive = tmp_path / "backup.tar.gz"
    backup(repository.engine, repository.data_dir, archive)
    photo = repository.engine.connect().execute(select(Attachment)).mappings().first()
    assert photo is not None
    passwd = "../../../../../../etc/passwd"

    def escape(name: str, data: bytes) -> bytes:
        return (
            data.replace(photo["path"].encode(), passwd.encode())
            if name == "tables/attachment.jsonl"
            else data
        )

    def swap(name: str, data: bytes) -> bytes:
        return b"\xff\xd8\xff not the photo" if name == photo["path"] else data

    target, data_dir = restored_into(tmp_path, archive)
    for forged, refusal in [
        (
            crafted(archive, tmp_path / "escape.tar.gz", escape),
            f"attachment 表 id = {photo['id']} 的一行，path",
        ),
        (crafted(archive, tmp_path / "swap.tar.gz", swap), f"{photo['path']} 与照片记录的校验值不符"),
        (crafted(archive, tmp_path / "unlisted.tar.gz", swap, relist=False), "与清单记录的校验值不符"),
    ]:
        with pytest.raises(BackupError, match="没有恢复任何内容") as refused:
            restore(target, data_dir, forged)
        assert refusal in str(refused.value)
        assert everything(target, data_dir) == ({t.name: [] for t in SQLModel.metadata.sorted_tables}, {})
        assert not [p for p in data_dir.rglob("*") if p.is_file()], "nothing written stays"
    restore(target, data_dir, archive)
    assert everything(target, data_dir) == everything(repository.engine, repository.data_dir)


def test_a_path_in_the_database_out_of_the_data_folder_is_never_opened(filled: DialogEngine) -> None:
    repository = filled.repository
    with repository.engine.begin() as connection:
        photo = connection.execute(select(Attachment)).mappings().first()
        assert photo is not None
        connection.execute(update(Attachment).values(path="../../../../../../etc/passwd"))
    assert repository.file_path(photo["sha256"]) is None
    boss = filled.identity("telegram", "boss")
    assert filled.open_document(DocumentRef("photo", photo["sha256"]), boss) is None
    assert repository.stored_path("submissions/../../../../etc/passwd") is None
    with pytest.raises(ValueError, match="out of the data folder"):
        repository.store_document("../outside.docx", b"PK")


RESTORE_AND_MEASURE = """
import resource, sys
from pathlib import Path
from storage.backup import BackupError, restore
from storage.database import make_engine
try:
    restore(make_engine(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
    print("restored")
except BackupError as error:
    print(error)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""


def restore_measured(tmp_path: Path, archive: Path) -> tuple[str, int]:
    """What restoring ``archive`` into a new database prints, and the peak memory it took, in MB."""
    target, data_dir = restored_into(tmp_path, archive)
    result = subprocess.run(
        [sys.executable, "-c", RESTORE_AND_MEASURE, str(target.url), str(data_dir), str(archive)],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        check=True,
    )
    said, peak = result.stdout.strip().rsplit("\n", 1)
    return said, int(peak)


def test_restore_streams_members_and_refuses_one_larger_than_its_manifest_says(
    filled: DialogEngine, tmp_path: Path
) -> None:
    """Issue 22 item 7: a 2.1 MB archive with a 2 GiB member took 2.2 GB of memory (here: 512 MB)."""
    repository = filled.repository
    archive = tmp_path / "backup.tar.gz"
    backup(repository.engine, repository.data_dir, archive)
    video = "files/vv/" + "v" * 64 + ".mp4"
    large = crafted(archive, tmp_path / "large.tar.gz", extra=((video, 256 << 20, 256 << 20),))
    said, baseline = restore_measured(tmp_path / "plain", archive)
    assert said == "restored"
    said, peak = restore_measured(tmp_path / "large", large)
    # Bounded by the chunk, not the member: well under the 256 MB it would take read whole.
    assert said == "restored" and peak - baseline < 64, f"a 256 MB member took {peak - baseline} MB more"
    assert (tmp_path / "large" / "restored-data" / video).stat().st_size == 256 << 20
    oversize = crafted(archive, tmp_path / "oversize.tar.gz", extra=((video, 512 << 20, 4096),))
    assert oversize.stat().st_size < 10 << 20, "a small archive"
    said, peak = restore_measured(tmp_path / "oversize", oversize)
    assert said == f"备份文件中的 {video} 有 512.0 MB，超过备份中记录的 4096 字节，{TAMPERED}"
    assert peak - baseline < 64, f"refused with {peak - baseline} MB more"
    assert not (tmp_path / "oversize" / "restored-data" / video).exists()


def test_a_backup_of_the_first_format_still_restores_and_its_photos_are_checked(
    filled: DialogEngine, tmp_path: Path
) -> None:
    repository = filled.repository
    archive = tmp_path / "backup.tar.gz"
    backup(repository.engine, repository.data_dir, archive)
    photo = repository.engine.connect().execute(select(Attachment)).mappings().first()
    assert photo is not None
    target, data_dir = restored_into(tmp_path, crafted(archive, tmp_path / "v1.tar.gz", format_1=True))
    restore(target, data_dir, tmp_path / "v1.tar.gz")
    assert everything(target, data_dir) == everything(repository.engine, repository.data_dir)

    def grow(name: str, data: bytes) -> bytes:
        return data + b"more" if name == photo["path"] else data

    grown = crafted(archive, tmp_path / "grown.tar.gz", grow, format_1=True)
    target, data_dir = restored_into(tmp_path / "grown", grown)
    with pytest.raises(BackupError, match=f"{photo['path']} 有 .*，超过备份中记录的"):
        restore(target, data_dir, grown)


def test_a_damaged_or_foreign_archive_is_refused_in_chinese(filled: DialogEngine, tmp_path: Path) -> None:
    repository = filled.repository
    archive = tmp_path / "backup.tar.gz"
    backup(repository.engine, repository.data_dir, archive)
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    foreign = tmp_path / "foreign.tar.gz"
    foreign.write_bytes(b"\x1f\x8b" + os.urandom(4000))
    not_json = crafted(
        archive, tmp_path / "not-json.tar.gz", lambda name, data: data[1:] if "draft" in name else data
    )
    for damaged in (truncated, foreign, not_json):
        target, data_dir = restored_into(tmp_path / damaged.stem, damaged)
        with pytest.raises(BackupError, match="备份文件已损坏、不完整，或不是 intake backup 做的备份"):
            restore(target, data_dir, damaged)
        assert everything(target, data_dir)[1] == {}
