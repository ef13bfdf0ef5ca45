"""A Telegram Bot API emulator for end-to-end tests of the bot with the real python-telegram-bot.

``start_emulator()`` runs ``server.js`` (the npm package ``telegram-test-api``, pinned in package.json,
behind a Bot API compatibility layer documented in that file) on 127.0.0.1. Point an unmodified
``telegram.Bot`` at it::

    emulator = start_emulator()
    bot = Bot(emulator.token, base_url=emulator.base_url, base_file_url=emulator.base_file_url)
    user = emulator.user(1001, "王芳")
    update_id = user.send_text("/start yufeng")      # the bot receives it through getUpdates
    ...
    replies = user.wait_for_messages(1)              # what the bot sent to this user's chat
    emulator.stop()

The user-side calls are plain blocking HTTP requests to the emulator (each takes a few milliseconds).
``wait_for_messages`` blocks until the bot has answered: when the bot runs in the SAME event loop as
the test, use ``await user.wait_for_messages_async(...)`` instead, or the bot can never answer.

Node.js is needed; ``ensure_installed()`` runs ``npm ci`` here the first time (node_modules stays in
this folder). The pytest fixture is in ``tests/telegram_emulator/fixtures.py``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import io
import json
import os
import selectors
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

__all__ = [
    "BotMessage",
    "EmulatedUser",
    "Emulator",
    "EmulatorError",
    "ensure_installed",
    "start_emulator",
]

HERE = Path(__file__).resolve().parent
PINNED_VERSION = "4.2.1"  # telegram-test-api, as in package.json / package-lock.json
DEFAULT_TOKEN = "123456:TEST-TOKEN"
DEFAULT_BOT_USERNAME = "fulian_test_bot"
STARTUP_TIMEOUT = 15.0
# Telegram's photo sizes are the picture scaled to fit these boxes (when it is larger), then the original.
PHOTO_BOXES = (90, 320, 800, 1280)

# Talk to the emulator directly even when the environment sets an HTTP proxy.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class EmulatorError(RuntimeError):
    """The emulator could not be installed or started, or refused a test-side request."""


def _installed() -> bool:
    package = HERE / "node_modules" / "telegram-test-api" / "package.json"
    if not package.is_file() or not (HERE / "node_modules" / "express").is_dir():
        return False
    return json.loads(package.read_text(encoding="utf-8")).get("version") == PINNED_VERSION


def ensure_installed() -> None:
    """Install the pinned npm packages into tests/telegram_emulator/node_modules when they are missing."""
    if shutil.which("node") is None:
        raise EmulatorError("Node.js is not installed: `node` is needed to run the Telegram emulator")
    if _installed():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise EmulatorError("npm is not installed: it is needed once to install the Telegram emulator")
    command = [npm, "ci", "--no-audit", "--no-fund"]
    result = subprocess.run(command, cwd=HERE, capture_output=True, text=True, timeout=600, check=False)
    if result.returncode != 0 or not _installed():
        output = (result.stdout + result.stderr)[-3000:]
        raise EmulatorError(
            f"`{' '.join(command[1:])}` failed in {HERE} (exit {result.returncode}):\n{output}"
        )


@dataclass
class BotMessage:
    """A message the bot sent, as the user's client shows it now (after any edits)."""

    message_id: int
    text: str
    # Inline keyboard: (text, callback_data); reply keyboard: (text, text). Empty when there is none.
    buttons: list[list[tuple[str, str]]]
    document: bytes | None
    document_name: str | None
    caption: str | None
    keyboard: str | None = None  # "inline", "reply", "remove", "force_reply" or None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)  # the Bot API Message the bot got back

    @classmethod
    def _from_json(cls, item: dict[str, Any]) -> BotMessage:
        message = item["message"]
        keyboard = item.get("keyboard") or {}
        buttons: list[list[tuple[str, str]]] = []
        for row in keyboard.get("rows", []):
            if keyboard["kind"] == "inline":
                buttons.append([(b["text"], b.get("callback_data", b.get("url", ""))) for b in row])
            else:
                buttons.append([(b["text"], b["text"]) for b in row])
        document = message.get("document")
        return cls(
            message_id=message["message_id"],
            text=message.get("text", ""),
            buttons=buttons,
            document=base64.b64decode(item["document"]) if item.get("document") else None,
            document_name=document.get("file_name") if document else None,
            caption=message.get("caption"),
            keyboard=keyboard.get("kind"),
            raw=message,
        )


