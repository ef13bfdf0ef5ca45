"""A temporary written by another container or host sharing the data folder is never taken for a
killed writer's: its pids mean nothing here, so it goes only when old (or by intake purge). Every
whole write reaches the disk before it is reported."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

import pytest

from bot.app import Declarations
from dialogs.engine import DialogEngine
from dialogs.exports import ExportContent, write_export
from storage.backup import backup, purge
from storage.repository import STALE_TEMPORARY, Repository
from tests.conftest import SHANGHAI
from tests.test_backup import filled_fixture as filled_fixture

ELSEWHERE = """
import os, socket, sys
from pathlib import Path
if sys.argv[4] == "host":  # the Telegram service's container, beside intake run
    socket.gethostname = lambda: "telegram-service"
else:  # the same host name, another pid namespace (a container with the host's name)
    readlink = os.readlink
    os.readlink = lambda path: "pid:[4026532999]" if path == "/proc/self/ns/pid" else readlink(path)
from storage.database import make_engine
from storage.repository import Repository
from storage.temporaries import temporary_prefix

repository = Repository(make_engine(sys.argv[1]), Path(sys.argv[2]))
repository.spool_path().write_bytes(sys.argv[3].encode() * 1000)  # an upload arriving there
record = repository.data_dir / "submissions" / "yufeng" / f"{temporary_prefix()}k2j4h6"
record.parent.mkdir(parents=True, exist_ok=True)
record.write_bytes(sys.argv[3].encode())  # a submission record being written there
"""


def written_elsewhere(repository: Repository, where: str) -> list[Path]:
    """The temporaries a writer elsewhere is writing (it has gone from this namespace's sight: here,
    its process has ended, as another container's is never seen)."""
    before = set(repository.data_dir.rglob(".tmp-*"))
    personal = "韦丽华 13877212345 柳州市柳江区拉堡镇柳堡路88号"
    arguments = [str(repository.engine.url), str(repository.data_dir), personal, where]
    subprocess.run(
        [sys.executable, "-c", ELSEWHERE, *arguments],
        cwd=Path(__file__).resolve().parent.parent,
        check=True,
    )
    written = sorted(set(repository.data_dir.rglob(".tmp-*")) - before)
    assert len(written) == 2
    return written


@pytest.mark.parametrize("where", ["host", "namespace"])
def test_start_up_leaves_another_hosts_temporaries_until_they_are_old(
    repository: Repository, where: str
) -> None:
    """Review item 3: the start-up sweep judged every temporary by a pid in its own namespace, and
    deleted the uploads and records another container sharing the data folder was still writing."""
    elsewhere = written_elsewhere(repository, where)
    assert repository.remove_stale_temporaries() == 0
    assert all(path.exists() for path in elsewhere), "its writer may be running where it cannot be seen"
    old = time.time() - STALE_TEMPORARY.total_seconds() - 60
    for path in elsewhere:
        os.utime(path, (old, old))
    assert repository.remove_stale_temporaries() == 2 and not any(path.exists() for path in elsewhere)


def test_purge_with_every_service_stopped_removes_another_hosts_temporaries(filled: DialogEngine) -> None:
    repository = filled.repository
    elsewhere = written_elsewhere(repository, "host")
    mine = repository.spool_path()
    removed = purge(
        repository.engine, repository.data_dir, filled.campaign.id, datetime(2000, 1, 1, tzinfo=SHANGHAI)
    )
    assert set(removed.files) == {str(path.relative_to(repository.data_dir)) for path in elsewhere}
    assert not any(path.exists() for path in elsewhere) and mine.exists()


@pytest.fixture(name="synced")
def synced_fixture(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """What reaches the disk, in order: ("fsync", path) and ("rename", path) as they happen."""
    happened: list[tuple[str, str]] = []
    fsync, replace = os.fsync, os.replace

    def recorded_fsync(fd: int) -> None:
        happened.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        fsync(fd)

    def recorded_replace(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
        happened.append(("rename", str(target)))
        replace(source, target)

    monkeypatch.setattr(os, "fsync", recorded_fsync)
    monkeypatch.setattr(os, "replace", recorded_replace)
    return happened


def flushed_then_named(happened: list[tuple[str, str]], target: Path) -> bool:
    """True when ``target`` was renamed into place after a temporary's bytes reached the disk, and
    its folder was flushed after the rename."""
    steps = [
        "folder" if path == str(target.parent) else what
        for what, path in happened
        if path in (str(target), str(target.parent)) or Path(path).name.startswith(".tmp-")
    ]
    return steps[-3:] == ["fsync", "rename", "folder"]


def test_a_backup_an_export_and_a_stored_file_reach_the_disk_before_they_are_reported(
    filled: DialogEngine, declarations: Declarations, tmp_path: Path, synced: list[tuple[str, str]]
) -> None:
    """Review item 4: the backup's archive and the export's ZIP were renamed into place unflushed,
    and reported (the job's message queued, "已备份") while still only in the page cache."""
    repository = filled.repository
    archive = tmp_path / "backups" / "backup.tar.gz"
    backup(repository.engine, repository.data_dir, archive)
    assert flushed_then_named(synced, archive), synced

    def build(_content: ExportContent, target: BinaryIO) -> None:
        target.write(b"PK")

    now = datetime(2021, 6, 1, 9, 30, tzinfo=SHANGHAI)
    zip_path = write_export(
        repository, declarations.campaign, declarations.forms, now, declarations.render, build
    )
    assert flushed_then_named(synced, zip_path), synced
    jpeg = b"\xff\xd8\xff a new photo"
    photo = repository.store_file(jpeg, kind="photo", mime="image/jpeg", extension="jpg")
    assert flushed_then_named(synced, repository.data_dir / photo.path), synced
    spooled = repository.spool_path()
    spooled.write_bytes(b"\x00\x00\x00\x18ftypmp42 a video")
    video = repository.store_spooled(spooled, kind="video", mime="video/mp4", extension="mp4")
    assert flushed_then_named(synced, repository.data_dir / video.path), synced
