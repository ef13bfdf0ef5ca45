"""One loop for the reminders: the deadline nudges due now and 组联部's morning digest, queued once a
minute for whichever channel each contact uses. Each is recorded before it is queued, so a second
process doing the same sends nothing twice; one loop per service, whatever channels it serves."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from dialogs.engine import DialogEngine
from dialogs.failures import report_failure

log = logging.getLogger(__name__)

NUDGE_INTERVAL = 60.0  # seconds between looks at the reminder schedule


async def run_reminders(engine: DialogEngine, stop: asyncio.Event, interval: float = NUDGE_INTERVAL) -> None:
    """Queue what is due every ``interval`` seconds until ``stop`` is set. Off the event loop: at
    region scale planning takes a while, and replies must not wait for it."""
    while not stop.is_set():
        try:
            queued = await asyncio.to_thread(engine.queue_reminders)
            if queued:
                log.info("%d reminders queued", queued)
        except Exception as error:  # a database hiccup must not stop the service
            report_failure(error, "reminders")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval)
