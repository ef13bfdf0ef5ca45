"""What every channel shares, so that a channel is one adapter that only translates.

* ``inbox`` — a messenger's updates stored once before they are acknowledged (keyed by the
  messenger's own id), then handled a group at a time, each chat in order, by whichever worker
  claims them; a channel gives the ``Translator`` (update → ``Inbound``; replies → its payloads).
* ``together`` — group commit: several messages handled in one transaction, one disk flush for all,
  replies only after it; a failing one rolls its group back and each is handled alone. The inbox
  uses it, and so does the web chat for the requests that arrive together.
* ``outbox`` — replies and notices sent after the commit, at the channel's pace, retried; a channel
  gives the ``Sender`` (one payload → one messenger call, its errors as ``Delivery*``).
* ``exports`` — the exports 组联部 were promised, made apart from the messages and sent once.
* ``scheduler`` — the deadline reminders and 组联部's digest, queued for whichever channel each
  contact uses: one loop per service, whatever channels it serves.
"""

from bot.delivery.exports import run_exports
from bot.delivery.inbox import Inbox, Translated, Translator
from bot.delivery.outbox import DeliveryFailed, DeliveryLater, DeliveryRefused, Dispatcher, Sender
from bot.delivery.scheduler import NUDGE_INTERVAL, run_reminders
from bot.delivery.together import GroupCommit, handle_together

__all__ = [
    "NUDGE_INTERVAL",
    "DeliveryFailed",
    "DeliveryLater",
    "DeliveryRefused",
    "Dispatcher",
    "GroupCommit",
    "Inbox",
    "Sender",
    "Translated",
    "Translator",
    "handle_together",
    "run_exports",
    "run_reminders",
]
