"""Backup, restore and purge: every table and every stored file, nothing more, nothing lost.

A backup is one ``.tar.gz``: ``manifest.json`` (schema revision, row counts), one JSON-lines file per
table and the data folder's ``files/`` and ``submissions/``. It works the same from SQLite or
PostgreSQL and restores into either, into an empty migrated database only.
"""

from __future__ import annotations

import glob
import gzip
import hashlib
import io
import json
import logging
import shutil
import tarfile
import time
import zlib
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any, NamedTuple

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, RowMapping, Table, delete, func, text
from sqlalchemy import select as select_table
from sqlmodel import SQLModel, col, select

from storage.data_folder import FILE_FOLDERS, inside
from storage.files import STALE_TEMPORARY
from storage.kept_text import writable
from storage.models import (
    Attachment,
    CampaignUnit,
    ChatLine,
    Contact,
    Draft,
    ExportJob,
    InboxUpdate,
    Invite,
    NudgeRecord,
    NumberedList,
    OutboxMessage,
    ReviewDecision,
    Selection,
    Submission,
    SubmissionVersion,
    Unit,
    utc_now,
)
from storage.numbered_lists import LIST_KEPT
from storage.progress import rebuild_progress
from storage.temporaries import PREFIX, abandoned, write_whole
from storage.units import in_campaign, picked_elsewhere

log = logging.getLogger(__name__)
FORMAT = 2  # 2: the manifest lists every member with its size and SHA-256 (1 did not; still restored)
MANIFEST_LIMIT = 64 << 20  # bytes: a manifest lists each file in about 150
LINE_LIMIT = 16 << 20  # characters: one row of a table (a draft's answers are a few kB)
TAMPERED = "备份文件可能已损坏或被改动，没有恢复任何内容。"
#: In what ``restore`` returns: files rows name that the data folder had already lost when backed up.
LOST_BEFORE = "备份时数据目录中已缺少的文件"
UNLISTED_LIMIT = 256 << 20  # bytes: a member a format-1 manifest does not size (a table, a record)


class BackupError(RuntimeError):
    """A backup cannot be restored here; the message says why (in Chinese, for the operator)."""


def _tables() -> list[Table]:
    return list(SQLModel.metadata.sorted_tables)


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        if "$datetime" in value:
            return datetime.fromisoformat(value["$datetime"])
        if "$date" in value:
            return date.fromisoformat(value["$date"])
    return value


def _revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def _stored_files(data_dir: Path) -> Iterable[Path]:
    for folder in FILE_FOLDERS:
        root = data_dir / folder
        if root.is_dir():
            yield from sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith(PREFIX))


def backup(engine: Engine, data_dir: Path, target: Path) -> dict[str, int]:
    """Write every table and stored file to ``target``; return each table's row count and the file count.

    The archive is written beside ``target`` (readable by its owner only) and takes its name only
    when whole and on the disk (``storage.temporaries.write_whole``): a backup that fails leaves no
    partial archive where the real one goes, and an older backup there stays as it was."""
    counts: dict[str, int] = {}
    target.parent.mkdir(parents=True, exist_ok=True)

    def write(stream: IO[bytes]) -> None:
        with tarfile.open(fileobj=stream, mode="w:gz") as archive, engine.connect() as connection:
            members: dict[str, dict[str, Any]] = {}
            for table in _tables():
                rows = connection.execute(select_table(table).order_by(*table.primary_key.columns))
                lines = [_json_line(table, row) for row in rows.mappings()]
                counts[table.name] = len(lines)
                name = f"tables/{table.name}.jsonl"
                members[name] = _add(archive, tarfile.TarInfo(name), io.BytesIO(b"\n".join(lines)))
            files = list(_stored_files(data_dir))
            for path in files:
                name = str(PurePosixPath(*path.relative_to(data_dir).parts))
                with path.open("rb") as source:
                    members[name] = _add(archive, archive.gettarinfo(arcname=name, fileobj=source), source)
            counts["files"] = len(files)
            manifest = {"format": FORMAT, "revision": _revision(engine), "counts": counts, "members": members}
            data = json.dumps(manifest, ensure_ascii=False, indent=2).encode()
            _add(archive, tarfile.TarInfo("manifest.json"), io.BytesIO(data))

    write_whole(target, write)
    return counts


