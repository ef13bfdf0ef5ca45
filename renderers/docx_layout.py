"""Page, font, table and cell layout shared by every form: the one place for these choices.

Fonts: titles in 黑体 (SimHei), everything else in 仿宋 (FangSong, shipped with every Chinese Windows
since Vista, unlike 仿宋_GB2312); digits and Latin letters in Times New Roman under 仿宋. Every run
names its East Asian font (``w:rFonts w:eastAsia``) and so do the document defaults and the Normal
style, so Word and WPS pick the Chinese face and not only the Latin one. Line heights are exact
(固定值), so Word, WPS and LibreOffice break pages at the same places whatever the fallback font's
metrics.

Tables have fixed column widths, 0.5 pt single borders, labels centred both ways, merged cells as
``w:gridSpan`` (horizontal) and ``w:vMerge`` (vertical). Stamp areas are cells left blank for
hand-writing, with the date line at the bottom right.

Longer than ~600 lines on purpose: every layout choice of the printed forms (page, fonts, tables,
cells, the stamp block) in one place, so that the hand-written forms cannot drift apart.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from copy import deepcopy
from dataclasses import dataclass
from datetime import date, datetime
from enum import Enum
from functools import cache
from typing import Protocol, cast

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_TAB_ALIGNMENT
from docx.opc.constants import CONTENT_TYPE as CT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.shape import CT_Inline
from docx.oxml.table import CT_Tc
from docx.oxml.text.run import CT_R
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.package import Package
from docx.parts.image import ImagePart
from docx.section import Section
from docx.shared import Cm, Emu
from docx.table import Table, _Cell
from docx.text.paragraph import Paragraph
from docx.text.run import Run

from renderers.docx_package import blank_package, save_deterministic
from renderers.photos import PreparedPhoto

# --- fonts ---------------------------------------------------------------------------------------

BODY_FONT = "仿宋"
TITLE_FONT = "黑体"
LATIN_FONT = "Times New Roman"

# (name, alternative name, panose, charset, family, pitch) for the font table.
_FONT_TABLE = (
    (BODY_FONT, "FangSong", "02010609060101010101", "86", "modern", "fixed"),
    (TITLE_FONT, "SimHei", "02010609060101010101", "86", "modern", "fixed"),
    (LATIN_FONT, "", "02020603050405020304", "00", "roman", "variable"),
)


@dataclass(frozen=True)
class TextStyle:
    """A face, a size in points and an exact line height in points."""

    east_asia: str
    latin: str
    size_pt: float
    line_pt: float
    bold: bool = False


# Chinese size names: 一号 26 pt, 二号 22, 小二 18, 三号 16, 四号 14, 小四 12, 五号 10.5.
COVER_TITLE = TextStyle(TITLE_FONT, TITLE_FONT, 26, 40, bold=True)
TITLE = TextStyle(TITLE_FONT, TITLE_FONT, 22, 32, bold=True)
COVER_FIELD = TextStyle(BODY_FONT, LATIN_FONT, 16, 28)
HEADING = TextStyle(TITLE_FONT, TITLE_FONT, 14, 24, bold=True)
HEADER_LINE = TextStyle(BODY_FONT, LATIN_FONT, 14, 24)
LABEL = TextStyle(BODY_FONT, LATIN_FONT, 12, 18)
VALUE = TextStyle(BODY_FONT, LATIN_FONT, 12, 18)
LONG_TEXT = TextStyle(BODY_FONT, LATIN_FONT, 12, 19)
COLUMN_HEADER = TextStyle(TITLE_FONT, TITLE_FONT, 12, 18)
SMALL = TextStyle(BODY_FONT, LATIN_FONT, 10.5, 14)

DEFAULT_STYLE = VALUE


# --- pages ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageSetup:
    """A4 in either orientation, margins in centimetres."""

    landscape: bool = False
    top_cm: float = 2.5
    bottom_cm: float = 2.3
    left_cm: float = 2.6
    right_cm: float = 2.6
    footer_cm: float = 1.5

    @property
    def text_width_cm(self) -> float:
        return (29.7 if self.landscape else 21.0) - self.left_cm - self.right_cm


PORTRAIT = PageSetup()
LANDSCAPE = PageSetup(landscape=True, top_cm=2.0, bottom_cm=1.8, left_cm=2.0, right_cm=2.0)


class Align(Enum):
    """Paragraph alignment, valued as ``w:jc``."""

    LEFT = "left"
    CENTER = "center"
    RIGHT = "right"
    JUSTIFY = "both"
    DISTRIBUTE = "distribute"  # 分散对齐: the cover's 姓    名 labels


class VAlign(Enum):
    """Vertical alignment in a cell, valued as ``w:vAlign``."""

    TOP = "top"
    CENTER = "center"
    BOTTOM = "bottom"


def _twips(cm: float) -> int:
    return round(cm / 2.54 * 1440)


def _styles_xml() -> str:
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    style = DEFAULT_STYLE
    fonts = (
        f'<w:rFonts w:ascii="{style.latin}" w:hAnsi="{style.latin}" w:eastAsia="{style.east_asia}" '
        f'w:cs="{style.latin}"/>'
    )
    size = round(style.size_pt * 2)
    run = f'{fonts}<w:kern w:val="2"/><w:sz w:val="{size}"/><w:szCs w:val="{size}"/>'
    lang = '<w:lang w:val="en-US" w:eastAsia="zh-CN" w:bidi="ar-SA"/>'
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<w:styles xmlns:w="{w}">'
        f"<w:docDefaults><w:rPrDefault><w:rPr>{run}{lang}</w:rPr></w:rPrDefault>"
        '<w:pPrDefault><w:pPr><w:spacing w:before="0" w:after="0"/></w:pPr></w:pPrDefault></w:docDefaults>'
        '<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/><w:qFormat/>'
        '<w:pPr><w:widowControl w:val="0"/><w:jc w:val="both"/></w:pPr>'
        f"<w:rPr>{run}</w:rPr></w:style>"
        '<w:style w:type="character" w:default="1" w:styleId="DefaultParagraphFont">'
        '<w:name w:val="Default Paragraph Font"/><w:uiPriority w:val="1"/><w:semiHidden/></w:style>'
        '<w:style w:type="table" w:default="1" w:styleId="TableNormal"><w:name w:val="Normal Table"/>'
        '<w:uiPriority w:val="99"/><w:semiHidden/><w:tblPr><w:tblInd w:w="0" w:type="dxa"/><w:tblCellMar>'
        '<w:top w:w="40" w:type="dxa"/><w:left w:w="108" w:type="dxa"/><w:bottom w:w="40" w:type="dxa"/>'
        '<w:right w:w="108" w:type="dxa"/></w:tblCellMar></w:tblPr></w:style>'
        '<w:style w:type="numbering" w:default="1" w:styleId="NoList"><w:name w:val="No List"/>'
        '<w:uiPriority w:val="99"/><w:semiHidden/></w:style>'
        '<w:style w:type="paragraph" w:styleId="Footer"><w:name w:val="footer"/><w:basedOn w:val="Normal"/>'
        '<w:pPr><w:jc w:val="center"/></w:pPr></w:style>'
        "</w:styles>"
    )


def _font_table_xml() -> str:
    w = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
    fonts = []
    for name, alt, panose, charset, family, pitch in _FONT_TABLE:
        alt_xml = f'<w:altName w:val="{alt}"/>' if alt else ""
        fonts.append(
            f'<w:font w:name="{name}">{alt_xml}<w:panose1 w:val="{panose}"/><w:charset w:val="{charset}"/>'
            f'<w:family w:val="{family}"/><w:pitch w:val="{pitch}"/></w:font>'
        )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<w:fonts xmlns:w="{w}">{"".join(fonts)}</w:fonts>'
    )


def _sect_pr_xml(page: PageSetup) -> str:
    width, height = (16838, 11906) if page.landscape else (11906, 16838)
    orient = ' w:orient="landscape"' if page.landscape else ""
    return (
        f'<w:sectPr><w:pgSz w:w="{width}" w:h="{height}"{orient}/>'
        f'<w:pgMar w:top="{_twips(page.top_cm)}" w:right="{_twips(page.right_cm)}" '
        f'w:bottom="{_twips(page.bottom_cm)}" w:left="{_twips(page.left_cm)}" w:header="851" '
        f'w:footer="{_twips(page.footer_cm)}" w:gutter="0"/><w:cols w:space="425"/></w:sectPr>'
    )


@cache
def _template(page: PageSetup) -> bytes:
    return blank_package(
        styles_xml=_styles_xml(), font_table_xml=_font_table_xml(), sect_pr_xml=_sect_pr_xml(page)
    )


def new_document(page: PageSetup) -> DocxDocument:
    """A blank A4 document with the forms' styles, fonts and the given page setup."""
    return Document(io.BytesIO(_template(page)))


