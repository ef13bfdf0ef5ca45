"""What every part of ``Repository`` shares: the session the whole lends it, and the few checks and
readers of rows that more than one part uses.

``Repository`` (``storage.repository``) is composed of parts split by what they store — units, contacts,
invites, drafts, submissions, progress, review, reminders, the messenger inbox and outbox, a web chat's
lines, access tokens, numbered lists, files and export jobs — each a class of methods over
``self._session()`` and ``self._commit()``. The whole owns the engine, the data folder and the unit
of work; a part owns its queries and the statements it builds once.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from sqlalchemy import Engine, Select, Table
from sqlmodel import Session, SQLModel

from storage.models import MAX_ID, Unit

if TYPE_CHECKING:

    class RepositoryPart:
        """What a part may use of the whole ``Repository`` (for the type checker: at run time a part's
        base is ``object``, and ``Repository`` has all of these)."""

        engine: Engine
        data_dir: Path

        def _session(self) -> AbstractContextManager[Session]: ...
        def _commit(self, session: Session) -> None: ...
        def unit_of_work(self) -> AbstractContextManager[None]: ...
        def unit(self, unit_id: int) -> Unit | None: ...
        def enqueue_message(self, channel: str, chat_key: str, payload: dict[str, Any]) -> None: ...

else:
    RepositoryPart = object


class ConcurrentUpdate(RuntimeError):
    """A draft changed since it was read (another message for the same draft was processed first)."""


def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a model, for statements that send many rows at once."""
    return SQLModel.metadata.tables[model.__tablename__]  # type: ignore[index]


class _Slotted(Protocol):
    __slots__: ClassVar[tuple[str, ...]]


Plain = TypeVar("Plain", bound=_Slotted)


def plain_records(session: Session, record: type[Plain], query: Select[Any]) -> list[Plain]:
    """Rows as the delivery layer's records (``Incoming``, ``Outgoing``): only the columns the record has."""
    names = record.__slots__
    return [
        record(**{name: row._mapping[name] for name in names}) for row in session.connection().execute(query)
    ]


def is_id(value: int) -> bool:
    return 0 < value <= MAX_ID


def aware(moment: datetime) -> datetime:
    """SQLite gives times back without a zone; they are stored as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
