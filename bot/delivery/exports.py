"""The loop that makes the exports 组联部 were promised (``dialogs.export_jobs``): one per service,
in a thread of its own, apart from the messages' transactions and the event loop."""

from __future__ import annotations

import asyncio
import logging
import threading

from dialogs.engine import DialogEngine
from dialogs.failures import report_failure

log = logging.getLogger(__name__)

EXPORT_INTERVAL = 1.0  # seconds between looks for a promised export


async def run_exports(engine: DialogEngine, stop: asyncio.Event, interval: float = EXPORT_INTERVAL) -> None:
    """Make the promised exports until ``stop`` is set. The work runs in a daemon thread: a videos'
    ZIP of GBs being written does not hold the service's stop — its job is made again at the next
    start (``dialogs.export_jobs``)."""
    halted = threading.Event()

    def loop() -> None:
        while not halted.is_set():
            try:
                made = engine.run_export_jobs()
                if made:
                    log.info("%d exports made and queued", made)
            except Exception as error:  # a database hiccup must not stop the exports
                report_failure(error, "exports")
            halted.wait(interval)

    threading.Thread(target=loop, name="exports", daemon=True).start()
    try:
        await stop.wait()
    finally:
        halted.set()
