"""The whole product on Telegram: the real, unmodified python-telegram-bot talking to a Bot API
emulator on loopback (see tests/telegram_emulator/), as a unit's contact would use it on a phone."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from docx import Document

from bot.settings import Settings
from bot.telegram_service import serve
from dialogs.engine import DialogEngine
from dialogs.exchange import DocumentRef, Inbound
from dialogs.invites import issue_invite
from tests.conftest import chinese_text, current_campaign_file, photo_bytes
from tests.telegram_emulator import BotMessage, EmulatedUser, Emulator
from tests.telegram_emulator.fixtures import emulator_fixture  # noqa: F401
from tests.test_telegram_webhook import free_port

ROOT = Path(__file__).resolve().parent.parent


class Phone:
    """One emulated user, remembering which bot messages it has already read."""

    def __init__(self, user: EmulatedUser) -> None:
        self.user = user
        self.seen = 0

    def expect(self, fragment: str, timeout: float = 15) -> BotMessage:
        """The next bot message containing ``fragment`` (earlier unread ones are skipped)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            messages = self.user.messages()
            for index in range(self.seen, len(messages)):
                message = messages[index]
                if fragment in (message.text or "") or fragment in (message.caption or ""):
                    self.seen = index + 1
                    return message
            time.sleep(0.02)
        texts = [m.text or m.caption for m in self.user.messages()[self.seen :]]
        raise AssertionError(f"no bot message with {fragment!r}; unread: {texts}")

    def say(self, text: str, expect: str) -> BotMessage:
        self.user.send_text(text)
        return self.expect(expect)

    def tap(self, message: BotMessage, label: str, expect: str) -> BotMessage:
        data = next(data for row in message.buttons for text, data in row if text.startswith(label))
        self.user.press(message, data)
        return self.expect(expect)

    def quiet_for(self, seconds: float) -> bool:
        """True when the bot sends nothing new for ``seconds``."""
        before = len(self.user.messages())
        time.sleep(seconds)
        return len(self.user.messages()) == before


class RunningBot:
    """``serve()`` in its own thread and event loop, stopped cleanly at the end of the test."""

    def __init__(self, settings: Settings, engine: DialogEngine) -> None:
        self.settings, self.engine = settings, engine
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stop_event: asyncio.Event | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        async def main() -> None:
            self.loop = asyncio.get_running_loop()
            self.stop_event = asyncio.Event()
            await serve(self.settings, self.engine, self.stop_event)

        try:
            asyncio.run(main())
        except BaseException as error:  # surfaced by stop()
            self.error = error

    def __enter__(self) -> RunningBot:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.loop is not None and self.stop_event is not None:
            self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(timeout=30)
        assert not self.thread.is_alive(), "the bot did not stop"
        if self.error is not None:
            raise self.error


def telegram_settings(emulator: Emulator, data_dir: Path) -> Settings:
    return Settings(
        data_dir=data_dir,
        TELEGRAM_BOT_TOKEN=emulator.token,
        TELEGRAM_API_BASE_URL=emulator.base_url,
        TELEGRAM_FILE_BASE_URL=emulator.base_file_url,
        telegram_chat_rate=1000,
        telegram_rate=1000,
        port=free_port(),
    )


@pytest.fixture(name="running")
def running_fixture(emulator: Emulator, engine: DialogEngine, tmp_path: Path) -> Iterator[RunningBot]:
    with RunningBot(telegram_settings(emulator, tmp_path), engine) as running:
        yield running


def bind(phone: Phone, engine: DialogEngine, unit_code: str = "yufeng") -> BotMessage:
    unit = engine.repository.unit_by_code(engine.campaign.id, unit_code)
    assert unit is not None
    code = issue_invite(engine.repository, unit.id, role="contact", now=engine.clock()).code
    notice = phone.say(f"/start {code}", "个人信息保护告知")
    assert [[text for text, _data in row] for row in notice.buttons] == [["同意"], ["不同意"]]
    return phone.tap(notice, "同意", "请选择要填写的表")