def apply_page(section: Section, page: PageSetup) -> None:
    """Give a section the page size, orientation and margins of ``page``."""
    section.orientation = WD_ORIENT.LANDSCAPE if page.landscape else WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = (Cm(29.7), Cm(21.0)) if page.landscape else (Cm(21.0), Cm(29.7))
    section.top_margin, section.bottom_margin = Cm(page.top_cm), Cm(page.bottom_cm)
    section.left_margin, section.right_margin = Cm(page.left_cm), Cm(page.right_cm)
    section.footer_distance = Cm(page.footer_cm)


def to_docx_bytes(document: DocxDocument, *, title: str, author: str, on: date) -> bytes:
    """The finished document as byte-stable .docx content, dated ``on`` at 00:00 UTC."""
    return save_deterministic(
        document, title=title, author=author, created=datetime(on.year, on.month, on.day)
    )


# --- text ----------------------------------------------------------------------------------------

# Characters XML 1.0 cannot carry; answers are cleaned upstream, this keeps a stray one from failing.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class _HasParagraphs(Protocol):
    def add_paragraph(self, text: str = ..., style: None = ...) -> Paragraph: ...


# Paragraph and run properties are built once per combination and copied: python-docx's property
# setters look up each child's position on every call, which made them most of the render time.


@cache
def _run_properties(style: TextStyle) -> BaseOxmlElement:
    size = str(round(style.size_pt * 2))
    r_pr = OxmlElement("w:rPr")
    fonts = OxmlElement("w:rFonts")
    for slot, face in (("ascii", style.latin), ("hAnsi", style.latin), ("eastAsia", style.east_asia)):
        fonts.set(qn(f"w:{slot}"), face)
    fonts.set(qn("w:cs"), style.latin)
    r_pr.append(fonts)
    if style.bold:
        r_pr.append(OxmlElement("w:b"))
    for tag in ("w:sz", "w:szCs"):
        r_pr.append(OxmlElement(tag, {qn("w:val"): size}))
    return r_pr


