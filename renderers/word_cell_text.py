"""What a form cell's text says, read from the text alone: blank or not, a label's words and the limits
it writes (（500字以内）, （2-3张）), check boxes and options, a photo placeholder, a stamp or date line.

Pure functions of strings, used by ``word_form_reader`` (which places labels and blanks in the grid)
and ``word_template`` (which ticks the boxes it reads here).
"""

from __future__ import annotations

import re

from dialogs.chinese_text import to_halfwidth_digits
from renderers.word_grid import GridCell

__all__ = [
    "BOXES",
    "MULTIPLE",
    "OPINION_END",
    "OPTIONAL",
    "SIGN_WORDS",
    "bracketed_options",
    "char_limits",
    "checkbox_options",
    "clean_label",
    "compact",
    "is_blank",
    "is_date_only",
    "is_fillable",
    "is_label",
    "is_photo_placeholder",
    "is_photos_after",
    "is_stamp_blank",
    "photo_limits",
    "stamp_label",
]

BOXES = "□☐○◯"

_SPACES = re.compile(r"[\s\u3000]+")
_BRACKETED = re.compile(r"[（(][^）)]*[）)]")
SIGN_WORDS = re.compile(r"盖章|公章|签字|签名|签章")
OPINION_END = re.compile(r"(?:意见|审核|审批|审查)$")
#: A label saying someone else fills its blank: 资格初审情况（招聘单位填写）, （由审核部门填）, （组织专用）.
OFFICE_USE = re.compile(
    r"[（(](?!本人|申请人|个人|考生|填表人)(?:由[^（）()]{1,10}填写?|[^（）()]{1,10}(?:填写|专用))[）)]"
)
_DATE_ONLY = re.compile(r"[\s\u3000_]*(?:\d{4})?[\s\u3000_]*年[\s\u3000_]*月[\s\u3000_]*日[\s\u3000_]*")
_PHOTO_PLACEHOLDER = re.compile(r"照片|相片|彩照|免冠|[一二两12]寸")
_PHOTOS_AFTER = re.compile(r"附后|另附|附件")
OPTIONAL = re.compile(r"选填|如有|可不填|可空")
MULTIPLE = re.compile(r"可多选|多选|可选多项")


def compact(text: str) -> str:
    return _SPACES.sub("", text)


def is_blank(cell: GridCell) -> bool:
    """Nothing to read: empty, spaces, or a line to write on."""
    return not cell.holds_table and not compact(cell.text).strip("_＿")


def checkbox_options(text: str) -> tuple[str, ...]:
    """``"□中共党员 □群众"`` → ``("中共党员", "群众")``; empty without at least two boxes."""
    parts = re.split(f"[{BOXES}]", text)
    if len(parts) < 3:
        return ()
    options = [compact(part).strip("，,、;；。") for part in parts[1:]]
    options = [MULTIPLE.sub("", option).strip("（）()") for option in options]
    return tuple(option for option in options if option)


def is_date_only(text: str) -> bool:
    return bool(_DATE_ONLY.fullmatch(text))


def is_stamp_blank(text: str) -> bool:
    """A blank holding only a date line, a 盖章/签字 hint and the like."""
    rest = _BRACKETED.sub("", compact(text))
    rest = re.sub(r"盖章|公章|签字|签名|单位|[：:]", "", rest)
    return bool(compact(text)) and is_date_only(rest)


def stamp_label(text: str) -> str:
    """What a stamp cell is for: ``本人签名：  年 月 日`` → ``本人签名``, a bare date line → ``日期``."""
    words = re.sub(r"[\s\u3000_]*年[\s\u3000_]*月[\s\u3000_]*日[\s\u3000_]*", "", text)
    return clean_label(words) if compact(words).strip("：:") else "日期"


def is_photo_placeholder(text: str) -> bool:
    text = compact(text)
    return bool(_PHOTO_PLACEHOLDER.search(text)) and "图片" not in text and len(text) <= 16


def is_photos_after(text: str) -> bool:
    text = compact(text)
    several = bool(_PHOTOS_AFTER.search(text) or re.search(r"\d张", to_halfwidth_digits(text)))
    return "图片" in text or (bool(_PHOTO_PLACEHOLDER.search(text)) and several)


def clean_label(text: str) -> str:
    """``"主 要 事 迹\\n（500-1000字）："`` → ``"主要事迹"``."""
    label = _BRACKETED.sub("", compact(text)).rstrip("：:").strip("_＿")
    return label or compact(text).strip("（）()：:")


def _ints(*groups: str) -> list[int]:
    return [int(group) for group in groups]


def char_limits(text: str) -> tuple[int | None, int | None]:
    """(min, max) 字 written in a label; None where it says nothing."""
    text = to_halfwidth_digits(compact(text))
    if m := re.search(r"(\d+)[-－—~～至到](\d+)字", text):
        low, high = _ints(m[1], m[2])
        return low, high
    if m := re.search(r"(\d+)字左右", text):
        (about,) = _ints(m[1])
        return round(about * 0.8), round(about * 1.2)
    if m := re.search(r"(?:不超过|不多于|限)(\d+)字|(\d+)字(?:以内|之内|内|以下)", text):
        return None, int(m[1] or m[2])
    if m := re.search(r"(?:不少于|至少|不低于)(\d+)字|(\d+)字以上", text):
        return int(m[1] or m[2]), None
    if m := re.search(r"[（(](\d+)字[）)]", text):
        return None, int(m[1])  # （500字）: as much as the space holds
    return None, None


def photo_limits(text: str) -> tuple[int, int]:
    """(min, max) photos written in a label: （不少于3张）, （2-3张）; one to nine by default."""
    text = to_halfwidth_digits(compact(text))
    if m := re.search(r"(\d+)[-－—~～至到](\d+)张", text):
        low, high = _ints(m[1], m[2])
        return low, high
    if m := re.search(r"(?:不少于|至少)(\d+)张|(\d+)张以上", text):
        low = int(m[1] or m[2])
        return low, max(low, 9)
    if m := re.search(r"(?:不超过|最多)(\d+)张|(\d+)张以内", text):
        return 1, int(m[1] or m[2])
    return 1, 9


def bracketed_options(label: str) -> tuple[str, ...]:
    """Options a label lists in brackets with slashes: ``授课形式（典型案例/访谈/讲授）`` → the three;
    empty unless there are two or more short ones."""
    for inside in re.findall(r"[（(]([^）)]*)[）)]", compact(label)):
        parts = [part.strip() for part in re.split(r"[/／]", inside)]
        if len(parts) >= 2 and all(0 < len(part) <= 10 and not re.search(r"\d", part) for part in parts):
            return tuple(parts)
    return ()


def is_label(cell: GridCell) -> bool:
    """Text that asks: not blank, not check boxes to tick, not a date line."""
    return not is_blank(cell) and not checkbox_options(cell.text) and not is_date_only(cell.text)


def is_fillable(cell: GridCell | None) -> bool:
    """A place for an answer: blank, or check boxes to tick."""
    return cell is not None and (is_blank(cell) or bool(checkbox_options(cell.text)))
