"""The web chat over real HTTP (uvicorn on loopback, httpx as the browser): signing in with an invite
and consent, messages, uploads, downloads, the status page, and what is refused (401, 403, 404, 413)."""

from __future__ import annotations

import asyncio
import contextlib
import io
import re
import socket
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any
from urllib.parse import quote, unquote

import httpx
import pytest
import uvicorn
from PIL import Image
from sqlmodel import Session, select
from starlette.applications import Starlette
from telegram import Bot

from bot.settings import Settings
from bot.telegram_channel import TelegramChannel
from bot.web import (
    CHANNEL,
    CSRF_HEADER,
    FILE_NOT_FOUND,
    GUEST_COOKIE,
    NEED_SIGN_IN,
    NOT_A_PHOTO,
    REFUSED_ORIGIN,
    SESSION_COOKIE,
    WEBHOOK_PATH,
    build_app,
    join_link,
    photo_mime,
    serve_web,
    status_html,
    stop_streams,
)
from dialogs.engine import NO_CONSENT, DialogEngine
from dialogs.invites import INVITE_EXPIRED, INVITE_UNKNOWN, INVITE_USED, issue_invite
from dialogs.reports import Cell, StatusReport, StatusRow
from dialogs.validators import PHOTO_MAX_BYTES, photo_formats, photo_too_large
from storage.models import Attachment, Contact, Draft, Invite
from tests.conftest import Chat, chinese_text, photo_bytes
from tests.test_supervision import region_engine

SESSION_SECRET = "web-session-secret-for-tests-only-0123456789"

