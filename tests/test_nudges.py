"""Deadline reminders with an injected clock: the schedule, quiet hours, collapsing missed slots,
only to units still short, and exactly once across restarts and across two workers on PostgreSQL."""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path

import pytest

from bot.app import Declarations
from dialogs.engine import DialogEngine
from dialogs.exchange import Inbound
from dialogs.nudges import send_due_nudges, task_slots
from storage.database import make_engine
from storage.models import utc_now
from storage.repository import Repository
from tests.conftest import SHANGHAI, Chat, FakeClock, postgres_repository
from tests.test_dialog_forms import fill_cadre
from tests.test_supervision import supervisor


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2021, month, day, hour, minute, tzinfo=SHANGHAI)


def nudge(engine: DialogEngine, when: datetime) -> int:
    return send_due_nudges(engine.repository, engine.campaign, engine.forms, when)


def texts(engine: DialogEngine, chat_key: str = "u1") -> list[str]:
    return [
        m.payload["text"] for m in engine.repository.due_messages("test", utc_now()) if m.chat_key == chat_key
    ]


def test_the_schedule_is_read_from_the_campaign(declarations: Declarations) -> None:
    campaign = declarations.campaign
    slots = [slot.at for slot in task_slots(campaign, campaign.task("cadres"))]
    assert [(s.month, s.day, s.hour) for s in slots] == [
        (5, 18, 9),
        (5, 22, 9),
        (5, 24, 9),
        (5, 25, 9),
        (5, 26, 9),
        (5, 27, 9),
        (5, 28, 9),
    ]
    assert all(s.tzinfo == SHANGHAI for s in slots)


def test_reminders_go_once_per_slot_only_to_units_still_short(engine: DialogEngine, chat: Chat) -> None:
    fill_cadre(chat)
    assert nudge(engine, at(5, 17, 23)) == 0, "before the first slot"
    assert nudge(engine, at(5, 18, 9, 0)) == 2, "登记表 and 课程 for 鱼峰区; other units have no contact"
    assert nudge(engine, at(5, 18, 9, 5)) == 0, "the same slot is never sent twice"
    restarted = DialogEngine(
        campaign=engine.campaign,
        forms=engine.forms,
        machines=engine.machines,
        repository=Repository(make_engine(str(engine.repository.engine.url)), engine.repository.data_dir),
        render=engine.render,
    )
    assert nudge(restarted, at(5, 18, 10)) == 0, "nor after a restart"
    assert (
        "距《登记表》截止（5月25日）还有7天，贵单位已交1份，还差1份，发送“新建”开始填写" in texts(engine)[0]
    )
    fill_cadre(chat, "覃美玲")
    assert nudge(engine, at(5, 22, 9)) == 1, "登记表 is complete now: only 课程"
    assert "《课程推荐表》截止" in texts(engine)[-1]


def test_quiet_hours_hold_a_late_reminder_and_missed_slots_collapse(engine: DialogEngine, chat: Chat) -> None:
    fill_cadre(chat)
    assert nudge(engine, at(5, 24, 22)) == 0, "down since before 05-18; now it is quiet"
    assert nudge(engine, at(5, 25, 7, 59)) == 0
    assert nudge(engine, at(5, 25, 8, 30)) == 2, "one reminder for 05-18, 05-22 and 05-24 together"
    records = engine.repository.nudges(engine.campaign.id)
    assert {r.slot.astimezone(SHANGHAI).day for r in records} == {24}
    assert "距《登记表》截止（5月25日）还有0天" not in texts(engine)[-1]
    assert nudge(engine, at(5, 25, 9)) == 2, "the deadline day's own slot"
    assert "今天（5月25日）是《登记表》的截止日" in " ".join(texts(engine))


def test_after_the_deadline_reminders_stop_after_the_last_slot(engine: DialogEngine, chat: Chat) -> None:
    fill_cadre(chat)
    assert nudge(engine, at(5, 26, 9)) == 2
    assert "《登记表》已于5月25日截止，贵单位已交1份，还差1份" in texts(engine)[0]
    assert nudge(engine, at(5, 28, 9)) == 2
    assert nudge(engine, at(5, 29, 10)) == 0, "the last slot (05-28) lives one day"


