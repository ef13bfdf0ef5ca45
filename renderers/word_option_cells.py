"""Options printed in a table's cells rather than in one blank: where a choice is marked cell by cell.

Three layouts, each read as a choice whose options are the printed ones, every option marked in its
own cell (its box ticked, or a √ written in the blank under it):

* one box per cell after a label: ``政治面貌 | □党员 | □团员 | □群众`` along the row, or down the
  column beside a label spanning rows;
* a column per answer: a header row of short answers (``问题 | 是 | 否``) over rows of questions with
  a blank under each answer (``是否党员 |   |   ``): each row a choice of the answers;
* options written under a column's header (``政治面貌`` over ``□党员 □团员 □群众`` or ``党员/团员/
  群众`` in the same cell): ``header_options`` splits the header from its options, and each row of
  the table takes the chosen option written in its cell. (Options in sub-columns under a header,
  ``政治面貌`` over ``党员 | 团员 | 群众``, are read with the table's header by ``word_form_reader``.)

Pure functions from a grid to plain data; ``word_form_reader`` turns them into questions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from renderers.word_cell_text import BOXES, checkbox_options, compact, is_blank, is_label
from renderers.word_grid import Grid, GridCell
from renderers.word_vocabulary import infer

__all__ = ["OptionCells", "answer_columns", "boxes_in_cells", "header_options"]

#: Short answers a form prints as column heads over rows of questions.
_ANSWER_WORDS = re.compile(
    r"是|否|有|无|会|不会|能|不能|已|未|同意|不同意|满意|不满意|基本满意|"
    r"优秀|良好|较好|好|一般|较差|差|合格|不合格"
)
#: A row label that asks a yes/no question.
_YES_NO_QUESTION = re.compile(r"^(?:是否|有无|能否|可否|是不是|有没有)|[？?]$")


@dataclass(frozen=True)
class OptionCells:
    """A choice printed over cells: the ``label`` cell asking, each option, and the cell it is
    marked in (``cells[i]`` for ``options[i]``)."""

    label: GridCell
    options: tuple[str, ...]
    cells: tuple[GridCell, ...]


def _one_box(text: str) -> str:
    """``□党员`` → ``党员``; empty unless the text is exactly one box and its option."""
    parts = re.split(f"[{BOXES}]", compact(text))
    if len(parts) != 2 or parts[0]:
        return ""
    return parts[1].strip("，,、;；。")


def boxes_in_cells(grid: Grid, label: GridCell, used: set[GridCell]) -> OptionCells | None:
    """Two or more cells of one box each right after ``label``: along its row, or down the column to
    its right within the rows it spans."""
    along: list[GridCell] = []
    cell = grid.at(label.row, label.end_col)
    while cell is not None and cell not in used and cell.row == label.row and _one_box(cell.text):
        along.append(cell)
        cell = grid.at(label.row, cell.end_col)
    down: list[GridCell] = []
    row = label.row
    while row < label.end_row:
        cell = grid.at(row, label.end_col)
        if (
            cell is None
            or cell in used
            or (cell.row, cell.col) != (row, label.end_col)
            or not _one_box(cell.text)
        ):
            break
        down.append(cell)
        row = cell.end_row
    cells = along if len(along) >= 2 else down
    if len(cells) < 2:
        return None
    return OptionCells(label, tuple(_one_box(cell.text) for cell in cells), tuple(cells))


def answer_columns(grid: Grid, row: int, used: set[GridCell]) -> tuple[list[OptionCells], set[GridCell]]:
    """A header row at ``row`` of two or more short answers after a first cell (blank, or a heading
    such as 问题/项目), over rows each holding a label in that first cell and a blank under each
    answer. The answers count as such when they are yes/no-like words (是/否, 有/无, 满意/不满意 …)
    or every row asks a yes/no question (是否…, 有无…, …？). The rows found, and the header cells."""
    cells = [cell for cell in grid.row_cells(row) if cell not in used]
    if len(cells) < 3 or any(cell.row != row or cell.rows != 1 for cell in cells):
        return [], set()
    head, *answers = cells
    words = [compact(cell.text) for cell in answers]
    if not all(0 < len(word) <= 4 and not re.search(rf"[\d{BOXES}]", word) for word in words):
        return [], set()
    columns = [(cell.col, cell.cols) for cell in answers]
    found: list[OptionCells] = []
    for below in range(row + 1, grid.height):
        question, *blanks = grid.row_cells(below)
        if (
            question in used
            or (question.row, question.rows, question.col, question.cols) != (below, 1, head.col, head.cols)
            or not is_label(question)
            or [(cell.col, cell.cols) for cell in blanks] != columns
            or not all(is_blank(cell) and cell.row == below and cell.rows == 1 for cell in blanks)
        ):
            break
        found.append(OptionCells(question, tuple(words), tuple(blanks)))
    yes_no = all(_ANSWER_WORDS.fullmatch(word) for word in words)
    questions = all(_YES_NO_QUESTION.search(compact(item.label.text)) for item in found)
    if not found or not (yes_no or questions):
        return [], set()
    return found, set(cells)


def header_options(text: str) -> tuple[str, tuple[str, ...]]:
    """A header with its options written under it: ``政治面貌\\n□党员 □团员 □群众`` or
    ``政治面貌\\n党员/团员/群众`` → (``政治面貌``, the options); (text, ()) otherwise."""
    head, _, rest = text.strip().partition("\n")
    if not compact(head) or not rest.strip() or any(box in head for box in BOXES):
        return text, ()
    options = checkbox_options(rest)
    if not options and not re.search(r"[（(]", rest):
        parts = [compact(part) for part in re.split(r"[/／、]", rest)]
        words = len(parts) >= 2 and all(0 < len(part) <= 10 and not re.search(r"\d", part) for part in parts)
        # 联系电话\n手机/座机, 工作单位\n职务/职称: a header wrapped over two lines, not options
        words = words and all(infer(part).fallback for part in parts)
        if words and not set(parts) <= set("年月日"):  # 年/月 says how to write a date
            options = tuple(parts)
    return (head, options) if options else (text, ())
