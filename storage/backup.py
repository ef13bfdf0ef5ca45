"""Backup, restore and purge: every table and every stored file, nothing more, nothing lost.

A backup is one ``.tar.gz``: ``manifest.json`` (schema revision, row counts), one JSON-lines file per
table and the data folder's ``files/`` and ``submissions/``. It works the same from SQLite or
PostgreSQL and restores into either, into an empty migrated database only.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import time
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, RowMapping, Table, delete, func, text
from sqlalchemy import select as select_table
from sqlmodel import SQLModel, col, select

from storage.models import (
    Attachment,
    ChatLine,
    Contact,
    Draft,
    InboxUpdate,
    Invite,
    NudgeRecord,
    OutboxMessage,
    ReviewDecision,
    Selection,
    Submission,
    SubmissionVersion,
    Unit,
)
from storage.repository import STALE_TEMPORARY, rebuild_progress
from storage.temporaries import PREFIX, abandoned, temporary_prefix

FORMAT = 1
FILE_FOLDERS = ("files", "submissions")


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
    when whole: a backup that fails leaves no partial archive where the real one goes, and an older
    backup there stays as it was."""
    counts: dict[str, int] = {}
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f"{temporary_prefix()}{target.name}")
    try:
        with (
            os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as stream,
            tarfile.open(fileobj=stream, mode="w:gz") as archive,
            engine.connect() as connection,
        ):
            for table in _tables():
                rows = connection.execute(select_table(table).order_by(*table.primary_key.columns))
                lines = [_json_line(table, row) for row in rows.mappings()]
                counts[table.name] = len(lines)
                _add_bytes(archive, f"tables/{table.name}.jsonl", b"\n".join(lines))
            files = list(_stored_files(data_dir))
            for path in files:
                relative = PurePosixPath(*path.relative_to(data_dir).parts)
                archive.add(path, arcname=str(relative), recursive=False)
            counts["files"] = len(files)
            manifest = {"format": FORMAT, "revision": _revision(engine), "counts": counts}
            _add_bytes(archive, "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2).encode())
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return counts


def _json_line(table: Table, row: RowMapping) -> bytes:
    """One row as a line of JSON (UTF-8), or a BackupError naming the row and the column that cannot
    be written (text kept before it was cleaned where it enters: a lone surrogate)."""
    try:
        return json.dumps({k: _encode(v) for k, v in row.items()}, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        column = next(k for k, v in row.items() if not _writable(v))
        key = "，".join(f"{c.name} = {row[c.name]}" for c in table.primary_key.columns)
        raise BackupError(
            f"备份没有完成：{table.name} 表中 {key} 的一行，{column} 列含有无法保存的字符"
            "（多半是升级前收到的乱码）。已有的备份文件没有改动。"
            f"请改正或删除这一行的 {column} 后重新备份，或联系技术支持。"
        ) from None


def _writable(value: Any) -> bool:
    try:
        json.dumps(_encode(value), ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return False
    return True


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    archive.addfile(info, io.BytesIO(data))


def restore(engine: Engine, data_dir: Path, source: Path) -> dict[str, int]:
    """Load a backup into an empty database at the same schema revision, and its files into ``data_dir``."""
    with tarfile.open(source, "r:gz") as archive:
        manifest = json.loads(_read(archive, "manifest.json"))
        if manifest.get("format") != FORMAT:
            raise BackupError("备份文件格式不认识。")
        if manifest.get("revision") != _revision(engine):
            raise BackupError(
                f"备份的数据库版本（{manifest.get('revision')}）与当前数据库（{_revision(engine)}）不同，"
                "请先用 intake migrate 把两边升级到同一版本。"
            )
        with engine.begin() as connection:
            for table in _tables():
                if connection.execute(select_table(func.count()).select_from(table)).scalar_one():
                    raise BackupError(
                        f"目标数据库不是空的（{table.name} 表已有数据），只能恢复到新建的数据库。"
                    )
            for table in _tables():
                lines = _read(archive, f"tables/{table.name}.jsonl").splitlines()
                rows = [_row(line) for line in lines if line]
                if rows:
                    connection.execute(table.insert(), rows)
                if connection.dialect.name == "postgresql" and "id" in table.columns:
                    connection.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                            f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
                        )
                    )
        files = 0
        for member in archive.getmembers():
            parts = PurePosixPath(member.name).parts
            outside = (
                not parts or parts[0] not in FILE_FOLDERS or ".." in parts or member.name.startswith("/")
            )
            if not member.isfile() or outside:
                continue  # only regular files inside files/ and submissions/: no traversal, no links
            extracted = archive.extractfile(member)
            assert extracted is not None
            path = data_dir.joinpath(*parts)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(extracted.read())
            files += 1
    return {**manifest["counts"], "files": files}


def _read(archive: tarfile.TarFile, name: str) -> str:
    try:
        member = archive.extractfile(name)
    except KeyError as error:
        raise BackupError(f"备份文件不完整：缺少 {name}。") from error
    assert member is not None
    return member.read().decode()


def _row(line: str) -> dict[str, Any]:
    return {key: _decode(value) for key, value in json.loads(line).items()}


class Purged(NamedTuple):
    """What ``purge`` removed: rows and files by kind, and every file by its path in the data folder."""

    counts: dict[str, int]
    files: list[str]


def purge(engine: Engine, data_dir: Path, campaign_id: str, before: datetime) -> Purged:
    """Delete a campaign's personal data last touched before ``before``: submissions with their versions,
    decisions and files, drafts, contacts and invites, messages, web chat lines, reminders, and photos
    no longer used.
    Units (the campaign's structure) stay.

    Then every file of the data folder that no remaining row names goes too, whatever the date: a
    temporary left by a crash mid-write (``.tmp-*``, a whole submission record), a photo whose draft
    was never saved; and the campaign's export ZIPs, which copy everything. A temporary goes whatever
    its age unless the process writing it is still running (``storage.temporaries``); other files
    written in the last ``STALE_TEMPORARY`` are left: with the service running, a photo being stored
    has no row yet."""

    removed: dict[str, int] = {}
    with engine.begin() as connection:
        named_before = _referenced_files(connection)
        units = select(Unit.id).where(col(Unit.campaign_id) == campaign_id)
        old = select(Submission.id).where(
            Submission.campaign_id == campaign_id, Submission.updated_at < before
        )
        # An old draft stays while a kept submission's version was made from it (a form submitted long
        # ago, returned and corrected since: its submission is recent, its first draft is not).
        old_drafts = ((col(Draft.updated_at) < before) | col(Draft.submission_id).in_(old)) & ~col(
            Draft.id
        ).in_(select(SubmissionVersion.draft_id))
        campaign_invites = col(Invite.unit_id).in_(units) | col(Invite.unit_id).is_(None)
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
        contacts = delete(Contact).where(col(Contact.created_at) < before, ~still_referenced)
        removed["联系人"] = connection.execute(contacts).rowcount
        used = _photos_in_use(connection)
        stored = connection.execute(select(Attachment.id, Attachment.sha256, Attachment.path)).all()
        unused = [row for row in stored if row.sha256 not in used]
        if unused:
            connection.execute(delete(Attachment).where(col(Attachment.id).in_([row.id for row in unused])))
        removed["照片"] = len(unused)
        kept = _referenced_files(connection)
    files = _remove_files_not_in(data_dir, kept, named_before - kept, exports_of=campaign_id)
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


def _remove_files_not_in(data_dir: Path, kept: set[str], dropped: set[str], *, exports_of: str) -> list[str]:
    """Delete the files of the rows just purged (``dropped``), every other file under the stored-file
    folders that is not in ``kept`` (but those written in the last ``STALE_TEMPORARY``), and the
    campaign's export ZIPs; return their relative paths, sorted."""
    removed: list[str] = []
    recent = time.time() - STALE_TEMPORARY.total_seconds()
    for folder in FILE_FOLDERS:
        for path in (data_dir / folder).rglob("*") if (data_dir / folder).is_dir() else []:
            relative = PurePosixPath(*path.relative_to(data_dir).parts).as_posix()
            if path.name.startswith(PREFIX):
                gone = abandoned(path)  # whatever its age: its writer is not running
            else:
                gone = relative in dropped or (relative not in kept and path.stat().st_mtime < recent)
            if path.is_file() and gone:
                path.unlink(missing_ok=True)
                removed.append(relative)
    exports = data_dir / "exports"
    if exports.is_dir():
        temporaries = [path for path in exports.glob(f"{PREFIX}*") if abandoned(path)]
        for path in [*exports.glob(f"{exports_of}-*.zip"), *temporaries]:
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
