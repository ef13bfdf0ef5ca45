"""A table of figures: column heads over rows of labels, a number in each blank where they cross.

``项目 | 2020年 | 2021年`` over ``妇女人数 |   |   `` and ``执委人数 |   |   ``, or ``类别 | 男 | 女``
over ``妇联干部 |   |   ``: each blank is one question, named by its row and its column
(``妇女人数（2021年）``) and printed in that blank. It is a table of figures when its words say so —
a row, a column or the corner asks for a number or an amount (人数, 金额, （万元）…), or the columns
are 男 / 女 / 合计 — so that a table of text under years (主要工作 | 2020年 | 2021年) is not taken for
one. Read before the label/blank pairs, after the yes/no answer columns (是 | 否), whose layout is
the same with answers for heads.

Pure functions from a grid to plain data, read by ``word_form_reader`` in the table's reading order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from renderers.word_cell_text import clean_label, compact, is_blank, is_label
from renderers.word_form_items import FigureGrid, Item, Question
from renderers.word_grid import Grid, GridCell, cell_address
from renderers.word_vocabulary import infer

__all__ = ["FigureTable", "figure_items", "figure_table"]

#: Column heads that split a count: by sex, and the totals.
_SPLIT_HEADS = re.compile(r"男|女|男性|女性|合计|小计|总计|总数|其中.{0,4}")
_FIGURES = ("integer", "amount")
#: A unit in brackets, said by the field's kind (（万元）, （人）); other brackets name the row: 村（社区）
_UNIT = re.compile(r"[（(](?:单位[:：]?)?(?:万元|元|人|个|次|户|名|项|%|％)[）)]")


@dataclass(frozen=True)
class FigureTable:
    """Heads over rows: ``cells[r][c]`` is the blank where row ``rows[r]`` crosses column
    ``columns[c]``; ``corner`` is the first cell of the heads' row."""

    corner: GridCell
    columns: tuple[GridCell, ...]
    rows: tuple[GridCell, ...]
    cells: tuple[tuple[GridCell, ...], ...]

    @property
    def taken(self) -> set[GridCell]:
        return {self.corner, *self.columns, *self.rows, *(cell for row in self.cells for cell in row)}


def _asks_a_figure(cell: GridCell) -> bool:
    return infer(clean_label(cell.text), raw_label=compact(cell.text)).validator in _FIGURES


def _of_figures(corner: GridCell, columns: list[GridCell], rows: list[GridCell]) -> bool:
    if any(map(_asks_a_figure, [corner, *columns, *rows])):
        return True
    return all(_SPLIT_HEADS.fullmatch(clean_label(cell.text)) for cell in columns)


def figure_table(grid: Grid, row: int, used: set[GridCell]) -> FigureTable | None:
    """The table of figures whose heads stand in ``row``: a first cell (the corner: blank, or a
    heading such as 项目/类别) and two or more heads, over one or more rows each holding a label under
    the corner and a blank under every head; None when there is none or its words ask no figure."""
    cells = [cell for cell in grid.row_cells(row) if cell not in used]
    if len(cells) < 3 or any(cell.row != row or cell.rows != 1 for cell in cells):
        return None
    corner, *heads = cells
    if not (is_blank(corner) or is_label(corner)) or not all(map(is_label, heads)):
        return None
    columns = [(cell.col, cell.cols) for cell in heads]
    labels: list[GridCell] = []
    blanks: list[tuple[GridCell, ...]] = []
    for below in range(row + 1, grid.height):
        first, *rest = grid.row_cells(below)
        if (
            first in used
            or (first.row, first.rows, first.col, first.cols) != (below, 1, corner.col, corner.cols)
            or not is_label(first)
            or [(cell.col, cell.cols) for cell in rest] != columns
            or not all(is_blank(cell) and cell.row == below and cell.rows == 1 for cell in rest)
        ):
            break
        labels.append(first)
        blanks.append(tuple(rest))
    if not labels or not _of_figures(corner, heads, labels):
        return None
    return FigureTable(corner, tuple(heads), tuple(labels), tuple(blanks))


def _name(cell: GridCell) -> str:
    """A row's or a column's name: 村（社区）执委 as written, a unit in brackets left to the kind."""
    return _UNIT.sub("", compact(cell.text)).rstrip("：:") or clean_label(cell.text)


def figure_items(grid: Grid, table: FigureTable) -> list[Item]:
    """A table of figures as its grid (for the import report) and one number question per blank,
    row by row, each named by its row and its column: 妇女人数（2021年）."""
    columns = [_name(head) for head in table.columns]
    rows = [_name(label) for label in table.rows]
    first = table.cells[0][0]
    corner = _name(table.corner) if compact(table.corner.text) else "数字表格"
    items: list[Item] = [
        FigureGrid(corner, cell_address(grid.table, first.row, first.col), tuple(rows), tuple(columns))
    ]
    for label, row, blanks in zip(table.rows, rows, table.cells, strict=True):
        for head, column, blank in zip(table.columns, columns, blanks, strict=True):
            raw = f"{compact(label.text)}（{compact(head.text)}）"  # units as written: （万元）
            address = cell_address(grid.table, blank.row, blank.col)
            items.append(Question(f"{row}（{column}）", raw, address, "inside", kind="figure"))
    return items
