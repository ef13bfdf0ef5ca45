"""The data folder's one rule for paths that come from a row or a backup: they stay inside it.

Stored files are named by relative paths kept in rows (``attachment.path``,
``submissionversion.record_path`` and ``document_path``) and in backups' member names. A row or a
backup may have been written by someone else (``intake restore`` of a file from elsewhere): a path
that would lead out of the stored files' folders (``../../etc/passwd``, ``/etc/passwd``, a link that
points out) is refused wherever a path is read, here.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

FILE_FOLDERS = ("files", "submissions")  # the folders rows name files in, and backups hold


def inside(data_dir: Path, relative: str) -> Path | None:
    """The file ``relative`` names under one of ``data_dir``'s ``FILE_FOLDERS``, resolved (links
    followed); None when it would lie anywhere else."""
    parts = PurePosixPath(relative.replace("\\", "/")).parts
    if not parts or parts[0] not in FILE_FOLDERS or ".." in parts:
        return None
    root = data_dir.resolve()
    path = root.joinpath(*parts).resolve()
    return path if path.is_relative_to(root / parts[0]) and path != root / parts[0] else None


def keep_private(data_dir: Path) -> int:
    """Take group's and others' permissions off everything in ``data_dir`` (files 0600, folders
    0700, as the service makes them under its umask 077): a data folder written by an older version,
    or copied in under another umask, holds personal data readable by every user of the machine.
    Returns how many were changed."""
    changed = 0
    if not data_dir.is_dir():
        return 0
    for path in [data_dir, *data_dir.rglob("*")]:
        try:
            mode = path.lstat().st_mode
            if path.is_symlink() or not mode & 0o077:
                continue
            path.chmod(mode & 0o700)
            changed += 1
        except FileNotFoundError:
            continue  # a temporary renamed meanwhile
    return changed