class EmulatedUser:
    """A Telegram user in a private chat with the bot (the chat id is the user id)."""

    def __init__(self, emulator: Emulator, user_id: int, first_name: str, username: str | None) -> None:
        self.emulator = emulator
        self.id = user_id
        self.profile: dict[str, Any] = {"first_name": first_name}
        if username:
            self.profile["username"] = username

    @property
    def chat_id(self) -> int:
        return self.id

    def _send(self, kind: str, payload: dict[str, Any]) -> int:
        response = self.emulator._call("POST", f"/users/{self.id}/{kind}", {"user": self.profile, **payload})
        return int(response["update_id"])

    def send_text(self, text: str) -> int:
        """A text message; commands such as "/start CODE" carry their bot_command entity."""
        return self._send("text", {"text": text})

    def send_photo(self, data: bytes, caption: str = "") -> int:
        """A photo: Message.photo lists scaled JPEG copies, smallest first, then ``data`` itself."""
        return self._send("photo", {"sizes": _photo_sizes(data), "caption": caption})

    def send_document(self, data: bytes, file_name: str, mime_type: str, caption: str = "") -> int:
        """A file sent "as file" (Message.document), downloadable through getFile."""
        payload = {"data": _b64(data), "file_name": file_name, "mime_type": mime_type, "caption": caption}
        return self._send("document", payload)

    def send_video(
        self,
        *,
        duration: int,
        width: int,
        height: int,
        mime_type: str = "video/mp4",
        file_name: str = "课程.mp4",
        file_size: int = 10_000_000,
    ) -> int:
        """A video (Message.video); only its metadata is emulated, a download yields zero bytes."""
        payload = {
            "duration": duration,
            "width": width,
            "height": height,
            "mime_type": mime_type,
            "file_name": file_name,
            "file_size": file_size,
        }
        return self._send("video", payload)

    def press(self, message: BotMessage, callback_data: str) -> int:
        """Press an inline button that is currently on ``message``: a callback_query update."""
        return self._send("press", {"message_id": message.message_id, "data": callback_data})

    def redeliver(self, update_id: int) -> None:
        """Deliver update ``update_id`` once more, with the same update_id (a duplicate delivery)."""
        self.emulator.redeliver(update_id)

    def messages(self) -> list[BotMessage]:
        """Everything the bot sent to this user's chat, oldest first."""
        return self._messages(0, 0)

    def wait_for_messages(self, count: int, timeout: float = 10) -> list[BotMessage]:
        """Wait until the bot has sent at least ``count`` messages to this chat in total; return them all."""
        messages = self._messages(count, timeout)
        if len(messages) < count:
            texts = [m.text or f"[document {m.document_name}]" for m in messages]
            raise AssertionError(
                f"expected at least {count} bot messages in chat {self.id} within {timeout} s, "
                f"got {len(messages)}: {texts}"
            )
        return messages

    async def wait_for_messages_async(self, count: int, timeout: float = 10) -> list[BotMessage]:
        """``wait_for_messages`` without blocking the event loop (for a bot running in the same loop)."""
        return await asyncio.to_thread(self.wait_for_messages, count, timeout)

    def _messages(self, count: int, timeout: float) -> list[BotMessage]:
        query = urllib.parse.urlencode({"min_count": count, "timeout": timeout})
        response = self.emulator._call("GET", f"/chats/{self.id}/messages?{query}", timeout=timeout + 10)
        return [BotMessage._from_json(item) for item in response["messages"]]


