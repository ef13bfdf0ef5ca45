"""Reading a Word form: pure functions from cell grids (``word_grid``) to what the form asks.

A label cell (text that asks) governs the blank cell to its right, or the blank below it when a row
of labels stands over a row of blanks (in a row of labels and blanks, a blank with a label on its left
is that label's); a label ending in a colon with nothing beside it is answered inside its own cell,
after the label. A label written in pieces is one label: across two cells before its blank (主要 |
事迹 | blank), or one piece per row down a column beside one tall blank (主 / 要 / 事 / 迹). A label
asking two things (荣誉称号及评定时间, see ``word_vocabulary.label_parts``) with a blank printed for
each is two questions; over one blank it is one, read as text by the vocabulary.
A table read across (2020年 | 2021年 over 妇女人数; 姓名 | 手机号 over 第一指导老师) asks one question a
blank, named by its row and column: 妇女人数（2021年）, 第一指导老师手机号 (``word_cross_table``).
A header row of labels over two or more blank rows is a repeating table (one group row per blank
row, more allowed); a two-row header (主讲人 over 姓名 | 出生年月) names its sub-columns 主讲人姓名 ….
Limits written in a label (（500字以内）, （500-1000字）, （800字左右）, （2-3张）) are the field's.
Check boxes in a blank (□A □B, ☐, ○) make a choice, several when it says 可多选/多选; so do options
printed in cells of their own (one box a cell, 是 | 否 columns, options under a column's header: see
``word_option_cells``), each marked in its own cell. A photo placeholder (照片, 一寸/二寸, 免冠)
takes one photo in that cell, and so does a blank no label governs that spans rows at the right edge
of rows of labels and blanks (a 登记表's photo place, left empty); 图片…（可附后）/另附 takes photos
after the table, with captions when the label asks for 说明; a repeating table's 照片 column takes one
photo per row. Stamp, signature and opinion cells are left for the stamp, never asked: a label
naming a signature or stamp (盖章, 签字), a blank holding only 年 月 日, or a label that ends in 意见,
审核 or 审批, writes no 字 limit, and whose blank holds only a stamp hint or date or stands in the
table's last rows. “意见和建议（500字）” is a question.
Blanks in lines outside the tables (推荐单位（盖章）：____  填表日期：  年  月  日), or in a cell of
several (姓名：____ 性别：____), are filled from what is known and asked only when unknown.

The recognition rules read best side by side, each a short pure function tested by a table of
layouts (tests/test_word_form_reader.py); the items (``word_form_items``), a cell's text
(``word_cell_text``), options in cells (``word_option_cells``), lines (``word_form_lines``), grids
(``word_grid``), the vocabulary and the filling live in their own modules.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace

from renderers.word_bracket_blanks import bracket_cells
from renderers.word_cell_text import (
    BOXES,
    MULTIPLE,
    OFFICE_USE,
    OPINION_END,
    OPTIONAL,
    SIGN_WORDS,
    bracketed_options,
    char_limits,
    checkbox_options,
    clean_label,
    compact,
    is_blank,
    is_date_only,
    is_fillable,
    is_label,
    is_photo_placeholder,
    is_photos_after,
    is_stamp_blank,
    photo_limits,
    stamp_label,
)
from renderers.word_cross_table import cross_items, cross_table
from renderers.word_form_items import (
    CrossGrid,
    FormLayout,
    Item,
    LineBlank,
    PhotoGroup,
    Question,
    RowGroup,
    Stamp,
    Unplaced,
    Where,
)
from renderers.word_form_lines import LINE_BLANK, read_cell_lines, read_line
from renderers.word_grid import Grid, GridCell, Line, cell_address
from renderers.word_label_names import told_apart
from renderers.word_option_cells import OptionCells, answer_columns, boxes_in_cells, header_options
from renderers.word_vocabulary import infer, label_parts

__all__ = [
    "BOXES",
    "LINE_BLANK",
    "CrossGrid",
    "FormLayout",
    "Item",
    "LineBlank",
    "PhotoGroup",
    "Question",
    "RowGroup",
    "Stamp",
    "Unplaced",
    "bracketed_options",
    "checkbox_options",
    "read_form",
    "read_grid",
    "read_line",
]

# --- a label and its blanks ------------------------------------------------------------------

#: An opinion label whose blank is empty is left for the stamp when it stands this near the bottom.
_LAST_ROWS = 3


def _is_stamp_label(grid: Grid, label: GridCell, blank: GridCell | None) -> bool:
    """A label whose blank is for a signature, a stamp or an opinion: it names a signature or stamp,
    or someone else to fill it (（招聘单位填写）), or it ends in 意见/审核/审批 with no 字 limit and its
    blank (or its own cell) holds only a stamp hint or date, or is empty in the last rows."""
    if SIGN_WORDS.search(compact(text := label.text)) or OFFICE_USE.search(compact(text)):
        return True
    head, *dated = re.split(r"[\s\u3000_]*年[\s\u3000_]*月[\s\u3000_]*日", text, maxsplit=1)
    if char_limits(text) != (None, None) or not OPINION_END.search(clean_label(head)):
        return False
    if dated:
        return True  # 推荐单位意见： 年 月 日, all in one cell
    if blank is not None and is_stamp_blank(blank.text):
        return True
    empty = blank is None or is_blank(blank)
    return empty and (blank or label).row >= grid.height - _LAST_ROWS


def _question(label_text: str, address: str, where: Where, blank_text: str = "") -> Question:
    options = checkbox_options(blank_text) or bracketed_options(label_text)
    low, high = char_limits(label_text)
    both = label_text + blank_text
    return Question(
        label=clean_label(label_text),
        raw_label=compact(label_text).rstrip("：:"),
        address=address,
        where=where,
        kind="choice" if options else "text",
        options=options,
        multiple=bool(options) and bool(MULTIPLE.search(both)),
        min_chars=low,
        max_chars=high,
        required=not OPTIONAL.search(both),
    )


# --- one table ----------------------------------------------------------------------------------


_Header = tuple[GridCell | None, list[GridCell], int, dict[GridCell, GridCell]]


def _header(grid: Grid, row: int, used: set[GridCell]) -> _Header | None:
    """The header of a repeating table starting at ``row``: its title cell on the left (if any), its
    column cells left to right, its height, and the columns that are options of a label above them.
    One row of labels, or two: labels spanning both rows beside a group label (主讲人) over its
    sub-labels (姓名 | 出生年月 | 单位及职务), or over its options (政治面貌 over 党员 | 团员 | 群众)."""
    cells = [cell for cell in grid.row_cells(row) if cell not in used]
    title_cell = cells[0] if cells and cells[0].rows > 1 and is_label(cells[0]) else None
    header = [cell for cell in cells if cell is not title_cell]
    if len(header) >= 2 and all(_heads(cell) and cell.row == row and cell.rows == 1 for cell in header):
        return title_cell, header, 1, {}
    if len(cells) < 2 or row + 2 >= grid.height:
        return None
    if not all(_heads(cell) and cell.row == row and cell.rows <= 2 for cell in cells):
        return None
    below = [cell for cell in grid.row_cells(row + 1) if cell.row == row + 1]
    columns: list[GridCell] = []
    options_of: dict[GridCell, GridCell] = {}
    for cell in cells:
        subs = [sub for sub in below if cell.col <= sub.col and sub.end_col <= cell.end_col]
        if cell.rows == 2:
            columns.append(cell)
        elif len(subs) < 2 or sum(sub.cols for sub in subs) != cell.cols or not all(map(is_label, subs)):
            return None
        elif _are_options(cell, subs):
            columns += subs
            options_of.update(dict.fromkeys(subs, cell))
        else:
            columns += [replace(sub, text=clean_label(cell.text) + sub.text) for sub in subs]
    return (None, columns, 2, options_of) if len(below) >= 2 else None


def _are_options(label: GridCell, subs: Sequence[GridCell]) -> bool:
    """Sub-labels that are the options of the label over them (政治面貌 over 党员 | 团员 | 群众), not
    fields of their own (主讲人 over 姓名 | 出生年月): short words the vocabulary does not know, under a
    label that asks for no figure (人数 over 男 | 女 asks two numbers)."""
    if infer(clean_label(label.text)).validator in ("integer", "amount"):
        return False
    return all(len(clean_label(sub.text)) <= 4 and infer(clean_label(sub.text)).fallback for sub in subs)


def _untitled(labels: Sequence[str]) -> str:
    """A name for a repeating table with no title: its columns, the first two and 等 when more than
    three (【课程名称、授课形式等·第1行】 reads better in a question than six names)."""
    return "、".join(labels) if len(labels) <= 3 else "、".join(labels[:2]) + "等"


def _repeating_table(grid: Grid, row: int, used: set[GridCell]) -> tuple[RowGroup, set[GridCell]] | None:
    """A header of labels at ``row`` (one row, or two: see ``_header``) over two or more blank rows of
    the same columns; the title is a label spanning those rows on the left, or a single label
    spanning the row above."""
    found = _header(grid, row, used)
    if found is None:
        return None
    title_cell, header, height, options_of = found
    columns = [(cell.col, cell.cols) for cell in header]
    blank_rows = 0
    for below in range(row + height, grid.height):
        others = [cell for cell in grid.row_cells(below) if cell is not title_cell]
        if [(cell.col, cell.cols) for cell in others] != columns or not all(
            is_blank(cell) and cell.row == below for cell in others
        ):
            break
        blank_rows += 1
    if blank_rows < 2:
        return None
    taken = {cell for below in range(row, row + height + blank_rows) for cell in grid.row_cells(below)}
    first = row + height
    questions: list[Question] = []
    for cell in header:
        label = options_of.get(cell)
        if label is None:
            questions.append(_column(cell, cell_address(grid.table, first, cell.col)))
        elif cell is next(sub for sub in header if options_of.get(sub) is label):
            subs = [sub for sub in header if options_of.get(sub) is label]
            addresses = [cell_address(grid.table, first, sub.col) for sub in subs]
            options = [clean_label(sub.text) for sub in subs]
            questions.append(_marked_in_cells(label.text, options, addresses, "below"))
    if title_cell is not None:
        title = clean_label(title_cell.text)
    else:
        above = _title_above(grid, row, used)
        taken |= {above} if above is not None else set()
        title = clean_label(above.text) if above else _untitled([question.label for question in questions])
    group = RowGroup(title, cell_address(grid.table, first, header[0].col), tuple(questions), blank_rows)
    return group, taken


def _heads(cell: GridCell) -> bool:
    """A column's header: a label, or a label with its options written under it."""
    return is_label(cell) or bool(header_options(cell.text)[1])


