"""Declaration files read by hand-writers' rules: what is wrong in one, said in Chinese to the clerk or
deployer who wrote it.

A notice's file (or a form's, or the roster's) is written by hand; when it cannot be read, the message
names the place in the file as it is written there (“第 3 个 [[tasks]]（id = "t3"）的 deadline”),
what is wrong, and what to write instead. Two sources of trouble: TOML that cannot be parsed
(``tomllib``'s English message, translated for the common mistakes), and values the declaration's
model refuses (pydantic's errors, one sentence each).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from dialogs.declarations import DeclarationError

__all__ = ["place", "read_declaration_file", "toml_error_message", "validation_message"]

_AT = re.compile(r"\s*\(at (?:line (?P<line>\d+), column (?P<column>\d+)|end of document)\)\s*$")

#: tomllib's message (its start) → what it usually means in a hand-written file.
_TOML_MISTAKES: tuple[tuple[str, str], ...] = (
    ("Unterminated string", "引号没有配对：文字要写在一对英文双引号里"),
    ("Illegal character '\\n'", "引号没有配对（这一行的文字少了后面的引号）：文字要写在一对英文双引号里"),
    (
        "Expected newline or end of document after a statement",
        "值的后面还有多余的字：文字要整个写在英文双引号里，一行只写一项",
    ),
    ("Illegal character", "引号里有不能直接写的字符（如换行）：请写在一行内，或用三个引号的多行文字"),
    ("Cannot overwrite a value", "同一项写了两次：请删去重复的一行"),
    ("Cannot declare", "同一个表（[名称]）写了两次：请合并或删去一个"),
    ("Expected '=' after a key", "缺少等号：每一行应写成 名称 = 值"),
    ("Expected ']'", "方括号没有配对：表名写成 [名称] 或 [[名称]]"),
    ("Invalid value", "值写得不对：文字要加英文双引号，日期写成 2021-05-25，数字不加引号"),
    ("Invalid date or datetime", "日期写得不对：写成 2021-05-25（年-月-日，月和日都是两位）"),
    ("Invalid statement", "这一行不是 名称 = 值 的写法（是不是少了引号或等号？）"),
)


def read_declaration_file(path: Path, shown_as: str) -> dict[str, Any]:
    """The TOML table of a declaration file; a file that is missing, unreadable or not TOML is a
    ``DeclarationError`` saying so in Chinese, the file named as ``shown_as``."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as error:
        raise DeclarationError(f"找不到文件 {shown_as}：请检查路径和文件名。") from error
    except UnicodeDecodeError as error:
        raise DeclarationError(f"{shown_as} 不是 UTF-8 编码的文字：请用 UTF-8 另存后再试。") from error
    except OSError as error:
        raise DeclarationError(f"读不了 {shown_as}（{error.strerror}）：请检查文件权限。") from error
    except tomllib.TOMLDecodeError as error:
        raise DeclarationError(f"{shown_as} {toml_error_message(error)}") from error


def toml_error_message(error: tomllib.TOMLDecodeError) -> str:
    """Where the file stops being TOML and the likely mistake: “第 12 行第 8 列附近：引号没有配对……”."""
    text = str(error)
    found = _AT.search(text)
    if found is None:
        where = ""
    elif found.group("line"):
        where = f"第 {found.group('line')} 行第 {found.group('column')} 列附近："
    else:
        where = "文件末尾："
    detail = text[: found.start()] if found else text
    mistake = next((said for start, said in _TOML_MISTAKES if detail.startswith(start)), None)
    if mistake is None:
        mistake = f"不是正确的 TOML 写法（{detail}）"
    return f"{where}{mistake}。"


def validation_message(error: ValidationError, data: Mapping[str, Any]) -> str:
    """Every value the model refused, one sentence each, its place named as in the file ``data`` was
    read from (an entry of a ``[[list]]`` by its number and its ``id`` or ``code``)."""
    sentences = [_sentence(detail, data) for detail in error.errors(include_url=False)]
    return "；".join(dict.fromkeys(sentences)) + "。"


