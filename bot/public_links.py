"""Download links on the web chat's public address (``INTAKE_WEB_URL``) for a messenger's recipient.

A file too large for Telegram or 企业微信 (a videos' ZIP of GBs) is sent as a link instead. The
recipient opens it in the system browser, where there is no web chat session: so the link carries a
download grant for them (``bot.download_grants``), signed with the web chat's own key, exactly as the
web chat's links are.
"""

from __future__ import annotations

from bot.delivery.compose import download_path
from bot.download_grants import DownloadGrants
from bot.settings import Settings
from dialogs.exchange import DocumentRef, Identity


class PublicLinks:
    """Signed, absolute download links.

    Args:
        web_url: the web chat's public address.
        grants: signs a link for a contact (with the web chat's session key).
    """

    def __init__(self, web_url: str, grants: DownloadGrants) -> None:
        if not web_url:
            raise ValueError("public links need the web chat's public address (INTAKE_WEB_URL)")
        self.web_url = web_url.rstrip("/")
        self.grants = grants

    @classmethod
    def of(cls, settings: Settings) -> PublicLinks | None:
        """The deployment's links, signed with the web chat's key; None without a public address."""
        if not settings.web_url:
            return None
        from bot.web_edge import Signer, session_key  # bot.web_edge imports the channels that use this

        key = session_key(settings, settings.data_dir.resolve())
        return cls(settings.web_url, DownloadGrants(Signer(key)))

    def link(self, document: DocumentRef, recipient: Identity) -> str:
        """Where ``recipient`` downloads ``document`` without signing in, for a day (while this
        binding of theirs lasts)."""
        return self.web_url + self.grants.link(
            download_path(document), recipient.contact_id, recipient.binding
        )


def recipient_link(
    links: PublicLinks | None, recipient: Identity | None, document: DocumentRef
) -> str | None:
    """The link a messenger's recipient downloads ``document`` from; None without a public address,
    or when the chat is no bound contact's any more (a grant would not open for them anyway)."""
    if links is None or recipient is None:
        return None
    return links.link(document, recipient)
