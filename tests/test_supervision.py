"""What 组联部 sees: progress per unit and task against quotas and deadlines, and the city figures."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime

from sqlalchemy import delete, update
from sqlmodel import Session

from bench.setup_db import region_campaign
from dialogs.engine import DialogEngine
from dialogs.exchange import Inbound
from dialogs.invites import issue_invite
from dialogs.reports import PHONE_COLUMNS, columns
from dialogs.supervision import (
    UNIT_LINES_MAX,
    area_progress,
    backfill_progress,
    campaign_progress,
    quota_count,
    status_report,
)
from storage.models import Submission, UnitProgress
from tests.conftest import SHANGHAI, Chat, FakeClock, assert_no_slash_command
from tests.test_dialog_forms import fill_cadre


def supervisor(engine: DialogEngine, clock: FakeClock) -> str:
    code = issue_invite(engine.repository, None, role="supervisor", now=clock()).code
    [notice] = engine.handle(Inbound("telegram", "boss", f"/start {code}"))
    engine.handle(Inbound("telegram", "boss", "1", consent_for=notice.consent_for))
    return "boss"


def ask(engine: DialogEngine, user: str, text: str) -> str:
    said = "\n".join(r.text for r in engine.handle(Inbound("telegram", user, text)))
    assert_no_slash_command(said)
    return said


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
    assert "鱼峰区  登记表2/2✓  课程0/≥2\n\u3000\u3000示范点0/≥1\n" in report, (
        "a cell that fits no more: next line"
    )
    assert "市总工会  登记表0/2  示范点0/≥1" in report
    assert "全市示范点 0/10 个" in report
    assert "候选人 2 名，其中村（社区）执委 2 名，占 100%（要求≥70%）" in report


def test_after_the_deadline_short_units_are_marked_overdue(
    engine: DialogEngine, chat: Chat, clock: FakeClock
) -> None:
    fill_cadre(chat)
    clock.now = datetime(2021, 5, 26, 9, 0, tzinfo=SHANGHAI)
    report = status_report(engine.repository, engine.campaign, engine.forms, clock()).text()
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
    assert "进度：" in reply and "未交：" in reply and "接收3号" in reply


def test_status_lines_fit_a_phone_screen(engine: DialogEngine, chat: Chat, clock: FakeClock) -> None:
    """A phone in portrait shows about 40 columns (a Chinese character takes two): unit lines fit."""
    import unicodedata

    def columns(line: str) -> int:
        return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line)

    fill_cadre(chat)
    report = status_report(engine.repository, engine.campaign, engine.forms, clock()).text()
    shorts = {unit.short_name for unit in engine.campaign.units}
    unit_lines = [line for line in report.splitlines() if line.split("  ")[0] in shorts]
    assert len(unit_lines) == 14
    assert max(columns(line) for line in unit_lines) <= 40, max(unit_lines, key=columns)


def test_status_as_chat_text_never_breaks_a_cell_on_a_phone(
    engine: DialogEngine, chat: Chat, clock: FakeClock
) -> None:
    """Lines longer than a phone broke inside a cell (“课程0/≥2逾” / “期”): a line holds at most
    ``PHONE_COLUMNS`` (a Chinese character, ✓ or ≥ two), cells whole, each after its unit's name."""
    fill_cadre(chat)
    boss = supervisor(engine, clock)
    ask(engine, boss, "退回1号 工作照不清晰")
    clock.now = datetime(2021, 9, 1, 9, 0, tzinfo=SHANGHAI)  # every task late, one returned
    for regional in (engine, region_engine(engine)):
        report = status_report(regional.repository, regional.campaign, regional.forms, clock())
        text = report.text()
        rows = text.split("\n\n")[1].splitlines()
        names = {row.name for row in report.rows}  # a long name alone is prose, broken anywhere
        with_cells = [line for line in rows if line not in names]
        assert max(columns(line) for line in with_cells) <= PHONE_COLUMNS, max(with_cells, key=columns)
        blocks: list[list[str]] = []  # a row's first line, then the lines that go on with its cells
        for line in rows:
            if line.startswith("\u3000"):
                blocks[-1].append(line)
            else:
                blocks.append([line])
        for row, block in zip(report.rows, blocks, strict=True):
            assert block[0].startswith(row.name), (row.name, block)
            parts = [block[0].removeprefix(row.name), *block[1:]]
            shown = [cell for part in parts for cell in part.strip(" \u3000").split("  ") if cell]
            assert shown == [cell.text() for cell in row.cells], (row.name, block)
    city = status_report(engine.repository, engine.campaign, engine.forms, clock()).text()
    late = "鱼峰区  登记表1/2（退回1）逾期\n\u3000\u3000课程0/≥2逾期\n\u3000\u3000示范点0/≥1逾期\n"
    assert late in city, city


