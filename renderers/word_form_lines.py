"""Blanks in the lines outside a form's tables: ``推荐单位（盖章）：____  填表日期：  年  月  日``.

Each ``label：blank`` of a line, or of a table cell written as lines, is a ``LineBlank`` (filled from
what is known — the unit's name, the submission date — and asked only when unknown) or, for a
signature, a ``Stamp``. A label already
followed by its answer (``联系人：张三``) is no blank. ``LINE_BLANK`` is the blank's pattern, which the
filler (``word_template``) finds again to write in it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from renderers.word_cell_text import clean_label
from renderers.word_form_items import Known, LineBlank, Stamp
from renderers.word_grid import Line

__all__ = ["LINE_BLANK", "read_cell_lines", "read_line"]

#: The blank after a line's label: spaces or underscores, or a date line with or without its year
#: printed (``  年  月  日``, ``2021年  月  日``). The template finds the blank it fills with it too.
LINE_BLANK = r"[\s\u3000_＿]*(?:(?:\d{4})?[\s\u3000_＿]*年[\s\u3000_＿]*月[\s\u3000_＿]*日)?[\s\u3000_＿]*"
_LINE_BLANK = re.compile(r"(?P<label>[^\s：:_＿]+?)[：:](?P<blank>" + LINE_BLANK + ")")


#: A line that only heads what follows: the attachment's number (附件 3：), or notes (注：, 填表说明：).
_HEADING = re.compile(r"附件\s*[\d一二三四五六七八九十]*|注|注意|说明|填表说明|注意事项")


def _known(label: str, blank: str) -> Known | None:
    if "单位" in label:
        return "unit_name"
    if "日期" in label or "时间" in label or "年" in blank:
        return "submitted_on"
    return None


#: A label spaced out to align with the lines below it, at the start of a line (``姓    名：``).
_SPACED_LABEL = re.compile(r"[\s\u3000]*((?:[\u4e00-\u9fff][ \u3000]{1,8})+[\u4e00-\u9fff])[：:]")


def _line_blanks(text: str) -> Iterator[tuple[str, str, int]]:
    """(label as written, its blank, where the blank ends) for each ``label：blank`` of a line."""
    start = 0
    if spaced := _SPACED_LABEL.match(text):
        blank = re.match(LINE_BLANK, text[spaced.end() :])
        assert blank is not None  # LINE_BLANK matches the empty string
        start = spaced.end() + blank.end()
        yield spaced[1], blank[0], start
    for match in _LINE_BLANK.finditer(text, start):
        yield match["label"], match["blank"], match.end()


def read_line(line: Line) -> list[LineBlank | Stamp]:
    """The blanks of one line outside the tables."""
    found: list[LineBlank | Stamp] = []
    for raw, blank, end in _line_blanks(line.text):
        ends_line = not line.text[end:].strip()
        if not blank and not ends_line:
            continue  # "联系人：张三": already written
        if blank and not ends_line and not re.search(r"[_＿年]|\s{2,}", blank):
            continue  # one space between a filled answer and the next label
        label = clean_label(raw)
        if _HEADING.fullmatch(line.text[: end - len(blank)].strip().rstrip("：:")):
            continue  # "附件1：", "注：" head what follows; nothing is written after them
        address = f"{line.address}:{raw}"
        if re.search(r"签字|签名", raw):
            found.append(Stamp(label, address))
        else:
            found.append(LineBlank(label, raw, address, _known(label, blank)))
    return found


def read_cell_lines(address: str, text: str) -> list[LineBlank]:
    """The blanks of a table cell written as lines (``姓名：____ 性别：____ 年龄：____``): each
    ``label：blank`` is filled in the cell, at ``T1R1C1:姓名``. Empty unless the cell holds two or
    more blanks and no signature (``检查结论：… 医师签名：`` is left for the stamp)."""
    found = read_line(Line(address, text, 0))
    blanks = [blank for blank in found if isinstance(blank, LineBlank)]
    return blanks if len(blanks) >= 2 and len(blanks) == len(found) else []
