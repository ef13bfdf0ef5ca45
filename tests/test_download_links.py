"""Download links that open in any browser (``bot.download_grants``): a file link the chat gives
carries a day-long grant for that file and that contact, so that WeChat's “在浏览器打开” — a browser
without the session cookie — still downloads it; an expired link says so in a page, with how to get
a new one; a revoked contact's links and files no longer theirs are refused."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from bot.download_grants import (
    GET_IT_AGAIN,
    GRANT_LIFETIME,
    LINK_EXPIRED,
    LINK_REVOKED,
    DownloadGrants,
    link_expired,
)
from bot.web import (
    CHANNEL,
    CSRF_HEADER,
    FILE_NOT_FOUND,
    NEED_SIGN_IN,
    Signer,
)
from dialogs.engine import DialogEngine
from tests.conftest import photo_bytes
from tests.test_web_api import (  # noqa: F401 - server is a fixture
    SESSION_SECRET,
    SITE_ANSWERS,
    browser,
    contacts,
    say,
    server_fixture,
    sign_in,
    start_site_application,
    submit_site,
    texts,
)

GRANT = re.compile(r"^\d{1,18}-[0-9a-f]{12}-\d{10}\.[A-Za-z0-9_-]{43}$")


def grant_of(url: str) -> str:
    [grant] = parse_qs(urlsplit(url).query)["g"]
    return grant


def supervisor_views(client: httpx.Client, engine: DialogEngine, number: int) -> tuple[str, list[str]]:
    """组联部 open a submission (查看N号): its DOCX link and its photos' links, as the page gets them."""
    csrf = sign_in(client, engine, None, "supervisor")
    replies = say(client, csrf, f"查看{number}号")
    [document] = [reply["document"] for reply in replies if reply.get("document")]
    pictures = [picture["url"] for reply in replies for picture in reply.get("pictures", [])]  # type: ignore[attr-defined]
    return str(document["url"]), [str(url) for url in pictures]  # type: ignore[index]


def test_a_link_from_the_chat_downloads_in_a_browser_without_the_cookie(
    server: str, engine: DialogEngine
) -> None:
    number = submit_site(engine, "yufeng", "yufeng-colleague")
    with browser(server) as wechat:
        docx, pictures = supervisor_views(wechat, engine, number)
    assert docx.startswith(f"/files/submissions/{number}.docx?v=1&g=") and len(pictures) == 3
    for url in (docx, *pictures):
        assert GRANT.match(grant_of(url)), "a row id, its binding, a time and a signature: nothing personal"
    assert re.sub(r"g=(\d+)-", lambda m: f"g={int(m[1]) + 1}-", docx) != docx, "the forged link differs"
    with httpx.Client(base_url=server, timeout=10) as system_browser:  # no cookie, no Origin
        downloaded = system_browser.get(docx)
        assert downloaded.status_code == 200 and downloaded.content.startswith(b"PK")
        assert downloaded.headers["content-disposition"].startswith("attachment;")
        shown = system_browser.get(pictures[0])
        assert shown.status_code == 200 and shown.headers["content-type"].startswith("image/")
        bare = system_browser.get(docx.partition("?")[0], params={"v": "1"})
        assert bare.status_code == 401 and NEED_SIGN_IN in bare.text, "without its grant, as before"
        for forged in (
            docx.replace(f"/{number}.docx", f"/{number + 1}.docx"),  # another file
            docx.replace("v=1", "v=2"),  # another version
            re.sub(r"g=(\d+)-", lambda m: f"g={int(m[1]) + 1}-", docx),  # another contact
            docx[:-1] + ("A" if docx[-1] != "A" else "B"),  # tampered signature
        ):
            refused = system_browser.get(forged)
            assert refused.status_code == 401 and NEED_SIGN_IN in refused.text, forged