def _twips_pt(points: float) -> str:
    return str(round(points * 20))


@cache
def _paragraph_properties(
    style: TextStyle,
    align: Align,
    space_before_pt: float,
    space_after_pt: float,
    first_line_chars: int,
    left_indent_cm: float,
    right_indent_cm: float,
    keep_with_next: bool,
    exact_line: bool,
) -> BaseOxmlElement:
    """``w:pPr`` with its children in schema order; the mark (``w:rPr``) takes the style too, so an
    empty paragraph is as tall as a written one."""
    p_pr = OxmlElement("w:pPr")
    if keep_with_next:
        p_pr.append(OxmlElement("w:keepNext"))
    spacing = OxmlElement(
        "w:spacing", {qn("w:before"): _twips_pt(space_before_pt), qn("w:after"): _twips_pt(space_after_pt)}
    )
    if exact_line:
        spacing.set(qn("w:line"), _twips_pt(style.line_pt))
        spacing.set(qn("w:lineRule"), "exact")
    p_pr.append(spacing)
    if first_line_chars or left_indent_cm or right_indent_cm:
        ind = OxmlElement("w:ind")
        if left_indent_cm:
            ind.set(qn("w:left"), str(_twips(left_indent_cm)))
        if right_indent_cm:
            ind.set(qn("w:right"), str(_twips(right_indent_cm)))
        if first_line_chars:
            ind.set(qn("w:firstLineChars"), str(first_line_chars * 100))
            ind.set(qn("w:firstLine"), _twips_pt(style.size_pt * first_line_chars))
        p_pr.append(ind)
    p_pr.append(OxmlElement("w:jc", {qn("w:val"): align.value}))
    mark = OxmlElement("w:rPr")
    mark.append(OxmlElement("w:rFonts", {qn("w:eastAsia"): style.east_asia}))
    mark.append(OxmlElement("w:sz", {qn("w:val"): str(round(style.size_pt * 2))}))
    p_pr.append(mark)
    return p_pr


