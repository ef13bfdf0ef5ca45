"""The access token of Tencent's server APIs (企业微信 and the 公众号), as both channels keep it.

One token for every worker, cached in the database (wechatpy's ``SessionStorage`` over
``Repository.cached_token``) and fetched again this long before it expires; a call that Tencent
refuses for its token (expired, or replaced by another fetch) is made once more with a new one —
wechatpy's own retry never stops.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from wechatpy.exceptions import WeChatClientException
from wechatpy.session import SessionStorage

from storage.repository import Repository

log = logging.getLogger(__name__)
Result = TypeVar("Result")

TOKEN_MARGIN = timedelta(minutes=5)  # a cached token is fetched again this long before it expires


class DatabaseTokens(SessionStorage):
    """wechatpy's session storage over the database: one access token for every worker."""

    def __init__(self, repository: Repository, clock: Callable[[], datetime]) -> None:
        self.repository = repository
        self.clock = clock

    def get(self, key: str, default: Any = None) -> Any:
        return self.repository.cached_token(key, self.clock() + TOKEN_MARGIN) or default

    def set(self, key: str, value: Any, ttl: int | None = None) -> None:
        expires = self.clock() + timedelta(seconds=ttl or 7200)
        self.repository.cache_token(key, str(value), expires)

    def delete(self, key: str) -> None:
        self.repository.drop_token(key)


class FreshToken:
    """Mixed into a wechatpy client (before it): every request made once more with a new access token
    when Tencent refuses the one it used with one of ``token_errors``."""

    token_errors: frozenset[int] = frozenset()
    service_name = "WeChat"

    def with_fresh_token(self, call: Callable[[], Result]) -> Result:
        """``call``, and once more with a new access token when the API refuses the one it used."""
        try:
            return call()
        except WeChatClientException as error:
            if error.errcode not in self.token_errors:
                raise
            log.info("%s access token refused (%s); fetching a new one", self.service_name, error.errcode)
            client: Any = self
            client.session.delete(client.access_token_key)
            client.fetch_access_token()
            return call()

    def _request(self, method: str, url_or_endpoint: str, **kwargs: Any) -> Any:
        request = super()._request  # type: ignore[misc]  # each try with its own params: the second asks for the new token
        return self.with_fresh_token(
            lambda: request(method, url_or_endpoint, **dict(kwargs, params=dict(kwargs.get("params", {}))))
        )