SITE_ANSWERS = [
    "柳州市螺蛳粉产业园",
    "120",
    "86",
    "黄建国",
    "13907721234",
    "李秀梅",
    "15878012345",
    "单独创建",
    "园区",
    "柳州市螺蛳粉产业园妇女联合会",
    "莫小燕",
    "0772-2823290",
    "2",
    "9",
    "2021年4月18日",
    chinese_text(300),
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(app: Starlette) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread on a free loopback port; yield its base URL."""
    with serving_at(app, free_port()) as url:
        yield url


@contextmanager
def serving_at(app: Starlette, port: int) -> Iterator[str]:
    """``serving`` on a port chosen beforehand (where the settings name the address)."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_streams(app)
        server.should_exit = True
        thread.join(timeout=10)


def web_settings(**changes: object) -> Settings:
    return Settings(web_session_secret=SESSION_SECRET, **changes)  # type: ignore[arg-type]


@pytest.fixture(name="server")
def server_fixture(engine: DialogEngine) -> Iterator[str]:
    with serving(build_app(engine, web_settings())) as url:
        yield url


def browser(server: str) -> httpx.Client:
    """A client that behaves like the page: same Origin on every request, cookies kept."""
    return httpx.Client(base_url=server, headers={"Origin": server}, timeout=10)


def page_csrf(client: httpx.Client, path: str = "/") -> str:
    page = client.get(path)
    assert page.status_code == 200
    match = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
    assert match is not None
    return match.group(1)


def invite(engine: DialogEngine, unit_code: str | None = "yufeng", role: str = "contact") -> str:
    unit = engine.repository.unit_by_code(engine.campaign.id, unit_code) if unit_code else None
    return issue_invite(engine.repository, unit.id if unit else None, role=role, now=engine.clock()).code


def sign_in(
    client: httpx.Client, engine: DialogEngine, unit_code: str | None = "yufeng", role: str = "contact"
) -> str:
    """Open the invite link, agree to the notice; return the session's CSRF token."""
    code = invite(engine, unit_code, role)
    guest_token = page_csrf(client, f"/join?code={code}")
    [notice] = client.get("/api/join", params={"code": code}).json()["replies"]
    agreed = client.post(
        "/api/consent", json={"text": "1", "menu": notice["menu"]}, headers={CSRF_HEADER: guest_token}
    )
    assert agreed.status_code == 200 and agreed.json()["bound"] is True
    return str(agreed.json()["csrf"])


def post(client: httpx.Client, csrf: str, path: str, payload: dict[str, object]) -> httpx.Response:
    return client.post(path, json=payload, headers={CSRF_HEADER: csrf})


def say(client: httpx.Client, csrf: str, text: str, menu: str | None = None) -> list[dict[str, object]]:
    payload: dict[str, object] = {"text": text} if menu is None else {"text": text, "menu": menu}
    response = post(client, csrf, "/api/messages", payload)
    assert response.status_code == 200, response.text
    return list(response.json()["replies"])


def press(
    client: httpx.Client, csrf: str, replies: list[dict[str, object]], label_start: str
) -> list[dict[str, object]]:
    """Press the button whose label starts with ``label_start`` on the last reply with buttons."""
    last = [reply for reply in replies if reply["options"]][-1]
    options = list(last["options"])  # type: ignore[call-overload]
    number = next(i for i, option in enumerate(options, 1) if str(option).startswith(label_start))
    return say(client, csrf, str(number), str(last["menu"]))


def texts(replies: list[dict[str, object]]) -> str:
    return "\n".join(str(reply["text"]) for reply in replies)


def contacts(engine: DialogEngine) -> list[Contact]:
    with Session(engine.repository.engine) as session:
        return list(session.exec(select(Contact)))


def start_site_application(client: httpx.Client, csrf: str) -> list[dict[str, object]]:
    started = post(client, csrf, "/api/start", {})
    assert started.status_code == 200
    return press(client, csrf, started.json()["replies"], "示范点申报表")


def submit_site(engine: DialogEngine, unit_code: str, user: str) -> int:
    """A 示范点申报表 submitted for a unit through the engine (another contact of that unit)."""
    chat = Chat(engine, unit_code=unit_code, user=user)
    chat.send("/new")
    chat.send(next(o for o in chat.options if o.startswith("示范点申报表")))
    for answer in SITE_ANSWERS:
        chat.send(answer)
    for index in range(3):
        if index:
            chat.send("添加一张照片")
        chat.photo(caption=f"活动照片{index + 1}", color=(10 * index, 90, 160))
    chat.send("填写完毕，下一步")
    assert "已提交" in chat.send("确认提交"), chat.text
    match = re.search(r"编号 #(\d+)", chat.text)
    assert match is not None
    return int(match.group(1))


# Signing in -----------------------------------------------------------------------------------------


def test_without_a_bound_session_every_call_is_refused_with_401(server: str) -> None:
    with browser(server) as client:
        for path in ("/api/start", "/api/messages", "/api/notices"):
            response = client.post(path, json={"text": "你好"}, headers={CSRF_HEADER: "x"})
            assert response.status_code == 401 and response.json() == {"error": NEED_SIGN_IN}
        upload = client.post("/api/upload", content=photo_bytes(), headers={"Content-Type": "image/jpeg"})
        assert upload.status_code == 401
        for path in ("/status", "/files/submissions/1.docx"):
            refused = client.get(path)
            assert refused.status_code == 401 and NEED_SIGN_IN in refused.text
            assert "<title>请先登录 · 妇联表格报送助手</title>" in refused.text, "not the name twice"
        client.cookies.set(SESSION_COOKIE, "someone.forged-signature")
        assert client.post("/api/start", json={}).status_code == 401
        page = client.get("/")
        assert '<meta name="intake-state" content="guest">' in page.text and "请输入邀请码" in page.text


def test_a_bad_invite_code_gets_a_clear_message_and_stores_nothing(server: str, engine: DialogEngine) -> None:
    unusable = INVITE_UNKNOWN.format(contact=engine.campaign.contact.line())
    with browser(server) as client:
        guest_token = page_csrf(client, "/join?code=WRONGCODE2")
        for code in ("WRONGCODE2", "../../etc", ""):
            [reply] = client.get("/api/join", params={"code": code}).json()["replies"]
            assert reply["text"] == unusable and reply["options"] == []
        tried = client.post(
            "/api/consent", json={"text": "1", "menu": "iWRONGCODE2"}, headers={CSRF_HEADER: guest_token}
        )
        assert tried.json()["bound"] is False and tried.json()["replies"][0]["text"] == unusable
        assert SESSION_COOKIE not in tried.cookies
    assert contacts(engine) == []


def test_consent_binds_the_browser_with_a_signed_http_only_cookie(server: str, engine: DialogEngine) -> None:
    code = invite(engine)
    with browser(server) as client:
        guest_token = page_csrf(client, f"/join?code={code}")
        [notice] = client.get("/api/join", params={"code": code}).json()["replies"]
        assert notice["text"].startswith("【个人信息保护告知】") and "境外" not in notice["text"]
        assert notice["options"] == ["同意", "不同意"] and notice["menu"] == f"i{code}"
        assert contacts(engine) == [], "nothing is stored before consent"
        declined = client.post(
            "/api/consent", json={"text": "2", "menu": notice["menu"]}, headers={CSRF_HEADER: guest_token}
        )
        assert declined.json()["bound"] is False and declined.json()["replies"][0]["text"] == NO_CONSENT
        assert contacts(engine) == [] and SESSION_COOKIE not in declined.cookies

        agreed = client.post(
            "/api/consent", json={"text": "1", "menu": notice["menu"]}, headers={CSRF_HEADER: guest_token}
        )
        body = agreed.json()
        assert body["bound"] is True and body["who"] == "鱼峰区妇联" and body["role"] == "contact"
        assert "感谢您的同意" in texts(body["replies"]) and "请选择要填写的表" in texts(body["replies"])
        cookie = next(h for h in agreed.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE))
        attributes = [part.strip().lower() for part in cookie.split(";")]
        assert "httponly" in attributes and "samesite=lax" in attributes and "path=/" in attributes
        assert "secure" not in attributes, "plain http on loopback: no Secure flag"
        user_id = agreed.cookies[SESSION_COOKIE].rsplit(".", 1)[0]
        without_token = client.post("/api/consent", json={"text": "1", "menu": notice["menu"]})
        assert without_token.status_code == 403, "no CSRF token, no consent"
    [contact] = contacts(engine)
    assert (contact.channel, contact.external_id) == (CHANNEL, user_id) and contact.consented_at is not None


