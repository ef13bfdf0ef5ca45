"""Restore beside an old data folder changes none of its files, and restores nothing from a backup
missing a file it lists or a row names."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlmodel import SQLModel, col

from dialogs.engine import DialogEngine
from storage.backup import LOST_BEFORE, BackupError, backup, restore
from storage.models import Attachment, SubmissionVersion
from tests.test_backup import crafted, everything, restored_into
from tests.test_backup import filled_fixture as filled_fixture

EMPTY: dict[str, list[dict[str, object]]] = {t.name: [] for t in SQLModel.metadata.sorted_tables}


def stored_files(data_dir: Path) -> list[str]:
    """The backup's members that are stored files, in the order a restore meets them."""
    return [
        str(path.relative_to(data_dir))
        for folder in ("files", "submissions")
        for path in sorted((data_dir / folder).rglob("*"))
        if path.is_file()
    ]


def test_a_damaged_backup_restored_beside_the_old_data_folder_deletes_none_of_its_files(
    filled: DialogEngine, tmp_path: Path
) -> None:
    """Review item 1: a two-file backup whose second file was changed, restored with the old data
    folder in place (as intake run tells the operator to), deleted the first file, there before."""
    repository = filled.repository
    archive = tmp_path / "backup.tar.gz"
    backup(repository.engine, repository.data_dir, archive)
    names = stored_files(repository.data_dir)
    assert len(names) >= 3
    last = names[-1]
    damaged = crafted(  # changed after it was made: the manifest still lists the first bytes
        archive,
        tmp_path / "damaged.tar.gz",
        lambda name, data: bytes([data[0] ^ 1]) + data[1:] if name == last else data,
        relist=False,
    )
    before = everything(repository.engine, repository.data_dir)[1]
    missing = repository.data_dir / names[1]  # lost with the old database: the restore would write it
    missing.unlink()
    target, _ = restored_into(tmp_path, damaged)
    with pytest.raises(BackupError, match=f"{last} 与清单记录的校验值不符"):
        restore(target, repository.data_dir, damaged)
    after = everything(repository.engine, repository.data_dir)[1]
    assert after == {k: v for k, v in before.items() if k != names[1]}, "every file there before, unchanged"
    assert everything(target, tmp_path / "unused")[0] == EMPTY
    assert not list(repository.data_dir.rglob(".tmp-*")), "no temporary left"

    restore(target, repository.data_dir, archive)  # the good backup, beside the same folder
    assert everything(target, repository.data_dir) == everything(repository.engine, repository.data_dir)
    assert everything(repository.engine, repository.data_dir)[1] == before, "the lost file is back"


def test_a_file_already_there_with_other_bytes_is_refused_and_nothing_changes(
    filled: DialogEngine, tmp_path: Path
) -> None:
    repository = filled.repository
    archive = tmp_path / "backup.tar.gz"
    backup(repository.engine, repository.data_dir, archive)
    names = stored_files(repository.data_dir)
    gone, changed = repository.data_dir / names[0], repository.data_dir / names[-1]
    gone.unlink()
    changed.write_bytes(b"written since the backup")
    before = everything(repository.engine, repository.data_dir)[1]
    target, _ = restored_into(tmp_path, archive)
    with pytest.raises(BackupError) as refused:
        restore(target, repository.data_dir, archive)
    assert str(refused.value) == (
        f"数据目录中已有 {names[-1]}，内容与备份中的不同。没有恢复任何内容，已有的文件都没有改动。"
        "请把现在的数据目录移到别处（或换一个空的数据目录）后再恢复。"
    )
    assert everything(repository.engine, repository.data_dir)[1] == before and not gone.exists()
    assert everything(target, tmp_path / "unused")[0] == EMPTY


def without(source: Path, target: Path, name: str, *, unlist: bool = False) -> Path:
    """``source`` with its member ``name`` left out (and out of the manifest's list: ``unlist``)."""
    with tarfile.open(source, "r:gz") as original, tarfile.open(target, "w:gz", compresslevel=1) as copy:
        for member in original:
            data = original.extractfile(member).read()  # type: ignore[union-attr]
            if member.name == name:
                continue
            if member.name == "manifest.json" and unlist:
                manifest = json.loads(data)
                del manifest["members"][name]
                manifest["counts"]["files"] -= 1  # as a backup of a folder that had lost it says
                data = json.dumps(manifest).encode()
            info = tarfile.TarInfo(member.name)
            info.size = len(data)
            copy.addfile(info, io.BytesIO(data))
    return target


def test_a_backup_missing_a_file_it_lists_restores_nothing_and_one_lost_before_it_is_counted(
    filled: DialogEngine, tmp_path: Path
) -> None:
    """Review item 2: a file listed in the manifest but missing from the archive was skipped, and
    the count of files reported was the number restored."""
    repository = filled.repository
    archive = tmp_path / "backup.tar.gz"
    counts = backup(repository.engine, repository.data_dir, archive)
    with repository.engine.connect() as connection:
        photos = list(connection.execute(select(col(Attachment.path))).scalars())
        records = list(connection.execute(select(col(SubmissionVersion.record_path))).scalars())
    photo, record = photos[0], records[0]
    # The printed form: no row says it is stored (it is printed again when asked for), the list does.
    [other] = [n for n in stored_files(repository.data_dir) if n not in {*photos, *records}]
    assert other.endswith(".docx")
    damaged = without(archive, tmp_path / "listed.tar.gz", other)
    target, data_dir = restored_into(tmp_path / damaged.stem, damaged)
    with pytest.raises(BackupError) as refused:
        restore(target, data_dir, damaged)
    assert str(refused.value).startswith(f"备份文件不完整：缺少 {other}，"), refused.value
    assert "没有恢复任何内容" in str(refused.value)
    assert everything(target, data_dir) == (EMPTY, {}), "no row and no file restored"
    # A file a row names that the manifest does not list either: the data folder had lost it before
    # the backup was made. Refusing would leave nothing to restore from: the rest comes back, and
    # what is missing is counted.
    for lost in (photo, record):
        damaged = without(archive, tmp_path / f"lost-{lost.rsplit('/', 1)[-1]}.tar.gz", lost, unlist=True)
        target, data_dir = restored_into(tmp_path / damaged.stem, damaged)
        restored = restore(target, data_dir, damaged)
        assert restored[LOST_BEFORE] == 1, restored
        assert not (data_dir / lost).exists() and (data_dir / other).exists()
        assert everything(target, data_dir)[0] != EMPTY, "every row restored"
    first_format = crafted(archive, tmp_path / "v1.tar.gz", format_1=True)
    damaged = without(first_format, tmp_path / "v1-missing.tar.gz", other)
    target, data_dir = restored_into(tmp_path / "v1", damaged)
    count = counts["files"]
    with pytest.raises(BackupError, match=f"清单记有 {count} 个文件，备份里只有 {count - 1} 个"):
        restore(target, data_dir, damaged)
    assert everything(target, data_dir) == (EMPTY, {})
    target, data_dir = restored_into(tmp_path / "whole", archive)
    assert restore(target, data_dir, archive) == counts
