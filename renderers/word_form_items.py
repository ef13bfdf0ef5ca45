"""What a Word form asks, as data: the items ``word_form_reader`` reads from a form's tables and lines,
in reading order, and ``word_declaration`` turns into a form declaration.

Addresses are ``word_grid``'s: ``T1R2C3`` for a cell, ``P3:申报单位`` for a blank in a line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "CrossGrid",
    "FormLayout",
    "Item",
    "Known",
    "LineBlank",
    "PhotoGroup",
    "Question",
    "RowGroup",
    "Stamp",
    "Unplaced",
    "Where",
]

Known = Literal["unit_name", "submitted_on"]
Where = Literal["right", "below", "inside", "line"]


@dataclass(frozen=True)
class Question:
    """One blank to ask for: ``where`` it is relative to its label, and the limits the label wrote."""

    label: str  # cleaned: "主要事迹"
    raw_label: str  # as written: "主要事迹（500-1000字）"
    address: str
    where: Where
    kind: Literal["text", "choice", "photo", "figure"] = "text"  # figure: a number, in a table of figures
    options: tuple[str, ...] = ()
    multiple: bool = False
    min_chars: int | None = None
    max_chars: int | None = None
    required: bool = True
    option_cells: tuple[str, ...] = ()  # where each option is marked, when printed in cells of its own
    unlabelled: bool = False  # a photo cell read from its place alone: the import report names it


@dataclass(frozen=True)
class RowGroup:
    """A repeating table: a header of labels over ``blank_rows`` blank rows; ``address`` is the first
    blank row's first cell, each column's question addresses its cell in that row."""

    label: str
    address: str
    columns: tuple[Question, ...]
    blank_rows: int


@dataclass(frozen=True)
class CrossGrid:
    """A table read across (项目 | 2020年 | 2021年 over 妇女人数 …, or 姓名 | 手机号 over 第一指导老师):
    each blank is a ``Question`` of its own; this names the grid for the import report."""

    label: str  # the title on the left or the corner's heading (项目), else 数字表格
    address: str  # the first blank
    rows: tuple[str, ...]
    columns: tuple[str, ...]
    figures: bool = True  # a number in each blank; else each blank asks what its row and column say


@dataclass(frozen=True)
class PhotoGroup:
    """Photos printed after the table (图片及说明（不少于3张，可附后）)."""

    label: str
    raw_label: str
    address: str
    min_rows: int
    max_rows: int
    captions: bool


@dataclass(frozen=True)
class Stamp:
    """A cell left as it is, for a stamp, a signature or an opinion."""

    label: str
    address: str


@dataclass(frozen=True)
class LineBlank:
    """A blank in a line outside the tables; ``known`` says what fills it without asking."""

    label: str
    raw_label: str
    address: str  # "P3:推荐单位（盖章）"
    known: Known | None


@dataclass(frozen=True)
class Unplaced:
    """Text that looks like a label but governs no blank (a heading, or a layout not understood)."""

    text: str
    address: str


Item = Question | RowGroup | CrossGrid | PhotoGroup | Stamp | LineBlank | Unplaced


@dataclass(frozen=True)
class FormLayout:
    """Everything read from one Word form, in reading order."""

    items: tuple[Item, ...]
    tables: int = 0