def _json_line(table: Table, row: RowMapping) -> bytes:
    """One row as a line of JSON (UTF-8), or a BackupError naming the row and the column that cannot
    be written (text kept before it was cleaned where it enters: a lone surrogate)."""
    try:
        return json.dumps({k: _encode(v) for k, v in row.items()}, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        column = next(k for k, v in row.items() if not writable(_encode(v)))
        key = "，".join(f"{c.name} = {row[c.name]}" for c in table.primary_key.columns)
        what_to_do = (
            "网页版的聊天记录会在服务下次启动（intake run）时自动修复，之后请重新备份。"
            if table.name == "chatline"
            else f"请改正或删除这一行的 {column} 后重新备份，或联系技术支持。"
        )
        raise BackupError(
            f"备份没有完成：{table.name} 表中 {key} 的一行，{column} 列含有无法保存的字符"
            f"（多半是升级前收到的乱码）。已有的备份文件没有改动。{what_to_do}"
        ) from None


class _Hashed(io.RawIOBase):
    """A stream read through: its SHA-256 and size as it goes; reading more than ``limit`` bytes
    raises ``BackupError(too_large)`` (a member larger than its manifest says is never read whole,
    into memory or onto the disk)."""

    def __init__(self, stream: IO[bytes], limit: int | None = None, too_large: str = "") -> None:
        super().__init__()
        self.stream, self.limit, self.too_large = stream, limit, too_large
        self.digest = hashlib.sha256()
        self.size = 0

    def readinto(self, buffer: Any) -> int:
        size = len(buffer)
        if self.limit is not None:  # one byte past the limit is enough to know
            size = min(size, self.limit - self.size + 1)
        data = self.stream.read(size)
        self.size += len(data)
        if self.limit is not None and self.size > self.limit:
            raise BackupError(self.too_large)
        self.digest.update(data)
        buffer[: len(data)] = data
        return len(data)

    def readable(self) -> bool:
        return True

    def sha256(self) -> str:
        return self.digest.hexdigest()


def _add(archive: tarfile.TarFile, info: tarfile.TarInfo, stream: IO[bytes]) -> dict[str, Any]:
    """Add a member from ``stream`` (``info.size`` bytes; all of a BytesIO); return what the manifest
    records of it."""
    if isinstance(stream, io.BytesIO):
        info.size = len(stream.getbuffer())
    hashed = _Hashed(stream)
    archive.addfile(info, hashed)
    return {"size": info.size, "sha256": hashed.sha256()}


def restore(engine: Engine, data_dir: Path, source: Path) -> dict[str, int]:
    """Load a backup into an empty database at the same schema revision, and its files into ``data_dir``.

    Nothing in the backup is trusted: every member is read as a stream, no larger than the manifest
    says (a format-1 backup: the photo's row, or ``UNLISTED_LIMIT``), and checked against its SHA-256
    (the manifest's, and a photo's row's); every path in a row or a member's name must stay inside the
    stored files' folders (``storage.data_folder.inside``), and every file the manifest lists or a
    row names (a photo, a submission record) must be in it. A file already in ``data_dir`` is kept
    when it holds the same bytes and refused when it does not (restoring beside an old data folder
    changes none of its files). A backup that fails a check restores nothing: the database is
    rolled back and the files written are removed — only those that were not there before."""
    written: list[Path] = []
    try:
        with tarfile.open(source, "r:gz") as archive:
            manifest = json.loads(_member(archive, "manifest.json", None, MANIFEST_LIMIT).readall())
            if manifest.get("format") not in (1, FORMAT):
                raise BackupError("备份文件格式不认识。")
            if manifest.get("revision") != _revision(engine):
                raise BackupError(
                    f"备份的数据库版本（{manifest.get('revision')}）与当前数据库（{_revision(engine)}）不同，"
                    "请先用 intake migrate 把两边升级到同一版本。"
                )
            listed: dict[str, dict[str, Any]] | None = manifest.get("members")
            with engine.begin() as connection:
                for table in _tables():
                    if connection.execute(select_table(func.count()).select_from(table)).scalar_one():
                        raise BackupError(
                            f"目标数据库不是空的（{table.name} 表已有数据），只能恢复到新建的数据库。"
                        )
                photos: dict[str, dict[str, Any]] = {}
                named: set[str] = set()
                for table in _tables():
                    _restore_table(connection, archive, table, listed, data_dir, photos, named)
                restored = _restore_files(archive, data_dir, listed, photos, written)
                lost_before = _check_complete(manifest, listed, named, restored)
            written.clear()
    except _UNREADABLE as error:
        raise BackupError(f"备份文件已损坏、不完整，或不是 intake backup 做的备份，{TAMPERED}") from error
    finally:
        for path in written:  # a check failed: what was written goes, as the rows did
            path.unlink(missing_ok=True)
    counts = dict(manifest["counts"])
    if lost_before:
        log.warning("restored without %d files the data folder had lost before the backup", len(lost_before))
        counts[LOST_BEFORE] = len(lost_before)
    return counts


def _check_complete(
    manifest: dict[str, Any], listed: dict[str, dict[str, Any]] | None, named: set[str], restored: set[str]
) -> list[str]:
    """A BackupError naming a file the manifest lists (or, in a first-format backup, a row names) that
    the archive does not hold. Returns the files rows name that a second-format manifest does not
    list: the data folder had lost them before the backup was made, and the backup says so honestly —
    refusing it would leave nothing to restore from."""
    expected = set(named) if listed is None else set()
    lost_before: list[str] = []
    if listed is not None:
        expected.update(name for name in listed if name.split("/", 1)[0] in FILE_FOLDERS)
        lost_before = sorted(named - restored - set(listed))
    missing = sorted(expected - restored)
    if missing:
        more = f"（另缺 {len(missing) - 1} 个文件）" if len(missing) > 1 else ""
        raise BackupError(f"备份文件不完整：缺少 {missing[0]}{more}，{TAMPERED}请换用另一份备份。")
    if listed is None and len(restored) < int(manifest["counts"].get("files", 0)):  # format 1 counts only
        raise BackupError(
            f"备份文件不完整：清单记有 {manifest['counts']['files']} 个文件，备份里只有 {len(restored)} 个，"
            f"{TAMPERED}请换用另一份备份。"
        )
    return lost_before


# What reading a damaged or foreign archive raises (a truncated .gz, a row that is not JSON, a
# manifest of the wrong shape): the database being away is not among them.
_UNREADABLE = (
    tarfile.TarError,
    gzip.BadGzipFile,
    EOFError,
    zlib.error,
    json.JSONDecodeError,
    UnicodeDecodeError,
    KeyError,
    TypeError,
    AttributeError,
)


def _restore_table(
    connection: Connection,
    archive: tarfile.TarFile,
    table: Table,
    listed: dict[str, dict[str, Any]] | None,
    data_dir: Path,
    photos: dict[str, dict[str, Any]],
    named: set[str],
) -> None:
    """Insert a table's rows, read line by line (a thousand at a time); note the photos' rows, and
    in ``named`` the files the rows say are stored (a photo, a submission record)."""
    name = f"tables/{table.name}.jsonl"
    stream = _member(archive, name, listed, UNLISTED_LIMIT if listed is None else None)
    lines = io.TextIOWrapper(io.BufferedReader(stream), encoding="utf-8")
    batch: list[dict[str, Any]] = []
    while line := lines.readline(LINE_LIMIT):
        if len(line) >= LINE_LIMIT and not line.endswith("\n"):
            raise BackupError(f"备份文件中 {name} 有一行过长，{TAMPERED}")
        if line.strip():
            row = _row(line)
            _check_paths(table.name, row, data_dir)
            if table.name == "attachment":
                photos[str(row["path"])] = row
            for column in _STORED_COLUMNS.get(table.name, ()):
                named.add(PurePosixPath(*Path(str(row[column])).parts).as_posix())
            batch.append(row)
        if len(batch) == 1000:
            connection.execute(table.insert(), batch)
            batch = []
    if batch:
        connection.execute(table.insert(), batch)
    _check_hash(stream, name, listed)
    if connection.dialect.name == "postgresql" and "id" in table.columns:
        connection.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
            )
        )


