"""Blanks printed as empty brackets in a cell's text: ``第（  ）名 专业/班级共（  ）人``,
``累积补考数（  ）门``, ``是（  ）  否（  ）``.

Each empty bracket is a question written inside that bracket, named by the label on the cell's left
and the words around the bracket (``绩点排名：第（）名``); a count (a bracket before 名, 人, 门, 个 …)
is a whole number. Brackets after short answers only (``是（ ） 否（ ）``) are one choice, a √ written
in the chosen bracket. A bracket is addressed ``T1R5C2#2``: the cell, and which of its brackets
(counting every bracket pair of the cell's text, empty or not, so that one filled does not renumber
the others). Pure functions from a grid to questions, placed by ``word_form_reader``.
"""

from __future__ import annotations

import re

from renderers.word_cell_text import clean_label, compact, is_label
from renderers.word_form_items import Question
from renderers.word_grid import Grid, GridCell, cell_address

__all__ = ["BRACKET", "bracket_cells", "bracket_questions", "has_bracket_blanks"]

#: Any bracket pair of a cell's text; an empty one (spaces or underscores inside) is a blank.
BRACKET = re.compile(r"[（(]([^（）()]*)[）)]")
_ANSWERS = r"是|否|有|无|同意|不同意|愿意|不愿意|服从|不服从"
#: Short answers each followed by its empty bracket, and nothing else: 是（  ）  否（  ）.
_CHOICE = re.compile(rf"(?:(?:{_ANSWERS})[（(][_＿]*[）)])+")
#: A counted thing after the bracket makes the answer a whole number: 第（ ）名, 共（ ）人, （ ）门.
_COUNTED = "名人门个次项户岁天篇部件"


def _is_empty(match: re.Match[str]) -> bool:
    return not compact(match[1]).strip("_＿")


def has_bracket_blanks(text: str) -> bool:
    return any(map(_is_empty, BRACKET.finditer(text)))


def bracket_questions(label: str, address: str, text: str) -> list[Question]:
    """The questions of a cell's empty brackets; ``label`` is the label on the cell's left ("" when
    none)."""
    brackets = list(BRACKET.finditer(text))
    blanks = [(number, match) for number, match in enumerate(brackets, start=1) if _is_empty(match)]
    around: list[tuple[str, str]] = []
    for number, match in blanks:
        line_start = text.rfind("\n", 0, match.start()) + 1
        line_end = text.find("\n", match.end())
        line_end = len(text) if line_end < 0 else line_end
        before_from = max([line_start, *(m.end() for m in brackets[: number - 1])])
        after_to = min([line_end, *(m.start() for m in brackets[number:])])
        around.append((compact(text[before_from : match.start()]), compact(text[match.end() : after_to])))
    if len(blanks) >= 2 and _CHOICE.fullmatch(compact(text)):
        options = tuple(before for before, _ in around)
        addresses = tuple(f"{address}#{number}" for number, _ in blanks)
        name = label or "/".join(options)
        return [Question(name, name, addresses[0], "inside", "choice", options, option_cells=addresses)]
    questions: list[Question] = []
    for (number, _), (before, after) in zip(blanks, around, strict=True):
        piece = f"{before}（）{after}"
        name = f"{label}：{piece}" if label else piece
        counted = bool(after) and after[0] in _COUNTED
        questions.append(
            Question(name, name, f"{address}#{number}", "inside", "figure" if counted else "text")
        )
    return questions


def bracket_cells(grid: Grid, used: set[GridCell]) -> tuple[dict[GridCell, list[Question]], set[GridCell]]:
    """The questions of every cell of empty brackets, by the cell they are read at: the label on
    the cells' left (补考情况 beside 累积补考数（ ）门 and 本学年补考数（ ）门), else the cell itself;
    and the cells they take."""
    found: dict[GridCell, list[Question]] = {}
    taken: set[GridCell] = set()
    for cell in grid.cells:
        if cell in used or not has_bracket_blanks(cell.text):
            continue
        left = grid.at(cell.row, cell.col - 1) if cell.col > 0 else None
        if left is not None and (left in used or not is_label(left) or has_bracket_blanks(left.text)):
            left = None
        label = clean_label(left.text) if left is not None else ""
        address = cell_address(grid.table, cell.row, cell.col)
        found.setdefault(left or cell, []).extend(bracket_questions(label, address, cell.text))
        taken |= {cell} | ({left} if left is not None else set())
    return found, taken