def test_the_invite_link_opened_again_resumes_where_it_bound_and_explains_itself_elsewhere(
    server: str, engine: DialogEngine
) -> None:
    contact = engine.campaign.contact.line()
    with browser(server) as phone:
        csrf = sign_in(phone, engine, "chengzhong")
        [used_code] = [i.code for i in _invites(engine) if i.used_by == contacts(engine)[0].id]
        code = invite(engine, "chengzhong")  # a second, unused link for the same unit
        for path in (f"/join?code={used_code}", "/join", f"/join?code={used_code.lower()}"):
            again = phone.get(path)
            assert again.status_code == 303 and again.headers["location"] == "/", path
        page = phone.get("/")
        assert '<meta name="intake-state" content="bound">' in page.text and "城中区妇联" in page.text
        started = post(phone, csrf, "/api/start", {})
        assert "城中区妇联" in texts(started.json()["replies"])
        same_unit = phone.get(f"/join?code={code}")
        assert same_unit.status_code == 303, "a link for where she already is just reopens her chat"
        other_unit = phone.get(f"/join?code={invite(engine, 'yufeng')}")
        assert other_unit.status_code == 200 and 'content="bound"' in other_unit.text, "a new unit's notice"
    with browser(server) as other_phone:
        other_phone.get(f"/join?code={used_code}")
        [reply] = other_phone.get("/api/join", params={"code": used_code}).json()["replies"]
        assert reply["text"] == INVITE_USED.format(contact=contact) and reply["options"] == []
        assert "另一部手机" in reply["text"] and "无效" not in reply["text"]
        expired = issue_invite(
            engine.repository,
            None,
            role="supervisor",
            now=engine.clock() - timedelta(days=8),
        ).code
        [reply] = other_phone.get("/api/join", params={"code": expired}).json()["replies"]
        assert reply["text"] == INVITE_EXPIRED.format(contact=contact)
    assert len(contacts(engine)) == 1
    with browser(server) as department:  # 组联部's link, the same
        sign_in(department, engine, None, "supervisor")
        [supervisor_code] = [i.code for i in _invites(engine) if i.role == "supervisor" and i.used_by]
        again = department.get(f"/join?code={supervisor_code}")
        assert again.status_code == 303 and again.headers["location"] == "/"
        assert "市妇联组联部" in department.get("/").text


def _invites(engine: DialogEngine) -> list[Invite]:
    with Session(engine.repository.engine) as session:
        return list(session.exec(select(Invite)))


def test_the_cookie_is_secure_when_the_site_is_https(engine: DialogEngine) -> None:
    app = build_app(engine, web_settings(web_url="https://fulian.example.cn"))
    code = invite(engine)
    with serving(app) as server, httpx.Client(base_url=server, timeout=10) as client:
        client.headers["Origin"] = "https://fulian.example.cn"  # behind a TLS proxy
        page = client.get(f"/join?code={code}")
        guest = next(h for h in page.headers.get_list("set-cookie") if h.startswith(GUEST_COOKIE))
        assert "; secure" in guest.lower() and "samesite=strict" in guest.lower()
        client.cookies.set(GUEST_COOKIE, guest.split(";", 1)[0].split("=", 1)[1])  # as a browser on https
        guest_token = re.findall(r'name="csrf-token" content="([^"]+)"', page.text)[0]
        agreed = client.post(
            "/api/consent", json={"text": "1", "menu": f"i{code}"}, headers={CSRF_HEADER: guest_token}
        )
        assert agreed.json()["bound"] is True
        session = next(h for h in agreed.headers.get_list("set-cookie") if h.startswith(SESSION_COOKIE))
        assert "; secure" in session.lower() and "; httponly" in session.lower()


# Chatting ---------------------------------------------------------------------------------------------


