"""Names for questions a table asks twice: 手机 beside 申请人 and again beside 指导老师 are 申请人手机 and
指导老师手机, so that the dialog, the review and the export can tell them apart. Pure functions over
a grid and the items ``word_form_reader`` read from it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

from renderers.word_cell_text import clean_label, is_label
from renderers.word_form_items import Item, Question
from renderers.word_grid import Grid, GridCell
from renderers.word_vocabulary import infer

__all__ = ["told_apart"]


def _owner(grid: Grid, row: int) -> str:
    """Whose row it is: the nearest row at or above it starting with a name label (申请人姓名), less 姓名."""
    for above in range(row, -1, -1):
        first = next((c for c in grid.row_cells(above) if is_label(c) and c.row == above), None)
        if first is not None and infer(clean_label(first.text)).validator == "person_name":
            return re.sub(r"姓名$", "", clean_label(first.text))
    return ""


def told_apart(grid: Grid, items: list[Item], label_cells: Mapping[int, GridCell]) -> list[Item]:
    """A label asked twice in one table is named after the first label of its own row (申报单位负责人
    手机号码, 填报人手机号码; beside 学历学位 spanning two rows, 全日制教育毕业院校); when that is the
    question itself or would change what is asked (手机邮箱 a phone), after whose row it is (申请人邮箱)."""
    labels = [item.label for item in items if isinstance(item, Question)]
    told = list(items)
    for index, cell in label_cells.items():
        item = items[index]
        if not isinstance(item, Question) or labels.count(item.label) < 2:
            continue
        row = [c for c in grid.row_cells(cell.row) if is_label(c)]
        first = next((c for c in row if c.rows == 1), row[0])
        named = clean_label(first.text) + item.label
        if first is cell or infer(named).validator != infer(item.label).validator:
            owner = _owner(grid, cell.row)
            named = owner + item.label if owner and owner != item.label else item.label
        told[index] = replace(item, label=named)
    return told
