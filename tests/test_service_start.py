"""Starting `intake run` for real: it refuses to collect for a campaign past its retention date (a trial
still runs, marked as one everywhere a person looks), and refuses to start an empty database beside a
data folder full of submissions (a deleted database file must be restored, not silently replaced)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from bot.web import CSRF_HEADER
from dialogs.privacy import TRIAL_NOTE
from storage.database import shown_database
from tests.conftest import current_campaign_file
from tests.test_web_api import free_port, page_csrf

ROOT = Path(__file__).resolve().parent.parent
INTAKE = [sys.executable, "-m", "bot.cli"]


def service_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "INTAKE_DATA_DIR": str(tmp_path / "data"), "PYTHONUNBUFFERED": "1", **extra}
    for name in ("INTAKE_DATABASE_URL", "TELEGRAM_BOT_TOKEN", "INTAKE_CAMPAIGN_FILE"):
        if name not in extra:
            env.pop(name, None)
    return env


@contextmanager
def started(env: dict[str, str], *arguments: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """`intake run` as its own process until the block ends; yields its base URL once it answers, and
    the process (stopped at the end unless the block stopped it)."""
    port = free_port()
    process = subprocess.Popen(
        [*INTAKE, "run", *arguments],
        env={**env, "INTAKE_PORT": str(port)},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _answers(url):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the service did not start"
            time.sleep(0.2)
        yield url, process
    finally:
        if process.poll() is None:
            process.terminate()
        process.communicate(timeout=20)


@contextmanager
def running(env: dict[str, str], *arguments: str) -> Iterator[str]:
    """``started``, for a block that needs only the URL."""
    with started(env, *arguments) as (url, _process):
        yield url


def _answers(url: str) -> bool:
    try:
        return httpx.get(url + "/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def test_a_campaign_past_its_retention_date_does_not_collect(tmp_path: Path) -> None:
    result = subprocess.run(
        [*INTAKE, "run"], env=service_env(tmp_path), cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2
    assert "个人信息保存至 2022年6月30日" in result.stderr and "INTAKE_CAMPAIGN_FILE" in result.stderr
    assert "intake run --trial" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "data" / "intake.db").exists(), "nothing was set up"


def test_a_trial_runs_and_says_so_on_the_page_and_in_the_notice(tmp_path: Path) -> None:
    with running(service_env(tmp_path), "--trial") as url, httpx.Client(base_url=url) as client:
        page = client.get("/")
        assert TRIAL_NOTE in page.text
        printed = (tmp_path / "data").exists()
        assert printed
        codes = subprocess.run(
            [*INTAKE, "invite", "yufeng"], env=service_env(tmp_path), cwd=ROOT, capture_output=True, text=True
        )
        code = codes.stdout.split("的邀请码：", 1)[1][:10]
        [notice] = client.get("/api/join", params={"code": code}).json()["replies"]
        assert TRIAL_NOTE in notice["text"] and "请不要填写真实的个人信息" in notice["text"]
        assert "2022年6月30日" not in notice["text"], "no deletion date in the past is promised"


def test_the_real_service_shows_no_trial_mark(tmp_path: Path) -> None:
    env = service_env(tmp_path, INTAKE_CAMPAIGN_FILE=str(current_campaign_file(tmp_path)))
    with running(env) as url:
        page = httpx.get(url + "/")
        assert page.status_code == 200 and "试用" not in page.text


def test_the_real_service_prints_no_invite_code_to_its_log(tmp_path: Path) -> None:
    """Under systemd what `intake run` prints is kept in the journal: the real service prints how to
    make invites, never a code (a trial prints ready links: nothing real is at stake)."""
    env = service_env(tmp_path, INTAKE_CAMPAIGN_FILE=str(current_campaign_file(tmp_path)))
    with started(env) as (_url, process):
        process.terminate()
        printed, _ = process.communicate(timeout=20)
    assert "intake invite 单位代码" in printed and "intake invite --supervisor" in printed
    assert "code=" not in printed and "邀请链接" not in printed


def test_an_empty_database_beside_stored_submissions_is_refused(tmp_path: Path) -> None:
    env = service_env(tmp_path, INTAKE_CAMPAIGN_FILE=str(current_campaign_file(tmp_path)))
    record = tmp_path / "data" / "submissions" / "yufeng" / "1-v1.json"
    record.parent.mkdir(parents=True)
    record.write_text('{"submission": 1}', encoding="utf-8")
    result = subprocess.run([*INTAKE, "run"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "已有 1 份提交记录" in result.stderr and "intake restore" in result.stderr
    assert not (tmp_path / "data" / "intake.db").exists(), "no fresh database was made beside the old data"
    # Made afresh by hand (intake migrate) it is still an empty database beside the old data.
    subprocess.run([*INTAKE, "migrate"], env=env, cwd=ROOT, check=True, capture_output=True, timeout=60)
    again = subprocess.run([*INTAKE, "run"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert again.returncode == 2 and "intake restore" in again.stderr


def test_a_record_left_by_a_killed_submission_beside_a_database_in_use_does_not_stop_a_start(
    tmp_path: Path,
) -> None:
    """A submission writes its record before its transaction commits: a kill in between leaves a
    record and no row. The database is in use (a contact is bound), so the service starts again."""
    env = service_env(tmp_path, INTAKE_CAMPAIGN_FILE=str(current_campaign_file(tmp_path)))
    subprocess.run([*INTAKE, "migrate"], env=env, cwd=ROOT, check=True, capture_output=True, timeout=60)
    chat = [*INTAKE, "chat", "--unit", "yufeng"]
    subprocess.run(chat, env=env, cwd=ROOT, input="", check=True, capture_output=True, text=True, timeout=60)
    record = tmp_path / "data" / "submissions" / "yufeng" / "1-v1.json"
    record.parent.mkdir(parents=True)
    record.write_text('{"submission": 1}', encoding="utf-8")
    with running(env) as url:
        assert httpx.get(url + "/").status_code == 200


def test_a_trial_never_talks_to_telegram(tmp_path: Path) -> None:
    env = service_env(tmp_path, TELEGRAM_BOT_TOKEN="123456:a-real-bot-would-reach-real-people")
    result = subprocess.run(
        [*INTAKE, "run", "--trial"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and "试用模式只在本机运行网页版" in result.stderr


def test_an_open_notice_stream_does_not_hold_up_a_stop(tmp_path: Path) -> None:
    """SIGTERM (systemd's stop, Ctrl+C) with a phone's page open: the page's event stream is ended
    and the service stops at once, not after the stream's five minutes."""
    env = service_env(tmp_path)
    with started(env, "--trial") as (url, process):
        codes = subprocess.run(
            [*INTAKE, "invite", "yufeng"], env=env, cwd=ROOT, capture_output=True, text=True
        )
        code = codes.stdout.split("的邀请码：", 1)[1][:10]
        with httpx.Client(base_url=url, headers={"Origin": url}, timeout=10) as client:
            guest = page_csrf(client, f"/join?code={code}")
            [notice] = client.get("/api/join", params={"code": code}).json()["replies"]
            agreed = client.post(
                "/api/consent", json={"text": "1", "menu": notice["menu"]}, headers={CSRF_HEADER: guest}
            )
            assert agreed.json()["bound"] is True
            with client.stream("GET", "/api/events", headers={"Accept": "text/event-stream"}) as stream:
                assert stream.status_code == 200
                lines = stream.iter_lines()
                assert next(lines).startswith("retry:"), "the stream is open"
                stopping = time.monotonic()
                process.terminate()
                assert process.wait(timeout=15) in (0, -signal.SIGTERM)  # uvicorn re-raises it once stopped
                took = time.monotonic() - stopping
        assert took < 3, f"the service took {took:.1f} s to stop with a page open"
        assert process.stderr is not None and "Traceback" not in process.stderr.read()


def test_a_printed_database_address_hides_its_password() -> None:
    """`intake migrate`, `intake restore` and the doctor print where the database is, never its password."""
    shown = shown_database("postgresql+psycopg://intake:s3cret-Pass@db.example:5432/intake")
    assert "s3cret" not in shown and shown.startswith("postgresql+psycopg://intake:") and "/intake" in shown
    assert shown_database("sqlite:////var/lib/intake/intake.db") == "sqlite:////var/lib/intake/intake.db"