def style_run(run: Run, style: TextStyle) -> Run:
    """Give a run the style's Latin and East Asian faces, size and weight."""
    r = run._r
    old = r.find(qn("w:rPr"))
    if old is not None:
        r.remove(old)
    r.insert(0, deepcopy(_run_properties(style)))
    return run


def add_run(paragraph: Paragraph, text: str, style: TextStyle) -> Run:
    """Append ``text`` (tabs become ``w:tab``) as one run in ``style``."""
    r = OxmlElement("w:r")
    r.append(deepcopy(_run_properties(style)))
    for index, piece in enumerate(_NOT_XML.sub("", text).split("\t")):
        if index:
            r.append(OxmlElement("w:tab"))
        if piece:
            t = OxmlElement("w:t")
            t.text = piece
            if piece != piece.strip() or "  " in piece:
                t.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
            r.append(t)
    paragraph._p.append(r)
    return Run(cast(CT_R, r), paragraph)


def format_paragraph(
    paragraph: Paragraph,
    style: TextStyle,
    *,
    align: Align = Align.LEFT,
    space_before_pt: float = 0,
    space_after_pt: float = 0,
    first_line_chars: int = 0,
    left_indent_cm: float = 0,
    right_indent_cm: float = 0,
    keep_with_next: bool = False,
    exact_line: bool = True,
) -> Paragraph:
    """Alignment, exact line height (unless ``exact_line`` is off), spacing and indents of a paragraph.

    Replaces whatever paragraph properties it had.
    """
    p = paragraph._p
    old = p.find(qn("w:pPr"))
    if old is not None:
        p.remove(old)
    properties = _paragraph_properties(
        style,
        align,
        space_before_pt,
        space_after_pt,
        first_line_chars,
        left_indent_cm,
        right_indent_cm,
        keep_with_next,
        exact_line,
    )
    p.insert(0, deepcopy(properties))
    return paragraph


def add_text(
    container: _HasParagraphs,
    text: str,
    style: TextStyle,
    *,
    align: Align = Align.LEFT,
    space_before_pt: float = 0,
    space_after_pt: float = 0,
    keep_with_next: bool = False,
) -> Paragraph:
    """One paragraph of text appended to a document, cell or footer."""
    paragraph = container.add_paragraph()
    format_paragraph(
        paragraph,
        style,
        align=align,
        space_before_pt=space_before_pt,
        space_after_pt=space_after_pt,
        keep_with_next=keep_with_next,
    )
    if text:
        add_run(paragraph, text, style)
    return paragraph


def add_title(document: DocxDocument, text: str, *, space_after_pt: float = 12) -> Paragraph:
    """The form's title, centred, in the title face."""
    return add_text(
        document, text, TITLE, align=Align.CENTER, space_after_pt=space_after_pt, keep_with_next=True
    )


