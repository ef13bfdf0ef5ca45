"""Signing in to the web chat through 企业微信 (``bot.wecom_sign_in``), over real HTTP: the web chat and
the fake WeCom each served by uvicorn on loopback, httpx as the member's browser (the fake's OAuth2
page knows who opened it by the browser's ``wecom_member`` cookie, as a member's WeCom does).

The link in the chat signs the member in; the same sign-in cannot be used twice or after ten minutes;
a link carrying someone else's code and state (login CSRF) signs nobody in and changes no session; a
browser signed in as another contact is asked before it switches.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from bot.download_grants import DownloadGrants
from bot.settings import Settings
from bot.web import SESSION_COOKIE, Signer, build_app
from bot.wecom import SIGN_IN_PATH, SIGN_IN_START_PATH, WeComChannel
from bot.wecom_sign_in import ASK_TO_SWITCH, LINK_UNUSABLE, STATE_COOKIE, SWITCH_COOKIE
from dialogs.engine import DialogEngine
from tests.test_web_api import (
    SESSION_SECRET,
    contacts,
    free_port,
    invite,
    serving,
    serving_at,
    sign_in,
    submit_site,
)
from tests.test_web_browser import CHROMIUM, PHONE, sync_playwright
from tests.test_web_browser import chromium_fixture as chromium_fixture

if TYPE_CHECKING:
    from playwright.sync_api import Browser
from tests.wecom_fake.server import FakeWeCom

MEMBER = "TanXiuLan"  # 鱼峰区妇联's contact in the app chat
ATTACKER = "Mallory"  # a member of another unit (城中区妇联), who would have her browser be his


@dataclass
class Site:
    base: str  # the web chat
    channel: WeComChannel
    engine: DialogEngine
    moved: list[timedelta]  # how far the channel's clock is moved ahead of the real one

    def browser(self, member: str | None = None) -> httpx.Client:
        """A browser; ``member``: opened in that member's WeCom (the fake's OAuth2 knows who)."""
        cookies = {"wecom_member": member} if member else None
        return httpx.Client(cookies=cookies, timeout=10)

    def who(self, browser: httpx.Client) -> str:
        """Whom the chat page shows this browser signed in as (its unit), or "" for a guest."""
        page = browser.get(self.base + "/")
        found = re.search(r'<p class="who" id="who">([^<]*)</p>', page.text)
        assert page.status_code == 200 and found is not None, page.text
        return found.group(1)

    def back_link(self, browser: httpx.Client) -> str:
        """Tap the link in the chat and let WeCom answer: where WeCom sends the browser back (with its
        code and state), not yet followed."""
        link = self.channel.sign_in_link()
        assert link == self.base + SIGN_IN_START_PATH
        started = browser.get(link, follow_redirects=False)
        assert started.status_code == 302 and STATE_COOKIE in started.cookies
        authorized = browser.get(started.headers["location"], follow_redirects=False)
        assert authorized.status_code == 302, authorized.text
        back = authorized.headers["location"]
        assert back.startswith(self.base + SIGN_IN_PATH + "?"), back
        return back


@pytest.fixture(name="site")
def site_fixture(engine: DialogEngine) -> Iterator[Site]:
    fake = FakeWeCom()
    port = free_port()
    with serving(fake.app()) as wecom_base:
        settings = Settings.model_validate(
            {
                "WECOM_CORP_ID": fake.corp_id,
                "WECOM_AGENT_ID": fake.agent_id,
                "WECOM_SECRET": fake.secret,
                "WECOM_TOKEN": fake.token,
                "WECOM_AES_KEY": fake.aes_key,
                "WECOM_API_BASE_URL": wecom_base,
                "WECOM_OAUTH_BASE_URL": wecom_base,
                "web_url": f"http://127.0.0.1:{port}",
                "web_session_secret": SESSION_SECRET,
            }
        )
        moved: list[timedelta] = [timedelta(0)]
        clock: Callable[[], datetime] = lambda: datetime.now(UTC) + moved[0]  # noqa: E731
        channel = WeComChannel(settings, engine, clock=clock)
        for member, unit_code in ((MEMBER, "yufeng"), (ATTACKER, "chengzhong")):
            unit = engine.repository.unit_by_code(engine.campaign.id, unit_code)
            assert unit is not None
            engine.repository.bind_contact("wecom", member, unit.id)
        with serving_at(build_app(engine, settings, wecom=channel), port) as base:
            yield Site(base, channel, engine, moved)


def test_the_link_in_the_chat_signs_the_member_in_once(site: Site) -> None:
    with site.browser(MEMBER) as browser:
        assert site.who(browser) == ""
        opened = browser.get(site.channel.sign_in_link() or "", follow_redirects=True)
        assert opened.status_code == 200 and opened.url.path == "/", opened.text
        assert site.who(browser) == "鱼峰区妇联", "her own unit, as in the app chat"
        assert STATE_COOKIE not in browser.cookies, "the state is dropped once used"

        # The same state again, with a fresh code of hers and the state cookie put back (copied):
        # a state is used once, whatever code comes with it.
        back = site.back_link(browser)
        state_cookie = browser.cookies[STATE_COOKIE]
        assert browser.get(back).status_code == 303
        state = parse_qs(urlsplit(back).query)["state"][0]
        fresh_code = _code_from_wecom(site, browser, state)
        browser.cookies.set(STATE_COOKIE, state_cookie)
        replayed = browser.get(f"{site.base}{SIGN_IN_PATH}?code={fresh_code}&state={state}")
        assert replayed.status_code == 403 and LINK_UNUSABLE in replayed.text


def _code_from_wecom(site: Site, browser: httpx.Client, state: str) -> str:
    """A new sign-in code from WeCom's OAuth2 page for ``state`` (WeCom gives one to any state)."""
    authorize = site.channel.authorize_link(state)
    back = browser.get(authorize, follow_redirects=False).headers["location"]
    return parse_qs(urlsplit(back).query)["code"][0]


