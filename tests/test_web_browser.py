"""The web chat in a real headless Chromium (Debian's ``chromium``, driven by Playwright): a contact
signs in with an invite, fills the 示范点申报表 with three photos, downloads the Word file and reads it
back; a wrong answer, a reload mid-form and another unit's file.

Set ``INTAKE_WRITE_SCREENSHOT=1`` to refresh the screenshots in ``docs/`` (``web-*-phone.png``) from
the run: the chat mid-form, a caption asked beside its photo, a notice arriving, 组联部's review
with its buttons, the status page.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from docx import Document
from PIL import Image

from bot.http_edge import TOO_SLOW
from bot.web import FILE_NOT_FOUND, build_app
from dialogs.engine import DialogEngine
from dialogs.exchange import DocumentRef, Inbound
from dialogs.invites import INVITE_UNKNOWN, INVITE_USED
from dialogs.validators import PHOTO_MAX_BYTES, VIDEO_MAX_BYTES
from storage.models import Contact
from tests.conftest import Chat, FakeClock, chinese_text, photo_bytes
from tests.test_dialog_forms import fill_cadre
from tests.test_mp4_probe import mp4
from tests.test_supervision import ask, supervisor
from tests.test_web_api import (
    SITE_ANSWERS,
    contacts,
    heic_bytes,
    invite,
    serving,
    submit_site,
    web_settings,
)

try:
    from playwright.sync_api import Browser, Page, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None  # type: ignore[assignment]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DOCS = Path(__file__).resolve().parent.parent / "docs"
PHONE = {
    "viewport": {"width": 390, "height": 844},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
}

pytestmark = [
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="/usr/bin/chromium is missing: apt-get install chromium to run the browser tests",
    ),
    pytest.mark.skipif(
        sync_playwright is None,
        reason="playwright is not installed: pip install playwright to run the browser tests",
    ),
]


@pytest.fixture(name="chromium", scope="module")
def chromium_fixture() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(name="server")
def server_fixture(engine: DialogEngine) -> Iterator[str]:
    with serving(build_app(engine, web_settings())) as url:
        yield url


@pytest.fixture(name="phone")
def phone_fixture(chromium: Browser) -> Iterator[Page]:
    context = chromium.new_context(accept_downloads=True, **PHONE)  # type: ignore[arg-type]
    context.set_default_timeout(10_000)
    page = context.new_page()
    problems: list[str] = []  # script errors and CSP violations (a refused file's 404 is expected)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(
        "console",
        lambda message: (
            problems.append(message.text)
            if message.type == "error" and "Failed to load resource" not in message.text
            else None
        ),
    )
    yield page
    context.close()
    assert problems == []


# Talking like a person ----------------------------------------------------------------------------

ANSWERED = (
    "n => document.querySelectorAll('.row.bot:not(.typing)').length > n && !document.querySelector('.typing')"
)


def bot_rows(page: Page) -> int:
    return int(page.locator(".row.bot:not(.typing)").count())


def wait_for_answer(page: Page, before: int) -> None:
    page.wait_for_function(ANSWERED, arg=before)


def last_bot_text(page: Page) -> str:
    return str(page.locator(".row.bot:not(.typing) .bubble").last.inner_text())


def send(page: Page, text: str) -> str:
    before = bot_rows(page)
    page.fill("#text-input", text)
    page.click("#send-button")
    wait_for_answer(page, before)
    return last_bot_text(page)


def press(page: Page, label: str) -> str:
    before = bot_rows(page)
    starts_with = re.compile("^" + re.escape(label))  # “同意”, not “不同意”
    page.locator(".choices button:not([disabled])", has_text=starts_with).last.click()
    wait_for_answer(page, before)
    return last_bot_text(page)


def sees(page: Page, text: str) -> None:
    page.locator(".row .bubble", has_text=text).last.wait_for()


def photo_files(folder: Path) -> list[Path]:
    paths = []
    for number, color in enumerate([(190, 60, 60), (60, 140, 90), (50, 90, 170)], start=1):
        path = folder / f"现场照片{number}.jpg"
        path.write_bytes(photo_bytes(800, 600, color))
        paths.append(path)
    return paths


def sign_in(page: Page, server: str, engine: DialogEngine, unit_code: str = "yufeng") -> None:
    page.goto(f"{server}/join?code={invite(engine, unit_code)}")
    sees(page, "个人信息保护告知")
    assert "请选择要填写的表" in press(page, "同意")


# The tests --------------------------------------------------------------------------------------------


def test_a_contact_fills_the_site_application_with_photos_and_downloads_it(
    phone: Page, chromium: Browser, server: str, engine: DialogEngine, tmp_path: Path
) -> None:
    sign_in(phone, server, engine)
    assert phone.url == f"{server}/", "the code leaves the address bar once used"
    assert phone.inner_text("#who") == "鱼峰区妇联" and phone.is_visible("#composer")
    assert "请输入申报单位名称" in press(phone, "示范点申报表")
    send(phone, SITE_ANSWERS[0])
    send(phone, SITE_ANSWERS[1])
    wrong = send(phone, "200")
    assert "女性有多少人" in wrong
    sees(phone, "女性人数（200）不能多于单位人数（120），请核对。")
    send(phone, SITE_ANSWERS[2])

    phone.reload()  # mid-form: the conversation so far, then a greeting and the question left off at
    sees(phone, "欢迎回来，鱼峰区妇联")
    assert "请输入申报单位负责人的姓名" in last_bot_text(phone)
    earlier = phone.locator(".row.user .bubble").all_inner_texts()
    assert earlier[0].startswith("示范点申报表（已交0份") and earlier[1] == SITE_ANSWERS[0], earlier
    assert phone.locator(".row.bot .bubble", has_text="女性人数（200）不能多于单位人数（120）").count() == 1
    assert phone.locator(".row.system", has_text="以上是之前的对话").count() == 1
    assert phone.locator(".row.bot .choices button:not([disabled])").count() == 0, "old buttons are spent"

    for answer in SITE_ANSWERS[3:7]:
        send(phone, answer)
    sees(phone, "示范点的组建方式")
    assert phone.locator(".choices button:not([disabled])").count() == 5
    phone.locator(".choices").last.scroll_into_view_if_needed()
    screenshot(phone, tmp_path)
    press(phone, "单独创建")
    assert phone.locator(".choices").last.get_attribute("class") == "choices many", "12 领域 in two columns"
    top = phone.locator(".row.bot .bubble").last.evaluate("node => node.getBoundingClientRect().top")
    assert 0 <= top < 844, "the question above a long list stays in sight"
    assert phone.locator(".choice.quiet").count() == 0, "no way out is offered beside the 领域"
    press(phone, "园区")
    for answer in SITE_ANSWERS[9:-1]:
        send(phone, answer)
    too_long = chinese_text(600)  # the 创建情况 takes 500 字 at most
    send(phone, too_long)
    sees(phone, "刚才发送的内容已放回输入框")
    assert phone.input_value("#text-input") == too_long, "a refused long answer is given back, not lost"
    send(phone, SITE_ANSWERS[-1])  # corrected in the box
    sees(phone, "请发送一张示范点的照片")
    phone.set_viewport_size({"width": 360, "height": 740})  # a small phone: the 300字 answer wraps
    assert fits_width(phone, 360)
    phone.set_viewport_size(PHONE["viewport"])  # type: ignore[arg-type]

    before = bot_rows(phone)
    phone.set_input_files("#photo-input", [str(path) for path in photo_files(tmp_path)])
    wait_for_answer(phone, before + 2)  # three photos: three messages, three answers, in order
    assert phone.locator(".row.user .bubble.photo img").count() == 3
    sees(phone, "已收到3张照片")
    shown: list[str] = []
    for caption in ("园区妇联成立大会现场", "妇女之家活动室", "巾帼志愿服务队开展活动"):
        question = phone.locator(".row.bot .bubble").last
        assert "请为这张照片写一句说明" in question.inner_text()
        shown.append(loaded_pictures(question)[0])
        if len(shown) == 2:
            screenshot(phone, tmp_path, "web-caption-phone.png")
        send(phone, caption)
    assert len(set(shown)) == 3, "each caption is asked beside its own photo"
    assert "请核对以上内容" in press(phone, "填写完毕，下一步")
    quiet = phone.locator(".choices").last.locator(".choice.quiet")
    assert quiet.all_inner_texts() == ["放弃"], "放弃 is quieter than 确认提交 beside it"
    press(phone, "确认提交")
    sees(phone, "已提交《示范点申报表》")

    link = phone.locator("a.document").last
    with phone.expect_download() as downloading:
        link.click()
    download = downloading.value
    assert download.suggested_filename.endswith(".docx")
    document = Document(str(download.path()))
    cells = [cell.text for table in document.tables for row in table.rows for cell in row.cells]
    assert any(SITE_ANSWERS[0] in cell for cell in cells), "the site's name is in the 申报表"
    assert any("妇女之家活动室" in cell for cell in cells)
    assert len(document.inline_shapes) == 3, "the three photos are in the 申报表"

    # WeChat's “在浏览器打开”: the same link in a browser without the session cookie
    href = str(link.get_attribute("href"))
    elsewhere = chromium.new_context(accept_downloads=True, **PHONE)  # type: ignore[arg-type]
    try:
        system_browser = elsewhere.new_page()
        with system_browser.expect_download() as downloading:
            system_browser.evaluate("url => { window.location.href = url }", f"{server}{href}")
        again = downloading.value
        assert again.suggested_filename == download.suggested_filename
        assert Path(str(again.path())).read_bytes() == Path(str(download.path())).read_bytes()
    finally:
        elsewhere.close()


def test_every_quick_command_is_on_screen_on_a_small_phone(
    phone: Page, server: str, engine: DialogEngine
) -> None:
    sign_in(phone, server, engine)
    for width, height in ((360, 640), (320, 568), (390, 844)):
        phone.set_viewport_size({"width": width, "height": height})
        chips: Any = phone.evaluate(
            """() => [...document.querySelectorAll('#quick .chip')].map(chip => {
                const box = chip.getBoundingClientRect();
                return [chip.textContent, box.left, box.right, box.top, box.bottom];
            })"""
        )
        assert [chip[0] for chip in chips] == [
            "上一步",
            "跳过",
            "查看",
            "修改",
            "帮助",
            "新建",
            "草稿",
            "已交",
            "进度",
        ]
        for name, left, right, top, bottom in chips:
            assert left >= 0 and right <= width and top >= 0 and bottom <= height, (
                f"{name} off-screen at {width}px"
            )
        composer: Any = phone.evaluate("document.getElementById('text-input').getBoundingClientRect().top")
        assert composer > height * 0.6, "the shortcuts leave the conversation most of the screen"
        assert fits_width(phone, width)
    phone.locator("#quick .chip", has_text="进度").click()  # the last one, tapped where it is
    sees(phone, "报送情况")


def at_the_photo_field(phone: Page, server: str, engine: DialogEngine) -> Contact:
    """A contact signed in on the phone, their 示范点申报表 answered up to its photos (through the
    engine, as the same web contact), the page reloaded there. Returns the contact."""
    sign_in(phone, server, engine)
    [contact] = [c for c in contacts(engine) if c.channel == "web"]
    for text in ("/new", "示范点申报表", *SITE_ANSWERS):
        engine.handle(Inbound("web", contact.external_id, text))
    phone.reload()
    sees(phone, "请发送一张示范点的照片")
    return contact


def stored_photos(engine: DialogEngine, contact: Contact) -> list[dict[str, Any]]:
    fresh = engine.repository.contact("web", contact.external_id)
    assert fresh is not None
    draft = engine.repository.draft(fresh.current_draft_id or 0)
    assert draft is not None
    return [dict(row["photo"]) for row in draft.answers.get("photos", [])]


def test_a_large_photo_is_made_smaller_in_the_browser_and_a_small_one_goes_as_it_is(
    phone: Page, server: str, engine: DialogEngine, tmp_path: Path
) -> None:
    contact = at_the_photo_field(phone, server, engine)
    large = tmp_path / "IMG_4032.JPG"  # 4000 × 3000 of fine detail, taken sideways: about 12 MB
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90°: the photo is upright as 3000 × 4000
    Image.frombytes("RGB", (4000, 3000), os.urandom(4000 * 3000 * 3)).save(
        large, "JPEG", quality=90, exif=exif.tobytes()
    )
    assert large.stat().st_size > PHOTO_MAX_BYTES, "larger than the server takes"
    before = bot_rows(phone)
    phone.set_input_files("#photo-input", str(large))
    wait_for_answer(phone, before)
    sees(phone, "请为这张照片写一句说明")
    note = phone.locator(".row.user .bubble.photo .photo-note").last.inner_text()
    assert note == f"原图 {large.stat().st_size / 1e6:.1f} MB，已缩小后发送"
    assert phone.locator(".row.system", has_text="太大").count() == 0
    [sent] = stored_photos(engine, contact)
    assert (sent["mime"], sent["width"], sent["height"]) == ("image/jpeg", 1920, 2560), sent
    stored = engine.repository.file_path(sent["sha256"])
    assert stored is not None and stored.stat().st_size < PHOTO_MAX_BYTES / 2
    send(phone, "园区妇联成立大会现场")

    small = photo_bytes(800, 600, (60, 140, 90))
    (tmp_path / "small.jpg").write_bytes(small)
    press(phone, "添加一张照片")
    before = bot_rows(phone)
    phone.set_input_files("#photo-input", str(tmp_path / "small.jpg"))
    wait_for_answer(phone, before)
    sees(phone, "请为这张照片写一句说明")
    assert stored_photos(engine, contact)[1]["sha256"] == hashlib.sha256(small).hexdigest(), "kept as it is"
    assert phone.locator(".photo-note").count() == 1


def test_a_heic_photos_caption_thumbnail_shows_in_a_browser_that_cannot_draw_heic(
    phone: Page, server: str, engine: DialogEngine, tmp_path: Path
) -> None:
    at_the_photo_field(phone, server, engine)
    heic = tmp_path / "IMG_0002.HEIC"
    heic.write_bytes(heic_bytes(800, 600))
    before = bot_rows(phone)
    phone.set_input_files("#photo-input", str(heic))
    wait_for_answer(phone, before)
    question = phone.locator(".row.bot .bubble").last
    assert "请为这张照片写一句说明" in question.inner_text()
    [thumbnail] = loaded_pictures(question)  # loaded, not a broken image
    size: Any = phone.evaluate(
        "() => { const n = document.querySelector('.row.bot:last-child .pictures img');"
        " return [n.naturalWidth, n.naturalHeight]; }"
    )
    assert size == [800, 600] and "/files/photos/" in thumbnail


def test_a_photo_too_large_to_send_is_never_shown_as_sent_and_says_what_to_do(
    phone: Page, server: str, engine: DialogEngine, tmp_path: Path
) -> None:
    at_the_photo_field(phone, server, engine)
    heic = tmp_path / "IMG_0001.HEIC"  # this browser cannot draw it, so it cannot make it smaller
    heic.write_bytes(b"\x00\x00\x00\x18ftypheic" + os.urandom(11_600_000))
    photos_before = phone.locator(".row.user .bubble").count()
    phone.set_input_files("#photo-input", str(heic))
    said = phone.locator(".row.system .bubble", has_text="太大")
    said.wait_for()
    assert said.inner_text() == (
        "照片“IMG_0001.HEIC”太大（11.6 MB），没有发送。请发送不超过 10 MB 的照片："
        "可在相册里用“编辑”裁剪后保存再发送，或截屏后发送截图。"
    )
    assert phone.locator(".row.user .bubble").count() == photos_before, "nothing looks sent"


def test_a_video_too_large_to_send_is_never_shown_as_sent_and_says_what_to_do(
    phone: Page, server: str, engine: DialogEngine, tmp_path: Path
) -> None:
    def smaller_video_limit(route: Any) -> None:  # the page as served, its video limit 1 MB
        page = route.fetch()
        body = page.text().replace(f'content="{VIDEO_MAX_BYTES}"', 'content="1000000"')
        route.fulfill(response=page, body=body)

    phone.route(f"{server}/", smaller_video_limit)
    at_the_photo_field(phone, server, engine)
    video = tmp_path / "课程.mp4"
    video.write_bytes(mp4(60, 1280, 720, payload=1_500_000))
    before = phone.locator(".row.user .bubble").count()
    phone.set_input_files("#photo-input", str(video))
    said = phone.locator(".row.system .bubble", has_text="太大")
    said.wait_for()
    assert said.inner_text().startswith("视频“课程.mp4”太大（1.5 MB），没有发送。请发送不超过 1 MB 的视频：")
    assert "剪短" in said.inner_text()
    assert phone.locator(".row.user .bubble").count() == before, "nothing looks sent"


def test_a_message_timed_out_on_a_slow_connection_is_sent_again_and_taken_once(
    phone: Page, server: str, engine: DialogEngine
) -> None:
    """Issue 22 item 13: the server answers a body too slow to arrive 408; the page sends the message
    again (same id) instead of losing it."""
    sign_in(phone, server, engine)
    assert "请输入申报单位名称" in press(phone, "示范点申报表")
    timed_out: list[str] = []

    def slow_once(route: Any) -> None:
        if timed_out:
            route.continue_()
            return
        timed_out.append(str(route.request.post_data))
        route.fulfill(status=408, content_type="application/json", body=json.dumps({"error": TOO_SLOW}))

    phone.route("**/api/messages", slow_once)
    assert "申报单位共有多少人" in send(phone, SITE_ANSWERS[0])
    assert len(timed_out) == 1 and SITE_ANSWERS[0] in json.loads(timed_out[0])["text"]
    [contact] = [c for c in contacts(engine) if c.role == "contact"]
    draft = engine.repository.draft(contact.current_draft_id or 0)
    assert draft is not None and draft.answers == {"org_name": SITE_ANSWERS[0]}, "taken once, by its id"


def test_another_units_file_is_refused_and_a_bad_code_is_explained(
    phone: Page, server: str, engine: DialogEngine
) -> None:
    other = submit_site(engine, "chengzhong", "chengzhong-contact")
    phone.goto(server)
    assert phone.is_visible("#signin") and not phone.is_visible("#composer")
    phone.fill("#code-input", "NOSUCHCODE")
    phone.click("#signin button")
    sees(phone, INVITE_UNKNOWN.format(contact=engine.campaign.contact.line()))
    assert phone.is_visible("#signin")

    sign_in(phone, server, engine, "yufeng")
    refused = phone.goto(f"{server}/files/submissions/{other}.docx")
    assert refused is not None and refused.status == 404
    assert FILE_NOT_FOUND in phone.inner_text("main")


def test_the_invite_link_tapped_again_reopens_the_chat_and_on_another_phone_says_why_not(
    phone: Page, chromium: Browser, server: str, engine: DialogEngine
) -> None:
    link = f"{server}/join?code={invite(engine, 'chengzhong')}"
    phone.goto(link)
    sees(phone, "个人信息保护告知")
    press(phone, "同意")
    press(phone, "登记表")
    phone.goto(link)  # the next day, from the WeChat message
    sees(phone, "欢迎回来，城中区妇联")
    assert phone.url == f"{server}/" and phone.inner_text("#who") == "城中区妇联"
    assert phone.is_visible("#composer") and not phone.is_visible("#signin")
    assert "无效" not in phone.inner_text("#messages")

    context = chromium.new_context(**PHONE)  # type: ignore[arg-type]
    try:
        elsewhere = context.new_page()
        elsewhere.goto(link)
        sees(elsewhere, INVITE_USED.format(contact=engine.campaign.contact.line()))
        assert elsewhere.inner_text("#who") == "" and "无效" not in elsewhere.inner_text("#messages")
    finally:
        context.close()


def test_a_supervisor_sees_the_status_page(
    phone: Page, server: str, engine: DialogEngine, clock: FakeClock, tmp_path: Path
) -> None:
    submit_site(engine, "chengzhong", "chengzhong-contact")
    phone.goto(f"{server}/join?code={invite(engine, None, 'supervisor')}")
    sees(phone, "个人信息保护告知")
    press(phone, "同意")
    assert phone.is_visible("#status-link")
    assert "城中区" in send(phone, "进度")
    phone.click("#status-link")
    phone.wait_for_url(f"{server}/status")
    assert "全市示范点 1/10 个" in phone.inner_text("main")
    row = phone.locator("tr", has_text="城中区")
    assert "示范点1/≥1✓" in row.inner_text()
    screenshot(phone, tmp_path, "web-status-phone.png")
    phone.set_viewport_size({"width": 360, "height": 740})
    assert fits_width(phone, 360), "the status page fits a small phone without sideways scrolling"

    clock.now += timedelta(days=22)  # 1 June: 登记表 and 课程 (due 25 May) overdue, 示范点 (30 Aug) not
    phone.reload()
    cells = {
        "done": row.locator(".cell", has_text="示范点1/≥1✓"),
        "overdue": row.locator(".cell", has_text="登记表0/2逾期"),
        "short": phone.locator("tr", has_text="鱼峰区").locator(".cell", has_text="示范点0/≥1"),
    }
    colours = {name: cell.evaluate("n => getComputedStyle(n).color") for name, cell in cells.items()}
    done, overdue, short = (rgb(colours[name]) for name in ("done", "overdue", "short"))
    assert done[1] > done[0] and done[1] > done[2], f"done is green, not red: {colours}"
    assert overdue[0] > overdue[1] + 60 and overdue[0] > overdue[2] + 60, f"overdue is red: {colours}"
    assert short[0] > short[2] + 60 and short[1] > short[2] + 30, f"short is amber: {colours}"


def rgb(colour: str) -> tuple[int, ...]:
    """“rgb(29, 122, 62)” as numbers."""
    return tuple(int(part) for part in re.findall(r"\d+", colour)[:3])


def loaded_pictures(bubble: Any) -> list[str]:
    """The addresses of the photos a bubble shows, once every one has loaded (none broken). The
    bubble is scrolled to first, as a person would: photos far above the screen load when seen."""
    bubble.scroll_into_view_if_needed()
    images = bubble.locator(".pictures img")
    images.last.wait_for()
    bubble.page.wait_for_function(
        "nodes => nodes.every(n => n.complete && n.naturalWidth > 0)", arg=images.element_handles()
    )
    return [str(src) for src in images.evaluate_all("nodes => nodes.map(n => n.src)")]


def screenshot(page: Page, folder: Path, name: str = "web-chat-phone.png") -> None:
    """The screen as on a phone; written to docs/ when asked to (INTAKE_WRITE_SCREENSHOT=1)."""
    target = DOCS / name if os.environ.get("INTAKE_WRITE_SCREENSHOT") else folder / name
    page.screenshot(path=str(target))
    assert target.stat().st_size > 10_000
    assert fits_width(page, 390), "nothing sticks out sideways at phone width"


def fits_width(page: Page, width: int) -> bool:
    """No sideways scrolling, and every bubble and button inside the screen."""
    widest: Any = page.evaluate(
        """() => Math.max(
            document.documentElement.scrollWidth,
            ...[...document.querySelectorAll('.bubble, .choice')].map(e => e.getBoundingClientRect().right)
        )"""
    )
    return bool(widest <= width)


def test_a_return_and_a_resubmission_reach_open_pages_within_a_second(
    chromium: Browser, phone: Page, server: str, engine: DialogEngine, tmp_path: Path
) -> None:
    """Item 2 of issue 15: the notice shows in the open page within 1 s, pushed, not polled (the
    page's poll runs once a minute); and 组联部 hears when a returned form comes back."""
    colleague = Chat(engine, unit_code="yufeng", user="yufeng-colleague")
    number = submit_site(engine, "yufeng", "yufeng-colleague")
    sign_in(phone, server, engine, "yufeng")
    desk = chromium.new_context(**PHONE)  # type: ignore[arg-type]
    boss = desk.new_page()
    boss.goto(f"{server}/join?code={invite(engine, None, 'supervisor')}")
    sees(boss, "个人信息保护告知")
    press(boss, "同意")

    started = time.monotonic()
    boss.fill("#text-input", f"退回{number}号 照片不清晰，请重新上传")
    boss.click("#send-button")
    phone.locator(".bubble.notice", has_text="照片不清晰，请重新上传").wait_for(timeout=5_000)
    took = time.monotonic() - started
    assert took < 1.0, f"the 退回 reached the open page after {took:.2f} s"
    screenshot(phone, tmp_path, "web-notice-phone.png")

    colleague.send(f"修改第{number}号")
    started = time.monotonic()
    assert "已提交" in colleague.send("确认提交"), colleague.text  # handled outside the web server
    boss.locator(".bubble.notice", has_text=f"#{number}（第2版）").wait_for(timeout=5_000)
    took = time.monotonic() - started
    assert took < 1.0, f"组联部 heard of the resubmission after {took:.2f} s"
    assert "重新提交" in boss.locator(".bubble.notice").last.inner_text()
    desk.close()


def test_a_return_reaches_every_open_tab_of_the_contact_within_a_second(
    chromium: Browser, phone: Page, server: str, engine: DialogEngine
) -> None:
    """Issue 21 item 6: with two tabs open, a 退回 reached the newer tab and never the one in use. Now
    both show it within a second, and a tab opened later finds it in the conversation."""
    number = submit_site(engine, "yufeng", "yufeng-colleague")
    sign_in(phone, server, engine, "yufeng")
    newer = phone.context.new_page()
    newer.goto(server)
    sees(newer, "请选择要填写的表")
    desk = chromium.new_context(**PHONE)  # type: ignore[arg-type]
    boss = desk.new_page()
    boss.goto(f"{server}/join?code={invite(engine, None, 'supervisor')}")
    sees(boss, "个人信息保护告知")
    press(boss, "同意")

    started = time.monotonic()
    boss.fill("#text-input", f"退回{number}号 表格盖章不清楚，请重新盖章")
    boss.click("#send-button")
    for tab in (phone, newer):
        tab.locator(".bubble.notice", has_text="表格盖章不清楚").wait_for(timeout=5_000)
    took = time.monotonic() - started
    assert took < 1.0, f"the 退回 reached both tabs after {took:.2f} s"
    time.sleep(0.5)
    for tab in (phone, newer):
        assert tab.locator(".bubble.notice", has_text="表格盖章不清楚").count() == 1, "shown once per tab"
    later = phone.context.new_page()
    later.goto(server)
    sees(later, "表格盖章不清楚")
    desk.close()


def test_组联部_taps_from_the_status_page_to_a_return_and_exports_with_a_button(
    phone: Page, server: str, engine: DialogEngine, tmp_path: Path
) -> None:
    """Item 10 of issue 15: the status page links a unit to its submissions, /show's buttons decide,
    退回 asks for the reason as the next message; 导出 is a button; no camera for 组联部."""
    number = submit_site(engine, "chengzhong", "chengzhong-contact")
    phone.goto(f"{server}/join?code={invite(engine, None, 'supervisor')}")
    notice = phone.locator(".bubble", has_text="个人信息保护告知").last
    notice.wait_for()
    assert "审核人员" in notice.inner_text() and "贵单位" not in notice.inner_text()
    press(phone, "同意")
    assert not phone.is_visible(".attach"), "组联部 sends no photos"
    phone.click("#status-link")
    phone.wait_for_url(f"{server}/status")
    phone.locator("tr", has_text="城中区").locator("a").click()
    sees(phone, f"#{number} 示范点申报表")
    assert phone.url == f"{server}/", "the unit leaves the address bar once asked"
    press(phone, f"查看#{number}")
    sees(phone, f"#{number} 要怎样处理？")
    content = phone.locator(".row.bot .bubble", has_text="示范点申报表").last
    assert len(loaded_pictures(content)) == 3, "组联部 sees the form's photos"
    screenshot(phone, tmp_path, "web-review-phone.png")
    assert "请写退回" in press(phone, "退回（写原因）")
    assert f"已退回#{number}" in send(phone, "照片太暗，请换一张")
    assert engine.repository.decisions(number)[-1].reason == "照片太暗，请换一张"

    before = bot_rows(phone)
    phone.locator(".chip", has_text="导出").click()
    wait_for_answer(phone, before)
    assert "正在生成全部表格" in last_bot_text(phone), "answered at once; the ZIP follows"
    assert engine.run_export_jobs() == 1  # the service's export loop, run here
    link = phone.locator(".bubble.notice a.document").last
    link.wait_for(timeout=5_000)
    assert "下载全部表格（ZIP 压缩包）" in link.inner_text() and "Word" not in link.inner_text()

    # A file made for 组联部 after the answer (the courses' videos) arrives as a notice with its link.
    href = str(link.get_attribute("href")).partition("?")[0]
    made = unquote(href.rsplit("/", 1)[-1])
    assert made.startswith("柳妇通〔2021〕29号-导出-"), "named in Chinese"
    [me] = engine.supervisor_chats("web")
    later = DocumentRef("export", made)
    payload = {"text": "课程视频（共 1 MB）", "document": later.as_payload()}
    engine.repository.enqueue_message("web", me, payload)
    notice = phone.locator(".bubble.notice", has_text="课程视频（共 1 MB）")
    notice.wait_for(timeout=5_000)
    later_href = str(notice.locator("a.document").get_attribute("href"))
    assert later_href.startswith(f"{href}?g="), "with its own grant, as every file link"


def test_a_course_video_is_uploaded_with_its_progress_shown(
    phone: Page, server: str, engine: DialogEngine, tmp_path: Path
) -> None:
    """Item 1 of issue 15: an MP4 where the course asks for one, its upload's progress in its bubble."""
    sign_in(phone, server, engine)
    press(phone, "课程推荐表")
    for answer in ["家风第一课", "讲授", chinese_text(50), "覃美玲", "1982.07", "鹿寨县妇联主席"]:
        send(phone, answer)
    sees(phone, "请发送视频")
    assert "video/mp4" in str(phone.get_attribute("#photo-input", "accept"))
    video = tmp_path / "家风第一课.mp4"
    video.write_bytes(mp4(300, 1280, 720, payload=40_000_000))  # five minutes, 40 MB
    phone.evaluate(PROGRESS_WATCH)
    network = phone.context.new_cdp_session(phone)  # a phone's upload speed: 40 MB in about 2 s
    network.send("Network.enable")
    network.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 20, "downloadThroughput": -1, "uploadThroughput": 20_000_000},
    )
    before = bot_rows(phone)
    phone.set_input_files("#photo-input", str(video))
    wait_for_answer(phone, before)
    bubble = phone.locator(".row.user .bubble", has_text="视频：家风第一课.mp4").last
    assert bubble.locator(".upload small").inner_text() == "已上传"
    seen = phone.evaluate("window.progressSeen")
    assert seen[-1] == 100 and any(0 < value < 100 for value in seen), seen
    kept = [row["video"] for row in chat_draft(engine, "yufeng").answers["courses"]]
    assert kept[0]["duration_s"] == 300 and len(kept[0]["sha256"]) == 64, "checked from its boxes and kept"