def _column(header: GridCell, address: str) -> Question:
    """One column of a repeating table: a 照片 column takes one photo per row, in its cell; options
    written under the header make each row's cell a choice of them."""
    head, options = header_options(header.text)
    question = _question(head, address, "below")
    if options:
        multiple = bool(MULTIPLE.search(header.text))
        return replace(
            question, kind="choice", options=options, multiple=multiple, min_chars=None, max_chars=None
        )
    if is_photo_placeholder(header.text) and not is_photos_after(header.text):
        return replace(question, kind="photo", min_chars=None, max_chars=None)
    return question


def _marked_in_cells(label: str, options: Sequence[str], addresses: Sequence[str], where: Where) -> Question:
    """A choice whose options are printed in cells of their own, each marked in its cell."""
    return replace(
        _question(label, addresses[0], where),
        kind="choice",
        options=tuple(options),
        option_cells=tuple(addresses),
        multiple=bool(MULTIPLE.search(label)),
        min_chars=None,
        max_chars=None,
    )


def _options_over(grid: Grid, found: OptionCells) -> Question:
    addresses = [cell_address(grid.table, cell.row, cell.col) for cell in found.cells]
    return _marked_in_cells(found.label.text, found.options, addresses, "right")


def _title_above(grid: Grid, row: int, used: set[GridCell]) -> GridCell | None:
    """A single label spanning the whole row above a repeating table is its title."""
    if row == 0:
        return None
    above = grid.row_cells(row - 1)
    if len(above) == 1 and above[0] not in used and is_label(above[0]) and above[0].rows == 1:
        return above[0]
    return None