def test_a_message_round_trip_and_a_reload_continues_at_the_same_field(
    server: str, engine: DialogEngine
) -> None:
    with browser(server) as client:
        csrf = sign_in(client, engine)
        asked = start_site_application(client, csrf)
        assert "请输入申报单位名称" in texts(asked)
        assert "申报单位共有多少人" in texts(say(client, csrf, SITE_ANSWERS[0]))
        wrong = say(client, csrf, "很多")
        assert "申报单位共有多少人" in texts(wrong) and len(wrong) == 2, (
            "the validator's message, then the question"
        )
        assert "其中女性有多少人" in texts(say(client, csrf, "120"))
        session = client.cookies[SESSION_COOKIE]

    with browser(server) as reloaded:  # a fresh page load with the same cookie
        reloaded.cookies.set(SESSION_COOKIE, session)
        csrf = page_csrf(reloaded)
        assert '<meta name="intake-state" content="bound">' in reloaded.get("/").text
        again = post(reloaded, csrf, "/api/start", {}).json()
        assert again["notices"] == []
        assert "欢迎回来，鱼峰区妇联" in texts(again["replies"]) and "其中女性有多少人" in texts(
            again["replies"]
        )
        assert "示范点申报表" in texts(say(reloaded, csrf, "86") + say(reloaded, csrf, "/review"))


def test_choice_buttons_carry_their_menu_and_an_old_button_is_recognised(
    server: str, engine: DialogEngine
) -> None:
    with browser(server) as client:
        csrf = sign_in(client, engine)
        replies = start_site_application(client, csrf)
        for answer in SITE_ANSWERS[:7]:
            replies = say(client, csrf, answer)
        [question] = [reply for reply in replies if reply["options"]]
        assert question["options"][0] == "单独创建" and str(question["menu"]).startswith("d")
        chosen = say(client, csrf, "2", str(question["menu"]))
        assert "示范点属于哪个领域" in texts(chosen)
        stale = say(client, csrf, "1", str(question["menu"]))
        assert "这个按钮已过期" in texts(stale)


def test_notices_queued_for_the_contact_are_shown_once(server: str, engine: DialogEngine) -> None:
    with browser(server) as client:
        csrf = sign_in(client, engine)
        user_id = client.cookies[SESSION_COOKIE].rsplit(".", 1)[0]
        engine.repository.enqueue_message(CHANNEL, user_id, {"text": "贵单位的#1被退回修改"})
        engine.repository.enqueue_message(CHANNEL, "someone-else", {"text": "别人的通知"})
        assert [n["text"] for n in post(client, csrf, "/api/start", {}).json()["notices"]] == [
            "贵单位的#1被退回修改"
        ]
        assert post(client, csrf, "/api/start", {}).json()["notices"] == []
        engine.repository.enqueue_message(CHANNEL, user_id, {"text": "截止提醒"})
        polled = post(client, csrf, "/api/notices", {}).json()
        [notice] = polled["notices"]
        assert notice == {"id": polled["seen"], "text": "截止提醒", "options": [], "menu": ""}
        assert post(client, csrf, "/api/notices", {"after": polled["seen"]}).json()["notices"] == []
        again = post(client, csrf, "/api/notices", {"after": polled["seen"] - 1}).json()["notices"]
        assert again == [notice], "a page that missed it gets it again by its id"


# What is refused ------------------------------------------------------------------------------------


def test_a_post_without_the_token_or_from_another_origin_is_403_and_changes_nothing(
    server: str, engine: DialogEngine
) -> None:
    with browser(server) as client:
        csrf = sign_in(client, engine)
        start_site_application(client, csrf)
        [contact] = contacts(engine)
        before = engine.repository.draft(contact.current_draft_id or 0)
        assert before is not None
        attempts = [
            client.post("/api/messages", json={"text": "柳州市某单位"}),
            client.post("/api/messages", json={"text": "柳州市某单位"}, headers={CSRF_HEADER: "guessed"}),
            client.post(
                "/api/messages",
                json={"text": "柳州市某单位"},
                headers={CSRF_HEADER: csrf, "Origin": "https://evil.example"},
            ),
            httpx.post(
                server + "/api/messages",
                json={"text": "x"},
                cookies=client.cookies,
                headers={CSRF_HEADER: csrf},
            ),
            client.post("/api/upload", content=photo_bytes(), headers={"Content-Type": "image/jpeg"}),
        ]
        for response in attempts:
            assert response.status_code == 403 and response.json() == {"error": REFUSED_ORIGIN}
        after = engine.repository.draft(before.id or 0)
        assert after is not None and (after.state, after.answers, after.revision) == (
            before.state,
            before.answers,
            before.revision,
        )
        same_site_referer = httpx.post(
            server + "/api/messages",
            json={"text": "柳州市某单位"},
            cookies=client.cookies,
            headers={CSRF_HEADER: csrf, "Referer": server + "/"},
        )
        assert same_site_referer.status_code == 200, "without Origin, a same-site Referer will do"