def add_split_line(document: DocxDocument, left: str, right: str, page: PageSetup) -> Paragraph:
    """A header line with ``left`` at the left margin and ``right`` flush with the right margin."""
    paragraph = add_text(document, "", HEADER_LINE, space_after_pt=6, keep_with_next=True)
    paragraph.paragraph_format.tab_stops.add_tab_stop(Cm(page.text_width_cm), WD_TAB_ALIGNMENT.RIGHT)
    add_run(paragraph, f"{left}\t{right}", HEADER_LINE)
    return paragraph


def set_footer_text(section: Section, text: str, style: TextStyle, *, distance_cm: float) -> None:
    """Print ``text`` centred at the foot of every page of ``section`` (the 登记表 cover's “制” line)."""
    footer = section.footer
    footer.is_linked_to_previous = False
    paragraph = footer.paragraphs[0]
    format_paragraph(paragraph, style, align=Align.CENTER)  # replaces the template's Footer style
    add_run(paragraph, text, style)
    section.footer_distance = Cm(distance_cm)


_SPACER = TextStyle(BODY_FONT, LATIN_FONT, 1, 1)


def add_spacer(container: _HasParagraphs) -> Paragraph:
    """An empty paragraph 1 pt high (LibreOffice ignores a section break directly before a table)."""
    return add_text(container, "", _SPACER)


def blank_footer(section: Section) -> None:
    """Give ``section`` its own empty footer instead of inheriting the previous section's."""
    footer = section.footer
    footer.is_linked_to_previous = False
    footer.paragraphs[0].style = None


# --- tables --------------------------------------------------------------------------------------

_BORDER_SIDES = ("top", "left", "bottom", "right", "insideH", "insideV")


def _border_xml(tag: str, sides: Sequence[str], *, visible: bool) -> BaseOxmlElement:
    borders = OxmlElement(tag)
    for side in sides:
        edge = OxmlElement(f"w:{side}")
        if visible:
            edge.set(qn("w:val"), "single")
            edge.set(qn("w:sz"), "4")  # eighths of a point: 0.5 pt
            edge.set(qn("w:space"), "0")
            edge.set(qn("w:color"), "000000")
        else:
            edge.set(qn("w:val"), "nil")
        borders.append(edge)
    return borders


class FormTable:
    """A fixed-width table built row by row, with explicit spans.

    ``add_row([1, 5])`` makes a row of a label cell and a value cell spanning five grid columns.
    Rows may be given a minimum (or exact) height, kept from splitting across pages, or repeated as
    header rows on every page.
    """

    def __init__(
        self,
        container: DocxDocument | _Cell,
        widths_cm: Sequence[float],
        *,
        borders: bool = True,
        centered: bool = True,
    ) -> None:
        self.widths_cm = tuple(widths_cm)
        total = Cm(sum(self.widths_cm))
        if isinstance(container, _Cell):
            table = container.add_table(0, len(self.widths_cm))
            _drop_leading_empty_paragraph(container)
            format_paragraph(container.paragraphs[-1], _SPACER)
        else:
            table = container.add_table(0, len(self.widths_cm))
        self.table: Table = table
        tbl_pr = table._tbl.tblPr
        if centered:
            table.alignment = WD_TABLE_ALIGNMENT.CENTER
        table.autofit = False
        tbl_w = tbl_pr.find(qn("w:tblW"))
        if tbl_w is not None:
            tbl_w.set(qn("w:type"), "dxa")
            tbl_w.set(qn("w:w"), str(round(total / 635)))
        tbl_pr.insert_element_before(
            _border_xml("w:tblBorders", _BORDER_SIDES, visible=borders),
            "w:shd",
            "w:tblLayout",
            "w:tblCellMar",
            "w:tblLook",
            "w:tblCaption",
            "w:tblDescription",
        )
        for column, width in zip(table.columns, self.widths_cm, strict=True):
            column.width = Cm(width)

    def add_row(
        self,
        spans: Sequence[int],
        *,
        height_cm: float | None = None,
        exact: bool = False,
        cant_split: bool = False,
        header: bool = False,
    ) -> list[_Cell]:
        """Append a row whose cells span ``spans`` grid columns; returns its cells."""
        if sum(spans) != len(self.widths_cm):
            raise ValueError(f"row spans {list(spans)} do not cover {len(self.widths_cm)} columns")
        tr = self.table._tbl.add_tr()
        tr_pr = OxmlElement("w:trPr")
        if cant_split:
            tr_pr.append(OxmlElement("w:cantSplit"))
        if height_cm is not None:
            height = OxmlElement("w:trHeight")
            height.set(qn("w:val"), str(_twips(height_cm)))
            height.set(qn("w:hRule"), "exact" if exact else "atLeast")
            tr_pr.append(height)
        if header:
            tr_pr.append(OxmlElement("w:tblHeader"))
        if len(tr_pr):
            tr.append(tr_pr)
        cells: list[_Cell] = []
        offset = 0
        for span in spans:
            tc_pr = OxmlElement("w:tcPr")
            width = _twips(sum(self.widths_cm[offset : offset + span]))
            tc_pr.append(OxmlElement("w:tcW", {qn("w:w"): str(width), qn("w:type"): "dxa"}))
            if span > 1:
                tc_pr.append(OxmlElement("w:gridSpan", {qn("w:val"): str(span)}))
            tc = CT_Tc.new()
            tc.insert(0, tc_pr)
            tr.append(tc)
            offset += span
            cells.append(_Cell(tc, self.table))
        return cells


