"""The HTTP side of the product: the Telegram webhook and a health check (the web chat joins later)."""

from __future__ import annotations

import hmac
import json
import logging

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.telegram_channel import TelegramChannel

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/telegram/webhook"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


def build_app(channel: TelegramChannel | None, webhook_secret: str = "") -> Starlette:
    """The ASGI app; the webhook route exists only when a Telegram channel with a secret is given."""

    async def healthz(_request: Request) -> Response:
        return PlainTextResponse("ok")

    async def webhook(request: Request) -> Response:
        assert channel is not None
        given = request.headers.get(SECRET_HEADER, "")
        if not webhook_secret or not hmac.compare_digest(given.encode(), webhook_secret.encode()):
            log.warning("webhook request refused: wrong or missing secret token")
            return JSONResponse({"ok": False}, status_code=403)
        try:
            payload = json.loads(await request.body())
            if not isinstance(payload, dict) or not isinstance(payload.get("update_id"), int):
                raise ValueError("not an update")
        except ValueError:
            return JSONResponse({"ok": False}, status_code=400)
        channel.receive(payload)  # stored (or recognised as a duplicate) before Telegram hears 200
        return JSONResponse({"ok": True})

    routes = [Route("/healthz", healthz)]
    if channel is not None and webhook_secret:
        routes.append(Route(WEBHOOK_PATH, webhook, methods=["POST"]))
    return Starlette(routes=routes)