def _paired(grid: Grid, label: GridCell, used: set[GridCell]) -> tuple[GridCell, Where] | None:
    """The blank a label governs: to its right, else below it."""
    right = grid.at(label.row, label.end_col)
    if (
        right is not None
        and right not in used
        and right.row == label.row
        and (is_fillable(right) or is_stamp_blank(right.text))
    ):
        return right, "right"
    below = grid.at(label.end_row, label.col)
    if (
        below is not None
        and below not in used
        and below.col == label.col
        and is_fillable(below)
        and not (_labelled_on_its_left(grid, below) and any(map(is_fillable, grid.row_cells(label.row))))
    ):
        return below, "below"
    return None


def _labelled_on_its_left(grid: Grid, blank: GridCell) -> bool:
    """A blank with a label just left of it is that label's (户籍地 | blank), not the blank below a
    cell of a row of labels and blanks (正处 副处 无级别 beside 职务级别); a row of labels only (a
    header) still governs the row below it."""
    left = grid.at(blank.row, blank.col - 1) if blank.col > 0 else None
    return left is not None and left.row <= blank.row and is_label(left)


def _is_piece(cell: GridCell, longest: int = 4) -> bool:
    """A short piece of a label (主要, 事, 简历（300字）), not a blank, a box or a date line."""
    text = compact(cell.text)
    return (
        is_label(cell)
        and bool(re.search(r"[\u4e00-\u9fff]", text))
        and len(clean_label(text)) <= longest
        and not text.endswith(("：", ":"))
    )


