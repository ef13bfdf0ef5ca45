"""Counting and cleaning Chinese text the way a Chinese office worker expects.

Counting 字 (``word_count``) follows Word's 字数 as FORMS.md "Counting 字" defines it:

* every CJK character counts 1: CJK Unified Ideographs with all their extensions (including the
  supplementary and tertiary ideographic planes), compatibility ideographs, radicals and strokes,
  kana, bopomofo and Hangul syllables;
* every full-width punctuation mark or full-width form counts 1: CJK Symbols and Punctuation
  (U+3001–U+303F, e.g. 。、《》「」), the whole Halfwidth and Fullwidth Forms block (U+FF01–U+FFEE, e.g.
  ，！？（）：；～ and full-width letters and digits such as ＡＢＣ１２３, each of which counts 1 as in
  Word) and the punctuation Chinese input methods type outside those blocks: “ ” ‘ ’ … ‥ — ― ·;
* a maximal run of any other visible characters (half-width letters, digits and punctuation, emoji,
  accented letters …) counts 1 as one "word", so "2021年" is 2 and "hello world" is 2;
* whitespace of any kind (spaces, tabs, line breaks, the ideographic space U+3000) counts 0 and ends
  a run;
* invisible control and format characters (e.g. the zero-width joiner inside an emoji sequence) count
  0 and neither start nor end a run.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

__all__ = ["CleanText", "clean_line", "clean_text", "plain_number", "to_halfwidth_digits", "word_count"]

# Inclusive code point ranges whose characters count 1 字 each.
_ONE_ZI_RANGES: tuple[tuple[int, int], ...] = (
    (0x2E80, 0x2FDF),  # CJK radicals supplement, Kangxi radicals
    (0x2FF0, 0x2FFF),  # ideographic description characters
    (0x3001, 0x303F),  # CJK symbols and punctuation (U+3000, the ideographic space, is whitespace)
    (0x3040, 0x30FF),  # hiragana, katakana
    (0x3100, 0x312F),  # bopomofo
    (0x3190, 0x31FF),  # kanbun, bopomofo extended, CJK strokes, katakana extensions
    (0x3200, 0x33FF),  # enclosed CJK letters and months, CJK compatibility
    (0x3400, 0x4DBF),  # CJK unified ideographs extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xAC00, 0xD7AF),  # Hangul syllables
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0xFE30, 0xFE4F),  # CJK compatibility forms (vertical punctuation)
    (0xFF01, 0xFFEE),  # halfwidth and fullwidth forms
    (0x20000, 0x3FFFF),  # supplementary and tertiary ideographic planes (extensions B–H, compatibility)
)

# Punctuation typed by Chinese input methods that lives outside the CJK blocks.
_IME_PUNCTUATION = frozenset("“”‘’…‥—―·")

# Invisible characters removed by clean_text that are not format characters (category Cf, all of which
# go but the zero-width joiner and non-joiner, which shape emoji and some scripts): the combining
# grapheme joiner and the Hangul fillers, blank letters used to fake an empty name.
_INVISIBLE_JUNK = frozenset(
    "\u034f"  # combining grapheme joiner
    "\u115f\u1160\u3164\uffa0"  # Hangul choseong / jungseong / compatibility / half-width fillers
)
_JOINERS = frozenset("\u200c\u200d")

# An emoji tag sequence (the flags of England, Scotland, Wales): a black flag, tag characters and the
# cancel tag. The only place tag characters (U+E0020–U+E007F) mean something; elsewhere they are
# invisible text (“ASCII smuggling”) and clean_text removes them.
_EMOJI_TAG_SEQUENCE = re.compile("\U0001f3f4[\U000e0020-\U000e007e]{1,32}\U000e007f")

# Terminal escape sequences (ECMA-48), removed whole by clean_text so that no “[31m” is left behind:
# CSI (ESC [ or U+009B, parameters, intermediates, a final byte); the string controls OSC, DCS, SOS,
# PM and APC with their terminator (BEL or ST) within 256 characters — a stray C1 character, as
# mojibake has, must not swallow the rest of a message; and short escapes (ESC c, ESC ( B).
_ESCAPE_SEQUENCES = re.compile(
    r"(?:\x1b\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]{0,256}(?:\x07|\x1b\\|\x9c)"
    r"|\x1b[\x20-\x2f]*[\x30-\x7e]?"
)

# Line separators other than \r that clean_text turns into \n.
_LINE_BREAKS = str.maketrans({"\r": "\n", "\x85": "\n", "\u2028": "\n", "\u2029": "\n"})


def _counts_one_zi(char: str) -> bool:
    if char in _IME_PUNCTUATION:
        return True
    code = ord(char)
    return any(low <= code <= high for low, high in _ONE_ZI_RANGES)


@functools.lru_cache(maxsize=1024)  # the review, the final check and the form count the same answers again
def word_count(text: str) -> int:
    """Count 字 as Word's 字数 does (see the module docstring for the exact rule).

    >>> word_count("2021年我们举办了3场活动。")
    12
    """
    count = 0
    in_run = False
    for char in text:
        if char.isspace():
            in_run = False
        elif _counts_one_zi(char):
            count += 1
            in_run = False
        elif unicodedata.category(char) in ("Cc", "Cf"):
            continue
        elif not in_run:
            count += 1
            in_run = True
    return count


@dataclass(frozen=True)
class CleanText:
    """Text after ``clean_text``, with how many junk characters were dropped."""

    text: str
    removed: int


def _is_junk(char: str) -> bool:
    """True for characters that break an XML 1.0 (Word) file or are invisible junk."""
    if char in "\n\t" or char in _JOINERS:
        return False
    if char in _INVISIBLE_JUNK:
        return True
    code = ord(char)
    if 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE:  # noncharacters
        return True
    # Cc: C0 and C1 controls and DEL; Cf: format characters (bidi controls, zero-width space, BOM,
    # soft hyphen, tags …); Cs: lone surrogates.
    return unicodedata.category(char) in ("Cc", "Cf", "Cs")


def _without_junk(text: str) -> str:
    """``text`` without its junk characters, emoji tag sequences kept whole."""
    kept: list[str] = []
    start = 0
    for flag in _EMOJI_TAG_SEQUENCE.finditer(text):
        kept += [char for char in text[start : flag.start()] if not _is_junk(char)]
        kept.append(flag.group())
        start = flag.end()
    kept += [char for char in text[start:] if not _is_junk(char)]
    return "".join(kept)


def clean_text(text: str) -> CleanText:
    """Normalise text that enters (a typed answer, a caption, a file's name) so that it can be
    stored, backed up and printed in a DOCX. ``dialogs.exchange.Inbound`` and ``IncomingFile`` call it
    when they are made, so every channel's text is cleaned once, at the edge.

    Terminal escape sequences are removed whole (``\\x1b[31m``, not just the ESC), line endings
    become ``\\n`` (also NEL, U+2028 and U+2029), junk characters are removed (C0/C1 control
    characters except ``\\n`` and ``\\t``, lone surrogates, noncharacters, format characters such as
    the BOM, zero-width space, word joiner, soft hyphen, LTR/RTL/Arabic letter marks, bidi
    embedding/override/isolate controls and tag characters, the combining grapheme joiner and the
    Hangul fillers), the rest is put in Unicode NFC and leading and trailing whitespace is stripped.
    The zero-width (non-)joiner, variation selectors and emoji tag sequences (a flag) stay, so emoji
    survive.

    Returns:
        The cleaned text; ``removed`` counts the junk characters dropped (not the line endings
        normalised nor the whitespace stripped).
    """
    text = _ESCAPE_SEQUENCES.sub("\x1b", text)  # each sequence becomes one junk character, counted below
    text = text.replace("\r\n", "\n").translate(_LINE_BREAKS)
    kept = _without_junk(text)
    removed = len(text) - len(kept)
    return CleanText(text=unicodedata.normalize("NFC", kept).strip(), removed=removed)


def clean_line(text: str) -> str:
    """``clean_text`` for text that is one line (a file's name): every run of whitespace, line breaks
    and tabs included, becomes one space."""
    return " ".join(clean_text(text).text.split())


# Full-width ASCII variants (U+FF01–U+FF5E) sit exactly 0xFEE0 above their ASCII counterparts.
_HALFWIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def to_halfwidth_digits(text: str) -> str:
    """Turn full-width ASCII forms into ASCII: ``１２３`` → ``123``, ``ＡＢ`` → ``AB``, ``－`` → ``-``.

    Every full-width variant of an ASCII character (U+FF01–U+FF5E: digits, letters, ``－``, ``（）``,
    ``＋``, ``．`` …) and the ideographic space U+3000 are converted; everything else is unchanged.
    Meant for parsers of numbers, dates and phone numbers.
    """
    return text.translate(_HALFWIDTH)


def plain_number(text: str, max_digits: int = 9) -> int | None:
    """The whole number ``text`` is, in digits 0-9 (full-width ones too): ``"３"`` → 3, ``" 12 "`` → 12.

    None for anything else, and for more than ``max_digits`` digits: ``str.isdigit`` also accepts
    ``"²"`` and ``"٣"``, which ``int`` refuses or reads, and a 5,000-digit number is more than
    ``int`` will parse — none of them is a choice, a row or an id a person means.
    """
    digits = to_halfwidth_digits(text.strip())
    if not digits or len(digits) > max_digits or not (digits.isascii() and digits.isdigit()):
        return None
    return int(digits)
