"""A worker process for the concurrency tests: processes the shared inbox until it stays empty.

python -m tests.worker_process DATABASE_URL DATA_DIR
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from telegram import Bot

from bot.app import assemble_engine, load_declarations
from bot.settings import Settings
from bot.telegram_channel import CHANNEL, TelegramChannel
from storage.database import make_engine
from storage.repository import Repository
from tests.conftest import FakeClock


async def work(channel: TelegramChannel, repository: Repository) -> None:
    idle_since = time.monotonic()
    while time.monotonic() - idle_since < 2:
        if await channel.process_pending() or repository.pending_updates(CHANNEL):
            idle_since = time.monotonic()
        else:
            await asyncio.sleep(0.01)


def main() -> int:
    url, data_dir = sys.argv[1], Path(sys.argv[2])
    declarations = load_declarations(Settings())
    repository = Repository(make_engine(url), data_dir)
    engine = assemble_engine(declarations, repository, FakeClock())
    asyncio.run(work(TelegramChannel(Bot("123456:OFFLINE-never-used"), engine), repository))
    repository.engine.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