def test_uploads_too_big_or_not_photos_are_refused_with_a_message(server: str, engine: DialogEngine) -> None:
    with browser(server) as client:
        csrf = sign_in(client, engine)
        headers = {CSRF_HEADER: csrf, "Content-Type": "image/jpeg"}
        too_big = client.post("/api/upload", content=b"\xff\xd8\xff" + bytes(14 << 20), headers=headers)
        assert too_big.status_code == 413, "a 14 MB file is refused at the door, not taken in first"
        assert too_big.json()["error"] == photo_too_large(3 + (14 << 20)), "the photo rule's limit, once"
        assert "不超过 10 MB" in too_big.json()["error"]
        just_over = client.post(
            "/api/upload", content=b"\xff\xd8\xff" + bytes(PHOTO_MAX_BYTES - 2), headers=headers
        )
        assert just_over.status_code == 413 and "不超过 10 MB" in just_over.json()["error"]
        pdf = client.post("/api/upload", content=b"%PDF-1.4\n" + bytes(2000), headers=headers)
        assert pdf.status_code == 415 and pdf.json() == {"error": NOT_A_PHOTO}
        renamed = client.post(
            "/api/upload",
            content=b"%PDF-1.4\n" + bytes(2000),
            headers={**headers, "X-File-Name": "IMG_0001.JPG"},
        )
        assert renamed.status_code == 415 and "以 .jpg 结尾，但里面不是真正的照片" in renamed.json()["error"]
        video_headers = {CSRF_HEADER: csrf, "Content-Type": "video/mp4", "X-File-Name": "kecheng.mp4"}
        fake_video = client.post("/api/upload", content=bytes(5000), headers=video_headers)
        assert fake_video.status_code == 415 and "以 .mp4 结尾" in fake_video.json()["error"]
        huge = client.post(
            "/api/upload", content=iter([bytes(1 << 20)] * 301), headers=video_headers
        )  # streamed, no length declared: refused once past 300 MB
        assert huge.status_code == 413 and "300" in huge.json()["error"]
        spooled = list((engine.repository.data_dir / "files").glob(".tmp-*"))
        assert spooled == [], "no upload left behind on disk"
        long_text = post(client, csrf, "/api/messages", {"text": "字" * 10_001})
        assert long_text.status_code == 413 and "太长" in long_text.json()["error"]
        bad = client.post("/api/messages", content=b"not json", headers={CSRF_HEADER: csrf})
        assert bad.status_code == 400
    with Session(engine.repository.engine) as session:
        assert list(session.exec(select(Attachment))) == []


def test_a_photo_is_taken_where_the_form_asks_for_one(server: str, engine: DialogEngine) -> None:
    with browser(server) as client:
        csrf = sign_in(client, engine)
        start_site_application(client, csrf)
        for answer in SITE_ANSWERS:
            say(client, csrf, answer)
        sent = client.post(
            "/api/upload",
            content=photo_bytes(color=(5, 6, 7), fmt="PNG"),
            headers={CSRF_HEADER: csrf, "Content-Type": "image/png", "X-File-Name": "%E7%85%A7.png"},
        )
        assert sent.status_code == 200 and "请为这张照片写一句说明" in texts(sent.json()["replies"])
        [contact] = contacts(engine)
        draft = engine.repository.draft(contact.current_draft_id or 0)
        assert isinstance(draft, Draft) and draft.answers["photos"][0]["photo"]["mime"] == "image/png"


def heic_bytes(width: int = 800, height: int = 600, orientation: int = 1) -> bytes:
    """An iPhone-style HEIC photo (pillow_heif encodes it), with an EXIF orientation."""
    photo_formats()  # registers the HEIF codec with Pillow
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.new("RGB", (width, height), (200, 120, 30)).save(buffer, format="HEIF", exif=exif.tobytes())
    return buffer.getvalue()


def test_a_heic_photo_is_shown_in_the_chat_as_a_jpeg_the_browser_can_draw(
    server: str, engine: DialogEngine
) -> None:
    with browser(server) as client:
        csrf = sign_in(client, engine)
        start_site_application(client, csrf)
        for answer in SITE_ANSWERS:
            say(client, csrf, answer)
        data = heic_bytes(800, 600, orientation=6)  # taken sideways: upright it is 600 × 800
        sent = client.post(
            "/api/upload",
            content=data,
            headers={CSRF_HEADER: csrf, "Content-Type": "image/heic", "X-File-Name": "IMG_0001.HEIC"},
        )
        [url] = [p["url"] for reply in sent.json()["replies"] for p in reply.get("pictures", [])]
        shown = client.get(url)
        assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg"
        assert shown.headers["content-disposition"].startswith("inline;")
        with Image.open(io.BytesIO(shown.content)) as preview:
            assert (preview.format, preview.size) == ("JPEG", (600, 800)), "a JPEG, upright"
        press(client, csrf, say(client, csrf, "园区妇联成立大会现场"), "添加一张照片")
        jpeg = photo_bytes(640, 480)
        sent = client.post(
            "/api/upload",
            content=jpeg,
            headers={CSRF_HEADER: csrf, "Content-Type": "image/jpeg", "X-File-Name": "b.jpg"},
        )
        [url] = [p["url"] for reply in sent.json()["replies"] for p in reply.get("pictures", [])]
        as_stored = client.get(url)
        assert as_stored.headers["content-type"] == "image/jpeg" and as_stored.content == jpeg
    [contact] = [c for c in contacts(engine) if c.channel == CHANNEL]
    draft = engine.repository.draft(contact.current_draft_id or 0)
    assert draft is not None and draft.answers["photos"][0]["photo"]["mime"] in ("image/heic", "image/heif")