def test_a_reminder_after_the_deadline_says_what_happens_to_a_late_form(
    engine: DialogEngine, chat: Chat
) -> None:
    fill_cadre(chat)
    assert nudge(engine, at(5, 26, 9)) == 2
    assert "还差1份，现在提交会标记为逾期，发送“新建”开始填写" in texts(engine)[0]
    engine.campaign = engine.campaign.model_copy(update={"late_submissions": "refused"})
    assert nudge(engine, at(5, 27, 9)) == 2
    refused = texts(engine)[-2:]
    assert any("还差1份，市妇联组联部不再接收逾期提交。" in text for text in refused), refused
    assert not any("新建" in text for text in refused), "no form to start that would be refused"


def test_supervisors_get_one_digest_a_day(engine: DialogEngine, chat: Chat, clock: FakeClock) -> None:
    boss = supervisor(engine, clock)
    nudge(engine, at(5, 18, 9))
    nudge(engine, at(5, 18, 15))
    digests = [m for m in engine.repository.due_messages("telegram", utc_now()) if m.chat_key == boss]
    assert len(digests) == 1 and digests[0].payload["text"].startswith("【每日报送情况】")


def test_two_workers_on_postgresql_never_send_the_same_reminder_twice(
    postgres_url: str, tmp_path: Path, declarations: Declarations
) -> None:
    first = postgres_repository(postgres_url, tmp_path, declarations)
    campaign, forms = declarations.campaign, declarations.forms
    for number, code in enumerate(["yufeng", "liunan", "liubei", "sanjiang"]):
        unit = first.unit_by_code(campaign.id, code)
        assert unit is not None
        first.bind_contact("test", f"c{number}", unit.id)
    second = Repository(
        make_engine(postgres_url.replace("postgresql+psycopg", "postgresql+psycopg")), tmp_path
    )
    barrier = threading.Barrier(2)
    counts: list[int] = []

    def worker(repository: Repository) -> None:
        barrier.wait()
        for minute in range(5):
            counts.append(send_due_nudges(repository, campaign, forms, at(5, 18, 9, minute)))

    threads = [threading.Thread(target=worker, args=(repo,)) for repo in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(counts) == 4 * 2, "each of 4 units: 登记表 and 课程 (all four are county federations)"
    assert len(first.nudges(campaign.id)) == 8
    messages = first.due_messages("test", utc_now())
    assert len(messages) == 8 and len({(m.chat_key, m.payload["text"]) for m in messages}) == 8
    first.engine.dispose()
    second.engine.dispose()


@pytest.mark.parametrize("hour", [20, 21, 23, 0, 7])
def test_quiet_hours_are_respected_at_any_slot(engine: DialogEngine, chat: Chat, hour: int) -> None:
    fill_cadre(chat)
    when = at(5, 18, hour) if hour >= 9 else at(5, 19, hour)
    assert nudge(engine, when) == (2 if hour == 20 else 0)


def test_a_reminder_carries_the_buttons_of_what_it_suggests(
    engine: DialogEngine, chat: Chat, clock: FakeClock
) -> None:
    fill_cadre(chat)
    fill_cadre(chat, "覃美玲")
    engine.handle(Inbound("telegram", supervisor(engine, clock), "退回1号 工作照不清晰"))
    engine.repository.take_messages("test", "u1", utc_now())  # the 退回 itself
    assert nudge(engine, at(5, 18, 9)) >= 2
    reminders = {
        str(m.payload["text"]): m.payload
        for m in engine.repository.due_messages("test", utc_now())
        if m.chat_key == "u1"
    }
    [cadres] = [payload for text, payload in reminders.items() if "《登记表》" in text]
    assert "发送“已交”查看并修改" in str(cadres["text"]) and cadres["options"] == ["已交"]
    [courses] = [payload for text, payload in reminders.items() if "《课程推荐表》" in text]
    assert "发送“新建”开始填写" in str(courses["text"]) and courses["options"] == ["新建"]
    listed = engine.handle(Inbound("test", "u1", "1", menu=str(cadres["menu"])))
    assert "贵单位已提交" in listed[-1].text and "修改 #1" in listed[-1].options
    started = engine.handle(Inbound("test", "u1", "1", menu=str(courses["menu"])))
    assert started[-1].text == "请选择要填写的表：" and started[-1].options
