"""A Word file's tables as plain grids: merged cells resolved once, then only data.

Follows python-docx's ``Table._cells``: a ``w:gridSpan`` covers the grid columns to its right, a
``w:vMerge="continue"`` cell belongs to the cell above it, and ``w:gridBefore`` leaves grid columns
empty at the start of a row. Every grid position names the top-left (origin) cell covering it.

Tables are numbered in reading order: the body's tables ``1``, ``2`` …, a table nested in a cell of
table 2 is ``2.1``. A cell is addressed ``T2R3C1`` (table 2, grid row 3, grid column 1, counted
from 1, at the cell's top-left); a body paragraph outside the tables is ``P7`` (its index among
the body's paragraphs, from 1). The filler (``word_template``) finds cells by these addresses.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from docx.document import Document as DocxDocument
from docx.oxml.ns import qn
from docx.oxml.table import CT_Tbl, CT_Tc
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph

__all__ = [
    "CellIndex",
    "Grid",
    "GridCell",
    "Line",
    "cell_address",
    "find_cell",
    "find_paragraph",
    "find_row",
    "read_grids",
    "read_lines",
]


@dataclass(frozen=True)
class GridCell:
    """One cell of a table as data: its own text (paragraphs joined by newlines, without nested
    tables) and where it sits in the layout grid (0-based top-left, spans)."""

    text: str
    row: int
    col: int
    rows: int = 1
    cols: int = 1
    holds_table: bool = False

    @property
    def end_row(self) -> int:
        return self.row + self.rows

    @property
    def end_col(self) -> int:
        return self.col + self.cols


@dataclass(frozen=True)
class Grid:
    """A table: ``cells`` in reading order (by top-left row, then column), and each grid
    position's covering cell (``None`` where a row starts late or ends early)."""

    table: str  # "1", "2.1"
    width: int
    height: int
    cells: tuple[GridCell, ...]
    positions: tuple[tuple[GridCell | None, ...], ...]

    def at(self, row: int, col: int) -> GridCell | None:
        """The cell covering a grid position, or None outside the table."""
        if 0 <= row < self.height and 0 <= col < self.width:
            return self.positions[row][col]
        return None

    def row_cells(self, row: int) -> list[GridCell]:
        """The distinct cells covering a grid row, left to right."""
        seen: list[GridCell] = []
        for cell in self.positions[row]:
            if cell is not None and cell not in seen:
                seen.append(cell)
        return seen


@dataclass(frozen=True)
class Line:
    """A body paragraph outside the tables, with its address (``P3``)."""

    address: str
    text: str
    after_tables: int = 0  # how many of the body's tables come before it


def cell_address(table: str, row: int, col: int) -> str:
    """``("2", 0, 3)`` → ``"T2R1C4"``."""
    return f"T{table}R{row + 1}C{col + 1}"


_ADDRESS = re.compile(r"T(?P<table>\d+(?:\.\d+)*)R(?P<row>\d+)C(?P<col>\d+)")


def _text_of(tc: CT_Tc) -> str:
    """A cell's own paragraphs (not those of a table nested in it)."""
    return "\n".join("".join(t.text or "" for t in p.iter(qn("w:t"))) for p in tc.findall(qn("w:p")))


def _layout(tbl: CT_Tbl) -> tuple[int, list[list[tuple[int, int, CT_Tc] | None]]]:
    """Each grid position's origin (row, col) and its ``w:tc``."""
    rows: list[list[tuple[int, int, CT_Tc] | None]] = []
    width = len(tbl.tblGrid.gridCol_lst) if tbl.tblGrid is not None else 0
    for r, tr in enumerate(tbl.tr_lst):
        row: list[tuple[int, int, CT_Tc] | None] = [None] * tr.grid_before
        for tc in tr.tc_lst:
            col = len(row)
            origin: tuple[int, int, CT_Tc] = (r, col, tc)
            if tc.vMerge == "continue" and r > 0:
                above = rows[r - 1][col] if col < len(rows[r - 1]) else None
                if above is not None:
                    origin = above
            row.extend([origin] * tc.grid_span)
        width = max(width, len(row))
        rows.append(row)
    for row in rows:
        row.extend([None] * (width - len(row)))
    return width, rows


