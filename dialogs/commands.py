"""The commands a person can send in any state, as slash commands and as plain Chinese words.

What the bot says never asks for a slash command: every action it suggests is a button or one of
the Chinese words here — a word alone (“新建”), a word with a submission number (“修改第3号”,
“接收3号”, “退回3号 照片不清晰”), or a word with what it is about (“绑定 邀请码”; 组联部's “进度
城中区”, “单位 鱼峰区”, “提醒 鱼峰区”). The slash commands keep working for those who type them.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any

from dialogs.chinese_text import plain_number, to_halfwidth_digits

#: command name -> the slash command, then the plain words that mean the same (whole message only).
COMMAND_WORDS: dict[str, tuple[str, ...]] = {
    "start": ("/start", "开始"),
    "back": ("/back", "上一步", "返回"),
    "skip": ("/skip", "跳过"),
    "review": ("/review", "查看"),
    "edit": ("/edit", "修改"),
    "help": ("/help", "帮助"),
    "cancel": ("/cancel", "放弃"),
    "new": ("/new", "新建", "填表"),
    "drafts": ("/drafts", "草稿"),
    "submissions": ("/submissions", "已交", "我的提交"),
    "reopen": ("/reopen",),
    "status": ("/status", "进度"),
    "pending": ("/pending", "未交"),
    "unit": ("/unit",),
    "show": ("/show",),
    "accept": ("/accept",),
    "return": ("/return",),
    "select": ("/select",),
    "unselect": ("/unselect",),
    "export": ("/export", "导出"),
    "remind": ("/remind",),
    "invite": ("/invite",),
}

#: A word with a submission number: “修改第3号”, “接收 3号”, “退回3号 照片不清晰”.
NUMBERED_WORDS: dict[str, str] = {
    "修改": "reopen",
    "查看": "show",
    "接收": "accept",
    "退回": "return",
    "推荐": "select",
    "取消推荐": "unselect",
}
#: 组联部's words followed by what they are about: “进度 城中区”, “单位 鱼峰区”, “提醒 鱼峰区”.
ABOUT_WORDS: dict[str, str] = {
    "进度": "status",
    "未交": "pending",
    "单位": "unit",
    "提醒": "remind",
    "邀请": "invite",
    "绑定": "start",  # “绑定 邀请码”: an invite code sent in the chat
}

#: Other ways people ask to look at a submission: “看一下4号”.
LOOK_WORDS = ("查看一下", "看一下", "看看", "看")

#: A submission's number as people write it: “4”, “４”, “4号”, “第4号”, “#4”, “No.4”, “编号4”, “四号”.
_NUMBER = (
    r"(?P<first>第)?\s*(?P<sign>[#＃№]|[Nn][Oo][.．]?|编号)?\s*"
    r"(?P<number>[0-9０-９]+|[〇零一二两三四五六七八九十]{1,3})(?:\s*(?P<hao>号))?"
)
_NUMBERED = re.compile(
    r"^(?P<word>"
    + "|".join(sorted([*NUMBERED_WORDS, *LOOK_WORDS], key=len, reverse=True))
    + r")\s*"
    + _NUMBER
    + r"(?P<rest>.*)$",
    re.S,
)
_NUMBER_ALONE = re.compile(_NUMBER + r"$")
_CHINESE_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7}
_CHINESE_DIGITS |= {"八": 8, "九": 9}


def _chinese_number(text: str) -> int | None:
    """A small number in Chinese numerals, as a submission's number is said: 四, 十二, 二十, 三十五."""
    tens, ten, ones = text.partition("十")
    if not ten:
        return _CHINESE_DIGITS.get(text) if len(text) == 1 else None
    high = 1 if not tens else _CHINESE_DIGITS.get(tens) if len(tens) == 1 else None
    low = 0 if not ones else _CHINESE_DIGITS.get(ones) if len(ones) == 1 else None
    return None if high is None or low is None or high == 0 else high * 10 + low


def _number_digits(match: re.Match[str]) -> str | None:
    """The digits a matched number is (“四” → “4”), or None when it is not one a person means as a
    submission's number: Chinese numerals need 第 or 号 (“推荐一下” is no number); digits alone are
    only a number when nothing but a space or the end follows (“接收3人” is not 接收 #3)."""
    number = match["number"]
    if number[0] in _CHINESE_DIGITS or number[0] == "十":
        value = _chinese_number(number)
        return str(value) if value is not None and (match["first"] or match["hao"]) else None
    return to_halfwidth_digits(number)


