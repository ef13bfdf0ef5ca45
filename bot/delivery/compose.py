"""One turn's replies as the messages a channel sends: what every messenger adapter shares.

Plain texts are joined into the next message and split at line breaks under the channel's limit;
the buttons go on the last piece (with the menu they answer, or a privacy notice's invite code);
a document is a message of its own. A channel turns each payload into its messenger's call.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote

from bot.download_grants import GRANT_LIFETIME
from dialogs.exchange import DocumentRef, OpenedDocument, Reply
from dialogs.invites import ALPHABET, CODE_LENGTH

#: What a privacy notice's buttons carry before its invite code (“iABCD2345EF|1”): a press answers
#: the notice (``Inbound.consent_for``), not a menu.
CONSENT_BUTTONS = "i"
CAPTION_LIMIT = 1000
BIND_WORD = "绑定"  # “绑定 CODE” typed in a messenger with no invite link to open (企业微信, the 公众号)

_CODE = re.compile(rf"^[{ALPHABET}]{{{CODE_LENGTH}}}$")


def typed_invite(text: str, bound: Callable[[], bool]) -> str:
    """What a typed message means as an invite: “绑定 CODE”, or a code alone from someone not bound
    yet (``bound`` is asked only then), is ``/start CODE``; anything else is itself."""
    words = text.strip()
    if words.startswith(BIND_WORD):
        return f"/start {words.removeprefix(BIND_WORD).strip()}"
    if _CODE.match(words.upper()) and not bound():
        return f"/start {words}"
    return text


def download_path(document: DocumentRef) -> str:
    """Where the web chat serves a document (it asks the engine, for the signed-in person)."""
    if document.kind == "export":
        return f"/files/exports/{quote(document.key)}"
    if document.kind in ("photo", "video"):
        return f"/files/{document.kind}s/{document.key}"
    version = f"?v={document.version}" if document.version else ""
    return f"/files/submissions/{document.key}.docx{version}"


def too_large_to_send(
    opened: OpenedDocument, messenger: str, limit: int, link: str | None, caption: str = ""
) -> str:
    """What a messenger says instead of a file larger than it carries (a videos' ZIP of GBs): the
    file's caption, then ``link`` — where the recipient downloads it from the web chat, signed for
    them (``bot.download_grants.PublicLinks``) — or, without one, to ask the administrator; never
    where the file lies on the server."""
    size = opened.path.stat().st_size
    megabytes = f"{size / 1024 / 1024:,.0f} MB"
    lines = [caption] if caption else []
    lines += [f"“{opened.file_name}”有 {megabytes}，超过{messenger}能发送的 {limit / 1024 / 1024:.0f} MB。"]
    if link:
        hours = GRANT_LIFETIME // 3600
        lines.append(f"请用浏览器打开这个链接下载（{hours} 小时内有效）：{link}")
    else:
        lines.append("文件较大，请联系管理员从服务器上取出这个文件。")
    return "\n".join(lines)


def split_text(text: str, limit: int) -> list[str]:
    """Split a long text at line breaks (or hard, for a single huge line) into pieces within ``limit``."""
    pieces: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            pieces.append(current)
            current = line
        else:
            current = candidate
    if current or not pieces:
        pieces.append(current)
    return pieces


def outgoing_payloads(replies: Sequence[Reply], limit: int) -> list[dict[str, Any]]:
    """The messages to send for one turn (see the module docstring), each text within ``limit``."""
    payloads: list[dict[str, Any]] = []
    pending: list[str] = []
    for reply in replies:
        if reply.document is not None:
            if pending:
                payloads += [{"text": piece} for piece in split_text("\n\n".join(pending), limit)]
                pending = []
            payloads.append({"text": reply.text[:CAPTION_LIMIT], "document": reply.document.as_payload()})
            continue
        pending.append(reply.text)
        if reply.options:
            pieces = split_text("\n\n".join(pending), limit)
            payloads += [{"text": piece} for piece in pieces[:-1]]
            menu = f"{CONSENT_BUTTONS}{reply.consent_for}" if reply.consent_for else reply.menu
            payloads.append({"text": pieces[-1], "options": list(reply.options), "menu": menu})
            pending = []
    if pending:
        payloads += [{"text": piece} for piece in split_text("\n\n".join(pending), limit)]
    return payloads