_PATH_COLUMNS = {"attachment": ("path",), "submissionversion": ("record_path", "document_path")}
# The files a row says are stored (a version's printed form is not: it is printed when first asked for).
_STORED_COLUMNS = {"attachment": ("path",), "submissionversion": ("record_path",)}


def _check_paths(table: str, row: dict[str, Any], data_dir: Path) -> None:
    for column in _PATH_COLUMNS.get(table, ()):
        if row.get(column) is not None and inside(data_dir, str(row[column])) is None:
            raise BackupError(
                f"备份中 {table} 表 id = {row.get('id')} 的一行，{column} 指向数据目录以外的位置，{TAMPERED}"
            )


def _restore_files(
    archive: tarfile.TarFile,
    data_dir: Path,
    listed: dict[str, dict[str, Any]] | None,
    photos: dict[str, dict[str, Any]],
    written: list[Path],
) -> set[str]:
    """Put the backup's files in place, each streamed through a temporary and checked first; return
    their names. A file already there is left as it is when it holds the same bytes, and refused
    when it does not; only the files written here go into ``written`` (what a failure removes)."""
    restored: set[str] = set()
    for member in archive:
        path = inside(data_dir, member.name) if member.isfile() else None
        if path is None:
            continue  # only regular files inside files/ and submissions/: no traversal, no links
        photo = photos.get(member.name)
        limit = None if listed is not None else int(photo["size"]) if photo is not None else UNLISTED_LIMIT
        stream = _member(archive, member.name, listed, limit, member)
        if path.exists():
            while stream.read(1 << 20):  # read through: its size and SHA-256
                pass
            _check_file(stream, member.name, listed, photos)
            if _sha256_of(path) != stream.sha256():
                raise BackupError(
                    f"数据目录中已有 {member.name}，内容与备份中的不同。"
                    "没有恢复任何内容，已有的文件都没有改动。"
                    "请把现在的数据目录移到别处（或换一个空的数据目录）后再恢复。"
                )
        else:

            def copy(target: IO[bytes], stream: _Hashed = stream, name: str = member.name) -> None:
                shutil.copyfileobj(stream, target, 1 << 20)
                _check_file(stream, name, listed, photos)  # before it takes its name

            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            write_whole(path, copy)
            written.append(path)
        restored.add(member.name)
    return restored


