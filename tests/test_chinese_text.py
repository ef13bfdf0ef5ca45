import pytest

from dialogs.chinese_text import CleanText, clean_text, plain_number, to_halfwidth_digits, word_count


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("妇联", 2),
        ("柳州市妇女联合会", 8),
        ("2021年我们举办了3场活动", 11),  # 2021 + 年我们举办了 + 3 + 场活动
        ("2021年我们举办了3场活动。", 12),
        ("hello world", 2),
        ("hello, world!", 2),  # half-width punctuation belongs to the run
        ("COVID-19", 1),
        ("3.5万元", 3),
        ("你好，世界！", 6),  # full-width punctuation counts 1 each
        ("你好,世界!", 6),  # each half-width punctuation mark here is a run of its own
        ("“桂姐姐”", 5),
        ("《登记表》", 5),
        ("他说……", 4),
        ("——", 2),
        ("阿依古丽·买买提", 8),
        ("ＡＢＣ１２３", 6),  # full-width forms count 1 each, as in Word
        ("２０２１年", 5),
        ("妇\n联", 2),
        ("妇联\r\n\t工作", 4),
        ("妇\u3000联", 2),  # ideographic space counts 0
        ("\u3000\u3000妇联", 2),
        ("   ", 0),
        ("妇 联", 2),
        ("👍", 1),
        ("妇联👍👍", 3),  # one run of two emoji
        ("👍 👍", 2),
        ("👩\u200d👩\u200d👧", 1),  # a ZWJ family is one run
        ("a\u200bb", 1),  # invisible format characters do not split a run
        ("\u200b", 0),
        ("𠀀𪚥", 2),  # ideographs from extension B
        ("豈", 1),  # compatibility ideograph U+F900
        ("〇", 1),
        ("第1名", 3),
        ("abc妇联def", 4),
        ("e-mail：lzflzlb@163.com", 3),  # run, full-width colon, run
    ],
)
def test_word_count(text: str, expected: int) -> None:
    assert word_count(text) == expected


@pytest.mark.parametrize(
    ("raw", "expected_text", "expected_removed"),
    [
        ("  妇联工作  ", "妇联工作", 0),
        ("\n\t妇联\n", "妇联", 0),
        ("第一行\r\n第二行\r第三行", "第一行\n第二行\n第三行", 0),
        ("第一行\u2028第二行", "第一行\n第二行", 0),
        ("第一段\n\n第二段\t完", "第一段\n\n第二段\t完", 0),
        ("\ufeff妇联", "妇联", 1),  # BOM
        ("妇\u200b联", "妇联", 1),  # zero-width space
        ("妇\u2060联", "妇联", 1),  # word joiner
        ("\u200e妇联\u200f", "妇联", 2),  # LTR and RTL marks
        ("\u202a妇\u202b联\u202c\u202d\u202e", "妇联", 5),  # bidi embeddings and overrides
        ("\u2066妇\u2067联\u2068\u2069", "妇联", 4),  # bidi isolates
        ("妇\x00联\x07\x1b", "妇联", 3),  # C0 controls
        ("妇\x7f联", "妇联", 1),  # DEL
        ("妇\x80联\x9f", "妇联", 2),  # C1 controls
        ("妇\ud800联", "妇联", 1),  # lone surrogate
        ("妇\ufffe联\uffff", "妇联", 2),  # noncharacters U+FFFE, U+FFFF
        ("妇\ufdd0联\ufdef", "妇联", 2),  # noncharacters U+FDD0–U+FDEF
        ("妇\U0001fffe联\U0010ffff", "妇联", 2),  # noncharacters U+nFFFE / U+nFFFF
        ("e\u0301", "é", 0),  # NFC composes
        ("点赞👍", "点赞👍", 0),
        ("👩\u200d👩\u200d👧", "👩\u200d👩\u200d👧", 0),  # ZWJ sequence kept
        ("❤\ufe0f", "❤\ufe0f", 0),  # variation selector kept
        ("你好，世界！“桂姐姐”……", "你好，世界！“桂姐姐”……", 0),
        ("", "", 0),
        ("\u200b \u200b", "", 2),
        # Terminal escape sequences go whole, not just their ESC: no “[31m” is left behind.
        ("\x00\x07\x1b[31m", "", 3),
        ("红\x1b[1;31m色\x1b[0m", "红色", 2),  # CSI with parameters
        ("\x9b2J妇联", "妇联", 1),  # the 8-bit CSI
        ("\x1b]0;窗口标题\x07妇联", "妇联", 1),  # OSC up to BEL
        ("\x1b]8;;http://x\x1b\\链接\x1b]8;;\x1b\\", "链接", 2),  # OSC up to ST (a hyperlink)
        ("\x1b(B妇联\x1bc", "妇联", 2),  # charset and reset escapes
        ("正常文字[31m", "正常文字[31m", 0),  # brackets typed by a person stay
    ],
)
def test_clean_text(raw: str, expected_text: str, expected_removed: int) -> None:
    assert clean_text(raw) == CleanText(text=expected_text, removed=expected_removed)


def test_clean_text_output_is_xml_safe() -> None:
    every_bmp_char = "".join(chr(code) for code in range(0x10000))
    cleaned = clean_text(every_bmp_char).text
    xml_invalid = [
        char
        for char in cleaned
        if not (
            char in "\n\t"
            or 0x20 <= ord(char) <= 0x7E
            or 0xA0 <= ord(char) <= 0xD7FF
            or 0xE000 <= ord(char) <= 0xFFFD
            or ord(char) >= 0x10000  # NFC maps some compatibility ideographs to plane 2
        )
    ]
    assert xml_invalid == []
    assert "\u200d" in cleaned


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("１３８７７２１２３４５", "13877212345"),
        ("０７７２－２８２３２９０", "0772-2823290"),
        ("（０７７２）２８２３２９０", "(0772)2823290"),
        ("１９８５．３", "1985.3"),
        ("ＡＢｃ", "ABc"),
        ("１\u3000２", "1 2"),
        ("＋８６", "+86"),
        ("1985年3月", "1985年3月"),  # CJK untouched
        ("妇联。，", "妇联。,"),  # U+FF0C is a full-width ASCII form, U+3002 is not
        ("abc 123", "abc 123"),
    ],
)
def test_to_halfwidth_digits(text: str, expected: str) -> None:
    assert to_halfwidth_digits(text) == expected


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("3", 3),
        (" 12 ", 12),
        ("３", 3),
        ("007", 7),
        ("²", None),  # str.isdigit says yes, int() says no
        ("٣", None),  # Arabic-Indic three: int() reads it, nobody here means it
        ("9" * 5000, None),  # more digits than int() will parse
        ("1234567890", None),  # more than any choice, row or id typed by a person
        ("-1", None),
        ("1.5", None),
        ("", None),
    ],
)
def test_plain_number(text: str, number: int | None) -> None:
    assert plain_number(text) == number