def test_downloads_by_submission_id_only_for_the_unit_and_for_supervisors(
    server: str, engine: DialogEngine
) -> None:
    own = submit_site(engine, "yufeng", "yufeng-colleague")
    other = submit_site(engine, "chengzhong", "chengzhong-contact")
    with browser(server) as client:
        sign_in(client, engine, "yufeng")
        mine = client.get(f"/files/submissions/{own}.docx")
        assert mine.status_code == 200 and mine.content.startswith(b"PK")
        assert mine.headers["content-type"].startswith("application/vnd.openxmlformats")
        assert mine.headers["content-disposition"].startswith("attachment;")
        assert client.get(f"/files/submissions/{own}.docx", params={"v": "1"}).status_code == 200
        for refused in (
            f"/files/submissions/{other}.docx",
            f"/files/submissions/{own}.docx?v=7",
            "/files/submissions/9999.docx",
            "/files/submissions/..%2F..%2Fintake.db",
            "/files/submissions/%2E%2E/%2E%2E/intake.db",
        ):
            response = client.get(refused)
            assert response.status_code == 404, refused
        assert FILE_NOT_FOUND in client.get(f"/files/submissions/{other}.docx").text
        own_status = client.get("/status")
        assert (
            own_status.status_code == 200 and "鱼峰区" in own_status.text and "城中区" not in own_status.text
        )

    with browser(server) as supervisor:
        csrf = sign_in(supervisor, engine, None, "supervisor")
        for submission_id in (own, other):
            assert supervisor.get(f"/files/submissions/{submission_id}.docx").status_code == 200
        page = supervisor.get("/status")
        assert page.status_code == 200 and "全市示范点 2/10 个" in page.text
        linked = "<th scope='row'><a href='/?unit=%E5%9F%8E%E4%B8%AD%E5%8C%BA'>城中区</a></th>"
        assert linked in page.text and "示范点1/≥1✓" in page.text, "each unit opens its submissions"
        shown = say(supervisor, csrf, f"/show {other}")
        [document] = [reply["document"] for reply in shown if reply.get("document")]
        assert str(document["url"]).startswith(f"/files/submissions/{other}.docx?v=1&g=")  # type: ignore[index]
        assert {**document, "url": ""} == {  # type: ignore[dict-item]
            "url": "",
            "name": f"#{other} 第1版",
            "label": "下载 Word 表格",
            "icon": "W",
        }
        assert supervisor.get(str(document["url"])).status_code == 200  # type: ignore[index]


def test_every_response_carries_the_security_headers(server: str) -> None:
    with browser(server) as client:
        for response in (client.get("/"), client.get("/static/chat.js"), client.post("/api/start", json={})):
            assert response.headers["x-content-type-options"] == "nosniff"
            assert response.headers["referrer-policy"] == "same-origin"
            assert "default-src 'self'" in response.headers["content-security-policy"]
            assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert client.get("/healthz").text == "ok"
        assert client.post("/telegram/webhook", json={"update_id": 1}).status_code in (404, 405)


def test_photo_types_are_recognised_by_their_bytes() -> None:
    assert photo_mime(photo_bytes()) == "image/jpeg"
    assert photo_mime(photo_bytes(fmt="PNG")) == "image/png"
    assert photo_mime(photo_bytes(fmt="WEBP")) == "image/webp"
    assert photo_mime(b"\x00\x00\x00\x18ftypheic" + bytes(20)) == "image/heic"
    assert photo_mime(b"GIF89a" + bytes(20)) is None
    assert photo_mime(b"PK\x03\x04 a docx") is None


