"""Invite codes: single-use, expiring, easy to read aloud (no 0/O or 1/I)."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from storage.models import Invite
from storage.repository import Repository

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10


def new_invite_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def issue_invite(
    repository: Repository, unit_id: int | None, *, role: str, now: datetime, valid_days: int = 7
) -> Invite:
    """Store a new invite for a unit's contact (or, with ``unit_id`` None, for 组联部)."""
    return repository.create_invite(new_invite_code(), unit_id, role, now + timedelta(days=valid_days))


def deep_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start={code}"