PROGRESS_WATCH = """() => {
    window.progressSeen = [];
    new MutationObserver(() => {
        const meter = document.querySelector('.upload progress');
        if (meter && window.progressSeen.at(-1) !== meter.value) window.progressSeen.push(meter.value);
    }).observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
}"""


def chat_draft(engine: DialogEngine, unit_code: str) -> Any:
    """The open draft of the unit's web contact."""
    unit = engine.repository.unit_by_code(engine.campaign.id, unit_code)
    assert unit is not None and unit.id is not None
    [draft] = engine.repository.drafts(unit.id)
    return draft


def test_a_returned_form_is_reopened_from_its_notice_with_the_long_answer_in_the_input_box(
    phone: Page, server: str, engine: DialogEngine, clock: FakeClock
) -> None:
    """Issue 21, items 2, 4, 9 and 12: the 退回 notice's button reopens the form with 组联部's reason;
    the long 主要事迹 comes back in the input box to edit; 查看1号 shows the unit's own form with its
    photos, a tapped one enlarged."""
    sign_in(phone, server, engine)
    fill_cadre(Chat(engine, unit_code="yufeng", user="yufeng-colleague"))
    boss = supervisor(engine, clock)
    ask(engine, boss, "退回1号 主要事迹请补充2025年的工作")
    notice = phone.locator(".row.bot", has=phone.locator(".bubble.notice", has_text="主要事迹请补充"))
    notice.wait_for(timeout=5_000)
    assert notice.locator(".choices button").all_inner_texts() == ["修改第1号", "查看1号"]
    assert "请核对以上内容" in press(phone, "修改第1号")
    sees(phone, "市妇联组联部退回的原因：主要事迹请补充2025年的工作")
    press(phone, "修改")
    story = engine.repository.versions(1)[-1].answers["story"]
    press(phone, "主要事迹")
    assert phone.input_value("#text-input") == story, "the 500 字 to edit, not to type again"
    sees(phone, "当前内容已放入输入框")
    before = bot_rows(phone)
    phone.locator(".chip", has_text="查看").click()  # on to the review, the text left untouched
    wait_for_answer(phone, before)
    assert phone.input_value("#text-input") == "", "left untouched, it goes with the next question"
    send(phone, "查看1号")
    content = phone.locator(".row.bot .bubble", has_text="#1 登记表·韦丽华").last
    photos = loaded_pictures(content)
    assert len(photos) == 2 and all("/files/photos/" in url for url in photos), "证件照 and 工作照"
    content.locator(".pictures img").first.click()
    enlarged = phone.locator(".enlarged img")
    enlarged.wait_for()
    assert enlarged.evaluate("n => n.complete && n.naturalWidth > 0")
    phone.locator(".enlarged").click()
    phone.locator(".enlarged").wait_for(state="detached")