def _joined_label(grid: Grid, cell: GridCell, used: set[GridCell]) -> tuple[list[GridCell], GridCell] | None:
    """A label written in pieces before one blank: across two cells of a row (主要 | 事迹 | blank),
    or down the cells of a column beside one tall blank (主 / 要 / 事 / 迹). The pieces after
    ``cell``, and one label cell covering them all."""
    after = grid.at(cell.row, cell.end_col)
    if after is not None and after not in used and (after.row, after.rows) == (cell.row, cell.rows):
        blank = grid.at(cell.row, after.end_col)
        below = grid.at(cell.end_row, cell.col)
        if (
            _is_piece(cell)
            and _is_piece(after, longest=12)
            and blank is not None
            and blank not in used
            and blank.row == cell.row
            and is_fillable(blank)
            and not (below is not None and below.col == cell.col and is_fillable(below))
        ):
            return [after], replace(cell, text=cell.text + after.text, cols=cell.cols + after.cols)
    tall = after
    left = grid.at(cell.row, cell.col - 1) if cell.col > 0 else None
    if (
        tall is None
        or tall in used
        or tall.row != cell.row
        or tall.rows <= cell.rows
        or not is_fillable(tall)
    ):
        return None
    if (left is not None and is_fillable(left)) or not _is_piece(cell, longest=2):
        return None  # a label of a row of pairs beside a tall blank (a photo's place) stands alone
    pieces: list[GridCell] = []
    row = cell.end_row
    while row < tall.end_row:
        piece = grid.at(row, cell.col)
        if (
            piece is None
            or piece in used
            or (piece.col, piece.cols, piece.row) != (cell.col, cell.cols, row)
            or grid.at(row, cell.end_col) is not tall
            or not _is_piece(piece, longest=2)
        ):
            return None
        pieces.append(piece)
        row = piece.end_row
    text = cell.text + "".join(piece.text for piece in pieces)
    return pieces, replace(cell, text=text, rows=tall.end_row - cell.row)


