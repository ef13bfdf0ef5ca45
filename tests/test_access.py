"""Who may do what: a table of (who, what they send) that must be refused, with nothing disclosed."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dialogs.engine import DialogEngine
from dialogs.exchange import Inbound
from dialogs.invites import issue_invite
from tests.conftest import Chat, FakeClock
from tests.test_dialog_forms import fill_cadre, start

SECRETS = ("韦丽华", "13877212345", "柳堡路")


@pytest.fixture(name="world")
def world_fixture(engine: DialogEngine, clock: FakeClock) -> dict[str, Chat]:
    """鱼峰区 has a submission (#1) and an open draft; 柳南区's contact and a revoked contact exist."""
    owner = Chat(engine, unit_code="yufeng", user="owner")
    fill_cadre(owner)
    start(owner, "示范点申报表")
    owner.send("螺蛳粉产业园")
    other = Chat(engine, unit_code="liunan", user="other")
    revoked = Chat(engine, unit_code="yufeng", user="revoked")
    assert engine.repository.revoke_contact(revoked.contact().id)
    return {"owner": owner, "other": other, "revoked": revoked}


CELLS = [
    # (who, message, what the reply must contain)
    ("stranger", "/new", "请向市妇联组联部索取邀请链接"),
    ("stranger", "/drafts", "请向市妇联组联部索取邀请链接"),
    ("stranger", "/status", "请向市妇联组联部索取邀请链接"),
    ("stranger", "/show 1", "请向市妇联组联部索取邀请链接"),
    ("stranger", "/accept 1", "请向市妇联组联部索取邀请链接"),
    ("revoked", "/drafts", "请向市妇联组联部索取邀请链接"),
    ("revoked", "韦丽华", "请向市妇联组联部索取邀请链接"),
    ("other", "/drafts", "没有未填完的表"),
    ("other", "/submissions", "还没有提交过"),
    ("other", "/reopen 1", "贵单位没有#1这份提交"),
    ("other", "/status", "柳南区"),
    ("other", "/show 1", "贵单位没有#1这份提交"),
    ("other", "查看1号", "贵单位没有#1这份提交"),
    ("other", "/accept 1", "只有市妇联组联部可以使用"),
    ("other", "/return 1 不行", "只有市妇联组联部可以使用"),
    ("other", "/export", "只有市妇联组联部可以使用"),
    ("other", "/unit 鱼峰区", "只有市妇联组联部可以使用"),
    ("owner", "/pending", "只有市妇联组联部可以使用"),
    ("owner", "/select 1", "只有市妇联组联部可以使用"),
]


@pytest.mark.parametrize(("who", "message", "expected"), CELLS)
def test_refused_with_nothing_disclosed(
    engine: DialogEngine, world: dict[str, Chat], who: str, message: str, expected: str
) -> None:
    user = world[who].user if who in world else who
    replies = engine.handle(Inbound("test", user, message))
    text = "\n".join(r.text for r in replies)
    assert expected in text
    for secret in SECRETS:
        assert secret not in text, f"{who} saw {secret}"
    if who != "owner":
        assert "鱼峰区" not in text and "螺蛳粉" not in text
    submission = engine.repository.submission(1)
    assert submission is not None and submission.status == "submitted"
    assert engine.repository.decisions(1) == []


def test_a_used_or_expired_invite_binds_nobody(engine: DialogEngine, clock: FakeClock) -> None:
    unit = engine.repository.unit_by_code(engine.campaign.id, "yufeng")
    code = issue_invite(engine.repository, unit.id, role="contact", now=clock()).code
    [notice] = engine.handle(Inbound("test", "first", f"/start {code}"))
    engine.handle(Inbound("test", "first", "1", consent_for=notice.consent_for))
    [late] = engine.handle(Inbound("test", "second", f"/start {code}"))
    assert "已经在另一部手机" in late.text
    expired = issue_invite(engine.repository, unit.id, role="contact", now=clock() - timedelta(days=8)).code
    [old] = engine.handle(Inbound("test", "third", f"/start {expired}"))
    assert "已过期" in old.text
    assert (
        engine.repository.contact("test", "second") is None
        and engine.repository.contact("test", "third") is None
    )


def test_a_revoked_contact_loses_its_draft_pointer(engine: DialogEngine, world: dict[str, Chat]) -> None:
    owner = world["owner"]
    assert engine.repository.revoke_contact(owner.contact().id)
    contact = owner.contact()
    assert contact.active is False and contact.current_draft_id is None
    assert "请向市妇联组联部索取邀请链接" in owner.send("螺蛳粉产业园")