def test_the_status_report_reads_as_a_table() -> None:
    report = StatusReport(
        "《通知》报送情况（截至5月10日 10:00）",
        ("登记表：5月25日截止",),
        (
            StatusRow("鱼峰区", (Cell("登记表", 2, "2", done=True), Cell("课程", 0, "≥2", late=True))),
            StatusRow("城中区（120个单位）", (Cell("登记表齐", 80, "120", returned=3),), area="城中区"),
            StatusRow("柳南区", (Cell("登记表", 2, "2", done=True, late=True), Cell("课程", 1, "≥2"))),
        ),
        figures=("全市示范点 0/10 个",),
    )
    rendered = status_html(report)
    assert "<h1>《通知》报送情况（截至5月10日 10:00）</h1>" in rendered
    assert "<li>登记表：5月25日截止</li>" in rendered
    assert "<span class='cell done'>登记表2/2✓</span>" in rendered
    assert "<span class='cell late'>课程0/≥2逾期</span>" in rendered
    assert "<span class='cell short'>登记表齐80/120（退回3）</span>" in rendered, (
        "returned: marked, not parsed"
    )
    assert "<span class='cell done'>登记表2/2✓</span><span class='cell short'>课程1/≥2</span>" in rendered, (
        "done is green after the deadline too; short is amber before it"
    )
    assert "<a href='/status?area=%E5%9F%8E%E4%B8%AD%E5%8C%BA'>城中区（120个单位）</a>" in rendered
    assert "<div class='figures'><p>全市示范点 0/10 个</p></div>" in rendered
    assert "&lt;script&gt;" in status_html(StatusReport("<script>alert(1)</script>", (), ()))


def test_serve_web_serves_every_route_until_stopped(engine: DialogEngine) -> None:
    port = free_port()
    ready: dict[str, Any] = {}

    async def run() -> None:
        ready["loop"], ready["stop"] = asyncio.get_running_loop(), asyncio.Event()
        await serve_web(web_settings(port=port), engine, ready["stop"])

    thread = threading.Thread(target=asyncio.run, args=(run(),), daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).text == "ok":
                break
        time.sleep(0.05)
    assert "请输入邀请码" in httpx.get(f"http://127.0.0.1:{port}/", timeout=5).text
    ready["loop"].call_soon_threadsafe(ready["stop"].set)
    thread.join(timeout=10)
    assert not thread.is_alive()


def test_the_webhook_route_exists_only_with_a_telegram_channel_and_secret(engine: DialogEngine) -> None:
    channel = TelegramChannel(Bot("123456:OFFLINE-TOKEN-never-used"), engine)
    app = build_app(engine, web_settings(), channel, "webhook-secret")
    assert {getattr(route, "path", "") for route in app.routes} >= {"/telegram/webhook", "/", "/healthz"}
    assert WEBHOOK_PATH not in {
        getattr(route, "path", "") for route in build_app(engine, web_settings()).routes
    }


