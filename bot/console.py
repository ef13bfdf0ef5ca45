"""The console channel: one incoming message per input line, every bot message printed.

Kept stable because it is scripted: choices print as ``[1] 男`` and can be answered by number or
text; ``/attach PATH [caption]`` sends a file from disk; end of input exits 0.
"""

from __future__ import annotations

import mimetypes
import shlex
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from bot.mp4_probe import Mp4Info, probe_mp4
from dialogs.engine import DialogEngine
from dialogs.exchange import Inbound, IncomingFile, Reply
from dialogs.failures import report_failure
from storage.database import is_unavailable

CHANNEL = "console"
NOT_TAKEN = "系统正在维护，刚才这一条没有保存（之前已填的内容都在），请稍后再发送一次。"
_VIDEO_SUFFIXES = {".mp4", ".mov", ".m4v", ".avi", ".mkv"}


def print_replies(engine: DialogEngine, replies: Iterable[Reply], out: TextIO) -> None:
    """Each reply, its options numbered; a document as the file on this computer (the console runs
    beside the data folder: the person at it is the one who can open the file)."""
    for reply in replies:
        out.write(reply.text + "\n")
        for number, option in enumerate(reply.options, start=1):
            out.write(f"[{number}] {option}\n")
        if reply.document is not None:
            opened = engine.open_document(reply.document)
            out.write(f"文件：{opened.path}\n" if opened is not None else "（文件已不在）\n")
        out.write("\n")
    out.flush()


def attachment_message(user_id: str, line: str) -> Inbound | str:
    """Turn ``/attach PATH [caption]`` into a message with the file, or say what is wrong."""
    try:
        parts = shlex.split(line)
    except ValueError:
        parts = line.split()
    if len(parts) < 2:
        return "用法：/attach 文件路径 [说明]"
    path = Path(parts[1]).expanduser()
    if not path.is_file():
        return f"找不到文件：{path}"
    data = path.read_bytes()
    caption = " ".join(parts[2:])
    mime = mimetypes.guess_type(path.name)[0]
    if path.suffix.lower() in _VIDEO_SUFFIXES:
        probed = probe_mp4(data) or Mp4Info(duration_s=None, width=None, height=None)
        file = IncomingFile(
            kind="video",
            data=data,
            file_name=path.name,
            mime=mime,
            size=len(data),
            duration_s=probed.duration_s,
            width=probed.width,
            height=probed.height,
        )
    else:
        file = IncomingFile(kind="photo", data=data, file_name=path.name, mime=mime, size=len(data))
    return Inbound(channel=CHANNEL, user_id=user_id, text=caption, file=file)


def print_notices(engine: DialogEngine, user_id: str, out: TextIO) -> None:
    """Messages queued for this contact while the console was closed (returns, reminders)."""
    while notices := engine.notices(CHANNEL, user_id):
        for notice in notices:
            out.write("【通知】")
            print_replies(engine, [notice], out)


def run_console(engine: DialogEngine, user_id: str, lines: Iterable[str], out: TextIO) -> int:
    """Show queued notices, greet (or resume) the contact, then feed it each line until input ends.
    A line met by an unavailable database is not taken: the contact is told to send it again."""
    print_notices(engine, user_id, out)
    _send(engine, Inbound(channel=CHANNEL, user_id=user_id, text="/start"), out)
    for raw in lines:
        line = raw.rstrip("\r\n")
        if line.startswith("/attach"):
            message = attachment_message(user_id, line)
            if isinstance(message, str):
                out.write(message + "\n\n")
                out.flush()
                continue
        else:
            message = Inbound(channel=CHANNEL, user_id=user_id, text=line)
        _send(engine, message, out)
    return 0


def _send(engine: DialogEngine, message: Inbound, out: TextIO) -> None:
    try:
        replies = engine.handle(message)
    except Exception as error:
        if not is_unavailable(error):
            raise
        report_failure(error, "the console")
        replies = [Reply(NOT_TAKEN)]
    print_replies(engine, replies, out)
