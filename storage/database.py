"""The database engine and its migrations: SQLite file by default (WAL), PostgreSQL by URL.

Every engine hides statement parameters (``hide_parameters=True``): an answer, a phone number or a
session id never reaches a log or an exception's text. An SQLite engine also watches its file: when
the file at the configured path is deleted or replaced while the service runs, every connection
is refused (``DatabaseFileGone``) instead of writing on into a deleted file.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session as OrmSession

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_S = 30
SQLITE_POOL_SIZE = 40

log = logging.getLogger(__name__)


class DatabaseNotMigrated(RuntimeError):
    """The database has no tables yet, or is behind the code's schema."""


class DatabaseFileGone(RuntimeError):
    """The SQLite file this process opened is no longer the file at the configured path."""


def make_engine(url: str, *, sqlite_busy_timeout: float = SQLITE_BUSY_TIMEOUT_S) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys, full sync, a busy timeout (how long a
    write waits for another process's lock), this process's writers in turn (``WriterGate``) and a
    watch on its file (see ``SqliteFileWatch``)."""
    if url.startswith("sqlite"):
        path = _sqlite_path(url)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        gate = WriterGate.for_file(path, sqlite_busy_timeout)
        engine = create_engine(
            url,
            connect_args={
                "check_same_thread": False,
                "timeout": sqlite_busy_timeout,
                "factory": lambda *args, **kwargs: GatedConnection(gate, *args, **kwargs),
            },
            hide_parameters=True,
            # A connection per worker thread of the web chat (Starlette's pool has 40), kept: a new
            # one costs its pragmas, and a pool of 5 opened and closed one for nearly every request.
            pool_size=SQLITE_POOL_SIZE,
            max_overflow=SQLITE_POOL_SIZE,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        _gates_of_engines[engine] = gate
        if path is not None:
            SqliteFileWatch(path).attach(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


class WriterGate:
    """This process's SQLite writers, one at a time, in the order they asked.

    SQLite has one writer per database; the others wait in its busy handler, which sleeps and looks
    again (up to 100 ms at a time) and is not fair: a worker committing group after group can take
    the lock again in the gap before a sleeper wakes, and a messenger's callback storing one row
    waited hundreds of milliseconds behind the inbox. Here a transaction takes the gate at its first
    write and gives it up when it commits or rolls back; the next writer in line gets it at once.
    Other processes on the same file still meet SQLite's own lock. A writer on a second connection
    of the thread that holds the gate is let through (it would wait for itself): SQLite decides, as
    before. Waiting longer than the busy timeout is SQLite's “database is locked”.
    """

    _gates: ClassVar[dict[Path, WriterGate]] = {}
    _gates_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._turn = threading.Condition()
        self._queue: deque[object] = deque()
        self._holder: object | None = None
        self._holder_thread: int | None = None

    @classmethod
    def for_file(cls, path: Path | None, timeout: float) -> WriterGate:
        """The gate of one database file, shared by every engine of this process on it."""
        key = path.resolve() if path is not None else None
        with cls._gates_lock:
            if key is None or key not in cls._gates:
                gate = cls(timeout)
                if key is None:  # an in-memory database is its connection's own
                    return gate
                cls._gates[key] = gate
            return cls._gates[key]

    @property
    def waiting(self) -> int:
        """How many writers wait for their turn."""
        return len(self._queue)

    def enter(self, writer: object) -> None:
        thread = threading.get_ident()
        with self._turn:
            if self._holder is writer or (self._holder is not None and self._holder_thread == thread):
                return
            self._queue.append(writer)
            first = self._turn.wait_for(
                lambda: self._holder is None and self._queue[0] is writer, timeout=self.timeout
            )
            if not first:
                self._queue.remove(writer)
                self._turn.notify_all()
                raise sqlite3.OperationalError("database is locked")
            self._queue.popleft()
            self._holder, self._holder_thread = writer, thread

    def leave(self, writer: object) -> None:
        with self._turn:
            if self._holder is writer:
                self._holder = self._holder_thread = None
                self._turn.notify_all()


_gates_of_engines: weakref.WeakKeyDictionary[Engine, WriterGate] = weakref.WeakKeyDictionary()


def writers_waiting(engine: Engine) -> int:
    """How many writers of this process wait for the database (SQLite; none on PostgreSQL, whose
    writers lock rows, not the database)."""
    gate = _gates_of_engines.get(engine)
    return 0 if gate is None else gate.waiting


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")


class GatedConnection(sqlite3.Connection):
    """An SQLite connection that takes its ``WriterGate`` at a transaction's first write and leaves
    it when the transaction ends."""

    def __init__(self, gate: WriterGate, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gate = gate

    def cursor(self, factory: Any = None) -> Any:
        return super().cursor(factory or GatedCursor)

    def before(self, statement: str) -> None:
        if statement.lstrip()[:7].upper().startswith(_WRITES):
            self.gate.enter(self)

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self.gate.leave(self)

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.gate.leave(self)

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.gate.leave(self)


class GatedCursor(sqlite3.Cursor):
    """A cursor that tells its connection of each statement before running it."""

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:  # type: ignore[override]
        connection = self.connection
        if isinstance(connection, GatedConnection):
            connection.before(sql)
        return super().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> sqlite3.Cursor:  # type: ignore[override]
        connection = self.connection
        if isinstance(connection, GatedConnection):
            connection.before(sql)
        return super().executemany(sql, parameters)


def _sqlite_path(url: str) -> Path | None:
    path = url.split("///", 1)[1] if "///" in url else ""
    return Path(path) if path and path != ":memory:" else None


class SqliteFileWatch:
    """Keeps an engine on the file it first opened.

    The file's identity (device, inode) is taken when it is first seen. Each time a connection is
    made or taken from the pool, the file at the path is compared with it: missing or another file
    (deleted, or a restore copied over it while running) raises ``DatabaseFileGone``. A new
    connection is checked before SQLite opens the path, so no empty database is created in its place.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._identity = self._current()

    def _current(self) -> tuple[int, int] | None:
        try:
            stat = os.stat(self.path)
        except FileNotFoundError:
            return None
        return stat.st_dev, stat.st_ino

    def check(self) -> None:
        current = self._current()
        if self._identity is None:
            self._identity = current  # a new database, seen for the first time
            return
        if current != self._identity:
            raise DatabaseFileGone(f"the database file {self.path} was deleted or replaced")

    def attach(self, engine: Engine) -> None:
        def before_connect(*_args: Any) -> None:
            if self._identity is not None:
                self.check()

        def after_connect(*_args: Any) -> None:
            self.check()

        def on_checkout(*_args: Any) -> None:
            self.check()

        event.listen(engine, "do_connect", before_connect)
        event.listen(engine, "connect", after_connect)
        event.listen(engine, "checkout", on_checkout)


def is_unavailable(error: BaseException) -> bool:
    """True for errors that mean the database cannot be used now (down, restarting, locked, its file
    gone), as opposed to a bug: the request should be answered “try later”, not as a failure.

    SQLite reports a statement its schema cannot run (“no such table”) as an OperationalError too,
    with the generic SQLITE_ERROR code: that one is a bug, not an outage."""
    if isinstance(error, DatabaseFileGone):
        return True
    if isinstance(error, OperationalError | InterfaceError):
        return getattr(error.orig, "sqlite_errorname", "") != "SQLITE_ERROR"
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)


