"""What the service writes to its log, and what it never does.

Our own lines carry ids, counts and error types only. Libraries are louder: at DEBUG, SQLAlchemy logs
every statement and every result row (answers, names, phone numbers), httpx the Bot API URLs (with
the token), python-telegram-bot the raw updates, Pillow every EXIF tag of a photo (the camera owner's
name, GPS). So the level a deployer turns up applies to our own loggers only; everything else stays
at WARNING, and the loggers known to carry data are pinned there even when the root logger is turned
up by someone else (a test, an embedding program).
"""

from __future__ import annotations

import logging

#: Our own loggers: the packages of this project and the ``intake`` command.
OURS = ("bot", "dialogs", "storage", "renderers", "state_machines", "intake")
#: Loggers that carry tokens, texts, raw updates, result rows or photo metadata below WARNING.
TALKATIVE = ("sqlalchemy", "httpx", "httpcore", "telegram", "hpack", "uvicorn.access", "PIL")


def quiet_third_party_logs() -> None:
    """Pin the ``TALKATIVE`` loggers at WARNING."""
    for name in TALKATIVE:
        logging.getLogger(name).setLevel(logging.WARNING)


def configure_logging(level: int = logging.WARNING) -> None:
    """The ``intake`` command's log: one line per record on stderr; ``level`` for our own loggers,
    WARNING for every library."""
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for name in OURS:
        logging.getLogger(name).setLevel(level)
    quiet_third_party_logs()