def _marked(match: re.Match[str]) -> bool:
    """Whether a number is marked as a submission's (号, #, No.), not merely written after a word."""
    return bool(match["hao"] or match["sign"])


#: One line per command for 帮助.
COMMAND_HELP: tuple[tuple[str, str], ...] = (
    ("新建", "开始填写一份表"),
    ("草稿", "查看、继续或恢复未填完的表"),
    ("已交", "查看已提交的表，可再次下载 Word 文件"),
    ("查看3号", "查看本单位第3号提交的全部内容、照片和处理记录"),
    ("修改第3号", "在截止前修改已提交的第3号表"),
    ("进度", "查看本单位各项任务的报送进度"),
    ("上一步", "回到上一项"),
    ("跳过", "跳过选填项（已填的项保留原值）"),
    ("查看", "查看已填内容"),
    ("修改", "选择一项重新填写"),
    ("放弃", "放弃当前这份表（可在30天内恢复）"),
    ("帮助", "查看本项说明"),
)

_LOOKUP = {word: name for name, words in COMMAND_WORDS.items() for word in words}


@dataclass(frozen=True)
class Command:
    name: str
    argument: str = ""


def _numbered(text: str) -> Command | None:
    """A word with a submission's number: “查看4”, “查看#4”, “看一下4号”, “接收第４号”, “退回四号 照片
    不清晰”. 修改 needs its number marked (“修改4号”, “修改#4”): “修改4” may mean the fourth item."""
    match = _NUMBERED.match(text)
    if match is None:
        return None
    digits = _number_digits(match)
    rest = match["rest"]
    if digits is None or (not match["hao"] and rest[:1].strip()):
        return None  # “接收3人次”, “修改第4项”: an answer, not a command
    word = "查看" if match["word"] in LOOK_WORDS else match["word"]
    if word == "修改" and not _marked(match):
        return None
    return Command(NUMBERED_WORDS[word], f"{digits} {rest.strip()}".strip())


#: 组联部's words with a subject, which from a unit's contact in the middle of a form are an answer:
#: “单位 柳州市妇联” typed where the employer is asked is not the 单位 command.
_SUPERVISOR_ABOUT = frozenset(
    name for word, name in ABOUT_WORDS.items() if word in ("单位", "提醒", "未交", "邀请")
)


#: Commands only 组联部 may use: a unit's contact is told so.
SUPERVISOR_ONLY = frozenset(
    ("pending", "unit", "accept", "return", "select", "unselect", "export", "remind", "invite")
)


def contacts_answer(text: str, command: Command) -> bool:
    """Whether a unit's contact filling a form meant ``text`` as an answer, though it reads as one of
    组联部's word commands (never a slash command, which is always a command): “单位 …”, “提醒 …”,
    or any of 组联部's commands with more after it (“推荐 2 名”), which she cannot mean as one."""
    if text.strip().startswith("/"):
        return False
    return command.name in _SUPERVISOR_ABOUT or (command.name in SUPERVISOR_ONLY and bool(command.argument))


def submission_number(argument: str) -> tuple[int | None, str]:
    """The submission number a command starts with (``3``, ``#3``, ``＃３``, ``3号``, ``第3号``,
    ``No.3``, ``三号``) and the rest of it; None when the argument does not start with a number. Any
    length of digits is read (a number longer than 18 digits reads as ``TOO_BIG``): whether such a
    submission exists is the repository's question."""
    head, _, rest = argument.strip().replace("\u3000", " ").partition(" ")
    number = _NUMBER_ALONE.match(head)
    digits = _number_digits(number) if number is not None else None
    if digits is None:
        return None, rest.strip()
    return (int(digits) if len(digits) <= 18 else TOO_BIG), rest.strip()


#: What an absurdly long number reads as: larger than any id.
TOO_BIG = 10**18


def parse_command(text: str) -> Command | None:
    """The command a message is, if it is one: a slash command (with an argument) or a plain word."""
    stripped = text.strip()
    if not stripped:
        return None
    numbered = _numbered(stripped)
    if numbered is not None:
        return numbered
    head, _, rest = stripped.replace("\u3000", " ").partition(" ")
    if head in ABOUT_WORDS and rest.strip():
        return Command(ABOUT_WORDS[head], rest.strip())
    head = head.split("@", 1)[0].lower() if head.startswith("/") else head  # /help@bot_name
    name = _LOOKUP.get(head)
    if name is None:
        return None
    if not head.startswith("/") and rest:
        return None  # a plain word only counts as the whole message
    return Command(name, rest.strip())