# Stored progress -----------------------------------------------------------------------------------


def stored_progress(engine: DialogEngine) -> dict[tuple[str, str], tuple[int, ...]]:
    return {key: tuple(totals) for key, totals in engine.repository.progress(engine.campaign.id).items()}


def recomputed_progress(engine: DialogEngine) -> dict[tuple[str, str], tuple[int, ...]]:
    """The same totals the slow way: from every current version's answers."""
    codes = {unit.id: unit.code for unit in engine.repository.units(engine.campaign.id)}
    totals: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for submission, version in engine.repository.current_versions(engine.campaign.id):
        row = totals[(codes[submission.unit_id], submission.task_id)]
        row[0] += 1
        row[1] += quota_count(engine.campaign.task(submission.task_id), version.answers)
        row[2] += submission.status == "returned"
        row[3] += submission.status == "accepted"
        row[4] += engine.campaign.in_share(submission.task_id, version.answers)
    return {key: tuple(row) for key, row in totals.items()}


def test_what_a_submission_counts(engine: DialogEngine) -> None:
    courses, cadres = engine.campaign.task("courses"), engine.campaign.task("cadres")
    assert quota_count(courses, {"courses": [{}, {}, {}]}) == 3
    assert quota_count(courses, {}) == 0
    assert quota_count(cadres, {"name": "韦丽华"}) == 1
    assert engine.campaign.in_share("cadres", {"cadre_level": "村（社区）妇联执委"})
    assert not engine.campaign.in_share("cadres", {"cadre_level": "县（区）妇联执委"})
    assert not engine.campaign.in_share("sites", {"cadre_level": "村（社区）妇联执委"}), "its own task only"


def test_stored_progress_follows_submit_return_resubmit_and_accept(
    engine: DialogEngine, chat: Chat, clock: FakeClock
) -> None:
    fill_cadre(chat)
    fill_cadre(chat, "覃美玲")
    boss = supervisor(engine, clock)
    assert stored_progress(engine) == recomputed_progress(engine) == {("yufeng", "cadres"): (2, 2, 0, 0, 2)}
    ask(engine, boss, "/return 1 工作照不清晰")
    ask(engine, boss, "/accept 2")
    assert stored_progress(engine) == recomputed_progress(engine) == {("yufeng", "cadres"): (2, 2, 1, 1, 2)}
    chat.send("/reopen 1")
    chat.send("修改")
    chat.send(next(str(i) for i, o in enumerate(chat.options, 1) if o.startswith("执委层级")))
    chat.send("乡镇")
    assert "编号 #1（第2版）" in chat.send("确认提交")
    assert stored_progress(engine) == recomputed_progress(engine) == {("yufeng", "cadres"): (2, 2, 0, 1, 1)}
    assert "候选人 2 名，其中村（社区）执委 1 名，占 50%" in ask(engine, boss, "/status")