# A new user's trial: buttons that stay usable, one-tap downloads, the page reopened ---------------------


def usable(page: Page, label: str) -> bool:
    """Whether the newest button labelled ``label`` can be pressed."""
    return bool(page.locator(".choices button", has_text=label).last.is_enabled())


def test_notice_and_list_buttons_stay_usable_across_taps_and_a_reload(
    phone: Page, server: str, engine: DialogEngine, clock: FakeClock
) -> None:
    """A new user's trial, items 1-3: a 退回 that came while the page was closed keeps its buttons;
    the 已交 list answers tap after tap, and again after a reload; 下载 #1 downloads at once."""
    sign_in(phone, server, engine)
    fill_cadre(Chat(engine, unit_code="yufeng", user="yufeng-colleague"))
    second = submit_site(engine, "yufeng", "yufeng-colleague")
    phone.goto("about:blank")  # her page is closed when 组联部 returns #1
    ask(engine, supervisor(engine, clock), "退回1号 主要事迹请补充2025年的工作")
    phone.goto(server)
    notice = phone.locator(".row.bot", has=phone.locator(".bubble.notice", has_text="主要事迹请补充"))
    notice.wait_for()
    sees(phone, "请选择要填写的表")
    assert [b.is_enabled() for b in notice.locator(".choices button").all()] == [True, True], (
        "a notice's buttons are commands: usable after a reload"
    )

    before = bot_rows(phone)
    phone.locator(".chip", has_text="已交").click()
    wait_for_answer(phone, before)
    with phone.expect_download(timeout=5_000) as downloading:  # one tap: no card to tap after it
        press(phone, "下载 #1")
    assert downloading.value.suggested_filename.endswith(".docx")
    assert phone.locator("a.document").count() == 1, "the card stays, to download it again"
    assert usable(phone, f"查看 #{second}") and usable(phone, "下载 #1"), "the 已交 list still answers"
    sees(phone, "已交")
    assert f"#{second}" in press(phone, f"查看 #{second}")
    assert usable(phone, f"下载 #{second}"), "and after a 查看 too"

    phone.reload()
    sees(phone, "上一条消息的按钮仍可点选")
    assert usable(phone, f"查看 #{second}"), "the list the server still holds answers after a reload"
    assert [b.is_enabled() for b in notice.locator(".choices button").all()] == [True, True]
    assert f"#{second}" in press(phone, f"查看 #{second}"), "pressed after the reload, it answers"
    assert "请核对以上内容" in press(phone, "修改第1号")
    assert not usable(phone, f"查看 #{second}"), "a newer menu came: the list no longer answers"


