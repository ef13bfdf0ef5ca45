"""Download links that open in any browser, for a day.

WeChat's own browser often cannot save a file; the page tells the person to open the link in the
system browser, where there is no session cookie. So every file link the web chat hands out (a
submission's DOCX, an export ZIP, a photo) carries a grant of its own: that file, that contact, for
``GRANT_LIFETIME`` — ``?g=<contact id>-<binding>-<expiry>.<HMAC>``. Nothing personal is in it: the
contact's row id, a tag of its binding (``Identity.binding``) and a Unix time, signed with the session
key for exactly that path (and version). The file is still opened through the engine as that contact,
so a grant does nothing once the contact is revoked, bound anew (a revoked row bound again by a new
invite is another binding), or the file is no longer theirs to see.

Grants are added when the JSON goes to the browser, never to what the conversation keeps: a reloaded
page gets fresh ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Protocol
from urllib.parse import parse_qsl, unquote, urlsplit

GRANT_PARAM = "g"
GRANT_LIFETIME = 24 * 3600  # seconds a download link works without the session cookie

LINK_EXPIRED = (
    f"这个下载链接已过期（链接发出后 {GRANT_LIFETIME // 3600} 小时内有效），文件没有丢失。{{again}}"
)
LINK_REVOKED = "这个下载链接已失效：发出它的账号已被解除绑定。如需这个文件，请联系{contact}。"
GET_IT_AGAIN = {
    "submission": "请回到聊天里发送“已交”，点新的下载链接。",
    "submission-supervisor": "请回到聊天里重新打开这份表格（在进度表里点单位名），点新的下载链接。",
    "export": "请回到聊天里重新发送“导出”，点新的下载链接。",
    "photo": "请回到聊天里重新打开，再查看照片。",
}


def link_expired(kind: Literal["submission", "export", "photo"], *, supervisor: bool) -> str:
    """What an expired link's page says: that it expired, the file is safe, and how to get a new link
    (a unit's contact and 组联部 reach a submission in different ways)."""
    again = "submission-supervisor" if kind == "submission" and supervisor else kind
    return LINK_EXPIRED.format(again=GET_IT_AGAIN[again])


class Signs(Protocol):
    """What a grant needs of ``bot.web_edge.Signer``."""

    def sign(self, purpose: str, value: str) -> str: ...

    def unsign(self, purpose: str, signed: str | None) -> str | None: ...


@dataclass(frozen=True)
class Grant:
    """A download link's grant as read back: whose it is, and whether its day is over."""

    contact_id: int
    binding: str
    expired: bool


class DownloadGrants:
    """Signs file links for a contact and reads them back.

    Args:
        signer: signs with the web session key (each file path its own purpose).
        lifetime: seconds a grant works.
        clock: wall-clock seconds (a grant outlives restarts, so not a monotonic clock).
    """

    def __init__(
        self, signer: Signs, lifetime: int = GRANT_LIFETIME, clock: Callable[[], float] = time.time
    ) -> None:
        if lifetime <= 0:
            raise ValueError("a download grant must last some time")
        self.signer = signer
        self.lifetime = lifetime
        self.clock = clock

    def link(self, url: str, contact_id: int, binding: str) -> str:
        """``url`` (a path of this site, as ``download_path`` makes it) with a grant for ``contact_id``
        in its current ``binding``."""
        parts = urlsplit(url)
        value = f"{contact_id}-{binding}-{int(self.clock()) + self.lifetime}"
        grant = self.signer.sign(_purpose(unquote(parts.path), dict(parse_qsl(parts.query))), value)
        return f"{url}{'&' if parts.query else '?'}{GRANT_PARAM}={grant}"

    def read(self, path: str, query: Mapping[str, str]) -> Grant | None:
        """The grant of a request for ``path`` (already decoded, as Starlette's ``scope["path"]``), or
        None when there is none, or it was made for another file or tampered with."""
        value = self.signer.unsign(_purpose(path, query), query.get(GRANT_PARAM))
        contact, binding, expires = [*(value or "").split("-"), "", ""][:3]
        if not contact.isdigit() or not binding.isalnum() or not expires.isdigit() or len(contact) > 18:
            return None
        return Grant(int(contact), binding, int(expires) <= self.clock())

    def reply(self, item: dict[str, Any], contact_id: int, binding: str) -> dict[str, Any]:
        """A reply as ``bot.web_replies.reply_json`` makes it, with grants on its document and pictures."""
        granted = dict(item)
        document = item.get("document")
        if isinstance(document, dict) and isinstance(document.get("url"), str):
            granted["document"] = {**document, "url": self.link(document["url"], contact_id, binding)}
        pictures = item.get("pictures")
        if isinstance(pictures, list):
            granted["pictures"] = [
                {**picture, "url": self.link(picture["url"], contact_id, binding)}
                if isinstance(picture, dict) and isinstance(picture.get("url"), str)
                else picture
                for picture in pictures
            ]
        return granted


def _purpose(path: str, query: Mapping[str, str]) -> str:
    """What a grant is for: the file's path and its version (a DOCX's ``v``), nothing else."""
    return f"file|{path}|v={query.get('v', '')}"
