"""组联部's 导出 as a job: promised in the answer, made apart from the messages, sent once.

* an export that prints many forms holds up no one else's message (issue 22, item 16);
* the videos' ZIP survives a SIGKILL of the real ``intake run`` while it is written: after the
  restart it arrives once, whole, and no half-written file is left (issue 22, item 4);
* a job whose worker stopped is made again; a job finished twice is sent once.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from bot.app import Declarations, assemble_engine, load_declarations, open_repository
from bot.mp4_probe import video_file
from bot.settings import Settings
from bot.web import serve_web
from dialogs.engine import DialogEngine
from dialogs.exchange import ExportKind, Inbound
from dialogs.export_jobs import FORMS_FAILED, HOLD, MAX_ATTEMPTS
from storage.database import migrate
from storage.models import utc_now
from tests.conftest import Chat, FakeClock, chinese_text
from tests.test_dialog_forms import fill_cadre, start
from tests.test_mp4_probe import mp4
from tests.test_service_under_fire import Service, service_env
from tests.test_supervision import supervisor
from tests.test_web_api import browser, free_port, post, say, sign_in, submit_site, web_settings

# --- one export does not hold up the others ----------------------------------------------------------


@contextlib.contextmanager
def serving_web(engine: DialogEngine) -> Iterator[str]:
    """``serve_web`` as ``intake run`` runs it (its export loop too), on a free loopback port."""
    port = free_port()
    ready: dict[str, Any] = {}

    async def run() -> None:
        ready["loop"], ready["stop"] = asyncio.get_running_loop(), asyncio.Event()
        await serve_web(web_settings(port=port), engine, ready["stop"], send_nudges=False)

    thread = threading.Thread(target=asyncio.run, args=(run(),), daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{base}/healthz", timeout=1).text == "ok":
                break
        time.sleep(0.05)
    try:
        yield base
    finally:
        ready["loop"].call_soon_threadsafe(ready["stop"].set)
        thread.join(timeout=10)


def wait_for_document(client: httpx.Client, csrf: str, timeout: float) -> tuple[list[dict[str, Any]], str]:
    """The notices that came until one carried a document, and that document's link."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen += post(client, csrf, "/api/notices", {}).json()["notices"]
        links = [str(notice["document"]["url"]) for notice in seen if notice.get("document")]
        if links:
            return seen, links[0]
        time.sleep(0.2)
    raise AssertionError(f"no document arrived in {timeout} s: {seen}")


def test_an_export_printing_forms_holds_up_no_other_contacts_message(
    engine: DialogEngine, declarations: Declarations, clock: FakeClock
) -> None:
    """导出 has three forms nobody opened to print; while it prints (held here, as a slow printing
    of many forms would be), another contact's message is answered at once, and the ZIP comes after."""
    numbers = [submit_site(engine, "yufeng", f"colleague-{n}") for n in range(3)]
    printing, go_on = threading.Event(), threading.Event()

    def printing_slowly(record: Any) -> bytes:
        printing.set()
        assert go_on.wait(30)
        return declarations.render(record)

    # The service prints with its declarations' ``render`` (shipped renderers and imported forms).
    slow = replace(declarations, render=printing_slowly)
    with (
        serving_web(assemble_engine(slow, engine.repository, clock)) as base,
        browser(base) as boss,
        browser(base) as contact,
    ):
        boss_csrf = sign_in(boss, engine, None, "supervisor")
        contact_csrf = sign_in(contact, engine, "liunan")
        answered: list[list[dict[str, object]]] = []
        asking = threading.Thread(target=lambda: answered.append(say(boss, boss_csrf, "导出")), daemon=True)
        asking.start()
        assert printing.wait(10), "the export started printing"
        began = time.monotonic()
        replies = say(contact, contact_csrf, "/new")
        waited = time.monotonic() - began
        assert any("请选择要填写的表" in str(reply["text"]) for reply in replies), replies
        assert not go_on.is_set() and waited < 2, f"answered in {waited:.2f} s while the export prints"
        asking.join(timeout=5)
        assert answered and "正在生成全部表格" in str(answered[0][0]["text"]), "导出 answered at once too"
        go_on.set()
        _notices, link = wait_for_document(boss, boss_csrf, timeout=30)
        archive = boss.get(link)
        assert archive.status_code == 200
        with zipfile.ZipFile(io.BytesIO(archive.content)) as exported:
            for number in numbers:
                assert any(f"/#{number}-第1版-" in name for name in exported.namelist()), number