def test_a_sign_in_older_than_ten_minutes_is_refused(site: Site) -> None:
    with site.browser(MEMBER) as browser:
        back = site.back_link(browser)
        site.moved[0] = timedelta(minutes=11)
        late = browser.get(back)
        assert late.status_code == 403 and LINK_UNUSABLE in late.text
        assert site.who(browser) == ""


def test_someone_elses_code_and_state_sign_no_browser_in(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    """Login CSRF: the attacker starts a sign-in in his own browser, stops before WeCom's answer is
    followed, and has her browser open it — signed in or not, tapping her own link or not. Each
    refusal is one log line, naming no member."""
    caplog.set_level(logging.INFO)
    with site.browser(ATTACKER) as attacker:
        trap = site.back_link(attacker)
    with site.browser() as guest:
        opened = guest.get(trap)
        assert opened.status_code == 403 and LINK_UNUSABLE in opened.text
        assert SESSION_COOKIE not in guest.cookies and site.who(guest) == ""
    with site.browser(MEMBER) as browser:
        browser.get(site.channel.sign_in_link() or "", follow_redirects=True)
        assert site.who(browser) == "鱼峰区妇联"
        site.back_link(browser)  # she has a sign-in of her own under way: its cookie is there
        opened = browser.get(trap)
        assert opened.status_code == 403 and LINK_UNUSABLE in opened.text
        assert site.who(browser) == "鱼峰区妇联", "still her own"
    with site.browser() as web_contact:
        web_contact.headers["Origin"] = site.base
        web_contact.base_url = httpx.URL(site.base)
        sign_in(web_contact, site.engine, "liunan")
        assert site.who(web_contact) == "柳南区妇联"
        assert web_contact.get(trap).status_code == 403
        assert site.who(web_contact) == "柳南区妇联"
    with site.browser(ATTACKER) as attacker:
        assert attacker.get(trap).status_code == 403, "the trap, used up by nobody, is no good to him"
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith(("bot", "dialogs")))
    assert logged.count("WeCom sign-in refused") == 4, logged
    assert MEMBER not in logged and ATTACKER not in logged


def test_a_browser_signed_in_as_someone_else_is_asked_before_it_switches(site: Site) -> None:
    with site.browser(MEMBER) as browser:
        browser.headers["Origin"] = site.base
        browser.base_url = httpx.URL(site.base)
        sign_in(browser, site.engine, "liunan")  # this browser took another unit's invite before
        assert site.who(browser) == "柳南区妇联"
        session = browser.cookies[SESSION_COOKIE]

        asked = browser.get(site.back_link(browser))
        assert asked.status_code == 409
        assert ASK_TO_SWITCH.format(current="柳南区妇联", new="鱼峰区妇联") in asked.text
        assert "切换为“鱼峰区妇联”" in asked.text and "不切换，回到原来的对话" in asked.text
        assert browser.cookies[SESSION_COOKIE] == session, "nothing switched yet"
        assert site.who(browser) == "柳南区妇联"

        with site.browser() as stranger:
            stranger.cookies.update(browser.cookies)
            foreign = stranger.post(site.base + SIGN_IN_PATH, headers={"Origin": "https://evil.example"})
            assert foreign.status_code == 403, "a switch pressed on another site's page"
        with site.browser() as no_question:
            no_question.headers["Origin"] = site.base
            assert no_question.post(site.base + SIGN_IN_PATH).status_code == 403, "nothing was asked"

        switched = browser.post(site.base + SIGN_IN_PATH, follow_redirects=False)
        assert switched.status_code == 303 and switched.headers["location"] == "/"
        assert site.who(browser) == "鱼峰区妇联", "switched when she pressed 切换"
        again = browser.post(site.base + SIGN_IN_PATH, follow_redirects=False)
        assert again.status_code == 403, "the question answered once"


def test_a_browser_signed_in_as_the_same_member_is_not_asked(site: Site) -> None:
    with site.browser(MEMBER) as browser:
        browser.get(site.channel.sign_in_link() or "", follow_redirects=True)
        assert browser.get(site.back_link(browser)).status_code == 303
        assert site.who(browser) == "鱼峰区妇联"


