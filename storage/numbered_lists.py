"""The numbered lists' part of ``Repository``: on a channel whose chat has no buttons (the 公众号), the
list a chat was last asked to choose from, so that her typed number answers it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from storage.models import NumberedList
from storage.part import RepositoryPart, aware

#: How long a list answers a number: an answer a week later is typed text again.
LIST_KEPT = timedelta(days=7)


class NumberedListStorage(RepositoryPart):
    """The numbered lists' side of ``Repository``."""

    def remember_list(
        self, channel: str, chat_key: str, menu: str, options: Sequence[str], now: datetime
    ) -> None:
        """Keep the list just shown to a chat, in place of the one before."""
        with self._session() as session:
            shown = session.get(NumberedList, (channel, chat_key))
            if shown is None:
                shown = NumberedList(channel=channel, chat_key=chat_key, menu=menu)
            shown.menu, shown.options, shown.shown_at = menu, list(options), now
            session.add(shown)
            self._commit(session)

    def shown_list(self, channel: str, chat_key: str, now: datetime) -> tuple[str, list[str]] | None:
        """The menu token and options of the list a chat was last shown, while it answers a number."""
        with self._session() as session:
            shown = session.get(NumberedList, (channel, chat_key))
            if shown is None or aware(shown.shown_at) <= now - LIST_KEPT:
                return None
            return shown.menu, list(shown.options)

    def forget_list(self, channel: str, chat_key: str) -> None:
        """The dialog asked something that is not a list: a number is an answer in its own right."""
        with self._session() as session:
            shown = session.get(NumberedList, (channel, chat_key))
            if shown is not None:
                session.delete(shown)
                self._commit(session)