# --- a kill while the videos' ZIP is written ---------------------------------------------------------

VIDEO_SIZE = 768 * 1024 * 1024  # a course video as they come: hundreds of MB (sparse here)


def submit_course_with_video(engine: DialogEngine) -> Path:
    """鱼峰区妇联's 课程推荐表 with one course video; the stored video's path."""
    chat = Chat(engine)
    start(chat, "课程推荐表")
    for number, title in enumerate(["家风第一课", "家风第二课"]):
        if number:
            chat.send("添加一节课程")
        for answer in [title, "讲授", chinese_text(50), "覃美玲", "1982.07", "鹿寨县妇联主席"]:
            chat.send(answer)
        if number == 0:
            video = video_file(mp4(300, 1280, 720, payload=100_000), file_name="第一课.mp4")
            assert video is not None
            chat.send("", video)
        else:
            chat.send("跳过")
    chat.send("填写完毕，下一步")
    for answer in ["韦丽华 鹿寨县妇联主席", "13907721234"]:
        chat.send(answer)
    assert "已提交" in chat.send("确认提交"), chat.text
    sha = engine.repository.versions(1)[-1].answers["courses"][0]["video"]["sha256"]
    path = engine.repository.file_path(sha)
    assert path is not None
    with path.open("r+b") as grown:  # as large as a real one, without writing it
        grown.truncate(VIDEO_SIZE)
    return path


def sha256_of(stream: Any) -> str:
    digest = hashlib.sha256()
    while chunk := stream.read(1 << 20):
        digest.update(chunk)
    return digest.hexdigest()


def partial_videos(exports: Path) -> list[Path]:
    return [p for p in exports.glob(".tmp-*课程视频*.zip") if p.is_file()]


def being_written(exports: Path) -> Path | None:
    """The videos' ZIP while it is written (its temporary, with something in it), or None."""
    for path in partial_videos(exports):
        with contextlib.suppress(FileNotFoundError):  # finished (renamed) meanwhile
            if path.stat().st_size > 0:
                return path
    return None


def test_a_videos_zip_cut_by_a_kill_arrives_once_and_whole_after_the_restart(tmp_path: Path) -> None:
    env = service_env(tmp_path)
    settings = Settings(
        data_dir=Path(env["INTAKE_DATA_DIR"]), campaign_file=Path(env["INTAKE_CAMPAIGN_FILE"])
    )
    migrate(settings.resolved_database_url())
    declarations = load_declarations(settings)
    engine = assemble_engine(declarations, open_repository(settings, declarations))
    video = submit_course_with_video(engine)
    exports = settings.data_dir.resolve() / "exports"
    service = Service(env, tmp_path / "service.log")
    service.start()
    try:
        with browser(service.base) as boss:
            csrf = sign_in(boss, engine, None, "supervisor")
            said = " ".join(str(reply["text"]) for reply in say(boss, csrf, "导出"))
            assert "正在生成全部表格" in said and "课程视频共 1 个" in said, said
            deadline = time.monotonic() + 60
            while (partial := being_written(exports)) is None:
                assert time.monotonic() < deadline, "the videos' ZIP was never being written"
                time.sleep(0.005)
            service.kill()  # mid-write: what 组联部 were promised is on its way, half done
            cut = partial.stat().st_size
            assert 0 < cut < VIDEO_SIZE, "killed while the ZIP was being written"
            assert not list(exports.glob("[!.]*课程视频*.zip")), "no videos' ZIP was finished"

            service.start()
            seen: list[dict[str, Any]] = []
            deadline = time.monotonic() + HOLD.total_seconds() + 90
            while not [n for n in seen if "课程视频（" in str(n["text"])]:
                assert time.monotonic() < deadline, f"the videos' ZIP never came: {seen}"
                seen += post(boss, csrf, "/api/notices", {}).json()["notices"]
                time.sleep(0.3)
            time.sleep(3)  # a second copy would come by now
            seen += post(boss, csrf, "/api/notices", {}).json()["notices"]
            [videos] = [n for n in seen if "课程视频（" in str(n["text"])]
            assert len([n for n in seen if "全部表格、照片和汇总表" in str(n["text"])]) <= 1
            assert not partial_videos(exports) and not list(exports.glob(".tmp-*")), "no partial file left"
            assert videos["document"]["label"] == "下载课程视频（ZIP 压缩包）", "the page says what it is"
            [finished] = list(exports.glob("*课程视频*.zip"))
            link = urlsplit(str(videos["document"]["url"]))  # the file's path, and its grant (?g=)
            assert unquote(link.path).endswith(finished.name) and link.query.startswith("g=")
            with boss.stream("GET", str(videos["document"]["url"])) as download:
                assert download.status_code == 200
                with (tmp_path / "downloaded.zip").open("wb") as target:
                    for chunk in download.iter_bytes(1 << 20):
                        target.write(chunk)
        with zipfile.ZipFile(tmp_path / "downloaded.zip") as archive:
            [entry] = archive.infolist()
            assert entry.filename == "鱼峰区妇联/桂姐姐履职小课堂/#1-第1节-家风第一课.mp4"
            assert entry.file_size == VIDEO_SIZE
            with archive.open(entry) as inside, video.open("rb") as original:
                assert sha256_of(inside) == sha256_of(original), "complete, byte for byte"
        log = (tmp_path / "service.log").read_text(encoding="utf-8", errors="replace")
        assert "Traceback" not in log and "家风第一课" not in log, "no traceback, no answers in the log"
        jobs = engine.repository.export_pending(engine.campaign.id, "videos", "web", videos_chat(engine))
        assert not jobs, "the job is done"
    finally:
        service.stop()
        for big in [*exports.glob("*.zip"), *exports.glob(".tmp-*"), tmp_path / "downloaded.zip", video]:
            big.unlink(missing_ok=True)


