"""The console channel as a person or a script uses it: a real ``intake`` process on a real database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import chinese_text, photo_bytes

INTAKE = [sys.executable, "-m", "bot.cli"]
CADRE_LINES = [
    *["/new", "1", "韦丽华", "女", "1985.3", "壮族", "大学本科", "中共党员", "柳江区拉堡镇妇联主席"],
    *[
        "柳州市柳江区拉堡镇柳堡路88号",
        "545100",
        "13877212345",
        "3",
        "2018.6",
        chinese_text(520),
        chinese_text(200),
    ],
]
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(name="env")
def env_fixture(tmp_path: Path) -> dict[str, str]:
    env = {**os.environ, "INTAKE_DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1"}
    env.pop("INTAKE_DATABASE_URL", None)
    subprocess.run([*INTAKE, "migrate"], env=env, cwd=ROOT, check=True, capture_output=True)
    return env


def chat(env: dict[str, str], lines: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*INTAKE, "chat", "--unit", "yufeng", "--user", "cadre-1", *args],
        input="".join(f"{line}\n" for line in lines),
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_choices_print_numbered_and_a_second_run_continues(env: dict[str, str]) -> None:
    first = chat(env, ["/new", "1", "韦丽华", "1"])
    assert first.returncode == 0, first.stderr
    assert "[1] 登记表（已交0份，需2份，逾期，5月25日已截止）" in first.stdout, "the real clock: 2021's past"
    assert "[1] 女\n[2] 男" in first.stdout
    second = chat(env, [])
    assert second.returncode == 0
    assert "欢迎回来" in second.stdout and "（3/16）请输入候选人的出生年月" in second.stdout


def test_a_whole_form_with_attached_photos_prints_the_stored_submission(
    env: dict[str, str], tmp_path: Path
) -> None:
    photos = []
    for number, color in enumerate([(200, 0, 0), (0, 200, 0)]):
        path = tmp_path / f"照片 {number}.jpg"
        path.write_bytes(photo_bytes(color=color))
        photos.append(f'/attach "{path}"')
    answers = [
        *CADRE_LINES,
        *photos,
        "/attach /no/such/file.jpg",
        "1",
    ]
    result = chat(env, answers)
    assert result.returncode == 0, result.stderr
    assert "找不到文件：/no/such/file.jpg" in result.stdout
    assert "已提交《登记表》，编号 #1（第1版）" in result.stdout
    data_dir = Path(env["INTAKE_DATA_DIR"]).resolve()
    assert (data_dir / "submissions" / "yufeng" / "1-v1.json").is_file()
    assert "提交记录" not in result.stdout and ".json" not in result.stdout, "no record path is shown"
    document = next(line for line in result.stdout.splitlines() if line.startswith("文件："))
    assert document.endswith("1-v1.docx") and Path(document.removeprefix("文件：")).stat().st_size > 5000


def test_an_unknown_unit_is_a_clear_message_not_a_traceback(env: dict[str, str]) -> None:
    result = subprocess.run(
        [*INTAKE, "chat", "--unit", "鱼蜂区"], env=env, cwd=ROOT, capture_output=True, text=True, input=""
    )
    assert result.returncode != 0
    assert "找不到单位“鱼蜂区”" in result.stderr and "yufeng  鱼峰区妇联" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unmigrated_database_names_the_command_to_run(tmp_path: Path) -> None:
    env = {**os.environ, "INTAKE_DATA_DIR": str(tmp_path / "fresh")}
    result = subprocess.run(
        [*INTAKE, "chat", "--unit", "yufeng"], env=env, cwd=ROOT, capture_output=True, text=True, input=""
    )
    assert result.returncode == 2
    assert "请先运行：intake migrate" in result.stderr and "Traceback" not in result.stderr


def test_killed_mid_form_and_restarted_nothing_accepted_is_lost(env: dict[str, str]) -> None:
    """SIGKILL the process after each answer has been replied to; the next run continues at the next field."""
    answers = ["韦丽华", "女", "1985.3", "壮族", "大学本科", "中共党员", "柳江区拉堡镇妇联主席"]
    start = chat(env, ["/new", "1"])
    assert "（1/16）" in start.stdout
    for number, answer in enumerate(answers, start=1):
        wanted = f"（{number + 1}/16）"
        seen = ""
        with subprocess.Popen(
            [*INTAKE, "chat", "--unit", "yufeng", "--user", "cadre-1"],
            env=env,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        ) as process:
            assert process.stdin is not None and process.stdout is not None
            process.stdin.write(answer + "\n")
            process.stdin.flush()
            deadline = time.monotonic() + 30
            while wanted not in seen and time.monotonic() < deadline:
                seen += process.stdout.readline()
            process.send_signal(signal.SIGKILL)  # killed while waiting for its next line: no clean exit
            process.wait(timeout=10)
        assert process.returncode == -signal.SIGKILL
        assert wanted in seen, seen
    resumed = chat(env, ["/review"])
    assert "（8/16）请输入候选人的通讯地址" in resumed.stdout
    for answer in ["姓名：韦丽华", "出生年月：1985年3月", "工作单位及职务：柳江区拉堡镇妇联主席"]:
        assert answer in resumed.stdout


def test_an_attached_mp4_is_probed_for_duration_and_size(env: dict[str, str], tmp_path: Path) -> None:
    from tests.test_mp4_probe import mp4

    video = tmp_path / "课程.mp4"
    video.write_bytes(mp4(302, 1280, 720))
    lines = [
        "/new",
        "2",
        "家风第一课",
        "讲授",
        chinese_text(50),
        "覃美玲",
        "1982.07",
        "鹿寨县妇联主席",
        f'/attach "{video}"',
        "查看",
    ]
    result = chat(env, lines)
    assert result.returncode == 0, result.stderr
    assert "课程视频：已上传视频（5分02秒）" in result.stdout


def test_render_writes_samples_stored_submissions_and_the_city_statistics(
    env: dict[str, str], tmp_path: Path
) -> None:
    from docx import Document

    def intake(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*INTAKE, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)

    sample = tmp_path / "登记表.docx"
    assert intake("render", "--sample", "cadre_registration", "-o", str(sample)).returncode == 0
    assert "欧阳春兰" in "".join(
        c.text for t in Document(str(sample)).tables for r in t.rows for c in r.cells
    )
    missing = intake("render", "99", "-o", str(tmp_path / "x.docx"))
    assert missing.returncode != 0 and "没有编号为 99 的提交" in missing.stderr
    assert "Traceback" not in missing.stderr
    city = tmp_path / "统计表.docx"
    assert intake("render", "--statistics", "city", "-o", str(city)).returncode == 0
    cells = [c.text for t in Document(str(city)).tables for r in t.rows for c in r.cells]
    assert "（暂无示范点）" in cells
    unknown = intake("render", "--sample", "nope", "-o", str(tmp_path / "y.docx"))
    assert unknown.returncode != 0 and "没有表单“nope”" in unknown.stderr


def test_a_return_from_组联部_is_shown_the_next_time_the_console_opens(
    env: dict[str, str], tmp_path: Path
) -> None:
    from bot.app import build_engine
    from bot.settings import Settings
    from dialogs.exchange import Inbound
    from dialogs.invites import issue_invite

    answers = [
        *CADRE_LINES,
    ]
    photos = []
    for number in range(2):
        path = tmp_path / f"p{number}.jpg"
        path.write_bytes(photo_bytes(color=(number * 90, 20, 20)))
        photos.append(f"/attach {path}")
    assert "已提交《登记表》" in chat(env, [*answers, *photos, "1"]).stdout
    engine = build_engine(Settings(data_dir=Path(env["INTAKE_DATA_DIR"])))
    code = issue_invite(engine.repository, None, role="supervisor", now=engine.clock()).code
    [notice] = engine.handle(Inbound("telegram", "boss", f"/start {code}"))
    engine.handle(Inbound("telegram", "boss", "1", consent_for=notice.consent_for))
    engine.handle(Inbound("telegram", "boss", "/return 1 请补充工作照说明"))
    engine.repository.engine.dispose()
    opened = chat(env, [])
    assert "【通知】贵单位的#1《登记表》被市妇联组联部退回修改，原因：请补充工作照说明" in opened.stdout
    assert "可直接发送：“修改第1号”“查看1号”" in opened.stdout, "what it suggests, as words to send"
    assert "【通知】" not in chat(env, []).stdout, "shown once"
    reopened = chat(env, ["修改第1号"]).stdout
    assert "市妇联组联部退回的原因：请补充工作照说明\n\n已打开 #1" in reopened, reopened


def test_status_and_pending_take_a_unit_or_an_area(env: dict[str, str]) -> None:
    def intake(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*INTAKE, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)

    whole = intake("status")
    assert whole.returncode == 0 and "鱼峰区  登记表0/2" in whole.stdout and "全市示范点" in whole.stdout
    area = intake("status", "柳州市")  # an area of two units: 市总工会 and 团市委
    assert area.returncode == 0 and "全市示范点" not in area.stdout
    assert (
        "鱼峰区" not in area.stdout.split("\n\n", 1)[1]
        and len([row for row in area.stdout.split("\n\n", 1)[1].splitlines() if row[:1] != "\u3000"]) == 2
    )
    unit = intake("status", "yufeng")
    assert unit.returncode == 0 and "鱼峰区  登记表0/2" in unit.stdout and "城中区" not in unit.stdout
    pending = intake("pending", "柳州市")
    assert pending.returncode == 0 and "鱼峰区" not in pending.stdout and "尚未报齐" in pending.stdout
    wrong = intake("pending", "火星区")
    assert (
        wrong.returncode != 0 and "没有“火星区”这个区域" in wrong.stderr and "Traceback" not in wrong.stderr
    )
