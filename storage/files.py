"""The files' part of ``Repository``: uploads stored by the SHA-256 of their content, submissions'
documents and exports in the data folder, and the sweep of interrupted writes.
"""

from __future__ import annotations

import functools
import hashlib
import os
import secrets
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy import select as sql_select
from sqlmodel import Session, SQLModel

from storage.data_folder import inside
from storage.models import Attachment, utc_now
from storage.part import RepositoryPart, table_of
from storage.temporaries import put_in_place, remove_abandoned, temporary_prefix, write_whole

STALE_TEMPORARY = timedelta(minutes=10)


class FileStorage(RepositoryPart):
    """The files' side of ``Repository``."""

    def store_file(self, data: bytes, *, kind: str, mime: str, extension: str, **meta: Any) -> Attachment:
        """Store a file under the SHA-256 of its content; storing the same bytes twice is one file."""
        digest = hashlib.sha256(data).hexdigest()
        return self._store(
            digest, len(data), extension, lambda target: write_atomically(target, data), kind, mime, meta
        )

    def spool_path(self) -> Path:
        """A new temporary file's path in the stored files' folder, for an upload written as it
        arrives (``store_spooled`` then moves it into place; a crash leaves it to the start-up sweep)."""
        folder = self.data_dir / "files"
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = folder / f"{temporary_prefix()}upload-{secrets.token_hex(8)}"
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))  # the channel writes into it
        return path

    def store_spooled(
        self, spooled: Path, *, kind: str, mime: str, extension: str, **meta: Any
    ) -> Attachment:
        """``store_file`` for bytes already on disk (``spool_path``): hashed in chunks and moved into
        place, never read into memory whole. The spooled file is gone afterwards either way."""
        try:
            digest = hashlib.sha256()
            with spooled.open("rb") as stream:
                for chunk in iter(lambda: stream.read(1024 * 1024), b""):
                    digest.update(chunk)
            size = spooled.stat().st_size
            place = functools.partial(put_in_place, spooled)  # fsynced, then renamed
            return self._store(digest.hexdigest(), size, extension, place, kind, mime, meta)
        finally:
            spooled.unlink(missing_ok=True)

    def _store(
        self,
        digest: str,
        size: int,
        extension: str,
        write: Callable[[Path], object],
        kind: str,
        mime: str,
        meta: dict[str, Any],
    ) -> Attachment:
        relative = Path("files") / digest[:2] / f"{digest}.{extension}"
        files = table_of(Attachment)
        with self._session() as session:
            existing = _records(session, Attachment, sql_select(files).where(files.c.sha256 == digest))
            if existing:
                return existing[0]
            target = self.data_dir / relative
            if not target.exists():
                target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                write(target)
            values = {
                "sha256": digest,
                "kind": kind,
                "mime": mime,
                "size": size,
                "path": str(relative),
                "created_at": utc_now(),
                **meta,
            }
            key = (
                session.connection().execute(files.insert().values(values).returning(files.c.id)).scalar_one()
            )
            self._commit(session)
            return Attachment(id=key, **values)

    def remove_stale_temporaries(self, unseen_older_than: timedelta = STALE_TEMPORARY) -> int:
        """Delete the temporaries of writes a crash or a kill interrupted (one may hold a whole
        submission record, or an upload with a name, a phone number and an address inside): those
        whose writing process is no longer running here, and those written where their writer cannot
        be seen (another container or host sharing the data folder) once older than
        ``unseen_older_than`` (``storage.temporaries``): another service may be writing its own right
        now. Returns how many went."""
        folders = [self.data_dir / folder for folder in ("files", "submissions", "exports")]
        return len(remove_abandoned(folders, unseen_older_than))

    def stored_path(self, relative: str) -> Path | None:
        """A stored file (a submission's record or DOCX) by its path in the data folder; None when it is
        missing or the path would lead out of the folder (``storage.data_folder.inside``)."""
        path = inside(self.data_dir, relative)
        return path if path is not None and path.is_file() else None

    def store_document(self, relative: str, data: bytes) -> Path:
        """Write a version's printed form at the path the version names (atomically: two processes
        rendering it at once write the same bytes, one after the other)."""
        path = inside(self.data_dir, relative)
        if path is None:
            raise ValueError("a version's document path leads out of the data folder")
        write_atomically(path, data)
        return path

    def export_path(self, name: str) -> Path | None:
        """An export ZIP by its name (``dialogs.file_names.is_export_name`` says which names are
        export names), or None: a name that is not one file directly in ``exports/`` is none."""
        path = self.data_dir / "exports" / name
        return path if Path(name).name == name and name not in ("", ".", "..") and path.is_file() else None

    def file_path(self, sha256: str) -> Path | None:
        files = table_of(Attachment).c
        with self._session() as session:
            path = session.connection().execute(sql_select(files.path).where(files.sha256 == sha256)).scalar()
        return None if path is None else inside(self.data_dir, path)  # a path out of the folder: none


Record = TypeVar("Record", bound=SQLModel)


def _records(session: Session, model: type[Record], query: Select[Any]) -> list[Record]:
    """Rows of ``model``'s table read with Core, as plain (detached) records: cheaper than ORM loading
    for the reads of every message. Such a record is never ``session.add``-ed again (it has its id)."""
    return [model(**row._mapping) for row in session.connection().execute(query)]


def write_atomically(path: Path, data: bytes) -> None:
    """Write a file so that a crash leaves either the old file or the whole new one, never half."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_whole(path, lambda stream: stream.write(data))