class Emulator:
    """A running emulator process (see ``start_emulator``)."""

    def __init__(
        self, process: subprocess.Popen[bytes], port: int, token: str, bot_username: str, stderr: IO[bytes]
    ) -> None:
        self.process = process
        self.port = port
        self.token = token
        self.bot_username = bot_username
        self.url = f"http://127.0.0.1:{port}"
        self.base_url = f"{self.url}/bot"  # Bot(base_url=...): PTB appends the token
        self.base_file_url = f"{self.url}/file/bot"  # Bot(base_file_url=...)
        self._stderr = stderr

    def user(self, user_id: int, first_name: str = "测试", username: str | None = None) -> EmulatedUser:
        """A simulated user; the bot may write to them once they have sent something."""
        return EmulatedUser(self, user_id, first_name, username)

    def redeliver(self, update_id: int) -> None:
        """Deliver update ``update_id`` once more, with the same update_id, whatever the bot's offset."""
        self._call("POST", f"/updates/{update_id}/redeliver", {})

    def api_calls(self, method: str | None = None) -> list[dict[str, Any]]:
        """The Bot API calls the bot made, oldest first: {"method", "params", "at", "error"}.

        JSON parameters (reply_markup, scope, commands...) are decoded; uploads show as
        {"file_name", "mime_type", "size"}. ``method`` filters by name, case-insensitively.
        """
        query = f"?{urllib.parse.urlencode({'method': method})}" if method else ""
        return list(self._call("GET", f"/api_calls{query}")["calls"])

    def inject_error(
        self,
        method: str,
        *,
        error_code: int = 429,
        retry_after: int | None = None,
        description: str | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail; by default with 429 Too Many Requests."""
        payload: dict[str, Any] = {"method": method, "error_code": error_code, "times": times}
        if retry_after is not None:
            payload["retry_after"] = retry_after
        if description is not None:
            payload["description"] = description
        self._call("POST", "/inject_error", payload)

    def log(self) -> str:
        """What the emulator process wrote to stderr (unexpected errors), for debugging."""
        if self._stderr.closed:
            return ""
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace")

    def stop(self) -> None:
        """Stop the process and release its pipes (safe to call twice)."""
        _terminate(self.process)
        self._stderr.close()

    def __enter__(self) -> Emulator:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _call(
        self, method: str, path: str, payload: dict[str, Any] | None = None, timeout: float = 30
    ) -> dict[str, Any]:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(f"{self.url}/_compat{path}", data=data, method=method)
        request.add_header("Content-Type", "application/json")
        try:
            with _opener.open(request, timeout=timeout) as response:
                result: dict[str, Any] = json.loads(response.read())
        except urllib.error.HTTPError as error:
            with error:
                body = error.read().decode("utf-8", "replace")
            with contextlib.suppress(ValueError):
                body = json.loads(body).get("description", body)
            raise EmulatorError(f"emulator refused {method} {path}: {body}") from None
        return result


def start_emulator(
    port: int | None = None, *, token: str = DEFAULT_TOKEN, bot_username: str = DEFAULT_BOT_USERNAME
) -> Emulator:
    """Start the emulator on 127.0.0.1 (a free port when ``port`` is None) and wait until it is ready."""
    ensure_installed()
    node = shutil.which("node")
    assert node is not None  # ensure_installed checked it
    command = [node, str(HERE / "server.js"), "--port", str(port or 0), "--token", token]
    command += ["--bot-username", bot_username]
    stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the process; Emulator.stop closes it
    process = subprocess.Popen(
        command, cwd=HERE, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr
    )
    try:
        line = _read_line(process, STARTUP_TIMEOUT)
        if not line.startswith("READY "):
            raise EmulatorError(f"unexpected first line from the emulator: {line!r}")
    except BaseException as error:
        _terminate(process)
        stderr.seek(0)
        log = stderr.read().decode("utf-8", "replace")
        stderr.close()
        if isinstance(error, EmulatorError):
            raise EmulatorError(f"the Telegram emulator did not start: {error}\n{log}") from None
        raise
    return Emulator(process, int(line.split()[1]), token, bot_username, stderr)


def _terminate(process: subprocess.Popen[bytes]) -> None:
    """End the emulator process (closing its stdin makes it exit by itself) and close its pipes."""
    if process.stdin and not process.stdin.closed:
        process.stdin.close()
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout:
        process.stdout.close()


def _read_line(process: subprocess.Popen[bytes], timeout: float) -> str:
    """The first stdout line of ``process``, read without blocking past ``timeout`` seconds."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    buffer = b""
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while b"\n" not in buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise EmulatorError(f"no READY line within {timeout:.0f} s")
            if not selector.select(remaining):
                continue
            chunk = os.read(process.stdout.fileno(), 4096)
            if not chunk:
                raise EmulatorError(f"the process exited with code {process.wait()}")
            buffer += chunk
    return buffer.split(b"\n", 1)[0].decode()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _photo_sizes(data: bytes) -> list[dict[str, Any]]:
    """Telegram-like PhotoSize list: JPEG copies that fit 90/320/800/1280 px boxes, then the original."""
    from PIL import Image  # a dependency of the project; imported here so the module loads without it

    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            picture = image.convert("RGB")
    except OSError as error:
        raise ValueError(f"send_photo needs image bytes Pillow can read: {error}") from None
    sizes = []
    for box in PHOTO_BOXES:
        if max(width, height) <= box:
            break
        copy = picture.copy()
        copy.thumbnail((box, box))
        buffer = io.BytesIO()
        copy.save(buffer, format="JPEG", quality=80)
        sizes.append({"data": _b64(buffer.getvalue()), "width": copy.width, "height": copy.height})
    sizes.append({"data": _b64(data), "width": width, "height": height})
    return sizes