def test_messages_of_one_browser_are_handled_one_at_a_time_in_order(
    server: str, engine: DialogEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    with browser(server) as client:
        csrf = sign_in(client, engine)
        start_site_application(client, csrf)
        handle = engine.handle
        overlap = {"now": 0, "most": 0}
        guard = threading.Lock()

        def slow_handle(inbound: Any, **options: Any) -> Any:
            with guard:
                overlap["now"] += 1
                overlap["most"] = max(overlap["most"], overlap["now"])
            time.sleep(0.25)
            try:
                return handle(inbound, **options)
            finally:
                with guard:
                    overlap["now"] -= 1

        monkeypatch.setattr(engine, "handle", slow_handle)

        def answer(text: str) -> int:
            headers = {CSRF_HEADER: csrf, "Origin": server}
            reply = httpx.post(
                server + "/api/messages",
                json={"text": text},
                cookies=client.cookies,
                headers=headers,
                timeout=10,
            )
            return reply.status_code

        threads = []
        for text in (SITE_ANSWERS[0], "120", "86"):
            thread = threading.Thread(target=answer, args=(text,))
            thread.start()
            threads.append(thread)
            time.sleep(0.06)  # sent in this order, faster than the engine answers
        for thread in threads:
            thread.join(timeout=10)
    assert overlap["most"] == 1, "one message at a time per browser"
    [contact] = contacts(engine)
    draft = engine.repository.draft(contact.current_draft_id or 0)
    assert draft is not None and draft.answers == {
        "org_name": SITE_ANSWERS[0],
        "staff_count": 120,
        "female_count": 86,
    }


def test_invite_links_point_at_the_public_address_when_there_is_one() -> None:
    assert (
        join_link(Settings(host="127.0.0.1", port=8080), "ABCD2345EF")
        == "http://127.0.0.1:8080/join?code=ABCD2345EF"
    )
    public = Settings(web_url="https://fulian.example.cn/")
    assert join_link(public, "ABCD2345EF") == "https://fulian.example.cn/join?code=ABCD2345EF"


def test_the_export_zip_downloads_for_supervisors_only(server: str, engine: DialogEngine) -> None:
    submit_site(engine, "yufeng", "yufeng-colleague")
    with browser(server) as supervisor:
        csrf = sign_in(supervisor, engine, None, "supervisor")
        [promised] = say(supervisor, csrf, "/export")
        assert "正在生成全部表格" in str(promised["text"]) and not promised.get("document")
        assert engine.run_export_jobs() == 1  # the service's export loop, run here
        notices = post(supervisor, csrf, "/api/notices", {}).json()["notices"]
        [document] = [notice["document"] for notice in notices if notice.get("document")]
        url = str(document["url"]).partition("?")[0]  # without its grant
        # Named in Chinese, from the notice's 文号: “柳妇通〔2021〕29号-导出-5月20日10时00分.zip”.
        name = unquote(url.removeprefix("/files/exports/"))
        assert name.startswith("柳妇通〔2021〕29号-导出-") and name.endswith("分.zip"), name
        archive = supervisor.get(url)
        assert archive.status_code == 200 and archive.headers["content-type"] == "application/zip"
        assert quote(name) in archive.headers["content-disposition"], "saved under its Chinese name"
        with zipfile.ZipFile(io.BytesIO(archive.content)) as exported:
            assert any(name.endswith(".docx") for name in exported.namelist())
        refusals = ("/files/exports/intake.db", "/files/exports/..%2Fintake.db", url + ".bak")
        for refused in (*refusals, "/files/exports/.tmp-" + url.removeprefix("/files/exports/")):
            assert supervisor.get(refused).status_code == 404, refused
    with browser(server) as client:
        sign_in(client, engine, "yufeng")
        assert client.get(url).status_code == 404, "a unit's contact cannot fetch 组联部's export"


def test_a_regions_status_page_links_each_area_to_its_units(engine: DialogEngine) -> None:
    regional = region_engine(engine)
    with serving(build_app(regional, web_settings())) as server, browser(server) as supervisor:
        sign_in(supervisor, regional, None, "supervisor")
        page = supervisor.get("/status")
        link = f"<a href='/status?area={quote('鱼峰区')}'>鱼峰区（10个单位）</a>"
        assert page.status_code == 200 and link in page.text
        assert "鱼峰区1村" not in page.text, "a region's page is one row per area"
        area = supervisor.get("/status", params={"area": "鱼峰区"})
        assert area.status_code == 200 and "鱼峰区9村" in area.text and "柳南区" not in area.text
        table = area.text.split("<h1>", 1)[1].split("</table>")[0]
        assert "/status?area=" not in table and f"<a href='/?unit={quote('鱼峰区9村')}'>" in table
        unknown = supervisor.get("/status", params={"area": "<b>火星区</b>"})
        assert unknown.status_code == 404 and "&lt;b&gt;火星区&lt;/b&gt;" in unknown.text


def test_the_site_has_an_icon_where_browsers_look_for_it(server: str) -> None:
    for path in ("/favicon.ico", "/static/icon.svg"):
        response = httpx.get(server + path)
        assert response.status_code == 200 and response.headers["content-type"] == "image/svg+xml"
        assert response.content.startswith(b"<svg") and b"<script" not in response.content
    assert '<link rel="icon" href="/static/icon.svg"' in httpx.get(server + "/").text


def test_查看_gives_the_page_a_units_photos_and_videos_to_show_and_play(
    server: str, engine: DialogEngine
) -> None:
    from bot.mp4_probe import video_file
    from tests.test_mp4_probe import mp4

    colleague = Chat(engine, unit_code="yufeng", user="yufeng-colleague")
    colleague.send("新建")
    colleague.send(next(o for o in colleague.options if o.startswith("课程推荐表")))
    for number in range(2):
        if number:
            colleague.send("添加一节课程")
        for answer in [
            f"家风第{number + 1}课",
            "讲授",
            chinese_text(50),
            "覃美玲",
            "1982.07",
            "鹿寨县妇联主席",
        ]:
            colleague.send(answer)
        video = video_file(mp4(300 + number, 1280, 720, payload=2000), file_name="课.mp4")
        assert video is not None
        colleague.send("", video)
    colleague.send("填写完毕，下一步")
    colleague.send("韦丽华 鹿寨县妇联主席")
    colleague.send("13907721234")
    assert "编号 #1" in colleague.send("确认提交")
    with browser(server) as client:
        csrf = sign_in(client, engine, "yufeng")
        shown = say(client, csrf, "查看1号")[0]
        pictures = shown["pictures"]
        assert isinstance(pictures, list) and [p["kind"] for p in pictures] == ["video", "video"]
        played = client.get(pictures[1]["url"], headers={"Range": "bytes=0-99"})
        assert played.status_code == 206 and played.headers["content-type"] == "video/mp4"
        assert played.headers["content-disposition"].startswith("inline")
        assert len(played.content) == 100, "a player asks for parts of it"
    with browser(server) as stranger:
        sign_in(stranger, engine, "chengzhong")
        bare = pictures[1]["url"].split("?")[0]  # without the owner's grant: this browser's own session
        assert stranger.get(bare).status_code == 404, "another unit's video is not theirs"
        assert stranger.get("/files/videos/" + "0" * 64).status_code == 404