def _second_blank(grid: Grid, label: GridCell, blank: GridCell, used: set[GridCell]) -> GridCell | None:
    """A second blank printed for one label: right after its first, in the same row (label | blank |
    blank), and under the label when the label stands above its blanks."""
    after = grid.at(blank.row, blank.end_col)
    if (
        after is None
        or after in used
        or (after.row, after.rows) != (blank.row, blank.rows)
        or not is_blank(after)
    ):
        return None
    below = blank.row >= label.end_row
    return None if below and after.end_col > label.end_col else after


def _is_unlabelled_photo(grid: Grid, cell: GridCell) -> bool:
    """A blank no label governs, spanning rows at the right edge of rows of labels and blanks: the
    photo's place on most 登记表, left empty. It covers under half the table's width and every row it
    spans has a label on its left."""
    if cell.rows < 2 or cell.col == 0 or cell.end_col != grid.width or 2 * cell.cols > grid.width:
        return False
    return all(
        any(is_label(left) for left in grid.row_cells(row) if left.end_col <= cell.col)
        for row in range(cell.row, cell.end_row)
    )


def _stamp_neighbour(grid: Grid, label: GridCell, used: set[GridCell]) -> GridCell | None:
    for cell in (grid.at(label.row, label.end_col), grid.at(label.end_row, label.col)):
        if cell is not None and cell not in used and (is_blank(cell) or is_stamp_blank(cell.text)):
            return cell
    return None


def _titled(items: Sequence[Item], label: GridCell) -> list[Item]:
    """A nested table's items under the label of the cell that holds it: its repeating table takes
    the label as its title."""
    title = clean_label(label.text)
    return [replace(item, label=title) if isinstance(item, RowGroup) else item for item in items]


