"""The access tokens' part of ``Repository``: a messenger's token kept for every worker while good."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from storage.models import ApiToken
from storage.part import RepositoryPart, aware, table_of


class TokenStorage(RepositoryPart):
    """The access tokens' side of ``Repository``."""

    def cached_token(self, key: str, now: datetime) -> str | None:
        """A messenger's access token kept for every worker, while it is still good at ``now``."""
        with self._session() as session:
            token = session.get(ApiToken, key)
            if token is None or aware(token.expires_at) <= now:
                return None
            return token.value

    def cache_token(self, key: str, value: str, expires_at: datetime) -> None:
        """Keep an access token until ``expires_at``. Two workers fetching one at once both hold a good
        token: the one whose write loses keeps its own in memory, the database keeps the other."""
        with self._session() as session:
            session.execute(delete(ApiToken).where(table_of(ApiToken).c.key == key))
            session.add(ApiToken(key=key, value=value, expires_at=expires_at))
            try:
                self._commit(session)
            except IntegrityError:
                session.rollback()

    def drop_token(self, key: str) -> None:
        with self._session() as session:
            token = session.get(ApiToken, key)
            if token is not None:
                session.delete(token)
                self._commit(session)
