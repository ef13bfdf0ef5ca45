"""One 登记表 as a contact types it into the chat, and Chinese prose of an exact length.

The answers the tests and the benchmark share, so that both walk the same form the same way
(``renderers.samples`` holds whole records at maximum length, for previews).
"""

from __future__ import annotations


def chinese_text(length: int) -> str:
    """Realistic-looking Chinese prose of exactly ``length`` 字 (CJK characters and full-width commas)."""
    sentence = "她扎根基层多年，带领妇女姐妹发展特色产业，积极调解邻里矛盾，深受群众信赖。"
    return (sentence * (length // len(sentence) + 1))[:length]


#: The 登记表's questions answered in order (options picked by number, as people do); then come the two
#: photos (证件照, 工作照) and “确认提交”.
CADRE_ANSWERS: tuple[str, ...] = (
    "韦丽华",
    "女",
    "1985.3",
    "壮",
    "2",
    "1",
    "柳江区拉堡镇妇联主席",
    "柳州市柳江区拉堡镇柳堡路88号",
    "545100",
    "138 7721 2345",
    "3",
    "2018.6",
    chinese_text(600),
    chinese_text(300),
)
