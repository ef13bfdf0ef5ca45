"""Temporary files in the data folder, named after the process that writes them, and whole writes.

A file being written (a submission record, an upload arriving, an export ZIP, a backup) is first a
temporary: ``.tmp-h<host>.<pid>.<start>-<what>``. ``host`` names where its writer runs — a hash of the
host name and of the pid namespace (``/proc/self/ns/pid``): a container has its own; ``pid`` and
``start`` name the writer there — the process id and the time the process started (Linux's
``/proc/<pid>/stat``; 0 where the system does not say).

A temporary written here whose writer is no longer running is abandoned, whatever its age: a kill
mid-write left it, with the personal data inside. The start time tells a writer still running from
a new process that got the same pid (a container's service is pid 1 at every start). A temporary
written elsewhere (another container or host sharing the data folder: its pids mean nothing here),
or named before writers were (``.tmp-<pid>.<start>-<what>``, ``.tmp-<what>``), is abandoned only when
older than the caller says: its writer may be running where it cannot be seen.

``write_whole`` writes a file that a crash leaves either as it was or whole, never half-written.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import re
import secrets
import socket
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

PREFIX = ".tmp-"
_WRITER = re.compile(r"\.tmp-h([0-9a-f]{8})\.(\d+)\.(\d+)-")


def _start_of(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot), from /proc; None where it does not say."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    return int(stat.rsplit(b")", 1)[1].split()[19])  # field 22; the name before ")" may hold spaces


def host_id() -> str:
    """Where this process runs, in 8 hex digits: its host name and pid namespace, hashed."""
    try:
        namespace = os.readlink("/proc/self/ns/pid")  # "pid:[4026531836]"; a container has its own
    except OSError:
        namespace = ""
    return hashlib.sha256(f"{socket.gethostname()}\0{namespace}".encode()).hexdigest()[:8]


def temporary_prefix() -> str:
    """The start of this process's temporaries' names: ``.tmp-h<host>.<pid>.<start>-``."""
    return _prefix_of(os.getpid())  # asked again each time: a forked worker has its own


@functools.cache
def _prefix_of(pid: int) -> str:
    return f"{PREFIX}h{host_id()}.{pid}.{_start_of(pid) or 0}-"


def _running(pid: int, start: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: running
    now = _start_of(pid)
    return start == 0 or now is None or now == start


def abandoned(path: Path, unseen_older_than: timedelta | None = None) -> bool:
    """True for a temporary written here whose writer is no longer running; for one whose writer
    cannot be seen from here (written on another host or container, or named before writers were),
    when it is older than ``unseen_older_than`` (None: whatever its age — every service stopped)."""
    if not path.name.startswith(PREFIX):
        return False
    writer = _WRITER.match(path.name)
    if writer is not None and writer[1] == host_id():
        return not _running(int(writer[2]), int(writer[3]))
    if unseen_older_than is None:
        return True
    try:
        return path.stat().st_mtime < time.time() - unseen_older_than.total_seconds()
    except FileNotFoundError:
        return False


def remove_abandoned(folders: list[Path], unseen_older_than: timedelta | None = None) -> list[Path]:
    """Delete the abandoned temporaries under ``folders`` (see ``abandoned``); return them."""
    removed: list[Path] = []
    for root in folders:
        for path in sorted(root.rglob(f"{PREFIX}*")) if root.is_dir() else []:
            if path.is_file() and abandoned(path, unseen_older_than):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    removed.append(path)
    return removed


def write_whole(path: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write ``path`` through ``write`` so that a crash leaves either the old file or the whole new
    one: a temporary beside it (this process's, readable by its owner only) is written, flushed to
    the disk, renamed, and the folder flushed too. If ``write`` raises, the temporary goes."""
    temporary = path.with_name(f"{temporary_prefix()}{secrets.token_hex(4)}-{path.name}")
    try:
        with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as stream:
            write(stream)
        put_in_place(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def put_in_place(written: Path, path: Path) -> None:
    """Give a file written in full (``written``, on ``path``'s file system) its name, durably: its
    bytes reach the disk before the rename, and the rename before this returns."""
    with written.open("rb+") as stream:
        os.fsync(stream.fileno())
    os.replace(written, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