def test_a_contact_binds_fills_the_registration_form_and_gets_the_docx(
    emulator: Emulator, engine: DialogEngine, running: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    phone = Phone(emulator.user(1001, "王芳"))
    phone.say("你好", "请向市妇联组联部索取邀请链接")
    assert engine.repository.contact("telegram", "1001") is None
    menu = bind(phone, engine)
    question = phone.tap(menu, "登记表", "（1/16）请输入候选人的姓名")
    gender = phone.say("韦丽华", "（2/16）候选人的性别")
    birth = phone.tap(gender, "女", "（3/16）")
    assert birth.buttons == []
    ethnicity = phone.say("1985.3", "（4/16）")
    education = phone.tap(ethnicity, "壮族", "（5/16）")
    political = phone.tap(education, "大学本科", "（6/16）")
    phone.tap(political, "中共党员", "（7/16）")
    phone.say("柳江区拉堡镇妇联主席", "（8/16）")
    phone.say("柳州市柳江区拉堡镇柳堡路88号", "（9/16）")
    phone.say("54510", "邮编")  # five digits: refused, asked again
    phone.say("545100", "（10/16）")
    level = phone.say("138 7721 2345", "（11/16）")
    phone.tap(level, "村（社区）", "（12/16）")
    phone.say("2018.6", "（13/16）")
    phone.say(chinese_text(463), "还差 37 字，主要事迹需 500-1000 字")
    phone.say(chinese_text(600), "（14/16）")
    phone.say(chinese_text(300), "（15/16）")
    phone.user.send_photo(photo_bytes(color=(200, 10, 10)))
    phone.expect("（16/16）")
    phone.user.send_photo(photo_bytes(color=(10, 200, 10)))
    review = phone.expect("请核对以上内容")
    assert "姓名：韦丽华" in (review.text or "") and "联系电话：13877212345" in (review.text or "")
    phone.tap(review, "确认提交", "已提交《登记表》，编号 #1（第1版）")
    document = phone.expect("请打印、盖章后报送")
    assert document.document is not None and (document.document_name or "").endswith(".docx")
    cells = [c.text for t in Document(io.BytesIO(document.document)).tables for r in t.rows for c in r.cells]
    assert "韦丽华" in cells and "13877212345" in cells
    assert question.message_id < document.message_id

    # The Word file again from 已交 (issue 21 item 2); a 退回's notice with its buttons (item 12).
    listed = phone.say("已交", "贵单位已提交")
    again = phone.tap(listed, "下载 #1", "#1 第1版")
    assert again.document == document.document and (again.document_name or "").endswith(".docx")
    code = issue_invite(engine.repository, None, role="supervisor", now=engine.clock()).code
    [consent] = engine.handle(Inbound("telegram", "2002", f"/start {code}"))
    engine.handle(Inbound("telegram", "2002", "1", consent_for=consent.consent_for))
    engine.handle(Inbound("telegram", "2002", "退回1号 工作照请换一张"))
    notice = phone.expect("原因：工作照请换一张")
    assert [[text for text, _data in row] for row in notice.buttons] == [["修改第1号"], ["查看1号"]]
    phone.tap(notice, "修改第1号", "退回的原因：工作照请换一张")
    for secret in ("韦丽华", "13877212345", "柳堡路", "1385", "王芳"):
        assert secret not in caplog.text, f"{secret!r} reached the logs"


def test_a_site_with_an_album_a_duplicate_update_and_a_stale_button(
    emulator: Emulator, engine: DialogEngine, running: RunningBot
) -> None:
    phone = Phone(emulator.user(2002, "李秀梅"))
    menu = bind(phone, engine)
    phone.tap(menu, "示范点申报表", "（1/17）")
    update_id = phone.user.send_text("柳州市螺蛳粉产业园")
    phone.expect("（2/17）")
    phone.user.redeliver(update_id)  # Telegram delivering the same update again
    assert phone.quiet_for(1.5), "a duplicate update must not be processed twice"
    contact = engine.repository.contact("telegram", "2002")
    assert contact is not None and contact.current_draft_id is not None
    draft = engine.repository.draft(contact.current_draft_id)
    assert (
        draft is not None
        and draft.state == "staff_count"
        and draft.answers == {"org_name": "柳州市螺蛳粉产业园"}
    )
    phone.say("120", "（3/17）")
    phone.say("130", "女性人数（130）不能多于单位人数（120）")
    phone.say("86", "（4/17）")
    for answer, expected in [("黄建国", "（5/17）"), ("13907721234", "（6/17）"), ("李秀梅", "（7/17）")]:
        phone.say(answer, expected)
    mode = phone.say("15878012345", "（8/17）")
    domain = phone.tap(mode, "单独创建", "（9/17）")
    phone.user.press(
        mode, next(d for row in mode.buttons for t, d in row if t == "区域联建")
    )  # an old button
    phone.expect("这个按钮已过期")
    phone.tap(domain, "园区", "（10/17）")
    for answer, expected in [
        ("产业园妇联", "（11/17）"),
        ("莫小燕", "（12/17）"),
        ("13607724567", "（13/17）"),
        ("2", "（14/17）"),
        ("9", "（15/17）"),
        ("2021-04-18", "（16/17）"),
        (chinese_text(400), "请发送一张示范点的照片"),
    ]:
        phone.say(answer, expected)
    phone.user.send_photo(photo_bytes(color=(1, 1, 1)), caption="成立大会现场")
    menu = phone.expect("已收到的照片如下")
    phone.tap(menu, "添加一张照片", "请发送一张示范点的照片")
    for color in ((2, 2, 2), (3, 3, 3)):  # an album: two photos at once, captions afterwards
        phone.user.send_photo(photo_bytes(color=color))
    phone.expect("已收到第3张照片")
    phone.say("妇女之家活动室", "第3张照片】请为这张照片写一句说明")
    menu = phone.say("巾帼志愿服务队", "已收到的照片如下")
    review = phone.tap(menu, "填写完毕", "请核对以上内容")
    phone.tap(review, "确认提交", "已提交《示范点申报表》")
    document = phone.expect("请打印、盖章后报送")
    assert document.document is not None
    assert len(Document(io.BytesIO(document.document)).inline_shapes) == 3


def test_the_service_killed_mid_form_continues_in_a_new_process(emulator: Emulator, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "INTAKE_DATA_DIR": str(tmp_path / "data"),
        "INTAKE_CAMPAIGN_FILE": str(current_campaign_file(tmp_path)),
        "TELEGRAM_BOT_TOKEN": emulator.token,
        "TELEGRAM_API_BASE_URL": emulator.base_url,
        "TELEGRAM_FILE_BASE_URL": emulator.base_file_url,
        "INTAKE_TELEGRAM_CHAT_RATE": "1000",
        "INTAKE_PORT": str(free_port()),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("INTAKE_DATABASE_URL", None)
    subprocess.run(
        [sys.executable, "-m", "bot.cli", "migrate"], env=env, cwd=ROOT, check=True, capture_output=True
    )
    invite = subprocess.run(
        [sys.executable, "-m", "bot.cli", "invite", "yufeng"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert invite.returncode == 0, invite.stderr
    link = re.search(rf"https://t\.me/{emulator.bot_username}\?start=([A-Z0-9]+)", invite.stdout)
    assert link is not None, invite.stdout

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )

    phone = Phone(emulator.user(3003, "覃美玲"))
    process = start()
    try:
        notice = phone.say(f"/start {link.group(1)}", "个人信息保护告知")
        menu = phone.tap(notice, "同意", "请选择要填写的表")
        phone.tap(menu, "登记表", "（1/16）")
        phone.say("韦丽华", "（2/16）")
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        phone.user.send_text("1")  # sent while the bot is down: 女
        process = start()
        phone.expect("（3/16）")
        phone.say("1985.3", "（4/16）")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)


def test_flood_control_is_honoured_and_the_reply_still_arrives(
    emulator: Emulator, engine: DialogEngine, running: RunningBot
) -> None:
    phone = Phone(emulator.user(4004, "蓝芳"))
    bind(phone, engine)
    emulator.inject_error("sendMessage", error_code=429, retry_after=2)
    sent_at = time.monotonic()
    phone.say("/help", "新建：开始填写")
    assert time.monotonic() - sent_at >= 1.9, "the retry waited for retry_after"
    failures = [c for c in emulator.api_calls("sendMessage") if c.get("error")]
    assert len(failures) == 1


def test_a_course_video_is_checked_from_what_telegram_reports(
    emulator: Emulator, engine: DialogEngine, running: RunningBot
) -> None:
    phone = Phone(emulator.user(5005, "韦华"))
    menu = bind(phone, engine)
    question = phone.tap(menu, "课程推荐表", "请输入课程名称")
    assert question.text is not None
    phone.say("妇女议事会", "授课形式")
    phone.say("讲授", "主要内容")
    for answer, expected in [
        (chinese_text(120), "主讲人姓名"),
        ("覃美玲", "出生年月"),
        ("1982.07", "单位及职务"),
    ]:
        phone.say(answer, expected)
    phone.say("鹿寨县妇联主席", "课程视频")
    phone.user.send_video(duration=20, width=1280, height=720)
    phone.expect("视频")
    assert (
        engine.repository.draft(engine.repository.contact("telegram", "5005").current_draft_id).state
        == "courses.video"
    )
    phone.user.send_video(duration=302, width=1280, height=720)
    phone.expect("已填写的课程如下")
    draft = engine.repository.draft(engine.repository.contact("telegram", "5005").current_draft_id)
    assert draft.answers["courses"][0]["video"]["duration_s"] == 302


def test_supervisors_get_their_own_command_menu(
    emulator: Emulator, engine: DialogEngine, running: RunningBot
) -> None:
    phone = Phone(emulator.user(6006, "冯柳青"))
    code = issue_invite(engine.repository, None, role="supervisor", now=engine.clock()).code
    notice = phone.say(f"/start {code}", "个人信息保护告知")
    phone.tap(notice, "同意", "进度：各单位")
    phone.say("/status", "全市示范点 0/10 个")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        scoped = [
            c for c in emulator.api_calls("setMyCommands") if (c["params"].get("scope") or {}).get("chat_id")
        ]
        if scoped:
            break
        time.sleep(0.05)
    assert scoped and scoped[-1]["params"]["scope"] == {"type": "chat", "chat_id": 6006}
    assert [c["command"] for c in scoped[-1]["params"]["commands"]] == ["status", "pending", "help"]
    default = [c for c in emulator.api_calls("setMyCommands") if not c["params"].get("scope")]
    assert default and default[0]["params"]["commands"][0]["command"] == "new"


def test_a_wrong_token_is_a_clear_message_not_a_traceback(emulator: Emulator, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "INTAKE_DATA_DIR": str(tmp_path / "data"),
        "INTAKE_CAMPAIGN_FILE": str(current_campaign_file(tmp_path)),
        "TELEGRAM_BOT_TOKEN": "999:WRONG",
        "TELEGRAM_API_BASE_URL": emulator.base_url,
        "TELEGRAM_FILE_BASE_URL": emulator.base_file_url,
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "run"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "TELEGRAM_BOT_TOKEN 不正确" in result.stderr and "Traceback" not in result.stderr


def test_a_file_larger_than_telegram_takes_comes_as_a_link_to_the_web_chat(
    emulator: Emulator, engine: DialogEngine, tmp_path: Path
) -> None:
    settings = telegram_settings(emulator, tmp_path).model_copy(
        update={"web_url": "https://fulian.example.cn"}
    )
    with RunningBot(settings, engine):
        phone = Phone(emulator.user(6007, "冯柳青"))
        code = issue_invite(engine.repository, None, role="supervisor", now=engine.clock()).code
        phone.tap(phone.say(f"/start {code}", "个人信息保护告知"), "同意", "进度：各单位")
        name = "liuzhou-2021-videos-20210601-120000.zip"
        videos = engine.repository.data_dir / "exports" / name
        videos.parent.mkdir(parents=True, exist_ok=True)
        with videos.open("wb") as sparse:  # 60 MB on paper, nothing written
            sparse.truncate(60 * 1024 * 1024)
        ref = DocumentRef("export", name)
        engine.repository.enqueue_message(
            "telegram", "6007", {"text": "课程视频", "document": ref.as_payload()}
        )
        note = phone.expect("超过Telegram能发送的 50 MB")
        [link] = re.findall(r"https://fulian\.example\.cn/\S+", note.text or "")
        assert link.startswith(f"https://fulian.example.cn/files/exports/{name}?g="), "signed for them"
        assert (note.text or "").startswith("课程视频"), "the file's caption comes along"
        assert not emulator.api_calls("sendDocument"), "no upload Telegram would refuse"
        # Opened in the system browser, with no web chat session: the grant lets it download.
        local = link.replace("https://fulian.example.cn", f"http://127.0.0.1:{settings.port}")
        with httpx.stream("GET", local, timeout=10) as download:
            assert download.status_code == 200, download.read().decode(errors="replace")
            assert int(download.headers["content-length"]) == 60 * 1024 * 1024


def test_without_a_web_address_a_file_too_large_for_telegram_says_to_ask_the_administrator(
    emulator: Emulator, engine: DialogEngine, tmp_path: Path
) -> None:
    with RunningBot(telegram_settings(emulator, tmp_path), engine):
        phone = Phone(emulator.user(6008, "冯柳青"))
        code = issue_invite(engine.repository, None, role="supervisor", now=engine.clock()).code
        phone.tap(phone.say(f"/start {code}", "个人信息保护告知"), "同意", "进度：各单位")
        name = "柳妇通〔2021〕29号-课程视频-6月1日12时00分.zip"
        videos = engine.repository.data_dir / "exports" / name
        videos.parent.mkdir(parents=True, exist_ok=True)
        with videos.open("wb") as sparse:
            sparse.truncate(60 * 1024 * 1024)
        ref = DocumentRef("export", name)
        engine.repository.enqueue_message(
            "telegram", "6008", {"text": "课程视频", "document": ref.as_payload()}
        )
        note = phone.expect("超过Telegram能发送的 50 MB").text or ""
        assert "请联系管理员从服务器上取出" in note, note
        assert "exports" not in note and str(engine.repository.data_dir) not in note, "no server path"