def _check_file(
    stream: _Hashed, name: str, listed: dict[str, dict[str, Any]] | None, photos: dict[str, dict[str, Any]]
) -> None:
    """A file read whole is what the manifest and, for a photo, its row say it is."""
    _check_hash(stream, name, listed)
    if name in photos and stream.sha256() != photos[name]["sha256"]:
        raise BackupError(f"备份文件中的 {name} 与照片记录的校验值不符，{TAMPERED}")


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _member(
    archive: tarfile.TarFile,
    name: str,
    listed: dict[str, dict[str, Any]] | None,
    limit: int | None,
    member: tarfile.TarInfo | None = None,
) -> _Hashed:
    """A member (by name, or the one given) as a stream no larger than the manifest lists it (or
    ``limit``), refused if larger."""
    expected = listed.get(name) if listed is not None else None
    if listed is not None and expected is None:
        raise BackupError(f"备份文件中的 {name} 不在清单（manifest.json）里，{TAMPERED}")
    bound = int(expected["size"]) if expected is not None else limit
    try:
        member = member or archive.getmember(name)
    except KeyError as error:
        raise BackupError(f"备份文件不完整：缺少 {name}。") from error
    recorded = _size(bound or 0)
    too_large = f"备份文件中的 {name} 有 {_size(member.size)}，超过备份中记录的 {recorded}，{TAMPERED}"
    if bound is not None and member.size > bound:
        raise BackupError(too_large)
    stream = archive.extractfile(member)
    if stream is None:
        raise BackupError(f"备份文件中的 {name} 不是普通文件，{TAMPERED}")
    return _Hashed(stream, bound, too_large)


def _check_hash(stream: _Hashed, name: str, listed: dict[str, dict[str, Any]] | None) -> None:
    expected = listed.get(name) if listed is not None else None
    if expected is not None and (stream.size, stream.sha256()) != (expected["size"], expected["sha256"]):
        raise BackupError(f"备份文件中的 {name} 与清单记录的校验值不符，{TAMPERED}")