def test_a_revoked_then_rebound_members_old_session_and_links_are_refused(site: Site) -> None:
    """A member's web session named her UserID and nothing else: revoked, then bound again (the same
    contact row), every browser that had signed in as her, and every link it was given, worked again."""
    number = submit_site(site.engine, "yufeng", "yufeng-colleague")
    with site.browser(MEMBER) as browser:
        browser.headers["Origin"] = site.base
        browser.base_url = httpx.URL(site.base)
        browser.get(site.channel.sign_in_link() or "", follow_redirects=True)
        assert site.who(browser) == "鱼峰区妇联"
        old_session = browser.cookies[SESSION_COOKIE]
        [row] = [c for c in contacts(site.engine) if c.external_id == MEMBER]
        her = site.engine.identity_of(row.id or 0)
        assert her is not None
        # the link the page gives her for the unit's submission (``WebChat.granted``)
        link = DownloadGrants(Signer(SESSION_SECRET.encode())).link(
            f"/files/submissions/{number}.docx?v=1", her.contact_id, her.binding
        )
        with httpx.Client(base_url=site.base, timeout=10) as system_browser:
            assert system_browser.get(link).status_code == 200, "the link works while she is bound"
        assert row.id is not None and site.engine.repository.revoke_contact(row.id)
        code = invite(site.engine, "yufeng")
        later = site.engine.clock() + timedelta(seconds=1)
        rebound = site.engine.repository.redeem_invite(code, "wecom", MEMBER, later)
        assert rebound is not None and rebound.id == row.id, "the same contact row, bound again"

        assert site.who(browser) == "", "the old session is not hers again"
        with httpx.Client(base_url=site.base, timeout=10) as system_browser:
            old_link = system_browser.get(link)
            assert old_link.status_code == 403 and "已失效" in old_link.text, "nor the old link"
        browser.get(site.channel.sign_in_link() or "", follow_redirects=True)
        assert site.who(browser) == "鱼峰区妇联", "signing in again through WeCom works"
        assert browser.cookies[SESSION_COOKIE] != old_session


def test_no_cookie_holds_the_members_userid(site: Site) -> None:
    """The UserID is often a name or a phone number: the session and the switch cookies name the
    contact's row and binding instead."""
    with site.browser(MEMBER) as browser:
        browser.headers["Origin"] = site.base
        browser.base_url = httpx.URL(site.base)
        sign_in(browser, site.engine, "liunan")
        asked = browser.get(site.back_link(browser))  # the switch question: its cookie names her
        assert asked.status_code == 409
        switch = [c for c in browser.cookies.jar if c.name == SWITCH_COOKIE]
        assert switch, "the switch cookie is set"
        assert browser.post(site.base + SIGN_IN_PATH, follow_redirects=False).status_code == 303
        assert site.who(browser) == "鱼峰区妇联"
        ours = [c.value or "" for c in browser.cookies.jar if c.name != "wecom_member"]  # not the fake's
        held = [*ours, *(c.value or "" for c in switch)]
        assert len(held) >= 2 and not any(MEMBER.lower() in value.lower() for value in held), held


@pytest.mark.skipif(not CHROMIUM.exists() or sync_playwright is None, reason="no Chromium or Playwright here")
def test_the_switch_question_in_a_real_browser(site: Site, chromium: Browser) -> None:
    """The question is a page a phone shows, and its 切换 button (a form POST: the browser sends its
    Origin and the strict cookie) switches; 不切换 leaves the browser as it was."""
    with site.browser() as web_contact:
        web_contact.headers["Origin"] = site.base
        web_contact.base_url = httpx.URL(site.base)
        sign_in(web_contact, site.engine, "liunan")
        session = web_contact.cookies[SESSION_COOKIE]
    context = chromium.new_context(**PHONE)  # type: ignore[arg-type]
    context.set_default_timeout(10_000)
    context.add_cookies(
        [
            {"name": "wecom_member", "value": MEMBER, "url": site.base},  # her WeCom, as the fake reads it
            {"name": SESSION_COOKIE, "value": session, "url": site.base},
        ]
    )
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on(  # the question comes as a 409 (nothing done yet), which the console notes as a failure
        "console",
        lambda message: (
            problems.append(message.text)
            if message.type == "error" and "status of 409" not in message.text
            else None
        ),
    )
    try:
        page.goto(site.channel.sign_in_link() or "")
        assert "现在以“柳南区妇联”的身份登录" in page.inner_text("main")
        page.click("text=不切换，回到原来的对话")
        page.wait_for_selector("#who")
        assert page.inner_text("#who") == "柳南区妇联"

        page.goto(site.channel.sign_in_link() or "")
        page.click("text=切换为“鱼峰区妇联”")
        page.wait_for_url(site.base + "/")
        page.wait_for_selector("#who")
        assert page.inner_text("#who") == "鱼峰区妇联"
    finally:
        context.close()
    assert problems == []