def test_组联部_opens_the_page_to_a_resubmission_notice_in_sight_with_its_button(
    chromium: Browser, server: str, engine: DialogEngine
) -> None:
    """A new user's trial, items 1 and 5: on a 360×640 phone the privacy notice's 同意 is in sight;
    the 【退回后重新提交】 notice that came while the page was closed is on screen when it opens, and
    its 查看 button answers."""
    number = submit_site(engine, "chengzhong", "chengzhong-contact")
    small = {**PHONE, "viewport": {"width": 360, "height": 640}}
    context = chromium.new_context(**small)  # type: ignore[arg-type]
    try:
        boss = context.new_page()
        boss.goto(f"{server}/join?code={invite(engine, None, 'supervisor')}")
        sees(boss, "个人信息保护告知")
        agree = boss.locator(".choices button", has_text=re.compile("^同意"))
        box: Any = agree.evaluate("n => { const b = n.getBoundingClientRect(); return [b.top, b.bottom]; }")
        assert box[0] >= 0 and box[1] <= 640, f"同意 is below the fold: {box}"
        press(boss, "同意")
        [me] = engine.supervisor_chats("web")
        boss.goto("about:blank")
        engine.handle(Inbound("web", me, f"退回{number}号 照片不清晰"))
        colleague = Chat(engine, unit_code="chengzhong", user="chengzhong-contact")
        colleague.send(f"修改第{number}号")
        assert "已提交" in colleague.send("确认提交"), colleague.text
        boss.goto(server)
        notice = boss.locator(".row.bot", has=boss.locator(".bubble.notice", has_text="重新提交")).last
        notice.wait_for()
        boss.wait_for_timeout(300)  # the photos of the help and history have loaded
        top: Any = notice.evaluate("n => n.getBoundingClientRect().top")
        assert 0 <= top < 640, f"the newest notice is off screen (top {top})"
        assert usable(boss, f"查看{number}号"), "its button answers after the page opened"
        assert f"#{number} 要怎样处理" in press(boss, f"查看{number}号")
    finally:
        context.close()