#: What 组联部 can ask, for its 帮助.
SUPERVISOR_HELP: tuple[tuple[str, str], ...] = (
    ("进度", "各单位各项任务的报送进度，以及全市示范点数、村（社区）执委占比和推荐上报数"),
    ("未交", "只看还没报齐的单位和任务"),
    ("进度 城中区、未交 城中区", "只看一个区域（县区）的单位"),
    ("单位 鱼峰区", "某单位的进度和全部提交（带编号）；写单位名称、简称或区域均可"),
    ("查看3号", "查看第3号提交的内容、处理记录和 Word 文件（编号也可写 3、#3、三号）"),
    ("接收3号", "接收第3号提交"),
    ("退回3号 原因", "退回修改，原因会发给该单位联系人"),
    ("推荐3号（课程：推荐3号 第2节）", "推荐上报自治区"),
    ("取消推荐3号（课程：取消推荐3号 第2节）", "撤回对第3号的推荐上报"),
    ("导出", "全部表格、统计表和汇总表（ZIP）"),
    ("提醒 鱼峰区", "马上提醒该单位还差的材料"),
    ("邀请 鱼峰区", "生成该单位联系人的一次性邀请链接（7天内有效），发给对方即可绑定"),
)


# Menus: buttons remembered on the contact ----------------------------------------------------------

STALE_BUTTON = "这个按钮已过期，请使用最新一条消息里的按钮。"
#: The label of a menu entry that takes whatever is typed next (a 退回's reason): never shown.
ANY_TEXT = "*"


def menu_token(entries: list[Any]) -> str:
    """The token of a menu (its entries): a button pressed from an older menu is recognised."""
    digest = hashlib.sha1(json.dumps(entries, ensure_ascii=False).encode(), usedforsecurity=False)
    return "m" + digest.hexdigest()[:10]


def pick_action(text: str, entries: list[tuple[str, str]], numbered: list[str] | None = None) -> str | None:
    """What a reply picks from a list of (label, action): by its number, its label, or a label's start."""
    stripped = text.strip().replace("．", ".").rstrip(".")
    number = plain_number(stripped)
    if number is not None:
        labels = numbered if numbered is not None else [label for label, _ in entries]
        index = number - 1
        if 0 <= index < len(labels):
            return pick_action(labels[index], entries) if numbered is not None else entries[index][1]
        return None
    for label, action in entries:
        if stripped == label:
            return action
    starts = {action for label, action in entries if stripped and label.startswith(stripped)}
    return starts.pop() if len(starts) == 1 else None


# Questions that are not command words ---------------------------------------------------------------

#: The words a question for a form's Word file is made of: “怎么下载word”, “下载表格”, “要word”.
_DOCUMENT_QUESTION_WORDS = sorted(
    (
        *("请问", "请", "我们", "我", "想", "要", "怎么", "怎样", "如何", "在哪里", "在哪", "哪里", "能不能"),
        *("可以", "能否", "下载", "导出", "获取", "拿到", "发给我", "给我", "发我", "发", "一下", "一份"),
        *("贵单位", "已交", "提交", "填好", "这份", "这个", "的", "word", "docx", "doc", "表格", "表"),
        *("文件", "文档", "版本", "版", "呢", "吗", "啊", "呀"),
    ),
    key=len,
    reverse=True,
)
_DOCUMENT_QUESTION = re.compile("|".join(map(re.escape, _DOCUMENT_QUESTION_WORDS)))
_QUESTION_MARKS = re.compile(r"[\s?？!！。.,，~～、]+")


def asks_for_documents(text: str) -> bool:
    """Whether a message asks for a form's Word file (“怎么下载word”, “下载表格”, “word文件”), made only
    of such words and short: an answer that mentions Word (“Word 排版培训”) is not a question."""
    words = _QUESTION_MARKS.sub("", text).lower()
    if not words or len(words) > 20 or not any(key in words for key in ("下载", "word", "docx")):
        return False
    return not _DOCUMENT_QUESTION.sub("", words)


def not_understood(text: str) -> str:
    """“没看懂“……”。”: what was typed (its start), said back before the list of what works."""
    shown = " ".join(text.split())
    shown = shown if len(shown) <= 20 else shown[:20] + "…"
    return f"没看懂“{shown}”。" if shown else ""
