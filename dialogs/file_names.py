"""File names that Windows, macOS and Linux all accept: the one rule for every name the service
makes — the export ZIPs' own names (``dialogs.exports``) and every entry inside them
(``renderers.export``) — and for the export names it agrees to open (``is_export_name``)."""

from __future__ import annotations

import unicodedata

#: The longest export ZIP name: a 文号 of ``safe_file_name``'s default 40, what it holds, when.
EXPORT_NAME_LIMIT = 80


_FORBIDDEN = frozenset('/\\:*?"<>|')
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn"})
_SPACE_CATEGORIES = frozenset({"Zs", "Zl", "Zp"})
_LINE_SPACE = frozenset("\t\n\r\x0b\x0c\x85")  # controls that separate words: a space, not nothing
_WINDOWS_DEVICES = frozenset(
    {"CON", "PRN", "AUX", "NUL"} | {f"COM{n}" for n in range(1, 10)} | {f"LPT{n}" for n in range(1, 10)}
)


def safe_file_name(text: str, limit: int = 40) -> str:
    """``text`` as one path component that Windows, macOS and Linux all accept, at most ``limit`` long.

    ``/\\:*?"<>|`` become ``_``; whitespace runs become one space; control, format (zero-width,
    bidi), private-use, unassigned and lone-surrogate characters are dropped; leading and trailing
    dots and spaces are trimmed (so never ``.`` or ``..``); a longer name is cut and ends in ``…``;
    Windows device names (``CON``, ``COM1``…) get a leading ``_``; nothing left gives ``未命名``.
    """
    if limit < 1:
        raise ValueError(f"limit must be at least 1, got {limit}")
    kept: list[str] = []
    for char in unicodedata.normalize("NFC", text):
        if char in _FORBIDDEN:
            kept.append("_")
        elif char in _LINE_SPACE or unicodedata.category(char) in _SPACE_CATEGORIES:
            kept.append(" ")
        elif unicodedata.category(char) not in _DROPPED_CATEGORIES:
            kept.append(char)
    name = " ".join("".join(kept).split()).strip(" .")
    if len(name) > limit:
        name = name[: limit - 1].rstrip(" .") + "…"
    if not name:
        return "未命名"[:limit]
    if name.split(".")[0].rstrip(" ").upper() in _WINDOWS_DEVICES:
        name = ("_" + name)[:limit]
    return name


def is_export_name(name: str) -> bool:
    """Whether ``name`` is an export ZIP's name as this rule makes them: one plain component ending
    in ``.zip`` — not a path, not hidden (a temporary ``.tmp-…``), nothing the rule would change."""
    return name.endswith(".zip") and safe_file_name(name, EXPORT_NAME_LIMIT) == name