def test_submissions_stored_before_progress_was_kept_are_counted_at_start(
    engine: DialogEngine, chat: Chat
) -> None:
    fill_cadre(chat)
    fill_cadre(chat, "覃美玲")
    before = stored_progress(engine)
    with Session(engine.repository.engine) as session:  # as migration 0005 leaves an older database
        session.execute(update(Submission).values(counted=None, in_share=False))
        session.execute(delete(UnitProgress))
        session.commit()
    assert stored_progress(engine) == {}
    assert backfill_progress(engine.repository, engine.campaign) == 2
    assert stored_progress(engine) == before == {("yufeng", "cadres"): (2, 2, 0, 0, 2)}
    assert backfill_progress(engine.repository, engine.campaign) == 0, "nothing left to count"


# A region's campaign: too many units for one line each --------------------------------------------


def region_engine(engine: DialogEngine) -> DialogEngine:
    campaign = region_campaign(engine.campaign, 10 * len(engine.campaign.units))  # 10 units an area
    assert len(campaign.units) > UNIT_LINES_MAX
    engine.repository.sync_units(campaign.id, [(u.code, u.name, u.area, u.kind) for u in campaign.units])
    return DialogEngine(
        campaign=campaign,
        forms=engine.forms,
        machines=engine.machines,
        repository=engine.repository,
        clock=engine.clock,
        render=engine.render,
    )


def test_a_region_is_reported_by_area_and_an_area_by_unit(
    engine: DialogEngine, chat: Chat, clock: FakeClock
) -> None:
    fill_cadre(chat)
    fill_cadre(chat, "覃美玲")
    regional = region_engine(engine)
    boss = supervisor(regional, clock)
    report = ask(regional, boss, "/status")
    assert "鱼峰区（10个单位）  登记表齐1/10\n\u3000\u3000课程齐0/10  示范点齐0/10" in report
    assert "柳州市（20个单位）  登记表齐0/20\n\u3000\u3000示范点齐0/20" in report
    assert "鱼峰区1村" not in report and "进度 城中区" in report
    assert "候选人 2 名，其中村（社区）执委 2 名" in report
    assert len([line for line in report.splitlines() if not line.startswith("\u3000")]) < 30
    area = ask(regional, boss, "/status 鱼峰区")
    assert "鱼峰区  登记表2/2✓" in area and "鱼峰区9村  登记表0/2" in area
    assert "柳南区" not in area and "全市示范点" not in area
    refused = ask(regional, boss, "/status 火星区")
    assert "没有找到“火星区”" in refused and "区域：城中区、鱼峰区" in refused, "areas, not 140 units"


def test_a_regions_outstanding_work_is_summed_by_area(
    engine: DialogEngine, chat: Chat, clock: FakeClock
) -> None:
    fill_cadre(chat)
    regional = region_engine(engine)
    boss = supervisor(regional, clock)
    report = ask(regional, boss, "/pending")
    assert "鱼峰区：登记表10个单位未报齐（还差19份），5月25日截止，还有15天" in report
    assert "鱼峰区第1村" not in report and "未交 城中区" in report
    area = ask(regional, boss, "/pending 鱼峰区")
    assert "鱼峰区妇联（联系人1名）：登记表还差1份" in area
    assert "鱼峰区第9村（社区）妇联（尚无联系人绑定）：登记表还差2份" in area
    assert "柳南区" not in area


def test_area_sums_agree_with_the_units_lines(engine: DialogEngine, chat: Chat, clock: FakeClock) -> None:
    """The region's area lines come from grouped rows; they must say what the unit lines add up to."""
    fill_cadre(chat)
    fill_cadre(chat, "覃美玲")
    regional = region_engine(engine)
    boss = supervisor(regional, clock)
    ask(regional, boss, "/return 2 照片不清晰")
    summed: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0, 0])
    for item in campaign_progress(regional.repository, regional.campaign):
        row = summed[(item.unit.area, item.task.id)]
        for index, value in enumerate(
            (1, item.complete, item.missing, item.returned, item.records, item.in_share)
        ):
            row[index] += value
    grouped = {
        (a.area, a.task.id): [a.units, a.complete, a.missing, a.returned, a.records, a.in_share]
        for a in area_progress(regional.repository, regional.campaign)
    }
    assert grouped == summed
    assert grouped[("鱼峰区", "cadres")] == [10, 0, 18, 1, 2, 2], "9 villages short of 2, one returned"


