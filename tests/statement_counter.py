"""Counting what a stretch of work sends to the database: SQL statements and commits, by SQLAlchemy's
engine events (``before_cursor_execute``, ``commit``). Statements a driver sends on its own (SQLite's
implicit ``BEGIN``) are not counted."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, event


@dataclass
class Tally:
    """What one stretch of work sent: each statement's SQL, and the commits."""

    statements: list[str] = field(default_factory=list)
    commits: int = 0

    def __len__(self) -> int:
        return len(self.statements)

    def lines(self) -> str:
        """The statements, one short line each (for an assertion's message)."""
        return "\n".join(" ".join(statement.split())[:160] for statement in self.statements)


@contextmanager
def counting(engine: Engine) -> Iterator[Tally]:
    """Count what ``engine`` sends while the block runs."""
    tally = Tally()

    def statement(_conn: Any, _cursor: Any, sql: str, *_rest: Any) -> None:
        tally.statements.append(sql)

    def commit(_conn: Any) -> None:
        tally.commits += 1

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "commit", commit)
    try:
        yield tally
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "commit", commit)
