"""Invite codes: single-use, expiring, easy to read aloud (no 0/O or 1/I); what a code that cannot bind
says (never there, expired, already used on another phone); and a limit on guessing them."""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from datetime import UTC, datetime, timedelta

from storage.models import Invite
from storage.repository import Repository

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10

INVITE_UNKNOWN = (
    "没有这个邀请码。请核对邀请链接或邀请码（10 位字母和数字）是否完整；"
    "如仍不行，请向{contact}索取新的邀请链接。"
)
INVITE_EXPIRED = "这个邀请链接已过期。请向{contact}索取新的邀请链接。"
INVITE_USED = (
    "这个邀请链接已经在另一部手机（或另一个浏览器）上同意并绑定过了，不能再绑定一次。"
    "如果是您本人绑定的：请在当初打开它的那部手机上、在同一个微信或浏览器里打开这个链接，就能接着办理。"
    "要在这里办理，请向{contact}索取新的邀请链接。"
)


def new_invite_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def issue_invite(
    repository: Repository, unit_id: int | None, *, role: str, now: datetime, valid_days: int = 7
) -> Invite:
    """Store a new invite for a unit's contact (or, with ``unit_id`` None, for 组联部)."""
    return repository.create_invite(new_invite_code(), unit_id, role, now + timedelta(days=valid_days))


def invite_is_open(invite: Invite | None, now: datetime) -> bool:
    """Whether an invite can still bind someone: it exists, is unused and has not expired."""
    return invite is not None and invite.used_at is None and _aware(invite.expires_at) > now


def invite_refusal(invite: Invite | None, now: datetime, contact: str) -> str:
    """Why an invite cannot bind (it does not exist, has expired or was used), and what to do."""
    if invite is None:
        return INVITE_UNKNOWN.format(contact=contact)
    if invite.used_at is not None:
        return INVITE_USED.format(contact=contact)
    if _aware(invite.expires_at) <= now:
        return INVITE_EXPIRED.format(contact=contact)
    raise ValueError("an open invite is not refused")


def _aware(moment: datetime) -> datetime:
    """SQLite gives times back without a zone; they are stored as UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def deep_link(bot_username: str, code: str) -> str:
    return f"https://t.me/{bot_username}?start={code}"


class FailedAttempts:
    """At most ``per_minute`` failed tries in any minute for one key: an identity that keeps sending
    invite codes that do not work (the engine: channel and user), or an address (the web's sign-in
    page, before there is an identity). Right codes never count, so a room of cadres signing in
    together is never held up. Thread-safe: the engine runs in several threads.

    Memory stays bounded: past ``keys_max`` keys, those with no failure in the last minute go, then,
    if still too many, the oldest half.
    """

    def __init__(
        self, per_minute: int = 10, clock: Callable[[], float] = time.monotonic, keys_max: int = 100_000
    ) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self.keys_max = keys_max
        self._failures: dict[Hashable, deque[float]] = {}
        self._lock = threading.Lock()

    def allowed(self, key: Hashable) -> bool:
        """Whether ``key`` may try now."""
        with self._lock:
            recent = self._failures.get(key)
            if recent is None:
                return True
            self._forget_old(recent)
            return len(recent) < self.per_minute

    def failed(self, key: Hashable) -> None:
        """Count one failed try of ``key``."""
        with self._lock:
            recent = self._failures.pop(key, None) or deque()
            self._forget_old(recent)
            recent.append(self.clock())
            self._failures[key] = recent  # last in the dict: the most recently failed
            if len(self._failures) > self.keys_max:
                self._shrink()

    def _forget_old(self, recent: deque[float]) -> None:
        cutoff = self.clock() - 60
        while recent and recent[0] <= cutoff:
            recent.popleft()

    def _shrink(self) -> None:
        for key, recent in list(self._failures.items()):
            self._forget_old(recent)
            if not recent:
                del self._failures[key]
        if len(self._failures) > self.keys_max:
            for key in list(self._failures)[: len(self._failures) // 2]:
                del self._failures[key]