def place(loc: Sequence[int | str], data: Mapping[str, Any]) -> str:
    """A pydantic location as the file's author sees it: ``("tasks", 2, "deadline")`` →
    “第 3 个 [[tasks]]（id = "t3"）的 deadline”; ``("contact", "phone")`` → “[contact] 的 phone”."""
    words: list[str] = []
    tables: list[str] = []  # the table names read so far that no word says yet
    node: Any = data
    for index, key in enumerate(loc):
        last = index == len(loc) - 1
        if isinstance(key, int):
            node = node[key] if isinstance(node, list) and -len(node) <= key < len(node) else None
            if tables:
                words.append(f"第 {key + 1} 个 [[{'.'.join(tables)}]]{_named(node)}")
                tables = []
            elif words:
                words[-1] += f" 第 {key + 1} 项"
            continue
        node = node.get(key) if isinstance(node, Mapping) else None
        if isinstance(node, Mapping) or (not last and _is_list_of_tables(node)):
            tables.append(key)
            if last:
                words.append(f"[{'.'.join(tables)}]")
            continue
        if tables:
            words.append(f"[{'.'.join(tables)}]")
            tables = []
        words.append(key)
    return " 的 ".join(words)


def _is_list_of_tables(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(entry, Mapping) for entry in value)


def _named(entry: Any) -> str:
    """An entry of a list of tables, by what names it: （id = "t3"）."""
    if isinstance(entry, Mapping):
        for key in ("id", "code", "key", "group"):
            if isinstance(entry.get(key), str):
                return f'（{key} = "{entry[key]}"）'
    return ""


def _sentence(detail: Mapping[str, Any], data: Mapping[str, Any]) -> str:
    where = place(detail["loc"], data)
    kind, ctx = detail["type"], detail.get("ctx") or {}
    given = detail.get("input")
    if kind == "missing":
        return f"缺少 {where}：请补上这一项"
    if kind == "extra_forbidden":
        return f"不认识 {where} 这一项（名称写错了？）：请改正或删去"
    if kind == "value_error" or kind == "assertion_error":
        said = str(ctx.get("error", detail["msg"]))
        return f"{where}：{said}" if where else said
    wanted = _wanted(kind, ctx)
    shown = (
        f"写的是 {given!r}，" if isinstance(given, str | int | float) and not isinstance(given, bool) else ""
    )
    return f"{where} {shown}{wanted}".strip()


def _wanted(kind: str, ctx: Mapping[str, Any]) -> str:
    """What the value should have been, for one kind of pydantic error."""
    if kind.startswith("date"):
        return "应是日期：写成 2021-05-25（不加引号）"
    if kind.startswith("time"):
        return '应是时刻：写成 "21:00"'
    if kind.startswith("int"):
        return "应是整数（不加引号）"
    if kind.startswith("float"):
        return "应是数字（不加引号）"
    if kind.startswith("bool"):
        return "应是 true 或 false"
    if kind == "string_type":
        return "应是文字：写在英文双引号里"
    if kind == "list_type":
        return '应是列表：写成 ["甲", "乙"]'
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "应是一个表：写成 [名称] 下面的若干行，或 { 名称 = 值 }"
    if kind == "literal_error":
        return f"只能是 {_choices(str(ctx.get('expected', '')))} 之一"
    if kind == "too_short":
        return f"至少要有 {ctx.get('min_length', 1)} 项" if "field_type" in ctx else "不能为空"
    if kind == "string_too_short":
        return "不能为空"
    if kind == "string_too_long":
        return f"最多 {ctx.get('max_length')} 个字"
    if kind == "string_pattern_mismatch":
        if "records" in str(ctx.get("pattern", "")):
            return '只能是 "records"（按份数计）或 "rows:组名"（按表中某组的行数计）'
        return "只能用小写英文字母、数字和下划线（单位代码还可用 -），并以字母开头"
    if kind in ("greater_than_equal", "greater_than"):
        return f"不能小于 {ctx.get('ge', ctx.get('gt'))}"
    if kind in ("less_than_equal", "less_than"):
        return f"不能大于 {ctx.get('le', ctx.get('lt'))}"
    return "写得不对，请对照 campaigns/liuzhou-2021.toml 中同名的项改正"


def _choices(expected: str) -> str:
    """pydantic's “'county', 'new_area' or 'city_org'” as “"county"、"new_area"、"city_org"”."""
    return "、".join(f'"{value}"' for value in re.findall(r"'([^']*)'", expected)) or expected
