"""A file sent where another kind of answer is asked: the reply names what was sent (a video at the
证件照, a photo at the course video, a PDF where text is asked) and what the step needs instead.

Only the kind and, for a document, its type by extension are named — never the file's name, which may
be a person's.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import Any, Literal

from dialogs.declarations import FormDecl
from dialogs.exchange import IncomingFile

_KIND_NAMES = {"photo": "照片", "video": "视频", "document": "文件"}


def sent_as(file: IncomingFile) -> str:
    """What a person sent, in their words: “照片”, “视频”, “文件”, or “PDF 文件” when its type shows."""
    if file.kind != "document":
        return _KIND_NAMES[file.kind]
    suffix = PurePosixPath(file.file_name or "").suffix.lstrip(".").upper()
    return f"{suffix} 文件" if suffix.isalnum() and len(suffix) <= 5 else "文件"


def is_named_mp4(file: IncomingFile) -> bool:
    """A document that is an MP4 by its name or type: a course video sent as a file, checked as one."""
    return (file.mime or "").lower() == "video/mp4" or (file.file_name or "").lower().endswith(".mp4")


def wrong_file(wanted: Literal["photo", "video", "text"], label: str, file: IncomingFile | None) -> str:
    """The reply to ``file`` (None: text) sent where the step ``label`` asks for ``wanted``."""
    if wanted == "photo":
        if file is None:
            return "这一步需要发送照片（不是文字）。请从相册选择照片发送。"
        if file.kind == "photo":  # a photo whose bytes did not arrive
            return "这张照片没有收到，请重新发送。"
        return f"{_you_sent(file)}，不是照片。请从相册选择一张照片，作为“{label}”发送。"
    if wanted == "video":
        if file is None:
            return "这一步需要发送视频文件；还没有视频可以发送“跳过”。"
        return f"{_you_sent(file)}，不是视频。请发送 MP4 格式的“{label}”；还没有视频可以发送“跳过”。"
    what = sent_as(file) if file is not None else "文字"
    return f"{_you_sent(file)}；这一步需要输入文字（{label}），不是{what}。"


def _you_sent(file: IncomingFile | None) -> str:
    """“您发送的是视频”, “您发送的是 PDF 文件” (a space before Latin letters, as the bot writes)."""
    what = sent_as(file) if file is not None else "文字"
    return f"您发送的是 {what}" if what[0].isascii() else f"您发送的是{what}"


def unused_file(form: FormDecl, answers: Mapping[str, Any], file: IncomingFile) -> str:
    """What a file sent at a complete form's review is told: a second photo of an album picked for a
    one-photo step names the photo kept and how to use the other instead; any other file, that it
    was not used and how to put it where it belongs."""
    wanted = "video" if file.kind == "video" else "photo"
    kept = [f for f in form.top_fields() if f.kind == wanted and answers.get(f.key)]
    if file.kind not in ("photo", "video") or not kept:
        return f"表已填完，刚发来的{sent_as(file)}没有使用。如要换掉某一项，请点“修改”选择该项后重新发送。"
    label, noun = kept[-1].label, _KIND_NAMES[file.kind]
    one = "张" if file.kind == "photo" else "个"
    return (
        f"这一项（{label}）只需一{one}{noun}，已用第1{one}，刚发来的这{one}没有使用。"
        f"如要换用另一{one}，请点“修改”，选“{label}”后重新发送。"
    )