def test_an_expired_link_says_so_in_a_page_with_how_to_get_a_new_one(
    server: str, engine: DialogEngine
) -> None:
    number = submit_site(engine, "yufeng", "yufeng-colleague")
    with browser(server) as wechat:
        csrf = sign_in(wechat, engine, "yufeng")
        say(wechat, csrf, "已交")
    [contact] = [c for c in contacts(engine) if c.channel == CHANNEL]
    assert contact.id is not None
    yesterday = DownloadGrants(
        Signer(SESSION_SECRET.encode()), clock=lambda: time.time() - GRANT_LIFETIME - 60
    )
    identity = engine.identity_of(contact.id)
    assert identity is not None
    old = yesterday.link(f"/files/submissions/{number}.docx?v=1", contact.id, identity.binding)
    with httpx.Client(base_url=server, timeout=10) as system_browser:
        expired = system_browser.get(old)
        assert expired.status_code == 410 and expired.headers["content-type"].startswith("text/html")
        assert LINK_EXPIRED.format(again=GET_IT_AGAIN["submission"]) in expired.text
        assert "“已交”" in expired.text
        fresh = DownloadGrants(Signer(SESSION_SECRET.encode())).link(
            f"/files/submissions/{number}.docx?v=1", contact.id, identity.binding
        )
        assert system_browser.get(fresh).status_code == 200


def test_a_revoked_contacts_links_are_refused(server: str, engine: DialogEngine) -> None:
    number = submit_site(engine, "yufeng", "yufeng-colleague")
    with browser(server) as supervisor:
        docx, _pictures = supervisor_views(supervisor, engine, number)
    with httpx.Client(base_url=server, timeout=10) as system_browser:
        assert system_browser.get(docx).status_code == 200
        [supervisor_row] = [c for c in contacts(engine) if c.role == "supervisor"]
        assert supervisor_row.id is not None
        engine.repository.revoke_contact(supervisor_row.id)
        revoked = system_browser.get(docx)
        assert revoked.status_code == 403 and LINK_REVOKED.format(contact=engine.contact_line) in revoked.text


def test_a_photo_link_is_refused_once_the_photo_is_no_longer_theirs(
    server: str, engine: DialogEngine
) -> None:
    with browser(server) as wechat:
        csrf = sign_in(wechat, engine, "yufeng")
        start_site_application(wechat, csrf)
        for answer in SITE_ANSWERS:
            say(wechat, csrf, answer)
        sent = wechat.post(
            "/api/upload",
            content=photo_bytes(color=(9, 8, 7)),
            headers={CSRF_HEADER: csrf, "Content-Type": "image/jpeg", "X-File-Name": "a.jpg"},
        )
        [picture] = [p["url"] for reply in sent.json()["replies"] for p in reply.get("pictures", [])]
        with httpx.Client(base_url=server, timeout=10) as system_browser:
            assert system_browser.get(picture).status_code == 200, "the photo of her open draft"
            say(wechat, csrf, "放弃")
            assert "已放弃" in texts(say(wechat, csrf, "确认放弃"))
            gone = system_browser.get(picture)
            assert gone.status_code == 404 and FILE_NOT_FOUND in gone.text, "no longer hers to see"


def test_reloaded_history_gets_fresh_grants_and_the_kept_conversation_none(
    server: str, engine: DialogEngine
) -> None:
    number = submit_site(engine, "yufeng", "yufeng-colleague")
    with browser(server) as wechat:
        supervisor_views(wechat, engine, number)
        csrf_page = wechat.get("/").text
        csrf = re.search(r'<meta name="csrf-token" content="([^"]+)">', csrf_page).group(1)  # type: ignore[union-attr]
        started = wechat.post("/api/start", json={}, headers={CSRF_HEADER: csrf}).json()
    links = [line["document"]["url"] for line in started["history"] if line.get("document")]
    assert links and all(GRANT.match(grant_of(url)) for url in links)
    [supervisor_row] = [c for c in contacts(engine) if c.role == "supervisor"]
    assert supervisor_row.id is not None
    kept = str(engine.chat_lines_after(supervisor_row.id, 0))
    assert "g=" not in kept and "/files/submissions/" in kept, "grants are made for the page, never kept"


@pytest.mark.parametrize("lifetime", [0, -5])
def test_a_grant_must_last_some_time(lifetime: int) -> None:
    with pytest.raises(ValueError):
        DownloadGrants(Signer(SESSION_SECRET.encode()), lifetime=lifetime)


def test_an_expired_links_page_says_how_each_reader_gets_a_new_one() -> None:
    assert "“已交”" in link_expired("submission", supervisor=False)
    assert "“已交”" not in link_expired("submission", supervisor=True), "组联部 have no 已交"
    assert "进度表" in link_expired("submission", supervisor=True)
    assert "“导出”" in link_expired("export", supervisor=True)
    assert all(
        "24 小时" in link_expired(kind, supervisor=False) for kind in ("submission", "export", "photo")
    )
