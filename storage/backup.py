"""Backup, restore and purge: every table and every stored file, nothing more, nothing lost.

A backup is one ``.tar.gz``: ``manifest.json`` (schema revision, row counts), one JSON-lines file per
table and the data folder's ``files/`` and ``submissions/``. It works the same from SQLite or
PostgreSQL and restores into either, into an empty migrated database only.
"""

from __future__ import annotations

import glob
import io
import json
import tarfile
import time
from collections.abc import Iterable
from datetime import date, datetime
from pathlib import Path, PurePosixPath
from typing import Any, NamedTuple

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, Table, delete, func, text
from sqlalchemy import select as select_table
from sqlmodel import SQLModel, col, select

from storage.models import (
    Attachment,
    ChatLine,
    Contact,
    Draft,
    ExportJob,
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
            yield from sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".tmp-"))


def backup(engine: Engine, data_dir: Path, target: Path) -> dict[str, int]:
    """Write every table and stored file to ``target``; return each table's row count and the file count."""
    counts: dict[str, int] = {}
    target.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(target, "w:gz") as archive, engine.connect() as connection:
        for table in _tables():
            lines = [
                json.dumps({k: _encode(v) for k, v in row.items()}, ensure_ascii=False)
                for row in connection.execute(
                    select_table(table).order_by(*table.primary_key.columns)
                ).mappings()
            ]
            counts[table.name] = len(lines)
            _add_bytes(archive, f"tables/{table.name}.jsonl", "\n".join(lines).encode())
        files = list(_stored_files(data_dir))
        for path in files:
            archive.add(path, arcname=str(PurePosixPath(*path.relative_to(data_dir).parts)), recursive=False)
        counts["files"] = len(files)
        manifest = {"format": FORMAT, "revision": _revision(engine), "counts": counts}
        _add_bytes(archive, "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2).encode())
    return counts


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


def purge(
    engine: Engine, data_dir: Path, campaign_id: str, before: datetime, *, exports_named: str = ""
) -> Purged:
    """Delete a campaign's personal data last touched before ``before``: submissions with their versions,
    decisions and files, drafts, contacts and invites, messages, web chat lines, reminders, exports
    asked for, and photos no longer used.
    Units (the campaign's structure) stay.

    Then every file of the data folder that no remaining row names goes too, whatever the date: a
    temporary left by a crash mid-write (``.tmp-*``, a whole submission record), a photo whose draft
    was never saved; and the campaign's export ZIPs, which copy everything (named ``{campaign_id}-…``
    before, ``{exports_named}-…`` now: ``dialogs.exports.export_prefix``). Files written in the last
    ``STALE_TEMPORARY`` are left: with the service running, a photo being stored has no row yet."""

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
        contacts = delete(Contact).where(col(Contact.created_at) < before, ~still_referenced)
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
            orphan = relative not in kept and path.stat().st_mtime < recent
            if path.is_file() and (relative in dropped or orphan):
                path.unlink(missing_ok=True)
                removed.append(relative)
    exports = data_dir / "exports"
    if exports.is_dir():
        named = {path for prefix in exports_of for path in exports.glob(f"{glob.escape(prefix)}-*.zip")}
        for path in sorted([*named, *exports.glob(".tmp-*")]):
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