def _size(size: int) -> str:
    return f"{size / (1 << 20):.1f} MB" if size >= 1 << 20 else f"{size} 字节"


def _row(line: str) -> dict[str, Any]:
    return {key: _decode(value) for key, value in json.loads(line).items()}


class Purged(NamedTuple):
    """What ``purge`` removed: rows and files by kind, and every file by its path in the data folder."""

    counts: dict[str, int]
    files: list[str]


def purge(
    engine: Engine, data_dir: Path, campaign_id: str, before: datetime, *, exports_named: str = ""
) -> Purged:
    """Delete a campaign's personal data last touched before ``before``: submissions with their versions,
    decisions and files, drafts, contacts and invites, messages, web chat lines, the numbered lists
    a chat was last sent, reminders, exports asked for, and photos no longer used.
    Units (the roster, and the campaign's pick of it) stay, and so do the contacts and invites of a unit
    another campaign picks, and 组联部's while another campaign exists: they are bound once for all.

    Then every file of the data folder that no remaining row names goes too, whatever the date: a
    temporary left by a crash mid-write (``.tmp-*``, a whole submission record), a photo whose draft
    was never saved; and the campaign's export ZIPs, which copy everything (named ``{campaign_id}-…``
    before, ``{exports_named}-…`` now: ``dialogs.exports.export_prefix``). A temporary goes whatever
    its age unless this host's process writing it is still running (``storage.temporaries``; one
    written on another host or container goes too: purge runs with every service stopped); other files
    written in the last ``STALE_TEMPORARY`` are left: with the service running, a photo being stored
    has no row yet."""

    removed: dict[str, int] = {}
    with engine.begin() as connection:
        named_before = _referenced_files(connection)
        units = select(Unit.id).where(in_campaign(campaign_id))
        old = select(Submission.id).where(
            Submission.campaign_id == campaign_id, Submission.updated_at < before
        )
        # An old draft stays while a kept submission's version was made from it (a form submitted long
        # ago, returned and corrected since: its submission is recent, its first draft is not).
        old_drafts = ((col(Draft.updated_at) < before) | col(Draft.submission_id).in_(old)) & ~col(
            Draft.id
        ).in_(select(SubmissionVersion.draft_id))
        # A unit's contacts and invites serve every campaign that picks it, and 组联部's (no unit)
        # every campaign: they stay while another campaign picks the unit, or exists at all.
        elsewhere = picked_elsewhere(campaign_id)
        another_campaign = (
            select(CampaignUnit.id).where(col(CampaignUnit.campaign_id) != campaign_id).exists()
        )
        for_unit = col(Invite.unit_id).is_not(None)
        campaign_invites = (
            for_unit & col(Invite.unit_id).in_(units) & ~col(Invite.unit_id).in_(elsewhere)
        ) | (~for_unit & ~another_campaign)
        bound = col(Contact.unit_id).is_not(None)
        kept_contacts = (bound & col(Contact.unit_id).in_(elsewhere)) | (~bound & another_campaign)
        steps = [
            ("审核记录", delete(ReviewDecision).where(col(ReviewDecision.submission_id).in_(old))),
            ("推荐记录", delete(Selection).where(col(Selection.submission_id).in_(old))),
            ("提交版本", delete(SubmissionVersion).where(col(SubmissionVersion.submission_id).in_(old))),
            ("草稿", delete(Draft).where(col(Draft.campaign_id) == campaign_id, old_drafts)),
            ("提交", delete(Submission).where(col(Submission.id).in_(old))),
            (
                "提醒记录",
                delete(NudgeRecord).where(
                    col(NudgeRecord.campaign_id) == campaign_id, col(NudgeRecord.created_at) < before
                ),
            ),
            ("邀请码", delete(Invite).where(col(Invite.created_at) < before, campaign_invites)),
            ("待发消息", delete(OutboxMessage).where(col(OutboxMessage.created_at) < before)),
            ("收到的消息", delete(InboxUpdate).where(col(InboxUpdate.received_at) < before)),
            ("聊天记录", delete(ChatLine).where(col(ChatLine.created_at) < before)),
            (
                "选项列表",  # the list a 公众号 follower was last sent (no longer read after LIST_KEPT)
                delete(NumberedList).where(
                    (col(NumberedList.shown_at) < before)
                    | (col(NumberedList.shown_at) < utc_now() - LIST_KEPT)
                ),
            ),
            (
                "导出记录",  # who asked for an export: a messenger's id
                delete(ExportJob).where(
                    col(ExportJob.campaign_id) == campaign_id, col(ExportJob.requested_at) < before
                ),
            ),
        ]
        for name, statement in steps:
            removed[name] = connection.execute(statement).rowcount
        rebuild_progress(connection, campaign_id)  # the totals of what remains
        still_referenced = (
            col(Contact.id).in_(select(Draft.started_by))
            | col(Contact.id).in_(select(SubmissionVersion.submitted_by))
            | col(Contact.id).in_(select(ReviewDecision.decided_by))
            | col(Contact.id).in_(select(Invite.used_by).where(col(Invite.used_by).is_not(None)))
            | col(Contact.id).in_(select(ChatLine.contact_id))
        )
        contacts = delete(Contact).where(col(Contact.created_at) < before, ~still_referenced, ~kept_contacts)
        removed["联系人"] = connection.execute(contacts).rowcount
        used = _photos_in_use(connection)
        stored = connection.execute(select(Attachment.id, Attachment.sha256, Attachment.path)).all()
        unused = [row for row in stored if row.sha256 not in used]
        if unused:
            connection.execute(delete(Attachment).where(col(Attachment.id).in_([row.id for row in unused])))
        removed["照片"] = len(unused)
        kept = _referenced_files(connection)
    prefixes = [campaign_id, *([exports_named] if exports_named else [])]
    files = _remove_files_not_in(data_dir, kept, named_before - kept, exports_of=prefixes)
    removed["文件"] = len(files)
    if engine.dialect.name == "sqlite":  # deleted rows linger in free pages and the WAL until rewritten
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.exec_driver_sql("VACUUM")
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return Purged(removed, files)


