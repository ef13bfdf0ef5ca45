"""The web side's files: a submission's DOCX, an export ZIP, a stored photo or video — each to whom
the engine lets see it, by this browser's session or by the day-long grant its link carries
(``bot.download_grants``); anyone else gets a page that says why, never the file."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Literal
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from bot.download_grants import LINK_REVOKED, link_expired
from bot.web_edge import NEED_SIGN_IN
from dialogs.chinese_text import plain_number
from dialogs.exchange import DocumentRef, Identity
from renderers.photos import prepare_photo

if TYPE_CHECKING:
    from bot.web_chat import WebChat

log = logging.getLogger(__name__)

FILE_NOT_FOUND = "找不到这个文件。"
BROWSER_IMAGES = {"image/jpeg", "image/png", "image/webp", "image/gif"}  # shown by every browser as they are


class WebFiles:
    """The download routes of the web chat ``chat``."""

    def __init__(self, chat: WebChat) -> None:
        self.chat = chat

    def routes(self) -> list[Route]:
        return [
            Route("/files/submissions/{submission_id:int}.docx", self.download, methods=["GET"]),
            Route("/files/exports/{name}", self.download_export, methods=["GET"]),
            Route("/files/photos/{sha256}", self.photo, methods=["GET"]),
            Route("/files/videos/{sha256}", self.photo, methods=["GET"]),
        ]

    async def download(self, request: Request) -> Response:
        """A submission's DOCX by number (and version): the unit's own contacts and 组联部; others 404."""
        submission_id = int(request.path_params["submission_id"])
        contact = await self._viewer(request, "submission")
        if isinstance(contact, Response):
            return contact
        ref = DocumentRef("submission", str(submission_id), plain_number(request.query_params.get("v", "")))
        return await self._send_document(contact, ref, f"submission {submission_id}")

    async def download_export(self, request: Request) -> Response:
        """An export ZIP made by /export, for 组联部 only; anyone else, or any other name, gets 404."""
        contact = await self._viewer(request, "export")
        if isinstance(contact, Response):
            return contact
        return await self._send_document(
            contact, DocumentRef("export", str(request.path_params["name"])), "an export"
        )

    async def photo(self, request: Request) -> Response:
        """A stored photo (or video, under /files/videos/) by its hash, shown in the chat (the photo a
        caption is asked for, the photos and videos of a submission under 查看 and in the review): to
        whom the engine lets see it; others 404."""
        contact = await self._viewer(request, "photo")
        if isinstance(contact, Response):
            return contact
        sha256 = str(request.path_params["sha256"])[:64]
        video = request.url.path.startswith("/files/videos/")
        ref = DocumentRef("video", sha256) if video else DocumentRef("photo", sha256)
        return await self._send_document(contact, ref, f"a {ref.kind}", inline=True)

    async def _viewer(
        self, request: Request, kind: Literal["submission", "export", "photo"]
    ) -> Identity | Response:
        """Who opens a file: the contact its link's grant names, while the grant lasts (in any browser,
        WeChat's or the system's); else this browser's own session. Otherwise a page that says why:
        the link's day is over (and how to get a new one), its contact revoked, or no one signed in."""
        grant = self.chat.grants.read(request.scope["path"], request.query_params)
        granted = None
        if grant is not None:
            granted = await run_in_threadpool(self.chat.engine.identity_of, grant.contact_id, grant.binding)
            if granted is not None and not grant.expired:
                return granted
        contact = await self.chat.signed_in_contact(request)
        if contact is not None:
            return contact
        if grant is None:
            return self.chat.message_page(401, NEED_SIGN_IN)
        if granted is None:
            log.info("download refused: the link's contact %s is revoked", grant.contact_id)
            return self.chat.message_page(403, LINK_REVOKED.format(contact=self.chat.engine.contact_line))
        log.info("download refused: the link of contact %s has expired", grant.contact_id)
        return self.chat.message_page(410, link_expired(kind, supervisor=granted.supervisor))

    async def _send_document(
        self, contact: Identity, ref: DocumentRef, what: str, *, inline: bool = False
    ) -> Response:
        opened = await run_in_threadpool(self.chat.engine.open_document, ref, contact)
        if opened is None:
            log.info("download of %s refused or missing for contact %s", what, contact.contact_id)
            return self.chat.message_page(404, FILE_NOT_FOUND)
        log.info("contact %s downloaded %s", contact.contact_id, what)
        if inline and ref.kind == "photo" and opened.mime not in BROWSER_IMAGES:
            # an iPhone's HEIC: shown as the JPEG the Word form gets (upright, 1600 px at most)
            preview = await run_in_threadpool(prepare_photo, opened.path)
            name = f"{Path(opened.file_name).stem}.{preview.extension}"
            return Response(
                preview.data,
                media_type="image/png" if preview.extension == "png" else "image/jpeg",
                headers={"Content-Disposition": f'inline; filename="{quote(name)}"'},
            )
        return FileResponse(
            opened.path,
            media_type=opened.mime,
            filename=opened.file_name,
            content_disposition_type="inline" if inline else "attachment",
        )