def test_the_input_box_survives_a_reload_and_a_double_tap_sends_once(
    phone: Page, server: str, engine: DialogEngine
) -> None:
    """A new user's trial, item 5: the text in the input box is kept until sent; a quick chip tapped
    twice in a row sends once."""
    sign_in(phone, server, engine)
    press(phone, "示范点申报表")
    phone.fill("#text-input", "柳州市城中区某某社区妇联")
    phone.reload()
    sees(phone, "以上是之前的对话")
    assert phone.input_value("#text-input") == "柳州市城中区某某社区妇联", "kept, not lost"
    send(phone, phone.input_value("#text-input"))
    phone.reload()
    sees(phone, "以上是之前的对话")
    assert phone.input_value("#text-input") == "", "sent: not given back"

    before = bot_rows(phone)
    chip = phone.locator("#quick .chip", has_text="帮助")
    chip.click()
    chip.click()
    wait_for_answer(phone, before)
    phone.wait_for_timeout(800)
    after = phone.locator(".row.user .bubble", has_text=re.compile("^帮助$")).count()
    assert after == 1, f"帮助 was sent {after} times"


LEAVING = """() => {
    const leaving = new Event('beforeunload', {cancelable: true});
    window.dispatchEvent(leaving);
    return leaving.defaultPrevented;
}"""


