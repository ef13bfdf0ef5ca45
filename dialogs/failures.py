"""How an unexpected failure is written to the log: one line with its type and where it happened.

Never the exception's message, nor the values of local variables: either may quote an answer, a
name, a phone number or a statement's parameters. The innermost frames (file, line, function) are
enough to find the bug.
"""

from __future__ import annotations

import logging
import traceback
from pathlib import Path

from storage.database import availability, is_unavailable

log = logging.getLogger(__name__)

FRAMES = 4


def failure_line(error: BaseException) -> str:
    """``ValueError at handlers/field.py:57 answer ← dialogs/router.py:84 in_draft ← …``."""
    frames = traceback.extract_tb(error.__traceback__)[-FRAMES:]
    where = " ← ".join(f"{_short(frame.filename)}:{frame.lineno} {frame.name}" for frame in reversed(frames))
    return f"{type(error).__name__} at {where}" if where else type(error).__name__


def _short(filename: str) -> str:
    """A path from the project's top folder (``dialogs/engine.py``) or a library's (``starlette/…``)."""
    parts = Path(filename).parts
    for anchor in ("site-packages", "dist-packages"):
        if anchor in parts:
            return "/".join(parts[parts.index(anchor) + 1 :])
    return "/".join(parts[-2:])


def report_failure(error: BaseException, doing: str) -> None:
    """Log a failure of a background loop (reminders, the Telegram inbox): an unavailable database
    once per outage (``storage.database.availability``), anything else as one ``failure_line``."""
    if is_unavailable(error):
        availability.failed(error)
    else:
        log.error("%s failed: %s", doing, failure_line(error))
