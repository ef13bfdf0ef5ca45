"""Signing in to the web chat through 企业微信 (WeCom's OAuth2, ``snsapi_base``), bound to the browser.

The link the app chat gives (``WeComChannel.sign_in_link``) opens ``SIGN_IN_START_PATH`` on this site.
That page gives the browser a cookie holding a random ``state`` and its time (signed), and sends it on
to WeCom, which sends it back to ``SIGN_IN_PATH`` with a code and the same ``state``. The code is taken
only

* from the browser holding that cookie with that ``state`` — a link carrying someone else's code and
  state (login CSRF: “open this and be signed in as me”) finds no such cookie;
* once — the state is remembered as used until it would have expired, and the cookie is dropped;
* within ``STATE_LASTS`` of the start.

A browser already signed in as another contact is not switched silently: the page says who it is
signed in as and who the link would make it, and it switches only when the person presses 切换 (a
POST from this site's own page, holding a short-lived signed cookie naming the member to switch to).

The used states are kept in this process's memory: the web chat is one process, and a restart within
``STATE_LASTS`` forgets them only for browsers still holding their cookie, whose own code WeCom takes
once anyway. Nothing of the member (their UserID) is logged.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import logging
import secrets
import threading
from datetime import timedelta
from typing import TYPE_CHECKING, Literal

import requests
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.web_edge import member_session, session_value
from bot.wecom import CHANNEL as WECOM_CHANNEL
from bot.wecom import SIGN_IN_PATH, SIGN_IN_START_PATH, WeComChannel
from dialogs.exchange import Identity

if TYPE_CHECKING:
    from bot.web_chat import WebChat

log = logging.getLogger(__name__)

STATE_COOKIE = "intake_wecom_state"
SWITCH_COOKIE = "intake_wecom_switch"
STATE_LASTS = timedelta(minutes=10)  # from tapping the link to coming back from WeCom (or to 切换)

LINK_UNUSABLE = (
    "这个登录链接已经失效（已经用过、超过 10 分钟，或不是在这个浏览器里点开的）。"
    "请回到企业微信里的报送助手，点开最新一条消息里的链接。"
)
WECOM_AWAY = "暂时连不上企业微信，请过一会儿再点开链接。"
NOT_BOUND = "您还没有在企业微信里绑定单位：请先在报送助手应用里发送邀请码，阅读告知书并点“同意”，再点开链接。"
ASK_TO_SWITCH = (
    "这个浏览器现在以“{current}”的身份登录。点开的链接会改为以您企业微信绑定的“{new}”的身份登录。"
    "两边已填的内容都会保留。"
)
SWITCH = "切换为“{new}”"
KEEP = "不切换，回到原来的对话"
SWITCH_TOO_LATE = "切换已超过 10 分钟，没有切换。请回到企业微信里的报送助手，重新点开最新一条消息里的链接。"
REFUSED_ORIGIN = "页面已过期或来源不明，请回到企业微信里的报送助手，重新点开最新一条消息里的链接。"


class WeComSignIn:
    """The sign-in's three routes: the start (cookie, then WeCom), the way back, and 切换."""

    def __init__(self, channel: WeComChannel, chat: WebChat, secret: str) -> None:
        self.channel = channel
        self.chat = chat
        self._key = hmac.new(secret.encode(), b"wecom sign-in state", hashlib.sha256).digest()
        self._used: dict[str, float] = {}  # state -> when it would expire (timestamp)
        self._used_lock = threading.Lock()

    def routes(self) -> list[Route]:
        return [
            Route(SIGN_IN_START_PATH, self.start, methods=["GET"]),
            Route(SIGN_IN_PATH, self.back, methods=["GET"]),
            Route(SIGN_IN_PATH, self.switch, methods=["POST"]),
        ]

    # The routes ----------------------------------------------------------------------------------

    async def start(self, request: Request) -> Response:
        """The link in the app chat: a new state in this browser's cookie, then WeCom's OAuth2 page."""
        if not self.channel.web_url:
            return self.chat.message_page(404, LINK_UNUSABLE)
        state = secrets.token_urlsafe(24)
        response = RedirectResponse(self.channel.authorize_link(state), status_code=302)
        self._set_cookie(request, response, STATE_COOKIE, f"{self._now()}:{state}")
        return response

    async def back(self, request: Request) -> Response:
        """Where WeCom brings the member back: the browser is signed in as the member's own contact —
        the one the app chat fills forms with — and the chat opens where they left off (no invite
        code, no second notice: they agreed in the app). A browser signed in as another contact is
        asked first."""
        code, state = request.query_params.get("code", ""), request.query_params.get("state", "")
        if not self._take_state(request.cookies.get(STATE_COOKIE), state):
            log.warning("WeCom sign-in refused: a state not this browser's, used, or expired")
            return self._dropping(STATE_COOKIE, request, self.chat.message_page(403, LINK_UNUSABLE))
        response = await self._signed_in_as_member(request, code)
        return self._dropping(STATE_COOKIE, request, response)

    async def switch(self, request: Request) -> Response:
        """切换 pressed on the question of ``back``: the browser is signed in as the member."""
        if not self.chat.same_origin(request):
            log.warning("WeCom sign-in switch refused: foreign or missing origin")
            return self.chat.message_page(403, REFUSED_ORIGIN)
        asked = member_session(self._fresh(request.cookies.get(SWITCH_COOKIE)) or "")
        if asked is None:
            log.info("WeCom sign-in switch refused: no switch asked, or asked too long ago")
            return self._dropping(SWITCH_COOKIE, request, self.chat.message_page(403, SWITCH_TOO_LATE))
        contact = await run_in_threadpool(self.chat.engine.identity_of, *asked)
        if contact is None or contact.channel != WECOM_CHANNEL:
            return self._dropping(SWITCH_COOKIE, request, self.chat.message_page(403, NOT_BOUND))
        log.info("web browser switched through WeCom to contact %s", contact.contact_id)
        return self._dropping(SWITCH_COOKIE, request, self._into_chat(request, contact))

    # The steps -----------------------------------------------------------------------------------

    async def _signed_in_as_member(self, request: Request, code: str) -> Response:
        try:
            user = await run_in_threadpool(self.channel.member_of_code, code)
        except requests.RequestException as error:
            log.warning("WeCom sign-in: WeCom not reachable (%s)", type(error).__name__)
            return self.chat.message_page(503, WECOM_AWAY)
        if user is None:
            log.warning("WeCom sign-in refused: a code WeCom does not vouch for")
            return self.chat.message_page(403, LINK_UNUSABLE)
        contact = await run_in_threadpool(self.chat.engine.identity, WECOM_CHANNEL, user)
        if contact is None:
            log.info("WeCom sign-in of a member not bound to any unit")
            return self.chat.message_page(403, NOT_BOUND)
        current = await self.chat.signed_in_contact(request)
        if current is not None and current.contact_id != contact.contact_id:
            log.info("WeCom sign-in as contact %s: the browser is asked to switch", contact.contact_id)
            return self._ask_to_switch(request, current, contact)
        log.info("web browser signed in through WeCom as contact %s", contact.contact_id)
        return self._into_chat(request, contact)

    def _into_chat(self, request: Request, contact: Identity) -> Response:
        response = RedirectResponse("/", status_code=303)
        self.chat.sign_in_as(request, response, contact)
        return response

    def _ask_to_switch(self, request: Request, current: Identity, contact: Identity) -> Response:
        question = ASK_TO_SWITCH.format(current=current.who, new=contact.who)
        choices = (  # the chat's own buttons: the way forward, and the quieter way out
            f"<form class='choices' method='post' action='{SIGN_IN_PATH}'>"
            f"<button class='choice' type='submit'>{html.escape(SWITCH.format(new=contact.who))}</button>"
            f"<a class='choice quiet' href='/'>{html.escape(KEEP)}</a></form>"
        )
        response = self.chat.message_page(409, question, raw_after=choices)
        # the member by their contact's row and binding, as a session names them: never their UserID
        asked = f"{self._now()}:{session_value(contact)}"
        self._set_cookie(request, response, SWITCH_COOKIE, asked, "strict")
        return response

    # The state -----------------------------------------------------------------------------------

    def _take_state(self, cookie: str | None, state: str) -> bool:
        """Whether ``state`` is the one this browser's cookie holds, still fresh and not used before;
        it is used now."""
        held = self._fresh(cookie)
        if held is None or not state or not hmac.compare_digest(held.encode(), state.encode()):
            return False
        now = self._now()
        with self._used_lock:
            self._used = {used: until for used, until in self._used.items() if until > now}
            if state in self._used:
                return False
            self._used[state] = now + STATE_LASTS.total_seconds()
        return True

    def _fresh(self, cookie: str | None) -> str | None:
        """What a cookie of ours holds after its time, when its signature is good and it is fresh."""
        if not cookie or "." not in cookie:
            return None
        value, _, mac = cookie.rpartition(".")
        if not hmac.compare_digest(mac.encode(), self._mac(value).encode()):
            return None
        issued, _, held = value.partition(":")
        if not issued.isdigit() or not held:
            return None
        return held if 0 <= self._now() - int(issued) <= STATE_LASTS.total_seconds() else None

    def _mac(self, value: str) -> str:
        return hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()[:32]

    def _now(self) -> int:
        return int(self.channel.clock().timestamp())

    def _set_cookie(
        self,
        request: Request,
        response: Response,
        name: str,
        value: str,
        samesite: Literal["lax", "strict"] = "lax",
    ) -> None:
        # Lax for the state: the browser comes back from WeCom by a top-level GET from another site.
        response.set_cookie(
            name,
            f"{value}.{self._mac(value)}",
            max_age=int(STATE_LASTS.total_seconds()),
            path=SIGN_IN_PATH,
            httponly=True,
            samesite=samesite,
            secure=self.chat.secure(request),
        )

    def _dropping(self, name: str, request: Request, response: Response) -> Response:
        response.delete_cookie(name, path=SIGN_IN_PATH, httponly=True, secure=self.chat.secure(request))
        return response