def read_grid(grid: Grid, nested: Mapping[GridCell, Sequence[Item]] | None = None) -> list[Item]:
    """The items of one table, in reading order; ``nested`` holds the items of the tables nested in
    its cells, placed where their cell is (under the label beside it, when there is one)."""
    nested = nested or {}
    items: list[Item] = []
    used: set[GridCell] = set()

    def address(cell: GridCell) -> str:
        return cell_address(grid.table, cell.row, cell.col)

    choices: dict[GridCell, Question] = {}  # a question row under answer columns (是 | 否), by its label
    for row in range(grid.height):
        rows, header = answer_columns(grid, row, used)
        used |= header | {cell for found in rows for cell in (found.label, *found.cells)}
        choices.update((found.label, _options_over(grid, found)) for found in rows)
    bracketed, taken = bracket_cells(grid, used)  # 第（  ）名: a blank in brackets
    used |= taken
    across: dict[GridCell, list[Item]] = {}  # a table read across, by its corner cell
    for row in range(grid.height):
        if (table := cross_table(grid, row, used)) is not None:
            used |= table.taken
            across[table.corner] = cross_items(grid, table)
    groups: dict[GridCell, RowGroup] = {}
    for row in range(grid.height):
        found = _repeating_table(grid, row, used)
        if found is not None:
            group, taken = found
            used |= taken
            groups.update(dict.fromkeys(taken, group))
    emitted: set[int] = set()
    label_cells: dict[int, GridCell] = {}
    for cell in grid.cells:
        if cell in choices:
            items.append(choices[cell])
            continue
        if cell in across or cell in bracketed:
            items += across.get(cell) or bracketed[cell]
            continue
        if cell in groups:
            if id(groups[cell]) not in emitted:
                emitted.add(id(groups[cell]))
                items.append(groups[cell])
            continue
        if cell in used:
            continue
        used.add(cell)
        text = cell.text
        if cell in nested:
            items.extend(nested[cell])
            if not compact(text):
                continue
        if is_blank(cell):
            if _is_unlabelled_photo(grid, cell):
                items.append(Question("照片", "照片", address(cell), "inside", kind="photo", unlabelled=True))
            continue
        first_piece = cell
        joined = _joined_label(grid, cell, used)
        if joined is not None:
            pieces, cell = joined
            used.update(pieces)
            text = cell.text
        if is_date_only(text) or (SIGN_WORDS.search(text) and is_stamp_blank(text)):
            items.append(Stamp(stamp_label(text), address(cell)))
            continue
        neighbour = _stamp_neighbour(grid, cell, used)
        if _is_stamp_label(grid, cell, neighbour):
            if neighbour is not None:
                used.add(neighbour)
            items.append(Stamp(stamp_label(text), address(neighbour or cell)))
            continue
        if is_photo_placeholder(text) and not is_photos_after(text) and not checkbox_options(text):
            # the blank beside it, or below it in a row of labels over blanks, else its own cell
            # (a tall 照片 label governs only the blank to its right)
            pair = _paired(grid, cell, used)
            pair = pair if pair is not None and (cell.rows == 1 or pair[1] == "right") else None
            place, where = pair if pair is not None and is_blank(pair[0]) else (cell, "inside")
            used.add(place)
            items.append(Question("照片", compact(text), address(place), where, kind="photo"))
            continue
        if checkbox_options(text):
            head = re.split(f"[{BOXES}]", text, maxsplit=1)[0]
            if compact(head).strip("：:"):
                items.append(_question(head, address(cell), "inside", text))
            else:
                items.append(Unplaced(compact(text), address(cell)))
            continue
        spread = boxes_in_cells(grid, cell, used)
        if spread is not None:
            used.update(spread.cells)
            items.append(_options_over(grid, spread))
            continue
        beside = grid.at(cell.row, cell.end_col)
        if beside is not None and beside in nested and beside not in used:
            used.add(beside)
            items.extend(_titled(nested[beside], cell))
            continue
        pair = _paired(grid, cell, used)
        if is_photos_after(text):
            if pair is not None:
                used.add(pair[0])
            low, high = photo_limits(text)
            items.append(
                PhotoGroup(
                    clean_label(text),
                    compact(text),
                    address(pair[0] if pair else cell),
                    low,
                    high,
                    captions="说明" in text,
                )
            )
            continue
        if pair is not None:
            blank, side = pair
            used.add(blank)
            if is_stamp_blank(blank.text):
                items.append(Stamp(clean_label(text), address(blank)))
            elif (second := _second_blank(grid, cell, blank, used)) and len(parts := label_parts(text)) == 2:
                used.add(second)  # 荣誉称号及评定时间 over two blanks: each part its own question
                items += [
                    _question(parts[0], address(blank), side),
                    _question(parts[1], address(second), side),
                ]
            else:
                items.append(_question(text, address(blank), side, blank.text))
                label_cells[len(items) - 1] = first_piece
            continue
        if in_cell := read_cell_lines(address(cell), text):
            items += in_cell
            continue
        if compact(text).endswith(("：", ":")) or char_limits(text) != (None, None):
            items.append(_question(text, address(cell), "inside"))
            continue
        items.append(Unplaced(compact(text), address(cell)))
    return told_apart(grid, items, label_cells)


# --- a whole form -------------------------------------------------------------------------------


def _children(grids: Sequence[Grid], parent: str) -> list[Grid]:
    depth = parent.count(".") + 1
    return [g for g in grids if g.table.startswith(parent + ".") and g.table.count(".") == depth]


def read_form(grids: Sequence[Grid], lines: Sequence[Line] = ()) -> FormLayout:
    """A form's items in reading order: lines and tables as the body orders them, a nested table's
    items right after its parent's."""

    def table_items(grid: Grid) -> list[Item]:
        holders = [cell for cell in grid.cells if cell.holds_table]
        children = _children(grids, grid.table)
        nested = {cell: table_items(child) for cell, child in zip(holders, children, strict=False)}
        left_over = [item for child in children[len(holders) :] for item in table_items(child)]
        return [*read_grid(grid, nested), *left_over]

    top = [grid for grid in grids if "." not in grid.table]
    items: list[Item] = []
    for index in range(len(top) + 1):
        for line in lines:
            if line.after_tables == index:
                items.extend(read_line(line))
        if index < len(top):
            items.extend(table_items(top[index]))
    return FormLayout(tuple(items), tables=len(grids))