class Availability:
    """Tells the log once when the database becomes unavailable and once when it is back.

    Every path that meets an unavailable database (web requests, the webhook, the Telegram loop,
    reminders) calls ``failed``; the first call of an outage logs one line, the rest only count.
    ``succeeded``, called after every commit, logs the recovery with how long it lasted and how many
    requests were turned away — once commits succeed ``SETTLE`` seconds after the last failure: as a
    server shuts down, a transaction already under way may still commit between two refusals.
    Thread-safe; one per process (``availability``).
    """

    SETTLE = 0.5

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._last_failure = 0.0
        self._refused = 0

    @property
    def down(self) -> bool:
        return self._down_since is not None

    def failed(self, error: BaseException) -> None:
        with self._lock:
            self._refused += 1
            self._last_failure = self._clock()
            if self._down_since is not None:
                return
            self._down_since = self._last_failure
        if isinstance(error, DatabaseFileGone):
            log.error(
                "the database file was deleted or replaced while the service ran; every request is "
                "refused. Stop the service and restore the database from a backup (intake restore)."
            )
        else:
            log.error("database unavailable (%s); requests refused until it is back", type(error).__name__)

    def succeeded(self) -> None:
        if self._down_since is None:  # the usual case: no lock taken
            return
        with self._lock:
            now = self._clock()
            if self._down_since is None or now - self._last_failure < self.SETTLE:
                return
            seconds, refused = now - self._down_since, self._refused
            self._down_since, self._refused = None, 0
        log.warning("database available again after %.0f s; %d requests refused meanwhile", seconds, refused)


availability = Availability()

# A committed transaction is what proves the database usable again (a read may succeed while writes
# still fail, as under an SQLite lock): every session's commit ends an outage.
event.listen(OrmSession, "after_commit", lambda _session: availability.succeeded())


def database_health(engine: Engine) -> None:
    """Raise when the database cannot answer a trivial query (or its file is gone)."""
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def migrate(url: str) -> None:
    """Bring the database at ``url`` up to the code's schema (``intake migrate``)."""
    make_engine(url).dispose()  # creates the SQLite folder
    command.upgrade(alembic_config(url), "head")


def shown_database(url: str) -> str:
    """The database address as printed to people: without its password (or, unparseable, its kind)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url.split(":", 1)[0] + "://…"


def is_unused(url: str) -> bool:
    """True when the database at ``url`` holds nothing anyone did: never migrated (for SQLite: no
    file, or an empty one), or migrated afresh, with no contact bound and no form submitted. Looks
    without creating anything.

    A record file with no row is not enough to call a database new: a submission writes its record
    before its transaction commits, so a kill in between leaves a record beside a database in use."""
    path = _sqlite_path(url) if url.startswith("sqlite") else None
    if path is not None and (not path.exists() or path.stat().st_size == 0):
        return True
    engine = create_engine(url, hide_parameters=True)
    try:
        with engine.connect() as connection:
            if MigrationContext.configure(connection).get_current_revision() is None:
                return True
            used = "SELECT 1 FROM contact UNION ALL SELECT 1 FROM submissionversion LIMIT 1"
            return connection.execute(text(used)).first() is None
    finally:
        engine.dispose()


def check_migrated(engine: Engine) -> None:
    """Refuse to run on a database that is not at the code's schema."""
    head = ScriptDirectory.from_config(alembic_config(str(engine.url))).get_current_head()
    with engine.connect() as connection:
        current = MigrationContext.configure(connection).get_current_revision()
    if current != head:
        state = "尚未初始化" if current is None else f"版本为 {current}，程序需要 {head}"
        raise DatabaseNotMigrated(f"数据库{state}。请先运行：intake migrate")
