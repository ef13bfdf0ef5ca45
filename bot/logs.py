"""What the service writes to its log, and what it never does.

Our own lines carry ids, counts and error types only. Libraries are louder: at DEBUG, SQLAlchemy logs
every statement and every result row (answers, names, phone numbers), httpx the Bot API URLs (with
the token), python-telegram-bot the raw updates. Those loggers are pinned at WARNING whatever level
the service runs at, so that turning the log up to find a bug never writes personal data.
"""

from __future__ import annotations

import logging

#: Loggers that carry tokens, texts, raw updates or result rows below WARNING.
TALKATIVE = ("sqlalchemy", "httpx", "httpcore", "telegram", "hpack", "uvicorn.access")


def quiet_third_party_logs() -> None:
    """Pin the ``TALKATIVE`` loggers at WARNING."""
    for name in TALKATIVE:
        logging.getLogger(name).setLevel(logging.WARNING)


def configure_logging(level: int = logging.WARNING) -> None:
    """The ``intake`` command's log: one line per record on stderr, libraries quietened."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    quiet_third_party_logs()
