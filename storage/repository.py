"""The one door to storage: short sessions, detached records out, one commit per call or per unit of work.

Every method that changes something commits before it returns, so a caller that replies to a person
after the call has the answer on disk first. Inside ``unit_of_work()`` the calls share one transaction
that commits at the end of the block: a channel uses it to mark a messenger update done, queue the
replies and store the dialog's effects all at once.

``Repository`` is composed of parts split by what they store, one module each (``storage.part`` says
what they share): ``units``, ``contacts``, ``invites``, ``drafts``, ``submissions``, ``progress``,
``review``, ``nudges``, ``inbox``, ``outbox``, ``chat_lines``, ``tokens``, ``numbered_lists``,
``files`` and ``export_jobs``. Callers outside ``storage`` import from here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session

from storage.chat_lines import ChatLineStorage
from storage.contacts import ContactStorage
from storage.database import writers_waiting
from storage.drafts import DraftStorage
from storage.export_jobs import ExportJobStorage, ExportOrder
from storage.files import STALE_TEMPORARY, FileStorage
from storage.inbox import InboxStorage, Incoming
from storage.invites import InviteStorage
from storage.nudges import NudgeStorage, NudgeToSend
from storage.numbered_lists import NumberedListStorage
from storage.outbox import OutboxStorage, Outgoing
from storage.part import ConcurrentUpdate
from storage.progress import (
    AreaTotals,
    ProgressStorage,
    ProgressTotals,
    defer_progress,
    rebuild_progress,
    refresh_deferred_progress,
)
from storage.review import ReviewStorage
from storage.submissions import SubmissionStorage
from storage.tokens import TokenStorage
from storage.turn_store import TurnStorage
from storage.units import UnitStorage

__all__ = [
    "STALE_TEMPORARY",
    "AreaTotals",
    "ConcurrentUpdate",
    "ExportOrder",
    "Incoming",
    "NudgeToSend",
    "Outgoing",
    "ProgressTotals",
    "Repository",
    "rebuild_progress",
]


class Repository(
    UnitStorage,
    ContactStorage,
    InviteStorage,
    DraftStorage,
    SubmissionStorage,
    ProgressStorage,
    ReviewStorage,
    NudgeStorage,
    InboxStorage,
    OutboxStorage,
    ChatLineStorage,
    TokenStorage,
    NumberedListStorage,
    FileStorage,
    ExportJobStorage,
    TurnStorage,
):
    """Storage for units, contacts, drafts, submissions, files and the rest, one part per module
    (see this module's docstring), sharing one engine, one data folder and one unit of work.

    Args:
        engine: the SQLAlchemy engine (SQLite or PostgreSQL).
        data_dir: where files live: ``files/`` (content-addressed uploads) and ``submissions/``
            (one JSON record per submitted version).
    """

    def __init__(self, engine: Engine, data_dir: Path) -> None:
        self.engine = engine
        self.data_dir = data_dir
        self._shared: ContextVar[Session | None] = ContextVar(f"unit_of_work_{id(self)}", default=None)
        self._units = {}  # units change only at start-up (sync_units)
        self._units_by_code = {}

    @contextmanager
    def unit_of_work(self) -> Iterator[None]:
        """Run several repository calls in one transaction, committed when the block ends without error."""
        if self._shared.get() is not None:
            yield
            return
        session = Session(self.engine, expire_on_commit=False, autoflush=False)
        defer_progress(session)
        token = self._shared.set(session)
        try:
            yield
            refresh_deferred_progress(session)
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            self._shared.reset(token)
            session.close()

    def writers_waiting(self) -> bool:
        """Whether another writer of this process waits for its turn (see ``storage.database.WriterGate``):
        a long transaction should commit what it has done and let it through."""
        return writers_waiting(self.engine) > 0

    @contextmanager
    def _session(self) -> Iterator[Session]:
        shared = self._shared.get()
        if shared is not None:
            yield shared
            shared.flush()
            shared.expunge_all()  # records leave detached, as outside a unit of work
            return
        with Session(self.engine, expire_on_commit=False, autoflush=False) as session:
            yield session

    def _commit(self, session: Session) -> None:
        """Commit now, unless the call is part of a unit of work (which commits at its end)."""
        if self._shared.get() is None:
            session.commit()
