"""The storage contract, run against SQLite and against PostgreSQL (when a URL is given)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect

from bot.app import Declarations
from storage.database import DatabaseNotMigrated, check_migrated, make_engine
from storage.models import CHAT_LINES_KEPT, Draft, utc_now
from storage.numbered_lists import LIST_KEPT
from storage.repository import ConcurrentUpdate, NudgeToSend, Repository
from tests.conftest import photo_bytes, postgres_repository, sqlite_repository


@pytest.fixture(name="store", params=["sqlite", "postgresql"])
def store_fixture(
    request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path, declarations: Declarations
) -> Iterator[Repository]:
    if request.param == "sqlite":
        repository = sqlite_repository(sqlite_template, tmp_path, declarations)
    else:
        repository = postgres_repository(request.getfixturevalue("postgres_url"), tmp_path, declarations)
    yield repository
    repository.engine.dispose()


def new_draft(store: Repository, unit_code: str = "yufeng", user: str = "u1") -> tuple[Draft, object]:
    unit = store.unit_by_code("liuzhou-2021", unit_code)
    assert unit is not None and unit.id is not None
    contact = store.bind_contact("test", user, unit.id)
    assert contact.id is not None
    draft = Draft(
        campaign_id="liuzhou-2021",
        unit_id=unit.id,
        task_id="cadres",
        form_id="cadre_registration",
        started_by=contact.id,
        state="name",
    )
    return store.create_draft(draft, contact), contact


def test_units_are_synced_once_and_updated_in_place(store: Repository) -> None:
    """A sync updates the roster in place and sets the campaign's pick: a unit it no longer lists leaves
    the pick (unless it holds the campaign's drafts) and stays in the roster, ready to be picked again."""
    units = store.units("liuzhou-2021")
    assert len(units) == 14
    new_draft(store, "liunan")
    store.sync_units("liuzhou-2021", [("yufeng", "鱼峰区妇联（改名）", "鱼峰区", "county")])
    assert [unit.code for unit in store.units("liuzhou-2021")] == ["yufeng", "liunan"]
    unit = store.unit_by_code("liuzhou-2021", "yufeng")
    assert unit is not None and unit.name == "鱼峰区妇联（改名）"
    assert store.unit_by_code("liuzhou-2021", "chengzhong") is None, "not picked any more"
    store.sync_units("liuzhou-2021", [(u.code, u.name, u.area, u.kind) for u in units])
    again = store.unit_by_code("liuzhou-2021", "chengzhong")
    assert again is not None and again.id == units[0].id, "the roster's row, picked again"
    assert [unit.id for unit in store.units("liuzhou-2021")] == [unit.id for unit in units]
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM unit").scalar() == 14


def test_an_accepted_answer_is_durable_and_read_back_by_a_new_engine(store: Repository) -> None:
    draft, _contact = new_draft(store)
    draft.answers = {"name": "韦丽华", "story": "事迹😀\n第二段"}
    draft.state = "gender"
    store.save(draft)
    reopened = Repository(
        make_engine(str(store.engine.url.render_as_string(hide_password=False))), store.data_dir
    )
    again = reopened.draft(draft.id or 0)
    assert again is not None
    assert again.state == "gender" and again.answers == {"name": "韦丽华", "story": "事迹😀\n第二段"}
    assert again.revision == 1
    reopened.engine.dispose()


def test_a_stale_draft_cannot_overwrite_a_newer_one(store: Repository) -> None:
    draft, _contact = new_draft(store)
    first = store.draft(draft.id or 0)
    second = store.draft(draft.id or 0)
    assert first is not None and second is not None
    first.answers = {"name": "甲"}
    store.save(first)
    second.answers = {"name": "乙"}
    with pytest.raises(ConcurrentUpdate):
        store.save(second)
    stored = store.draft(draft.id or 0)
    assert stored is not None and stored.answers == {"name": "甲"}


def test_submit_creates_versions_and_keeps_each_one_immutable(store: Repository) -> None:
    draft, contact = new_draft(store)
    draft.answers = {"name": "韦丽华"}
    version = store.submit(draft, contact, {"unit": "yufeng"}, counted=1)  # type: ignore[arg-type]
    assert version.version == 1
    assert (store.data_dir / version.record_path).is_file()
    reopen, contact = new_draft(store)
    reopen.submission_id = version.submission_id
    reopen.answers = {"name": "韦丽华（改）"}
    second = store.submit(reopen, contact, {"unit": "yufeng"}, counted=1)  # type: ignore[arg-type]
    assert (second.submission_id, second.version) == (version.submission_id, 2)
    versions = store.versions(version.submission_id)
    assert [v.answers["name"] for v in versions] == ["韦丽华", "韦丽华（改）"]
    submission = store.submission(version.submission_id)
    assert submission is not None and submission.current_version == 2
    stored = store.draft(draft.id or 0)
    assert stored is not None and stored.status == "submitted"
    assert store.contact("test", "u1").current_draft_id is None  # type: ignore[union-attr]


def test_files_are_content_addressed_and_stored_once(store: Repository) -> None:
    data = photo_bytes()
    first = store.store_file(data, kind="photo", mime="image/jpeg", extension="jpg", width=640, height=480)
    second = store.store_file(data, kind="photo", mime="image/jpeg", extension="jpg", width=640, height=480)
    assert first.id == second.id and first.sha256 == second.sha256
    path = store.file_path(first.sha256)
    assert path is not None and path.read_bytes() == data
    assert path.name == f"{first.sha256}.jpg"


def test_drafts_are_listed_per_unit(store: Repository) -> None:
    mine, _ = new_draft(store, "yufeng", "a")
    new_draft(store, "liunan", "b")
    assert [d.id for d in store.drafts(mine.unit_id)] == [mine.id]


def test_rebinding_a_contact_to_another_unit_forgets_its_current_draft(store: Repository) -> None:
    new_draft(store)
    other = store.unit_by_code("liuzhou-2021", "liunan")
    assert other is not None
    rebound = store.bind_contact("test", "u1", other.id)
    assert rebound.unit_id == other.id and rebound.current_draft_id is None


def test_notices_share_the_roster_and_its_contacts_and_keep_their_own_work(store: Repository) -> None:
    """Units are the city's roster; a campaign picks some (``storage.units.in_campaign``). Two notices
    picking one unit share its row and its contact, bound once; each lists only the units it picks, and
    drafts, submissions, progress and reminders stay the notice's own; 组联部 is every notice's."""
    store.sync_units(
        "other-2022", [("yufeng", "鱼峰区妇联", "鱼峰区", "county"), ("new", "新单位", "新区", "county")]
    )
    ours, theirs = store.unit_by_code("liuzhou-2021", "yufeng"), store.unit_by_code("other-2022", "yufeng")
    assert ours is not None and theirs is not None and ours.id == theirs.id and ours.id is not None
    assert [unit.code for unit in store.units("other-2022")] == ["yufeng", "new"]
    assert len(store.units("liuzhou-2021")) == 14 and store.unit_by_code("liuzhou-2021", "new") is None
    draft, _ = new_draft(store, "yufeng", "once")
    contact = store.bind_contact("test", "once", ours.id)  # the same unit: its draft stays current
    assert contact.id is not None and contact.current_draft_id == draft.id
    store.bind_contact("test", "desk", None, role="supervisor")
    liunan = store.unit_by_code("liuzhou-2021", "liunan")
    assert liunan is not None
    store.bind_contact("test", "elsewhere", liunan.id)
    listed = [(c.external_id, unit and unit.code) for c, unit in store.contacts("other-2022")]
    assert listed == [("once", "yufeng"), ("desk", None)], "bound once, listed in both"
    assert [(c.external_id, unit and unit.code) for c, unit in store.contacts("liuzhou-2021")] == [
        ("once", "yufeng"),
        ("desk", None),
        ("elsewhere", "liunan"),
    ]
    assert store.contacts_per_unit("other-2022") == {"yufeng": 1}
    assert store.contacts_per_unit("liuzhou-2021") == {"yufeng": 1, "liunan": 1}
    assert store.unit_contacts("other-2022") == {"yufeng": [("test", "once")]}

    draft.answers = {"name": "韦丽华"}
    store.submit(draft, contact, {"name": "韦丽华"}, counted=1)
    assert [s.campaign_id for s, _version in store.current_versions("liuzhou-2021", ours.id)] == [
        "liuzhou-2021"
    ]
    assert store.progress("liuzhou-2021", ours.id) == {("yufeng", "cadres"): (1, 1, 0, 0, 0)}
    assert store.progress("other-2022", ours.id) == {}, "the same unit's work in another notice"
    assert store.progress("other-2022") == {} and store.current_versions("other-2022") == []
    theirs_draft = Draft(
        campaign_id="other-2022",
        unit_id=ours.id,
        task_id="cadres",
        form_id="cadre_registration",
        started_by=contact.id,
        state="name",
    )
    theirs_draft = store.create_draft(theirs_draft, contact)
    theirs_draft.answers = {"name": "李"}
    store.submit(theirs_draft, contact, {"name": "李"}, counted=1)
    assert [d.campaign_id for d in store.drafts(ours.id, ("submitted",))] == ["liuzhou-2021", "other-2022"]
    assert [d.id for d in store.drafts(ours.id, ("submitted",), campaign_id="other-2022")] == [
        theirs_draft.id
    ]
    assert [s.campaign_id for s in store.submissions(ours.id, "cadres", campaign_id="liuzhou-2021")] == [
        "liuzhou-2021"
    ]
    assert len(store.submissions(ours.id)) == 2, "a unit's, in every notice picking it"
    assert store.progress("other-2022", ours.id) == {("yufeng", "cadres"): (1, 1, 0, 0, 0)}
    assert store.progress("liuzhou-2021") == {("yufeng", "cadres"): (1, 1, 0, 0, 0)}, "not 2: per notice"

    slot = utc_now()
    reminder = NudgeToSend("k-yufeng", "yufeng", "cadres", "manual", slot, [("test", "once")], "请尽快报送")
    assert store.record_nudges("other-2022", [reminder]) == 1
    assert [(nudge.campaign_id, nudge.unit_id) for nudge in store.nudges("other-2022")] == [
        ("other-2022", ours.id)
    ]
    assert store.nudges("liuzhou-2021") == []


def test_a_web_conversation_keeps_its_last_lines_only(store: Repository) -> None:
    unit = store.unit_by_code("liuzhou-2021", "yufeng")
    assert unit is not None and unit.id is not None
    contact, other = store.bind_contact("test", "u1", unit.id), store.bind_contact("test", "u2", unit.id)
    assert contact.id is not None and other.id is not None
    for number in range(CHAT_LINES_KEPT + 7):
        store.add_chat_lines(contact.id, [("person", {"text": f"第{number}句"})])
    store.add_chat_lines(other.id, [("bot", {"text": "别人的"})])
    kept = [line[1:] for line in store.chat_lines_after(contact.id, 0)]
    assert len(kept) == CHAT_LINES_KEPT and kept[0] == ("person", {"text": "第7句"})
    assert kept[-1] == ("person", {"text": f"第{CHAT_LINES_KEPT + 6}句"}), "oldest first, the newest last"
    others = store.chat_lines_after(other.id, 0)
    assert [line[1:] for line in others] == [("bot", {"text": "别人的"})], "each conversation its own"
    assert store.last_chat_line(other.id) == others[0][0], "the last line's id"
    assert store.last_chat_line(contact.id) == store.chat_lines_after(contact.id, 0)[-1][0]
    assert store.last_chat_line(contact.id + other.id + 1) == 0, "none for a conversation without lines"
    with store.engine.connect() as connection:
        stored = connection.exec_driver_sql("SELECT count(*) FROM chatline").scalar()
    assert stored == CHAT_LINES_KEPT + 1, "older lines are deleted, not just hidden"


def test_a_conversation_is_read_after_a_line_with_ids_and_revoked_chats_are_not_bound(
    store: Repository,
) -> None:
    """What the web's event streams read: the lines after the last one a page has (its notices, in
    every tab), and which listening chats are still bound (a revoked one's stream ends)."""
    unit = store.unit_by_code("liuzhou-2021", "yufeng")
    assert unit is not None and unit.id is not None
    contact, other = store.bind_contact("test", "u1", unit.id), store.bind_contact("test", "u2", unit.id)
    assert contact.id is not None and other.id is not None
    store.add_chat_lines(contact.id, [("person", {"text": "你好"}), ("bot", {"text": "请选择"})])
    store.add_chat_lines(other.id, [("notice", {"text": "别人的"})])
    store.add_chat_lines(contact.id, [("notice", {"text": "退回"})])
    lines = store.chat_lines_after(contact.id, 0)
    assert [(speaker, payload["text"]) for _id, speaker, payload in lines] == [
        ("person", "你好"),
        ("bot", "请选择"),
        ("notice", "退回"),
    ]
    ids = [line_id for line_id, _speaker, _payload in lines]
    assert ids == sorted(ids) and store.chat_lines_after(contact.id, ids[1]) == [lines[2]]
    assert store.chat_lines_after(contact.id, ids[2]) == []
    assert store.bound_chats("test", ["u1", "u2", "nobody"]) == {"u1", "u2"}
    assert store.revoke_contact(other.id)
    assert store.bound_chats("test", ["u1", "u2"]) == {"u1"}
    assert store.bound_chats("test", []) == set()


def test_the_list_a_chat_was_last_asked_answers_for_a_week_and_is_replaced_or_forgotten(
    store: Repository,
) -> None:
    """A channel without buttons keeps the numbered list a chat was last asked, one per chat: the next
    list replaces it, a reply without one forgets it, and after ``LIST_KEPT`` it answers nothing."""
    now = utc_now()
    assert store.shown_list("mp", "o-1", now) is None
    store.remember_list("mp", "o-1", "d7", ["女", "男"], now)
    store.remember_list("mp", "o-2", "", ["同意", "不同意"], now)
    store.remember_list("wecom", "o-1", "m1", ["新建"], now)
    assert store.shown_list("mp", "o-1", now) == ("d7", ["女", "男"])
    store.remember_list("mp", "o-1", "d8", ["确认提交", "修改", "放弃"], now + timedelta(minutes=1))
    assert store.shown_list("mp", "o-1", now) == ("d8", ["确认提交", "修改", "放弃"]), "replaced"
    assert store.shown_list("wecom", "o-1", now) == ("m1", ["新建"]), "per channel"
    assert store.shown_list("mp", "o-2", now + LIST_KEPT - timedelta(minutes=1)) is not None
    assert store.shown_list("mp", "o-2", now + LIST_KEPT) is None, "a week later it answers nothing"
    store.forget_list("mp", "o-1")
    store.forget_list("mp", "o-never")
    assert store.shown_list("mp", "o-1", now) is None
    with store.unit_of_work():  # inside a message's transaction, as the channel's sender calls it
        store.remember_list("mp", "o-1", "d9", ["1人", "2人"], now)
        store.remember_list("mp", "o-1", "d10", ["是", "否"], now)
    assert store.shown_list("mp", "o-1", now) == ("d10", ["是", "否"])
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("SELECT count(*) FROM numberedlist").scalar() == 3


def test_an_unmigrated_database_is_refused_with_the_command_to_run(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(DatabaseNotMigrated, match="intake migrate"):
        check_migrated(engine)
    assert inspect(engine).get_table_names() == []


def test_the_migrations_create_exactly_the_tables_of_the_models(store: Repository) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    with store.engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert differences == [], "write a migration for the model change (make migration MESSAGE=...)"


def test_a_unit_of_work_commits_all_or_nothing(store: Repository) -> None:
    draft, _contact = new_draft(store)
    with pytest.raises(RuntimeError), store.unit_of_work():
        draft.answers = {"name": "甲"}
        store.save(draft)
        store.enqueue_message("test", "chat-1", {"text": "已收到"})
        raise RuntimeError("crash before the end of the unit of work")
    stored = store.draft(draft.id or 0)
    assert stored is not None and stored.answers == {} and stored.revision == 0
    assert store.due_messages("test", utc_now()) == []
    fresh = store.draft(draft.id or 0)
    assert fresh is not None
    with store.unit_of_work():
        fresh.answers = {"name": "乙"}
        store.save(fresh)
        store.enqueue_message("test", "chat-1", {"text": "已收到"})
    stored = store.draft(draft.id or 0)
    assert stored is not None and stored.answers == {"name": "乙"}
    assert [m.payload for m in store.due_messages("test", utc_now())] == [{"text": "已收到"}]


def test_an_update_is_stored_once_and_a_duplicate_is_recognised(store: Repository) -> None:
    assert store.store_updates("telegram", [(1001, "42", {"update_id": 1001})]) == {1001}
    assert store.store_updates("telegram", [(1001, "42", {"update_id": 1001})]) == set()
    assert store.store_updates("telegram", [(1000, "42", {"update_id": 1000})]) == {1000}
    pending = store.pending_updates("telegram")
    assert [u.update_id for u in pending] == [1000, 1001]
    store.finish_update(pending[0], "done", utc_now())
    assert [u.update_id for u in store.pending_updates("telegram")] == [1001]


def test_an_invite_binds_once_and_expires(store: Repository) -> None:
    unit = store.unit_by_code("liuzhou-2021", "yufeng")
    assert unit is not None
    now = utc_now()
    store.create_invite("ABCD2345", unit.id, "contact", now + timedelta(days=7))
    store.create_invite("OLD23456", unit.id, "contact", now - timedelta(seconds=1))
    assert store.usable_invite("ABCD2345", now) is not None
    assert store.usable_invite("OLD23456", now) is None
    contact = store.redeem_invite("ABCD2345", "telegram", "777", now)
    assert contact is not None and contact.unit_id == unit.id and contact.consented_at is not None
    assert store.redeem_invite("ABCD2345", "telegram", "888", now) is None
    assert store.redeem_invite("OLD23456", "telegram", "888", now) is None
    assert store.contact("telegram", "888") is None


def test_a_batch_of_updates_is_stored_in_one_go_each_id_once(store: Repository) -> None:
    assert store.store_updates("telegram", [(1001, "42", {"update_id": 1001})]) == {1001}
    batch = [
        (1001, "42", {"update_id": 1001}),  # stored before
        (1002, "42", {"update_id": 1002}),
        (1002, "42", {"update_id": 1002}),  # twice in one batch
        (1003, "43", {"update_id": 1003}),
    ]
    assert store.store_updates("telegram", batch) == {1002, 1003}
    assert store.store_updates("telegram", batch) == set()
    assert store.store_updates("telegram", []) == set()
    assert store.store_updates("other", [(1001, "42", {"update_id": 1001})]) == {1001}, "ids are per channel"
    pending = store.pending_updates("telegram")
    assert [(u.update_id, u.chat_key, u.payload) for u in pending] == [
        (1001, "42", {"update_id": 1001}),
        (1002, "42", {"update_id": 1002}),
        (1003, "43", {"update_id": 1003}),
    ]
    assert all(u.channel == "telegram" and u.attempts == 0 for u in pending), "pending ones only"


def test_an_update_is_claimed_only_once_and_after_the_earlier_ones_of_its_chat(store: Repository) -> None:
    store.store_updates("telegram", [(1, "42", {}), (2, "42", {}), (3, "43", {})])
    first, second, other = store.pending_updates("telegram")
    with store.unit_of_work():
        assert store.claim_update(second) is False, "update 1 of the same chat is still pending"
        assert store.claim_update(other) is True
        assert store.claim_update(first) is True
        if store.engine.dialect.name == "postgresql":  # row locks: another worker skips a claimed update
            url = store.engine.url.render_as_string(hide_password=False)
            rival = Repository(make_engine(url), store.data_dir)
            assert rival.claim_update(first) is False
            rival.engine.dispose()
        store.finish_update(first, "done", utc_now())
    with store.unit_of_work():
        assert store.claim_update(first) is False, "done already"
        assert store.claim_update(second) is True


def test_an_update_is_taken_once_after_the_earlier_ones_of_its_chat_and_marked_done(
    store: Repository,
) -> None:
    """``take_update``: the claim and the mark done in one statement, undone with its transaction."""
    store.store_updates("telegram", [(1, "42", {"n": 1}), (2, "42", {}), (3, "43", {})])
    first, second, other = store.pending_updates("telegram")
    with pytest.raises(RuntimeError), store.unit_of_work():
        assert store.take_update(first, utc_now()) is True
        raise RuntimeError("the message failed: the update is pending again")
    assert [u.update_id for u in store.pending_updates("telegram")] == [1, 2, 3]
    with store.unit_of_work():
        assert store.take_update(second, utc_now()) is False, "update 1 of the same chat is still pending"
        assert store.take_update(other, utc_now()) is True
        assert store.take_update(first, utc_now()) is True
        if store.engine.dialect.name == "postgresql":  # row locks: another worker skips a taken update
            url = store.engine.url.render_as_string(hide_password=False)
            rival = Repository(make_engine(url), store.data_dir)
            with rival.unit_of_work():
                assert rival.take_update(first, utc_now()) is False
            rival.engine.dispose()
        assert store.take_update(first, utc_now()) is False, "taken already"
    assert [u.update_id for u in store.pending_updates("telegram")] == [2]
    with store.unit_of_work():
        assert store.take_update(second, utc_now()) is True
    assert store.pending_updates("telegram") == []


def test_a_turns_replies_are_queued_in_order_in_one_statement(store: Repository) -> None:
    store.enqueue_messages("telegram", "42", [])
    store.enqueue_messages("telegram", "42", [{"text": "一"}, {"text": "二"}, {"text": "三"}])
    store.enqueue_message("telegram", "42", {"text": "四"})
    due = store.due_messages("telegram", utc_now())
    assert [m.payload["text"] for m in due] == ["一", "二", "三", "四"]
    assert all(m.status == "pending" and m.attempts == 0 and m.chat_key == "42" for m in due)


def test_a_chats_updates_go_by_the_order_their_channel_gives_then_by_arrival(store: Repository) -> None:
    """企业微信: a card press has no MsgId (its key is a hash, here 900); its CreateTime orders it."""
    updates = [(900, "42", {"n": "press"}), (5, "42", {"n": "text after"}), (7, "42", {"n": "same second"})]
    assert store.store_updates("wecom", updates, sequences=[1_700_000_001, 1_700_000_002, 1_700_000_001])
    press, same_second, text = store.pending_updates("wecom")
    assert [u.payload["n"] for u in (press, same_second, text)] == ["press", "same second", "text after"]
    with store.unit_of_work():
        assert store.claim_update(text) is False, "the press, made before it, is pending"
        assert store.claim_update(same_second) is False, "the same second, stored after the press"
        assert store.claim_update(press) is True
        store.finish_update(press, "done", utc_now())
    with store.unit_of_work():
        assert store.claim_update(same_second) is True


def test_a_pass_of_sent_messages_is_marked_in_one_go(store: Repository) -> None:
    for chat in ("1", "2", "3"):
        store.enqueue_message("telegram", chat, {"text": f"你好 {chat}"})
    due = store.due_messages("telegram", utc_now())
    store.messages_sent([], utc_now())
    store.messages_sent(due[:2], utc_now())
    [left] = store.due_messages("telegram", utc_now())
    assert (left.chat_key, left.payload, left.attempts) == ("3", {"text": "你好 3"}, 0)
    store.message_later(left, utc_now() - timedelta(seconds=1))
    [again] = store.due_messages("telegram", utc_now())
    store.message_sent(again, utc_now())
    assert store.due_messages("telegram", utc_now()) == []


def test_two_workers_submitting_for_one_unit_at_once_keep_its_progress_right(
    postgres_url: str, tmp_path: Path, declarations: Declarations
) -> None:
    """PostgreSQL, two connections: each submit recomputes the unit's progress row; without the lock on
    the unit they would both delete and re-insert it (a unique violation) or count without each other."""
    first = postgres_repository(postgres_url, tmp_path, declarations)
    second = Repository(make_engine(postgres_url), tmp_path)
    rounds = 6
    drafts = [
        [new_draft(store, user=f"{name}{n}") for n in range(rounds)]
        for name, store in (("a", first), ("b", second))
    ]
    errors: list[BaseException] = []

    def submit_all(store: Repository, mine: list[tuple[Draft, object]], barrier: threading.Barrier) -> None:
        for draft, contact in mine:
            barrier.wait(timeout=30)
            try:
                store.submit(draft, contact, {"unit": "yufeng"}, counted=1, in_share=True)  # type: ignore[arg-type]
            except BaseException as error:
                errors.append(error)

    barrier = threading.Barrier(2)
    threads = [
        threading.Thread(target=submit_all, args=(store, mine, barrier))
        for store, mine in ((first, drafts[0]), (second, drafts[1]))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert first.progress("liuzhou-2021")[("yufeng", "cadres")] == (2 * rounds, 2 * rounds, 0, 0, 2 * rounds)
    second.engine.dispose()
    first.engine.dispose()


def test_two_workers_submitting_for_two_units_in_opposite_orders_do_not_deadlock(
    postgres_url: str, tmp_path: Path, declarations: Declarations
) -> None:
    """PostgreSQL, group commit: one transaction submits for 鱼峰区 then 柳南区, the other for 柳南区 then
    鱼峰区. Progress is brought up to date at each one's end, in unit order, so neither waits in a cycle."""
    first = postgres_repository(postgres_url, tmp_path, declarations)
    second = Repository(make_engine(postgres_url), tmp_path)
    orders = (("yufeng", "liunan"), ("liunan", "yufeng"))
    work = [
        [new_draft(store, unit, user=f"{name}-{unit}") for unit in order]
        for name, store, order in (("a", first, orders[0]), ("b", second, orders[1]))
    ]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def group(store: Repository, drafts: list[tuple[Draft, object]]) -> None:
        try:
            with store.unit_of_work():
                for draft, contact in drafts:
                    store.submit(draft, contact, {}, counted=1)  # type: ignore[arg-type]
                    barrier.wait(timeout=30)  # both have submitted their first before either goes on
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=group, args=args) for args in ((first, work[0]), (second, work[1]))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    totals = first.progress("liuzhou-2021")
    assert totals[("yufeng", "cadres")].records == 2 and totals[("liunan", "cadres")].records == 2
    second.engine.dispose()
    first.engine.dispose()


def test_an_export_job_is_held_by_one_worker_and_finished_once(store: Repository) -> None:
    now = utc_now()
    with store.unit_of_work():  # recorded in the transaction that promises it
        store.add_export_job("c", "videos", "web", "chat-1", now)
    assert store.export_pending("c", "videos", "web", "chat-1")
    assert not store.export_pending("c", "forms", "web", "chat-1")
    job = store.claim_export_job("c", now, now + timedelta(seconds=20))
    assert job is not None and (job.kind, job.chat_key, job.attempts) == ("videos", "chat-1", 1)
    assert job.requested_at == now and job.requested_at.tzinfo is not None
    assert store.claim_export_job("c", now + timedelta(seconds=10), now) is None, "held"
    store.hold_export_job(job.id, now + timedelta(seconds=40))
    assert store.claim_export_job("c", now + timedelta(seconds=30), now) is None, "held longer"
    again = store.claim_export_job("c", now + timedelta(seconds=41), now + timedelta(seconds=61))
    assert again is not None and again.id == job.id and again.attempts == 2, "its worker stopped"
    assert store.finish_export_job(job.id, "done", now, {"text": "课程视频"})
    assert not store.finish_export_job(job.id, "done", now, {"text": "课程视频"}), "once"
    assert [m.payload["text"] for m in store.due_messages("web", utc_now())] == ["课程视频"]
    assert not store.export_pending("c", "videos", "web", "chat-1")
    assert store.claim_export_job("c", now + timedelta(days=1), now + timedelta(days=2)) is None