def test_leaving_during_an_upload_is_asked_first(
    phone: Page, server: str, engine: DialogEngine, tmp_path: Path
) -> None:
    """A new user's trial, item 5: while a photo uploads, leaving the page asks first; after, it does not."""
    at_the_photo_field(phone, server, engine)
    noisy = tmp_path / "现场.png"
    Image.frombytes("RGB", (500, 400), os.urandom(500 * 400 * 3)).save(noisy)  # 600 KB, not made smaller
    network = phone.context.new_cdp_session(phone)
    network.send("Network.enable")
    network.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 20, "downloadThroughput": -1, "uploadThroughput": 200_000},
    )
    leaving = LEAVING
    before = bot_rows(phone)
    phone.set_input_files("#photo-input", str(noisy))
    phone.locator(".row.user .bubble.photo").last.wait_for()
    assert phone.evaluate(leaving) is True, "mid-upload the browser asks before leaving"
    wait_for_answer(phone, before)
    assert phone.evaluate(leaving) is False, "nothing left to lose: no question"


def test_photos_sent_at_once_are_captioned_one_by_one_beside_each_photo_shown_large(
    phone: Page, server: str, engine: DialogEngine, tmp_path: Path
) -> None:
    """A new user's trial, item 4: three photos picked at once: one line “已收到3张照片”, then the
    question about photo 1 with photo 1 large above it, saying which of the three it is."""
    at_the_photo_field(phone, server, engine)
    before = bot_rows(phone)
    phone.set_input_files("#photo-input", [str(path) for path in photo_files(tmp_path)])
    wait_for_answer(phone, before + 2)
    notes = phone.locator(".row.system:visible", has_text=re.compile("已收到"))
    assert notes.all_inner_texts() == ["已收到3张照片"], notes.all_inner_texts()
    questions = phone.locator(".row.bot:visible .bubble", has_text="请为这张照片写一句说明")
    assert questions.count() == 1, "the question asked again after each photo is shown once"
    question = questions.last
    assert question.inner_text().startswith("【图片及说明·第1张照片（共3张照片）】")
    assert "已收到" not in question.inner_text()
    [first] = loaded_pictures(question)
    size: Any = question.locator(".pictures img").evaluate("n => n.getBoundingClientRect().width")
    assert size >= 200, f"the photo to caption is {size}px wide"
    send(phone, "园区妇联成立大会现场")
    after = phone.locator(".row.bot:visible .bubble").last
    assert after.inner_text().startswith("【图片及说明·第2张照片（共3张照片）】")
    assert loaded_pictures(after)[0] != first, "the next question shows the next photo"


def test_the_draft_list_still_answers_after_a_reload(phone: Page, server: str, engine: DialogEngine) -> None:
    """A new user's trial, item 2: 草稿, then a reload: the list the server still holds stays usable
    (not greyed out and replaced by the home menu), and a press on it resumes the draft."""
    sign_in(phone, server, engine)
    [contact] = [c for c in contacts(engine) if c.channel == "web"]
    for text in ("/new", "课程推荐表", "家风第一课", "放弃", "确认放弃"):
        engine.handle(Inbound("web", contact.external_id, text))
    phone.reload()
    sees(phone, "请选择要填写的表")
    before = bot_rows(phone)
    phone.locator("#quick .chip", has_text="草稿").click()
    wait_for_answer(phone, before)
    assert usable(phone, "恢复：已放弃的课程推荐表")
    phone.reload()
    sees(phone, "上一条消息的按钮仍可点选")
    assert usable(phone, "恢复：已放弃的课程推荐表"), "the list the server holds answers after a reload"
    assert phone.locator(".choices button:not([disabled])").count() == 1, "no home menu beside it"
    assert "授课形式" in press(phone, "恢复：已放弃的课程推荐表")
