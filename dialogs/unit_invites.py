"""组联部's 邀请: a one-time invite link for a unit's contact, made in the chat as ``intake invite``
makes it at the terminal — a department user on a phone has no terminal.

The code is shown once, in this answer only: it is stored as the invite it is (who may use it, until
when), never logged and never kept in a menu.
"""

from __future__ import annotations

import logging
from datetime import datetime

from dialogs.campaign import Campaign, UnitDecl
from dialogs.invites import issue_invite
from storage.repository import Repository

log = logging.getLogger(__name__)

#: How long an invite made in the chat stays usable (``intake invite``'s default).
INVITE_DAYS = 7


def join_link(web_url: str, code: str) -> str:
    """The web chat's invite link for a code, on the service's public address."""
    return f"{web_url.rstrip('/')}/join?code={code}"


def unit_invite_text(
    repository: Repository, campaign: Campaign, unit: UnitDecl, now: datetime, web_url: str
) -> str:
    """Issue a contact invite for ``unit`` and say it: the link (with the public address), or the code
    to send (without it), how long it holds and that it binds one phone only."""
    stored = repository.unit_by_code(campaign.id, unit.code)
    assert stored is not None
    invite = issue_invite(repository, stored.id, role="contact", now=now, valid_days=INVITE_DAYS)
    log.info("invite issued in chat for unit %s", unit.code)
    expires = invite.expires_at.astimezone(campaign.zone)
    until = f"{expires.month}月{expires.day}日 {expires:%H:%M}前有效"
    lines = [f"{unit.name}联系人的邀请（只能绑定一部手机，{until}；只显示这一次）："]
    if web_url:
        lines.append(join_link(web_url, invite.code))
        lines.append("请把这个链接发给该单位的联系人，用手机打开后按提示同意即可开始报送。")
    else:
        lines.append(f"邀请码：{invite.code}")
        lines.append("本服务还没有对外网址，无法生成网页链接：请把邀请码发给该单位的联系人。")
    lines.append(f"在企业微信或 Telegram 的聊天中也可以发送：绑定 {invite.code}")
    lines.append(f"链接丢了或过期了，再发送“邀请 {unit.short_name}”生成新的即可。")
    return "\n".join(lines)