# Reaching a unit by any name the bot shows -----------------------------------------------------------


def test_every_unit_is_reached_by_each_name_the_bot_shows_it_under(
    engine: DialogEngine, clock: FakeClock
) -> None:
    """单位/提醒/进度/未交 take a unit's name (未交's lines and buttons), its short name (进度's rows, the
    status page's links) and its area; “融水县”, “三江县”, “市直机关工委” were refused with a list naming
    exactly them."""
    boss = supervisor(engine, clock)
    for unit in engine.campaign.units:
        sharing = [u for u in engine.campaign.units if u.area == unit.area]
        names = {unit.name, unit.short_name} | ({unit.area} if len(sharing) == 1 else set())
        for name in sorted(names):
            shown = ask(engine, boss, f"单位 {name}")
            assert f"{unit.short_name}  登记表0/2" in shown and "尚无提交" in shown, (name, shown)
            assert f"{unit.name}还没有联系人绑定" in ask(engine, boss, f"提醒 {name}"), name
            status = ask(engine, boss, f"进度 {name}")
            assert f"{unit.short_name}  登记表0/2" in status, (name, status)
            rows = [u.short_name for u in engine.campaign.units if f"\n{u.short_name}  " in status]
            assert rows == [unit.short_name], (name, status)
            assert f"{unit.name}（尚无联系人绑定）" in ask(engine, boss, f"未交 {name}"), name


def test_the_status_pages_links_reach_their_units(engine: DialogEngine, clock: FakeClock) -> None:
    """Each unit's link on 组联部's status page opens the chat with “单位 ” and its name (chat.js's
    askAboutUnit): every one is answered with that unit, none refused."""
    from urllib.parse import unquote

    from bot.web import status_html

    boss = supervisor(engine, clock)
    page = status_html(
        status_report(engine.repository, engine.campaign, engine.forms, clock()), link_units=True
    )
    linked = [unquote(name) for name in re.findall(r"href='/\?unit=([^']+)'", page)]
    assert len(linked) == len(engine.campaign.units)
    for name in linked:
        shown = ask(engine, boss, f"单位 {name}")
        assert shown.startswith("《") and f"\n{name}  " in shown and "尚无提交" in shown, (name, shown)


def test_an_area_of_several_units_offers_them_and_a_wrong_name_lists_what_works(
    engine: DialogEngine, clock: FakeClock
) -> None:
    boss = supervisor(engine, clock)
    [offer] = engine.handle(Inbound("telegram", boss, "单位 柳州市"))
    assert "“柳州市”对应2个单位" in offer.text and offer.options == ("市直机关工委", "市总工会")
    picked = ask(engine, boss, "2")
    assert "市总工会  登记表0/2" in picked and "市直机关工委  " not in picked
    status = ask(engine, boss, "进度 柳州市")
    assert "市直机关工委  登记表0/2" in status and "市总工会  登记表0/2" in status
    assert "鱼峰区  " not in status
    refused = ask(engine, boss, "提醒 融水")
    assert "融水苗族自治县妇联还没有联系人绑定" in refused, "a part of a name that is one unit's"
    refused = ask(engine, boss, "单位 鱼蜂区")
    assert "没有找到“鱼蜂区”" in refused and "可写的单位：城中区、鱼峰区" in refused
    listed = refused.split("可写的单位：")[1].rstrip("。").split("、")
    assert len(listed) == len(engine.campaign.units)
    for name in listed:
        assert "尚无提交" in ask(engine, boss, f"单位 {name}"), name
    assert "尚无提交" in ask(engine, boss, "单位 北部生态新区(阳和工业新区)党群工作部"), "half-width brackets"
    assert "尚无提交" in ask(engine, boss, "单位　融水县妇联"), "an ideographic space, a trailing 妇联"