def merge_down(cells: Sequence[_Cell]) -> None:
    """Merge cells of the same grid column in consecutive rows (``w:vMerge``); the first keeps the text."""
    first, *rest = cells
    first._tc.get_or_add_tcPr().vMerge_val = "restart"
    for cell in rest:
        cell._tc.get_or_add_tcPr().vMerge_val = "continue"


def _drop_leading_empty_paragraph(cell: _Cell) -> None:
    first = cell._tc.inner_content_elements[0]
    if first.tag == qn("w:p") and not first.xpath("./w:r"):
        cell._tc.remove(first)


def write_cell(
    cell: _Cell,
    text: str,
    style: TextStyle = VALUE,
    *,
    align: Align = Align.CENTER,
    valign: VAlign = VAlign.CENTER,
    first_line_chars: int = 0,
) -> _Cell:
    """Put ``text`` in a cell, one paragraph per line; blank lines are dropped."""
    set_vertical_alignment(cell, valign)
    lines = [line.strip() for line in text.replace("\r", "\n").split("\n")]
    lines = [line for line in lines if line] or [""]
    for index, line in enumerate(lines):
        paragraph = cell.paragraphs[0] if index == 0 else cell.add_paragraph()
        format_paragraph(paragraph, style, align=align, first_line_chars=first_line_chars)
        if line:
            add_run(paragraph, line, style)
    return cell


def set_vertical_alignment(cell: _Cell, valign: VAlign) -> None:
    tc_pr = cell._tc.get_or_add_tcPr()
    old = tc_pr.find(qn("w:vAlign"))
    if old is not None:
        tc_pr.remove(old)
    element = OxmlElement("w:vAlign", {qn("w:val"): valign.value})
    hide_mark = tc_pr.find(qn("w:hideMark"))
    if hide_mark is None:
        tc_pr.append(element)
    else:
        hide_mark.addprevious(element)


def write_label(cell: _Cell, text: str, style: TextStyle = LABEL) -> _Cell:
    """A label cell: centred horizontally and vertically; ``\\n`` in ``text`` sets the line breaks."""
    return write_cell(cell, text, style, align=Align.CENTER, valign=VAlign.CENTER)


