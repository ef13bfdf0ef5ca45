"""Rules across answers: a change to one answer is checked against the answers whose rules name it
(单位人数 below 女性人数 is refused at the change, naming both), and a warning that is not a refusal
(30 women or more, not 单独创建) shows at the answer, in the review, in /show and in the export."""

from __future__ import annotations

from dialogs.engine import DialogEngine
from tests.conftest import Chat, FakeClock, chinese_text
from tests.test_dialog_forms import start
from tests.test_supervision import ask, supervisor

ORGANISATION = ["柳州市螺蛳粉产业园", "120", "86", "黄建国", "13907721234", "李秀梅", "15878012345"]
FEDERATION = ["园区", "柳州市螺蛳粉产业园妇女联合会", "莫小燕", "0772 2823290", "2", "9", "2021年4月18日"]


def fill_site(chat: Chat, build_mode: str) -> str:
    """A 示范点申报表 filled to its review; what the 组建方式 answer was told."""
    start(chat, "示范点申报表")
    for answer in ORGANISATION:
        chat.send(answer)
    told = chat.send(build_mode)
    for answer in FEDERATION:
        chat.send(answer)
    chat.send(chinese_text(450))
    for number, caption in enumerate(["园区妇联成立大会现场", "妇女之家活动室", "巾帼志愿服务队开展活动"]):
        if number:
            chat.send("添加一张照片")
        chat.photo(caption=caption, color=(10 * number, 10, 10))
    chat.send("填写完毕，下一步")
    assert chat.options == ("确认提交", "修改", "放弃"), chat.text
    return told


def test_a_count_changed_below_one_that_depends_on_it_is_refused_naming_both(chat: Chat) -> None:
    """修改 → 单位人数 → 50 while 女性人数 says 86: refused there and then, naming both fields, and the
    review keeps 120; the way out (跳过, then 修改 女性人数) works."""
    assert "应单独建立妇联" not in fill_site(chat, "单独创建")
    chat.send("修改")
    chat.send("单位人数")
    refused = chat.send("50")
    assert "单位人数" in refused and "女性人数" in refused and "86" in refused, refused
    assert "请重新填写单位人数" in refused and "当前已填：120" in refused, refused
    chat.send("跳过")
    assert chat.options == ("确认提交", "修改", "放弃") and "120" in chat.text
    chat.send("修改")
    chat.send("女性人数")
    chat.send("40")
    chat.send("修改")
    chat.send("单位人数")
    accepted = chat.send("50")
    assert "不符" not in accepted and chat.options == ("确认提交", "修改", "放弃"), "50 is fine beside 40"
    assert "已提交《示范点申报表》" in chat.send("确认提交")


def test_thirty_women_or_more_not_building_their_own_federation_are_warned_not_refused(
    chat: Chat, engine: DialogEngine, clock: FakeClock
) -> None:
    """FORMS.md: an organisation with 30 or more women should build its own federation (单独创建). A
    联合组建 with 86 women passes with a warning — at the answer, in the review and in 组联部's /show —
    and the warning comes with a change of 女性人数 too."""
    warned = fill_site(chat, "联合组建")
    assert "女性人数为86人" in warned and "应单独建立妇联" in warned and "领域或群体" in warned, warned
    assert "提示：女性人数为86人" in chat.text, chat.text
    chat.send("修改")
    chat.send("女性人数")
    assert "应单独建立妇联" not in chat.send("20"), "20 women: no warning"
    chat.send("修改")
    chat.send("女性人数")
    assert "女性人数为40人" in chat.send("40"), "the warning comes with the change that brings it on"
    assert "已提交《示范点申报表》" in chat.send("确认提交")
    boss = supervisor(engine, clock)
    assert "提示：女性人数为40人" in ask(engine, boss, "/show 1")
