"""The HTTP side of the product: the web chat (page, JSON API, downloads, 组联部's status page), the
Telegram webhook and a health check — one ASGI app, so one process serves every channel.

The web chat is a thin channel like the others: a browser message becomes an ``Inbound`` on channel
``web``, the engine's ``Reply`` objects go back as JSON. A browser is bound to a unit the same way as a
Telegram chat: an invite code, the privacy notice, “同意”. Only then is anything stored, and the browser
gets a signed, HttpOnly session cookie holding nothing but a random web user id (the contact's
``external_id``); a 企业微信 member signed in through WeCom, their contact's row id and binding, never
their UserID (``bot.web_edge.session_value``).

Every state-changing request needs the same origin (Origin, else Referer) and the session's CSRF token
in a header. Files go out by submission id only, to the unit's own contacts and to 组联部; anyone else
gets 404. Each file link the page is given carries a day-long grant for that file and that contact
(``bot.download_grants``), so that it opens in a browser without the cookie (WeChat's “在浏览器打开”).
No message text, name, phone number or invite code is ever logged: only ids and counts.

The app is split by what it serves, each module owning its routes: ``bot.web_chat`` (the pages, signing
in, the chat API), ``bot.web_events`` (the notices' stream and poll), ``bot.web_files`` (downloads),
``bot.wecom_sign_in`` (signing in through 企业微信); ``bot.web_edge`` is what every request passes
through, ``bot.web_replies`` what the page is given, ``bot.web_uploads`` what an upload is, and
``bot.web_app`` builds the app and serves it. This module is their public surface.
"""

from bot.web_app import (
    DATABASE_FILE_GONE,
    NO_SUCH_PAGE,
    SECRET_HEADER,
    StreamingServer,
    build_app,
    join_link,
    public_url,
    serve_web,
    stop_streams,
)
from bot.web_chat import (
    ALREADY_RECEIVED,
    MESSAGE_ID_HEADER,
    NOT_A_PHOTO,
    TEXT_TOO_LONG,
    WebChat,
    web_update_id,
)
from bot.web_edge import (
    BAD_REQUEST,
    CHANNEL,
    CSRF_HEADER,
    GUEST_COOKIE,
    MAINTENANCE,
    NEED_SIGN_IN,
    REFUSED_ORIGIN,
    SESSION_COOKIE,
    WEBHOOK_PATH,
    Signer,
)
from bot.web_events import STREAMS_FULL
from bot.web_files import FILE_NOT_FOUND
from bot.web_replies import document_link, reply_json, status_html
from bot.web_uploads import photo_mime

__all__ = [
    "ALREADY_RECEIVED",
    "BAD_REQUEST",
    "CHANNEL",
    "CSRF_HEADER",
    "DATABASE_FILE_GONE",
    "FILE_NOT_FOUND",
    "GUEST_COOKIE",
    "MAINTENANCE",
    "MESSAGE_ID_HEADER",
    "NEED_SIGN_IN",
    "NOT_A_PHOTO",
    "NO_SUCH_PAGE",
    "REFUSED_ORIGIN",
    "SECRET_HEADER",
    "SESSION_COOKIE",
    "STREAMS_FULL",
    "TEXT_TOO_LONG",
    "WEBHOOK_PATH",
    "Signer",
    "StreamingServer",
    "WebChat",
    "build_app",
    "document_link",
    "join_link",
    "photo_mime",
    "public_url",
    "reply_json",
    "serve_web",
    "status_html",
    "stop_streams",
    "web_update_id",
]
