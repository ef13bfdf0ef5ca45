"""Sending what the outbox holds: each chat in order, at the channel's pace, retried when the
messenger cannot take a message now, dropped (and logged) when it never will.

A channel gives a ``Sender``: its ``deliver`` makes one messenger call for one payload and reports a
failure as one of the ``Delivery*`` errors below; everything else — pacing, order, retries, what is
marked sent — is here, the same for every channel.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from bot.rate_limit import SendPacer
from storage.repository import Outgoing, Repository

log = logging.getLogger(__name__)

MAX_SEND_ATTEMPTS = 8


class DeliveryLater(Exception):
    """The messenger asks to wait (flood control): nothing to this channel for ``seconds``."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"retry after {seconds} s")
        self.seconds = seconds


class DeliveryRefused(Exception):
    """The messenger will never take this message (the person blocked the bot, the chat is gone)."""


class DeliveryFailed(Exception):
    """The messenger could not be reached, or failed: try again later, backing off."""


class Sender(Protocol):
    """One channel's side of sending."""

    channel: str
    pacer: SendPacer

    async def deliver(self, chat_key: str, payload: dict[str, Any]) -> None: ...


def utc_now() -> datetime:
    return datetime.now(UTC)


class Dispatcher:
    """Sends a channel's due messages.

    Args:
        repository: where the outbox is.
        sender: the channel's ``deliver`` and its pace.
        clock: the time messages are marked by (tests move it).
    """

    def __init__(
        self, repository: Repository, sender: Sender, clock: Callable[[], datetime] = utc_now
    ) -> None:
        self.repository = repository
        self.sender = sender
        self.clock = clock

    async def send_due(self) -> int:
        """Send what the outbox holds, each chat in order, at the channel's pace.

        A chat that has had its burst, or whose message failed, is left for a later pass with all its
        later messages (so they keep their order), while the other chats' messages go on. What was
        sent is marked sent at the end of the pass, in one commit: the outbox is at-least-once, and a
        crash before that commit sends this pass's messages again. A pass sends about a second's worth
        (the overall rate), so that new messages are handled between passes even when thousands of
        reminders are queued.
        """
        sent: list[Outgoing] = []
        later: set[str] = set()
        pacer = self.sender.pacer
        per_pass = max(int(pacer.overall), 1)
        try:
            for message in self.repository.due_messages(self.sender.channel, self.clock()):
                if len(sent) >= per_pass:
                    break
                if message.chat_key in later:
                    continue
                if await pacer.wait(message.chat_key) and await self._send(message):
                    sent.append(message)
                else:
                    later.add(message.chat_key)
        finally:  # an error or a cancelled task mid-pass still marks what has left
            self.repository.messages_sent(sent, self.clock())
        return len(sent)

    async def _send(self, message: Outgoing) -> bool:
        """Deliver one message; False (and a later try, or none) when the messenger did not take it."""
        try:
            await self.sender.deliver(message.chat_key, message.payload)
        except DeliveryLater as error:
            self.sender.pacer.pause(error.seconds)
            self.repository.message_later(message, self.clock() + timedelta(seconds=error.seconds))
            log.warning("flood control: retrying message %s in %s s", message.id, error.seconds)
            return False
        except DeliveryRefused as error:
            log.warning("message %s refused by the messenger (%s); dropped", message.id, error)
            self.repository.message_later(message, self.clock(), give_up=True)
            return False
        except DeliveryFailed as error:
            give_up = message.attempts + 1 >= MAX_SEND_ATTEMPTS
            backoff = timedelta(seconds=min(2**message.attempts, 300))
            self.repository.message_later(message, self.clock() + backoff, give_up=give_up)
            log.warning("message %s not sent (%s); attempt %s", message.id, error, message.attempts)
            return False
        return True
