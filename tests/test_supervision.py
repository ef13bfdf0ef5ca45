"""What 组联部 sees: progress per unit and task against quotas and deadlines, and the city figures."""

from __future__ import annotations

from datetime import datetime

from dialogs.engine import DialogEngine
from dialogs.exchange import Inbound
from dialogs.invites import issue_invite
from dialogs.supervision import campaign_progress, status_report
from tests.conftest import SHANGHAI, Chat, FakeClock
from tests.test_dialog_forms import fill_cadre


def supervisor(engine: DialogEngine, clock: FakeClock) -> str:
    code = issue_invite(engine.repository, None, role="supervisor", now=clock()).code
    [notice] = engine.handle(Inbound("telegram", "boss", f"/start {code}"))
    engine.handle(Inbound("telegram", "boss", "1", menu=notice.menu))
    return "boss"


def ask(engine: DialogEngine, user: str, text: str) -> str:
    return "\n".join(r.text for r in engine.handle(Inbound("telegram", user, text)))


def test_progress_counts_records_and_course_rows_per_unit(engine: DialogEngine, chat: Chat) -> None:
    fill_cadre(chat)
    progress = {(p.unit.code, p.task.id): p for p in campaign_progress(engine.repository, engine.campaign)}
    assert len(progress) == 14 * 2 + 10, "courses only for the 10 county federations"
    cadres = progress[("yufeng", "cadres")]
    assert (cadres.records, cadres.counted, cadres.missing, cadres.complete) == (1, 1, 1, False)
    assert progress[("liunan", "cadres")].missing == 2
    assert ("zonggonghui", "courses") not in progress


def test_status_shows_each_unit_deadlines_and_city_figures(
    engine: DialogEngine, chat: Chat, clock: FakeClock
) -> None:
    fill_cadre(chat)
    fill_cadre(chat, "覃美玲")
    boss = supervisor(engine, clock)
    report = ask(engine, boss, "/status")
    assert "登记表：5月25日截止，还有15天" in report and "示范点申报表：8月30日截止，还有112天" in report
    assert "鱼峰区  登记表2/2✓  课程0/≥2  示范点0/≥1" in report
    assert "市总工会  登记表0/2  示范点0/≥1" in report
    assert "全市示范点 0/10 个" in report
    assert "候选人 2 名，其中村（社区）执委 2 名，占 100%（要求≥70%）" in report


def test_after_the_deadline_short_units_are_marked_overdue(
    engine: DialogEngine, chat: Chat, clock: FakeClock
) -> None:
    fill_cadre(chat)
    clock.now = datetime(2021, 5, 26, 9, 0, tzinfo=SHANGHAI)
    report = status_report(engine.repository, engine.campaign, engine.forms, clock())
    assert "登记表：已于5月25日截止" in report
    assert "鱼峰区  登记表1/2逾期" in report and "示范点0/≥1  " not in report


def test_pending_lists_only_what_is_outstanding(engine: DialogEngine, chat: Chat, clock: FakeClock) -> None:
    fill_cadre(chat)
    fill_cadre(chat, "覃美玲")
    boss = supervisor(engine, clock)
    report = ask(engine, boss, "未交")
    assert "鱼峰区妇联（联系人1名）：课程推荐表还差2节课程" in report
    assert "登记表" not in report.split("鱼峰区妇联")[1].split("\n")[0]
    assert "柳南区妇联（尚无联系人绑定）：登记表还差2份" in report


def test_a_contact_sees_only_their_own_unit(engine: DialogEngine, chat: Chat) -> None:
    fill_cadre(chat)
    report = chat.send("/status")
    assert "鱼峰区  登记表1/2" in report
    assert "柳南区" not in report and "全市示范点" not in report
    assert "尚未报齐" not in chat.send("/pending")


def test_supervisor_help_lists_supervisor_commands(engine: DialogEngine, clock: FakeClock) -> None:
    boss = supervisor(engine, clock)
    reply = ask(engine, boss, "/help")
    assert "/status 进度" in reply and "/pending 未交" in reply


def test_status_lines_fit_a_phone_screen(engine: DialogEngine, chat: Chat, clock: FakeClock) -> None:
    """A phone in portrait shows about 40 columns (a Chinese character takes two): unit lines fit."""
    import unicodedata

    def columns(line: str) -> int:
        return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)

    fill_cadre(chat)
    report = status_report(engine.repository, engine.campaign, engine.forms, clock())
    shorts = {unit.short_name for unit in engine.campaign.units}
    unit_lines = [line for line in report.splitlines() if line.split("  ")[0] in shorts]
    assert len(unit_lines) == 14
    assert max(columns(line) for line in unit_lines) <= 40, max(unit_lines, key=columns)