def set_cell_borders(cell: _Cell, *, shown: Sequence[str] = (), hidden: Sequence[str] = ()) -> None:
    """Override the table's borders on some sides of one cell (``"top"``, ``"left"``, …)."""
    tc_pr = cell._tc.get_or_add_tcPr()
    borders = OxmlElement("w:tcBorders")
    for side in ("top", "left", "bottom", "right"):
        if side in shown or side in hidden:
            borders.append(_border_xml("w:tcBorders", (side,), visible=side in shown)[0])  # one edge
    tc_pr.insert_element_before(
        borders, "w:shd", "w:noWrap", "w:tcMar", "w:textDirection", "w:tcFitText", "w:vAlign", "w:hideMark"
    )


def underline_cell(cell: _Cell) -> None:
    """Draw only the bottom border of a cell (the blank line of a cover page)."""
    set_cell_borders(cell, shown=("bottom",))


# --- stamp areas ---------------------------------------------------------------------------------

DATE_AND_SEAL = "年    月    日（盖章）"
DATE_BLANK = "年    月    日"
SEAL_LABEL = "单位（公章）："


def stamp_area(cell: _Cell, *, seal_label: str | None = None, date_line: str = DATE_AND_SEAL) -> _Cell:
    """A blank cell for a handwritten opinion and a seal, with the date line at its bottom right.

    ``seal_label`` (申报表: “单位（公章）：”) goes on its own line above the date, starting a little
    right of the middle so the seal fits after it.
    """
    set_vertical_alignment(cell, VAlign.BOTTOM)
    first = cell.paragraphs[0]
    if seal_label is not None:
        width_cm = (cell.width or Cm(10)) / 360000
        format_paragraph(
            first, VALUE, align=Align.LEFT, left_indent_cm=max(width_cm * 0.45, 0), space_after_pt=6
        )
        add_run(first, seal_label, VALUE)
        date_paragraph = cell.add_paragraph()
    else:
        date_paragraph = first
    format_paragraph(date_paragraph, VALUE, align=Align.RIGHT, right_indent_cm=0.8, space_after_pt=6)
    add_run(date_paragraph, date_line, VALUE)
    return cell


# --- pictures ------------------------------------------------------------------------------------

_IMAGE_CONTENT_TYPES = {"jpg": CT.JPEG, "png": CT.PNG}  # PreparedPhoto.extension -> content type


def fit_within(photo: PreparedPhoto, box_width_cm: float, box_height_cm: float) -> tuple[Emu, Emu]:
    """The largest size with the photo's proportions that fits in the box."""
    box_width, box_height = Cm(box_width_cm), Cm(box_height_cm)
    scale = min(box_width / photo.width_px, box_height / photo.height_px)
    return Emu(round(photo.width_px * scale)), Emu(round(photo.height_px * scale))


def add_picture(paragraph: Paragraph, photo: PreparedPhoto, box_width_cm: float, box_height_cm: float) -> Run:
    """An inline picture, as large as fits in the box, in its own run.

    The same XML and parts as python-docx's ``Run.add_picture``, without its cost: that hashes every
    image already in the document and parses the photo's header again, for each picture.
    """
    width, height = fit_within(photo, box_width_cm, box_height_cm)
    run = style_run(paragraph.add_run(), VALUE)
    part = paragraph.part
    r_id = part.relate_to(_image_part(cast(Package, part.package), photo), RT.IMAGE)
    filename = f"image.{photo.extension}"
    run._r.add_drawing(CT_Inline.new_pic_inline(part.next_id, r_id, filename, width, height))
    return run


def _image_part(package: Package, photo: PreparedPhoto) -> ImagePart:
    """The document's part holding ``photo``'s bytes: one per distinct photo, named as python-docx
    names them (``/word/media/image1.jpg``…)."""
    images = package.image_parts
    for image in images:
        if image.blob == photo.data:  # unequal lengths, the usual case, compare at no cost
            return image
    partname = PackURI(f"/word/media/image{len(images) + 1}.{photo.extension}")
    image = ImagePart(partname, _IMAGE_CONTENT_TYPES[photo.extension], photo.data)
    images.append(image)
    return image
