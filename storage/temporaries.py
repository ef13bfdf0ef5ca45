"""Temporary files in the data folder, named after the process that writes them.

A file being written (a submission record, an upload arriving, an export ZIP, a backup) is first a
temporary: ``.tmp-<pid>.<start>-<what>``, ``pid`` and ``start`` naming its writer — the process id and
the time the process started (Linux's ``/proc/<pid>/stat``; 0 where the system does not say). A
temporary whose writer is no longer running is abandoned, whatever its age: a kill mid-write left it,
with the personal data inside. The start time tells a writer still running from a new process that
got the same pid (a container's service is pid 1 at every start).

Temporaries named before writers were (``.tmp-<what>``) are abandoned when older than the caller says.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import time
from datetime import timedelta
from pathlib import Path

PREFIX = ".tmp-"
_WRITER = re.compile(r"\.tmp-(\d+)\.(\d+)-")


def _start_of(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot), from /proc; None where it does not say."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    return int(stat.rsplit(b")", 1)[1].split()[19])  # field 22; the name before ")" may hold spaces


def temporary_prefix() -> str:
    """The start of this process's temporaries' names: ``.tmp-<pid>.<start>-``."""
    return _prefix_of(os.getpid())  # asked again each time: a forked worker has its own


@functools.cache
def _prefix_of(pid: int) -> str:
    return f"{PREFIX}{pid}.{_start_of(pid) or 0}-"


def _running(pid: int, start: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: running
    now = _start_of(pid)
    return start == 0 or now is None or now == start


def abandoned(path: Path, unnamed_older_than: timedelta | None = None) -> bool:
    """True for a temporary whose writer is no longer running; one named before writers were, when
    it is older than ``unnamed_older_than`` (None: whatever its age)."""
    if not path.name.startswith(PREFIX):
        return False
    writer = _WRITER.match(path.name)
    if writer is not None:
        return not _running(int(writer[1]), int(writer[2]))
    if unnamed_older_than is None:
        return True
    try:
        return path.stat().st_mtime < time.time() - unnamed_older_than.total_seconds()
    except FileNotFoundError:
        return False


def remove_abandoned(folders: list[Path], unnamed_older_than: timedelta | None = None) -> list[Path]:
    """Delete the abandoned temporaries under ``folders`` (see ``abandoned``); return them."""
    removed: list[Path] = []
    for root in folders:
        for path in sorted(root.rglob(f"{PREFIX}*")) if root.is_dir() else []:
            if path.is_file() and abandoned(path, unnamed_older_than):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    removed.append(path)
    return removed
