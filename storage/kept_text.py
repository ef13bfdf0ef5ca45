"""Text kept before it was cleaned where it enters.

Versions before December 2026 kept what a web page posted in the web chat's lines as it came: a lone
surrogate (valid JSON, ``"\\ud800"``) stayed there, and then the contact's page answered 500 on every
reload and ``intake backup`` could not write the table. Text is now cleaned once, as a message is made
(``dialogs.exchange.Inbound``); the lines kept before are cleaned once at start-up, here, with the
same cleaning, given by the caller (storage does not clean text itself).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, select, update
from sqlmodel import SQLModel

from storage.models import ChatLine


def repair_chat_lines(engine: Engine, clean: Callable[[str], str]) -> int:
    """Clean every string of the kept chat lines that cannot be written as UTF-8; return how many
    lines were changed (usually none: one read of what people sent)."""
    table = SQLModel.metadata.tables[ChatLine.__tablename__]  # type: ignore[index]
    with engine.begin() as connection:
        kept = connection.execute(select(table.c.id, table.c.payload).where(table.c.speaker == "person"))
        broken = [(key, payload) for key, payload in kept if not writable(payload)]
        for key, payload in broken:
            connection.execute(
                update(table).where(table.c.id == key).values(payload=_cleaned(payload, clean))
            )
    return len(broken)


def writable(value: Any) -> bool:
    """True when ``value`` can be written as JSON in UTF-8 (no lone surrogate in any string)."""
    try:
        json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return False
    return True


def _cleaned(value: Any, clean: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, dict):
        return {key: _cleaned(item, clean) for key, item in value.items()}
    if isinstance(value, list):
        return [_cleaned(item, clean) for item in value]
    return value