def _grid(number: str, tbl: CT_Tbl) -> Grid:
    width, layout = _layout(tbl)
    spans: dict[tuple[int, int], list[int]] = {}  # origin -> [last row, last col]
    texts: dict[tuple[int, int], tuple[str, bool]] = {}
    for r, row in enumerate(layout):
        for c, slot in enumerate(row):
            if slot is None:
                continue
            key = (slot[0], slot[1])
            end = spans.setdefault(key, [r, c])
            end[0], end[1] = max(end[0], r), max(end[1], c)
            if key not in texts:
                texts[key] = (_text_of(slot[2]), slot[2].find(qn("w:tbl")) is not None)
    made = {
        key: GridCell(texts[key][0], key[0], key[1], end[0] - key[0] + 1, end[1] - key[1] + 1, texts[key][1])
        for key, end in spans.items()
    }
    positions = tuple(
        tuple(None if slot is None else made[(slot[0], slot[1])] for slot in row) for row in layout
    )
    return Grid(number, width, len(layout), tuple(made[key] for key in sorted(made)), positions)


def _tables(document: DocxDocument) -> Iterator[tuple[str, CT_Tbl]]:
    def walk(prefix: str, tbl: CT_Tbl) -> Iterator[tuple[str, CT_Tbl]]:
        yield prefix, tbl
        nested = [inner for tc in tbl.iter(qn("w:tc")) for inner in tc.findall(qn("w:tbl"))]
        for index, inner in enumerate(nested, start=1):
            yield from walk(f"{prefix}.{index}", inner)

    top = document.element.body.findall(qn("w:tbl"))
    for index, tbl in enumerate(top, start=1):
        yield from walk(str(index), tbl)


def read_grids(document: DocxDocument) -> list[Grid]:
    """Every table of the document, nested ones after their parent, as grids."""
    return [_grid(number, tbl) for number, tbl in _tables(document)]


def read_lines(document: DocxDocument) -> list[Line]:
    """The body's paragraphs outside the tables, each with its address. Text in a text box anchored
    to a paragraph (a drawn ``一寸照片`` frame) is the box's, not the line's."""
    lines: list[Line] = []
    tables = 0
    for child in document.element.body.iterchildren():
        if child.tag == qn("w:tbl"):
            tables += 1
        elif child.tag == qn("w:p"):
            boxed = {id(t) for box in child.iter(qn("w:txbxContent")) for t in box.iter(qn("w:t"))}
            text = "".join(t.text or "" for t in child.iter(qn("w:t")) if id(t) not in boxed)
            lines.append(Line(f"P{len(lines) + 1}", text, tables))
    return lines


class CellIndex:
    """Finds cells, rows and lines of one document by address, reading each table's layout once.

    Valid while the document's tables keep their rows: find every target first, then write.
    """

    def __init__(self, document: DocxDocument) -> None:
        self.document = document
        self._tables = dict(_tables(document))
        self._layouts: dict[str, list[list[tuple[int, int, CT_Tc] | None]]] = {}
        self._paragraphs = document.paragraphs

    def _address(self, address: str) -> tuple[str, int, int]:
        match = _ADDRESS.fullmatch(address)
        if match is None or match["table"] not in self._tables:
            raise KeyError(f"no cell at {address!r}")
        return match["table"], int(match["row"]) - 1, int(match["col"]) - 1

    def cell(self, address: str) -> _Cell:
        """The cell at ``T2R3C1`` (its top-left), as a python-docx cell."""
        number, row, col = self._address(address)
        tbl = self._tables[number]
        if number not in self._layouts:
            self._layouts[number] = _layout(tbl)[1]
        layout = self._layouts[number]
        slot = layout[row][col] if 0 <= row < len(layout) and 0 <= col < len(layout[row]) else None
        if slot is None:
            raise KeyError(f"no cell at {address}")
        return _Cell(slot[2], Table(tbl, self.document._body))

    def row(self, address: str) -> tuple[CT_Tbl, int]:
        """The table and 0-based row index of ``T2R3C1``."""
        number, row, _ = self._address(address)
        return self._tables[number], row

    def paragraph(self, address: str) -> Paragraph:
        """The body paragraph at ``P7`` (``P7:label`` names a blank in it)."""
        place = address.split(":", 1)[0]
        if not re.fullmatch(r"P\d+", place) or not 0 < int(place[1:]) <= len(self._paragraphs):
            raise KeyError(f"no paragraph at {address!r}")
        return self._paragraphs[int(place[1:]) - 1]


def find_cell(document: DocxDocument, address: str) -> _Cell:
    """The cell at ``T2R3C1`` (its top-left), as a python-docx cell."""
    return CellIndex(document).cell(address)


def find_row(document: DocxDocument, address: str) -> tuple[CT_Tbl, int]:
    """The table and 0-based row index of ``T2R3C1``."""
    return CellIndex(document).row(address)


def find_paragraph(document: DocxDocument, address: str) -> Paragraph:
    """The body paragraph at ``P7``."""
    return CellIndex(document).paragraph(address)