def _referenced_files(connection: Any) -> set[str]:
    """The data folder's files that remaining rows name (relative, POSIX style)."""
    named: set[str] = set()
    versions = select(SubmissionVersion.record_path, SubmissionVersion.document_path)
    for paths in connection.execute(versions):
        named.update(p for p in paths if p)
    named.update(path for (path,) in connection.execute(select(Attachment.path)))
    return {PurePosixPath(*Path(path).parts).as_posix() for path in named}


def _remove_files_not_in(
    data_dir: Path, kept: set[str], dropped: set[str], *, exports_of: list[str]
) -> list[str]:
    """Delete the files of the rows just purged (``dropped``), every other file under the stored-file
    folders that is not in ``kept`` (but those written in the last ``STALE_TEMPORARY``), and the
    campaign's export ZIPs; return their relative paths, sorted."""
    removed: list[str] = []
    recent = time.time() - STALE_TEMPORARY.total_seconds()
    for folder in FILE_FOLDERS:
        for path in (data_dir / folder).rglob("*") if (data_dir / folder).is_dir() else []:
            relative = PurePosixPath(*path.relative_to(data_dir).parts).as_posix()
            if path.name.startswith(PREFIX):
                gone = abandoned(path)  # whatever its age: its writer is not running (or elsewhere)
            else:
                gone = relative in dropped or (relative not in kept and path.stat().st_mtime < recent)
            if path.is_file() and gone:
                path.unlink(missing_ok=True)
                removed.append(relative)
    exports = data_dir / "exports"
    if exports.is_dir():
        named = {path for prefix in exports_of for path in exports.glob(f"{glob.escape(prefix)}-*.zip")}
        temporaries = [path for path in exports.glob(f"{PREFIX}*") if abandoned(path)]
        for path in sorted([*named, *temporaries]):
            path.unlink(missing_ok=True)
            removed.append(f"exports/{path.name}")
    return sorted(removed)


def _photos_in_use(connection: Any) -> set[str]:
    """The sha256 of every photo still referenced by a remaining draft or submission version."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("sha256"), str):
                found.add(value["sha256"])
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for (answers,) in connection.execute(select(col(Draft.answers))):
        walk(answers)
    for (answers,) in connection.execute(select(col(SubmissionVersion.answers))):
        walk(answers)
    return found
