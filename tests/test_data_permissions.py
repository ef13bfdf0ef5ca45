"""Issue 22 item 18 (first half): the data folder holds personal data, so everything in it is its
owner's only — files 0600, folders 0700 — whatever the umask ``intake`` is started with, and a data
folder an older version left readable is made private at start-up.

Each command runs as its own process, as a deployer runs it, under the common umask 022."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import photo_bytes
from tests.test_console import CADRE_LINES
from tests.test_mp4_probe import mp4
from tests.test_service_start import INTAKE, ROOT, service_env, started


@pytest.fixture(name="umask_022")
def umask_022_fixture() -> Iterator[None]:
    """The umask most systems start a shell with (group and others may read what is written)."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def readable_by_others(data_dir: Path) -> list[str]:
    """Every file and folder under ``data_dir`` (itself too) that group or others may use, with its mode."""
    return [
        f"{path.relative_to(data_dir.parent)} {stat.filemode(path.stat().st_mode)}"
        for path in [data_dir, *sorted(data_dir.rglob("*"))]
        if path.stat().st_mode & 0o077
    ]


def test_everything_the_service_writes_is_its_owners_only(umask_022: None, tmp_path: Path) -> None:
    env = service_env(tmp_path)
    data_dir = tmp_path / "data"
    older = data_dir / "files" / "ab" / ("ab" * 32 + ".jpg")  # left by an older version, under umask 022
    older.parent.mkdir(parents=True)
    older.write_bytes(b"\xff\xd8\xff")
    assert readable_by_others(data_dir), "the test starts from a readable folder"
    subprocess.run([*INTAKE, "migrate"], env=env, cwd=ROOT, check=True, capture_output=True)
    photos = []
    for number, color in enumerate([(200, 0, 0), (0, 200, 0)]):
        path = tmp_path / f"照片{number}.jpg"
        path.write_bytes(photo_bytes(color=color))
        photos.append(f"/attach {path}")
    video = tmp_path / "课程.mp4"
    video.write_bytes(mp4(300, 1280, 720, payload=1000))
    lines = [*CADRE_LINES, *photos, "1", "/new", "2", "家风第一课", "讲授", "家" * 50, "覃美玲", "1982.07"]
    lines += ["鹿寨县妇联主席", f"/attach {video}"]
    filled = subprocess.run(
        [*INTAKE, "chat", "--unit", "yufeng", "--user", "cadre-1"],
        input="".join(f"{line}\n" for line in lines),
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "已提交《登记表》" in filled.stdout, filled.stdout[-2000:]
    exported = subprocess.run([*INTAKE, "export"], env=env, cwd=ROOT, capture_output=True, text=True)
    assert exported.returncode == 0, exported.stderr
    with started(env, "--trial") as (url, _process):
        assert httpx.get(url + "/", timeout=10).status_code == 200
        written = {path.name for path in data_dir.rglob("*")}
        assert {"intake.db-wal", "1-v1.json", "1-v1.docx"} <= written, written
        assert any(name.endswith(".zip") for name in written) and any(n.endswith(".mp4") for n in written)
        assert readable_by_others(data_dir) == [], "while the service runs"
    assert readable_by_others(data_dir) == []
