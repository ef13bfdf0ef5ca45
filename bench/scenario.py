"""What the simulated contacts send, and the Bot API they send it through (no sockets).

``FakeBotApi`` subclasses python-telegram-bot's ``BaseRequest``: the real ``telegram.Bot`` builds every
request (JSON parameters, multipart uploads) and parses every answer as over HTTP, but ``do_request``
answers locally. Behind it, ``FakeTelegram`` plays Telegram and the people: each chat follows a
script (the 登记表 answers of tests/test_dialog_forms.py, two photos, “确认提交”) and sends its next
message as soon as the bot has answered the previous one (a closed loop, many chats at once).
"""

from __future__ import annotations

import io
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from PIL import Image
from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram._utils.types import ODVInput
from telegram.request import BaseRequest, RequestData

from dialogs.sample_answers import CADRE_ANSWERS, chinese_text

BOT_TOKEN = "123456:BENCHMARKBENCHMARKBENCHMARKBENCH"
BOT_USER = {
    "id": 123456,
    "is_bot": True,
    "first_name": "报送助手",
    "username": "fulian_bench_bot",
    "can_join_groups": False,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
PHOTO_SIZE = (1280, 960)  # what Telegram keeps of a phone photo sent as a photo


#: ``CADRE_ANSWERS`` as the engine stores them (for pre-populated drafts and pickles).
CADRE_STORED: tuple[tuple[str, Any], ...] = (
    ("name", "韦丽华"),
    ("gender", "女"),
    ("birth", "1985-03"),
    ("ethnicity", "壮族"),
    ("education", "大学本科"),
    ("political_status", "中共党员"),
    ("employer_post", "柳江区拉堡镇妇联主席"),
    ("address", "柳州市柳江区拉堡镇柳堡路88号"),
    ("postcode", "545100"),
    ("phone", "13877212345"),
    ("cadre_level", "村（社区）妇联执委"),
    ("service_start", "2018-06"),
    ("story", chinese_text(600)),
    ("web_story", chinese_text(300)),
)


@dataclass(frozen=True)
class Step:
    """One message of a script: a text, or a photo (``photo`` True; the text is its caption)."""

    text: str = ""
    photo: bool = False


def registration_script() -> list[Step]:
    """A contact filling one 登记表 from /new to “确认提交”: 19 messages."""
    return [
        Step("/new"),
        Step("1"),
        *(Step(answer) for answer in CADRE_ANSWERS),
        Step(photo=True),
        Step(photo=True),
        Step("确认提交"),
    ]


@lru_cache(maxsize=1)
def _base_photo() -> bytes:
    """A phone-like 1280×960 JPEG (noise and gradients, ~200 KB), drawn once per process."""
    width, height = PHOTO_SIZE
    noise = Image.effect_noise((width, height), 48)
    gradient = Image.linear_gradient("L").resize((width, height))
    image = Image.merge("RGB", (noise, gradient, gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def unique_photo(tag: str) -> bytes:
    """The base photo with a JPEG comment naming ``tag``: a different file (hash) for each message."""
    base = _base_photo()
    comment = tag.encode()
    segment = b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment
    return base[:2] + segment + base[2:]


@dataclass
class ChatState:
    script: list[Step]
    position: int = 0
    awaiting: bool = False  # its latest message was delivered and not answered yet


@dataclass
class FakeTelegram:
    """Telegram and the people in the chats: delivers scripted messages, takes the bot's answers.

    Args:
        first_update_id: where this instance's update ids start (distinct per worker process).
    """

    first_update_id: int = 1
    chats: dict[int, ChatState] = field(default_factory=dict)
    ready: list[dict[str, Any]] = field(default_factory=list)
    api_calls: dict[str, int] = field(default_factory=dict)
    positions: dict[int, int] = field(default_factory=dict)  # update id -> its place in the script
    bot_messages: int = 0
    finished: int = 0
    _update_id: int = 0
    _message_id: int = 0

    def __post_init__(self) -> None:
        self._update_id = self.first_update_id

    # The people ---------------------------------------------------------------------------------

    def add_chat(self, chat_id: int, script: Sequence[Step]) -> None:
        self.chats[chat_id] = ChatState(list(script))
        self._queue(chat_id)

    def take(self) -> list[dict[str, Any]]:
        """The updates sent since the last call (one per chat at most: each waits for its answer)."""
        batch, self.ready = self.ready, []
        return batch

    def _queue(self, chat_id: int) -> None:
        state = self.chats[chat_id]
        step = state.script[state.position]
        state.awaiting = True
        self.ready.append(self.update(chat_id, step, state.position))

    def _answered(self, chat_id: int) -> None:
        """The bot wrote to the chat: its person sends the next message of the script, if any."""
        self.bot_messages += 1
        state = self.chats.get(chat_id)
        if state is None or not state.awaiting:
            return
        state.awaiting = False
        state.position += 1
        if state.position < len(state.script):
            self._queue(chat_id)
        else:
            self.finished += 1

    def update(self, chat_id: int, step: Step, position: int) -> dict[str, Any]:
        """The Bot API update for one scripted message (a text, or a photo in two sizes)."""
        self._update_id += 1
        self._message_id += 1
        self.positions[self._update_id] = position
        person = {"id": chat_id, "is_bot": False, "first_name": "联系人", "language_code": "zh-hans"}
        message: dict[str, Any] = {
            "message_id": self._message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": "联系人"},
            "from": person,
        }
        if step.photo:
            file_id = f"P{chat_id}x{self._update_id}"
            data = unique_photo(file_id)
            width, height = PHOTO_SIZE
            message["photo"] = [
                {"file_id": f"{file_id}s", "file_unique_id": f"{file_id}s", "width": 90, "height": 68},
                {
                    "file_id": file_id,
                    "file_unique_id": file_id,
                    "width": width,
                    "height": height,
                    "file_size": len(data),
                },
            ]
            if step.text:
                message["caption"] = step.text
        else:
            message["text"] = step.text
            if step.text.startswith("/"):
                command = step.text.split(" ", 1)[0]
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return {"update_id": self._update_id, "message": message}

    # The Bot API ----------------------------------------------------------------------------------

    def call(self, method: str, parameters: dict[str, Any]) -> Any:
        self.api_calls[method] = self.api_calls.get(method, 0) + 1
        match method:
            case "getMe":
                return BOT_USER
            case "sendMessage" | "sendDocument":
                chat_id = int(parameters["chat_id"])
                self._message_id += 1
                result: dict[str, Any] = {
                    "message_id": self._message_id,
                    "date": int(time.time()),
                    "chat": {"id": chat_id, "type": "private", "first_name": "联系人"},
                    "from": BOT_USER,
                }
                if method == "sendMessage":
                    result["text"] = parameters.get("text", "")
                    if parameters.get("reply_markup"):
                        result["reply_markup"] = parameters["reply_markup"]
                else:
                    result["document"] = {
                        "file_id": f"D{self._message_id}",
                        "file_unique_id": f"D{self._message_id}",
                        "file_name": "form.docx",
                    }
                    if parameters.get("caption"):
                        result["caption"] = parameters["caption"]
                self._answered(chat_id)
                return result
            case "getFile":
                file_id = str(parameters["file_id"])
                return {
                    "file_id": file_id,
                    "file_unique_id": file_id,
                    "file_size": len(unique_photo(file_id)),
                    "file_path": f"photos/{file_id}.jpg",
                }
            case "getUpdates":
                return []
            case _:  # setMyCommands, deleteWebhook, answerCallbackQuery …
                return True

    def file(self, url: str) -> bytes:
        """A photo's bytes, made again from its file id (so any worker process can download it)."""
        return unique_photo(url.rsplit("/", 1)[1].removesuffix(".jpg"))


class FakeBotApi(BaseRequest):
    """python-telegram-bot's request class with the network replaced by ``FakeTelegram``.

    Like ``HTTPXRequest`` it asks the ``RequestData`` for the JSON parameters (and the multipart body
    when uploading), so PTB's encoding work is done; the answer is JSON bytes that PTB parses.
    """

    def __init__(self, telegram: FakeTelegram) -> None:
        self.telegram = telegram

    @property
    def read_timeout(self) -> float | None:
        return None

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if method == "GET":
            return 200, self.telegram.file(url)
        parameters: dict[str, Any] = {}
        if request_data is not None:
            if request_data.contains_files:
                request_data.multipart_data  # noqa: B018 - read the upload, as an HTTP client would
            request_data.json_parameters  # noqa: B018 - encode the parameters, as an HTTP client would
            parameters = request_data.parameters
        result = self.telegram.call(url.rsplit("/", 1)[1], parameters)
        return 200, json.dumps({"ok": True, "result": result}).encode()


def percentile(values: Sequence[float], fraction: float) -> float:
    """The ``fraction`` quantile of ``values`` by nearest rank; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = min(len(ordered), max(1, math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]