def videos_chat(engine: DialogEngine) -> str:
    [chat] = engine.supervisor_chats("web")
    return chat


# --- the jobs in storage -----------------------------------------------------------------------------


def test_a_job_whose_worker_stopped_is_made_again_and_sent_once(
    engine: DialogEngine, clock: FakeClock, chat: Chat
) -> None:
    fill_cadre(chat)
    boss = supervisor(engine, clock)
    engine.handle(Inbound("telegram", boss, "导出"))
    repository = engine.repository
    now = clock()
    claimed = repository.claim_export_job(engine.campaign.id, now, now + HOLD)
    assert claimed is not None and claimed.kind == ExportKind.FORMS and claimed.attempts == 1
    assert repository.claim_export_job(engine.campaign.id, now, now + HOLD) is None, "held: not twice"
    assert engine.run_export_jobs() == 0, "another worker holds it"
    clock.now = now + HOLD + timedelta(seconds=1)  # that worker was killed: its hold lapsed
    assert engine.run_export_jobs() == 1

    def sent() -> list[Any]:
        return [m for m in repository.due_messages("telegram", utc_now()) if "document" in m.payload]

    assert len(sent()) == 1
    assert not repository.finish_export_job(claimed.id, "done", clock(), {"text": "again"}), "once"
    assert len(sent()) == 1 and engine.run_export_jobs() == 0


def test_an_export_that_kills_its_worker_every_time_is_given_up_and_said_so(
    engine: DialogEngine, clock: FakeClock, chat: Chat
) -> None:
    """A job whose making kills the process (out of memory, say) raises nothing: each claim counts
    an attempt, and the claim after the last attempt marks it failed and tells 组联部 what to do."""
    fill_cadre(chat)
    boss = supervisor(engine, clock)
    engine.handle(Inbound("telegram", boss, "导出"))
    repository = engine.repository
    for attempt in range(1, MAX_ATTEMPTS + 1):
        now = clock()
        claimed = repository.claim_export_job(engine.campaign.id, now, now + HOLD)
        assert claimed is not None and claimed.attempts == attempt
        clock.now = now + HOLD + timedelta(seconds=1)  # killed while it wrote: its hold lapsed
    assert engine.run_export_jobs() == 1, "given up: finished, as failed"
    assert not list((repository.data_dir / "exports").glob("*.zip")), "not started a fourth time"
    [told] = [m.payload for m in repository.due_messages("telegram", utc_now()) if m.chat_key == boss]
    assert told == {"text": FORMS_FAILED}
    assert engine.run_export_jobs() == 0 and not repository.export_pending(
        engine.campaign.id, ExportKind.FORMS, "telegram", boss
    )
