"""组联部's reports as data: /status and /pending built once, then written out by each reader —
``text()`` for a chat, ``bot.web.status_html`` for the status page — instead of prose another side
parses back.

The words of a cell ("登记表1/2（退回1）✓") are made here once; a page may style a cell by its
``done`` and ``late`` marks, never by looking for the characters in it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Cell:
    """One task of one unit (or of one area's units) on /status."""

    label: str  # “登记表”, or “登记表齐” for an area's units that are done
    counted: int
    required: str  # “2”, “≥2”, or an area's number of units owing the task
    returned: int = 0
    done: bool = False
    late: bool = False  # short after the deadline

    def text(self) -> str:
        """“登记表1/2（退回1）✓”, “课程0/≥2逾期”."""
        cell = f"{self.label}{self.counted}/{self.required}"
        if self.returned:
            cell += f"（退回{self.returned}）"
        if self.done:
            cell += "✓"
        elif self.late:
            cell += "逾期"
        return cell


@dataclass(frozen=True, slots=True)
class StatusRow:
    """One unit's (or one area's) cells. ``area`` is set on an area's row of a region's summary."""

    name: str  # “鱼峰区”, “城中区（120个单位）”
    cells: tuple[Cell, ...]
    area: str | None = None


@dataclass(frozen=True, slots=True)
class StatusReport:
    """/status: the deadlines, a row per unit (or per area), then the city's figures."""

    heading: str
    deadlines: tuple[str, ...]  # “登记表：5月25日截止，还有15天”
    rows: tuple[StatusRow, ...]
    hint: str = ""  # how to see an area's units, when the rows are areas
    figures: tuple[str, ...] = ()  # the city targets and the recommendations so far

    def text(self) -> str:
        """As a chat shows it: a unit's cells after its name, two spaces apart, on phone-width lines —
        a cell that would not fit starts the next line (indented), so a phone never breaks one in two
        (“课程0/≥2逾” / “期”)."""
        lines = [self.heading, *(f"· {deadline}" for deadline in self.deadlines), ""]
        for row in self.rows:
            lines += _wrapped(row.name, [cell.text() for cell in row.cells])
        if self.hint:
            lines += ["", self.hint]
        if self.figures:
            lines += ["", *self.figures]
        return "\n".join(lines)


#: The columns a phone shows on one line of a chat at a large font (about 16 Chinese characters).
PHONE_COLUMNS = 32
#: What a unit's line goes on with when its cells need more than one (two ideographic spaces: kept
#: by every chat, where leading ASCII spaces may be trimmed).
CONTINUED = "\u3000\u3000"


def columns(text: str) -> int:
    """How wide ``text`` shows: an ASCII character one column, anything else (Chinese, ✓, ≥) two."""
    return sum(1 if char.isascii() else 2 for char in text)


def _wrapped(name: str, cells: list[str]) -> list[str]:
    """A row's name and cells as lines of at most ``PHONE_COLUMNS``, never breaking a cell."""
    lines, line = [], name
    for cell in cells:
        joined = f"{line}  {cell}"
        if columns(joined) <= PHONE_COLUMNS:
            line = joined
        else:
            lines.append(line)
            line = f"{CONTINUED}{cell}"
    return [*lines, line]


@dataclass(frozen=True, slots=True)
class PendingRow:
    """What one unit (or one area) still owes, task by task, and whether anyone there can be told."""

    name: str
    reach: str  # “联系人2名”, “尚无联系人绑定”; empty for an area
    owed: tuple[str, ...]  # “登记表还差1份，5月25日截止，还有15天”


@dataclass(frozen=True, slots=True)
class PendingReport:
    """/pending: only what is outstanding."""

    rows: tuple[PendingRow, ...]
    by_area: bool = False
    hint: str = ""
    scope: str = "各单位"  # who “均已报齐” when nothing is outstanding

    def text(self) -> str:
        if not self.rows:
            return f"{self.scope}均已报齐。"
        heading = "尚未报齐（按区域）：" if self.by_area else "尚未报齐："
        lines = [heading]
        for row in self.rows:
            who = f"{row.name}（{row.reach}）" if row.reach else row.name
            lines.append(f"{who}：" + "；".join(row.owed))
        if self.hint:
            lines += ["", self.hint]
        return "\n".join(lines)
