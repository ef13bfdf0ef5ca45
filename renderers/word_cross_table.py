"""A table read across: column heads over rows of labels, one blank where each row crosses each column.

Three readings, by what the words ask:

* a table of figures — ``项目 | 2020年 | 2021年`` over ``妇女人数``, ``类别 | 男 | 女`` over
  ``妇联干部``: a row, a column or the corner asks for a number or an amount (人数, 金额, （万元）…),
  or the columns are 男 / 女 / 合计. Each blank is a number named ``妇女人数（2021年）``;
* the columns are the questions, the rows say whose — ``  | 姓名 | 手机号 | 邮箱`` over
  ``第一指导老师``: each blank is ``第一指导老师手机号``, checked as the column says;
* the rows are the questions, the columns say which — ``病名 | 肝类 | 痢疾`` over ``患病时间``:
  each blank is ``肝类患病时间``.

A table of text under years (主要工作 | 2020年 | 2021年) is none of them and is read as before. A
label spanning the rows on the left (指导教师, 既往病史) is the table's title. Read before the
label/blank pairs, after the yes/no answer columns (是 | 否), whose layout is the same with answers
for heads. Pure functions from a grid to plain data, read by ``word_form_reader`` in reading order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from renderers.word_cell_text import BOXES, clean_label, compact, is_blank, is_label
from renderers.word_form_items import CrossGrid, Item, Question
from renderers.word_grid import Grid, GridCell, cell_address
from renderers.word_vocabulary import infer

__all__ = ["CrossTable", "cross_items", "cross_table"]

Reading = Literal["figures", "by_row", "by_column"]

#: Column heads that split a count: by sex, and the totals.
_SPLIT_HEADS = re.compile(r"男|女|男性|女性|合计|小计|总计|总数|其中.{0,4}")
_FIGURES = ("integer", "amount")
#: A unit in brackets, said by the field's kind (（万元）, （人）); other brackets name the row: 村（社区）
_UNIT = re.compile(r"[（(](?:单位[:：]?)?(?:万元|元|人|个|次|户|名|项|%|％)[）)]")


@dataclass(frozen=True)
class CrossTable:
    """Heads over rows: ``cells[r][c]`` is the blank where row ``rows[r]`` crosses column
    ``columns[c]``; ``corner`` is the first cell of the heads' row, ``title`` a label spanning the
    rows on the left."""

    corner: GridCell
    columns: tuple[GridCell, ...]
    rows: tuple[GridCell, ...]
    cells: tuple[tuple[GridCell, ...], ...]
    reading: Reading
    title: GridCell | None = None

    @property
    def taken(self) -> set[GridCell]:
        cells = {self.corner, *self.columns, *self.rows, *(cell for row in self.cells for cell in row)}
        return cells | ({self.title} if self.title else set())


def _asks_a_figure(cell: GridCell) -> bool:
    return infer(clean_label(cell.text), raw_label=compact(cell.text)).validator in _FIGURES


def _asks(cell: GridCell) -> bool:
    """The vocabulary knows what the cell's label asks (姓名, 手机号, 患病时间)."""
    inferred = infer(clean_label(cell.text))
    return not inferred.fallback and not inferred.compound


def _asks_in_words(cell: GridCell) -> bool:
    """Asks something other than a choice, whose options the heads over it would be (政治面貌 under
    党员 | 团员 | 群众 is one choice, not three questions)."""
    return _asks(cell) and infer(clean_label(cell.text)).kind != "choice"


def _reading(corner: GridCell, columns: list[GridCell], rows: list[GridCell]) -> Reading | None:
    if any(map(_asks_a_figure, [corner, *columns, *rows])) or all(
        _SPLIT_HEADS.fullmatch(clean_label(cell.text)) for cell in columns
    ):
        return "figures"
    known = sum(map(_asks, columns))
    if known >= 2 and 2 * known >= len(columns) and not any(map(_asks, rows)):
        return "by_row"
    if all(map(_asks_in_words, rows)) and not any(map(_asks, columns)):
        return "by_column"
    return None


def cross_table(grid: Grid, row: int, used: set[GridCell]) -> CrossTable | None:
    """The table whose heads stand in ``row``: a first cell (the corner: blank, or a heading such as
    项目/类别) and two or more heads, over one or more rows each holding a label under the corner and
    a blank under every head; None when there is none or its words fit no reading."""
    cells = [cell for cell in grid.row_cells(row) if cell not in used]
    title = cells[0] if cells and cells[0].rows > 1 and cells[0].row == row and is_label(cells[0]) else None
    cells = [cell for cell in cells if cell is not title]
    if len(cells) < 3 or any(cell.row != row or cell.rows != 1 for cell in cells):
        return None
    corner, *heads = cells
    if not (is_blank(corner) or is_label(corner)) or not all(map(is_label, heads)):
        return None
    if any(box in cell.text for cell in cells for box in BOXES):
        return None  # options printed in cells (政治面貌 | □党员 | □团员): see word_option_cells
    columns = [(cell.col, cell.cols) for cell in heads]
    labels: list[GridCell] = []
    blanks: list[tuple[GridCell, ...]] = []
    for below in range(row + 1, grid.height):
        first, *rest = [cell for cell in grid.row_cells(below) if cell is not title]
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
    reading = _reading(corner, heads, labels) if labels else None
    if reading is None:
        return None
    return CrossTable(corner, tuple(heads), tuple(labels), tuple(blanks), reading, title)


def _name(cell: GridCell) -> str:
    """A row's or a column's name: 村（社区）执委 as written, a unit in brackets left to the kind."""
    return _UNIT.sub("", compact(cell.text)).rstrip("：:") or clean_label(cell.text)


def cross_items(grid: Grid, table: CrossTable) -> list[Item]:
    """The table as its grid (for the import report) and one question per blank, row by row, named
    by its row and its column: 妇女人数（2021年） (a number), 第一指导老师手机号, 肝类患病时间."""
    columns = [_name(head) for head in table.columns]
    rows = [_name(label) for label in table.rows]
    first = table.cells[0][0]
    heading = table.title or (table.corner if compact(table.corner.text) else None)
    label = _name(heading) if heading is not None else ("数字表格" if table.reading == "figures" else "表格")
    address = cell_address(grid.table, first.row, first.col)
    items: list[Item] = [CrossGrid(label, address, tuple(rows), tuple(columns), table.reading == "figures")]
    for cell, row, blanks in zip(table.rows, rows, table.cells, strict=True):
        for head, column, blank in zip(table.columns, columns, blanks, strict=True):
            at = cell_address(grid.table, blank.row, blank.col)
            if table.reading == "figures":
                raw = f"{compact(cell.text)}（{compact(head.text)}）"  # units as written: （万元）
                items.append(Question(f"{row}（{column}）", raw, at, "inside", kind="figure"))
            else:
                name = row + column if table.reading == "by_row" else column + row
                items.append(Question(name, name, at, "inside"))
    return items
