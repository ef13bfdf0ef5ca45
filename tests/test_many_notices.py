"""One engine over two notices that share one roster of units (issue 24): a unit picked by both sees
each notice's forms in 新建 under its name, fills a form of each, finds each in 草稿 and 已交 under
its notice, and never sees one notice's counts, drafts or submissions in the other's. A unit picked by
one of them sees the service exactly as before. 组联部's desk, reminders and status still work on
``engine.campaign`` alone (the notice nearest its deadline): per-notice supervision is a later step."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
from docx import Document

from bot.app import Declarations, assemble_engine, load_declarations
from bot.data_commands import cmd_purge
from bot.settings import Settings
from dialogs.campaign import DEFAULT_CAMPAIGN, Campaign
from dialogs.engine import DialogEngine
from dialogs.form_records import stored_media
from dialogs.sample_answers import CADRE_ANSWERS
from dialogs.served_notices import ServedNotice, nearest
from storage.repository import Repository
from tests.conftest import SHANGHAI, Chat, FakeClock, sqlite_repository
from tests.test_dialog_commands import SITE_ANSWERS

SHIPPED_TITLE = "《2021年全区“破难行动”示范点建设》"
AUTUMN_TITLE = "《2021年“巾帼建功”示范点推荐》"


def autumn_notice(shipped: Campaign) -> Campaign:
    """A second notice over the same roster: one task (示范点, due 7月15日), every unit but 城中区妇联."""
    [sites] = [task for task in shipped.tasks if task.id == "sites"]
    return shipped.model_copy(
        update={
            "id": "liuzhou-2021-autumn",
            "name": "2021年“巾帼建功”示范点推荐",
            "notice": "柳妇通〔2021〕35号",
            "tasks": [sites.model_copy(update={"deadline": date(2021, 7, 15)})],
            "units": [unit for unit in shipped.units if unit.code != "chengzhong"],
        }
    )


@pytest.fixture(name="autumn")
def autumn_fixture(declarations: Declarations) -> ServedNotice:
    return ServedNotice(autumn_notice(declarations.campaign), declarations.forms, declarations.machines)


@pytest.fixture(name="both")
def both_fixture(
    declarations: Declarations, autumn: ServedNotice, sqlite_template: Path, tmp_path: Path, clock: FakeClock
) -> Iterator[DialogEngine]:
    folder = tmp_path / "both"  # apart from the one-notice engine's database, which a test sets beside
    folder.mkdir()
    repository = sqlite_repository(sqlite_template, folder, declarations)
    repository.sync_units(autumn.id, [(u.code, u.name, u.area, u.kind) for u in autumn.campaign.units])
    served = Declarations(
        campaign=declarations.campaign,
        forms=declarations.forms,
        machines=declarations.machines,
        render=declarations.render,
        others=(autumn,),
    )
    engine = assemble_engine(served, repository, clock)
    yield engine
    repository.engine.dispose()


def pick(chat: Chat, *starts: str) -> str:
    """Press the button of the last menu that starts with ``starts`` (a notice's title, a form's name)."""
    wanted = "".join(starts)
    matching = [option for option in chat.options if option.startswith(wanted)]
    assert len(matching) == 1, (wanted, chat.options)
    return chat.send(matching[0])


def fill_site(chat: Chat, title: str, name: str) -> str:
    chat.send("新建")
    pick(chat, title, "示范点申报表")
    for answer in [name, *SITE_ANSWERS[1:]]:
        chat.send(answer)
    for index in range(3):
        if index:
            chat.send("添加一张照片")
        chat.photo(caption=f"活动现场{index + 1}", color=(len(name) * 9 % 256, 40, index * 70))
    chat.send("填写完毕，下一步")
    return chat.send("确认提交")


def fill_cadre(chat: Chat, title: str) -> str:
    chat.send("新建")
    pick(chat, title, "登记表")
    for answer in CADRE_ANSWERS:
        chat.send(answer)
    chat.photo(color=(1, 2, 3))
    chat.photo(color=(4, 5, 6))
    return chat.send("确认提交")


def autumn_site_answers(repository: Repository, submission_id: int) -> dict[str, object]:
    return dict(repository.versions(submission_id)[-1].answers)


def unit_id(repository: Repository, campaign_id: str, code: str) -> int:
    unit = repository.unit_by_code(campaign_id, code)
    assert unit is not None and unit.id is not None
    return unit.id


def test_the_engine_serves_both_and_stands_on_the_nearest(both: DialogEngine, autumn: ServedNotice) -> None:
    assert list(both.served) == ["liuzhou-2021", autumn.id]
    assert both.campaign.id == "liuzhou-2021", "its 登记表 is due on 5月25日, before the autumn's 7月15日"
    june = datetime(2021, 6, 1, 10, tzinfo=SHANGHAI)
    assert nearest(both.served.values(), june).id == autumn.id, "the 登记表 past its deadline: the autumn's"
    with pytest.raises(ValueError, match="one id"):
        DialogEngine(
            campaign=both.campaign,
            forms=both.forms,
            machines=both.machines,
            repository=both.repository,
            others=(ServedNotice(both.campaign, both.forms, both.machines),),
        )


def test_a_unit_in_one_notice_sees_the_service_as_before(both: DialogEngine, engine: DialogEngine) -> None:
    """城中区妇联 is only in the shipped notice: its 开始 and 新建 read word for word as with one notice."""
    alone, served = (
        Chat(engine, unit_code="chengzhong", user="a"),
        Chat(both, unit_code="chengzhong", user="b"),
    )
    for text in ("/start", "新建", "草稿", "已交"):
        assert served.send(text) == alone.send(text), text
        assert served.options == alone.options, text
    assert "《" not in "".join(served.options)


def test_new_lists_each_notices_forms_under_its_title(both: DialogEngine) -> None:
    chat = Chat(both)
    greeting = chat.send("/start")
    assert "《柳妇通〔2021〕29号》、《柳妇通〔2021〕35号》" in greeting
    lines = chat.text.splitlines()
    shipped, autumn = lines.index(SHIPPED_TITLE), lines.index(AUTUMN_TITLE)
    assert shipped < autumn, "the notice nearest its deadline first"
    assert [line for line in lines[shipped + 1 : autumn] if "登记表" in line], (
        "登记表 under the shipped notice"
    )
    assert [line for line in lines[autumn + 1 :] if line.startswith("· 示范点申报表")]
    assert not [line for line in lines[autumn + 1 :] if "登记表" in line], "the autumn notice asks no 登记表"
    assert "7月15日" in lines[autumn + 1]
    assert all(option.startswith((SHIPPED_TITLE, AUTUMN_TITLE)) for option in chat.options), chat.options
    assert sum(option.startswith(f"{AUTUMN_TITLE}示范点申报表") for option in chat.options) == 1


def test_a_form_of_each_notice_keeps_its_numbers_and_counts_apart(
    both: DialogEngine, autumn: ServedNotice
) -> None:
    chat = Chat(both)
    site = fill_site(chat, AUTUMN_TITLE, "鱼峰区螺蛳粉产业园")
    assert "已提交《示范点申报表》" in site, site
    cadre = fill_cadre(chat, SHIPPED_TITLE)
    assert "已提交《登记表》" in cadre, cadre

    repository = both.repository
    [(autumn_site, _v)] = repository.current_versions(autumn.id, unit_id(repository, autumn.id, "yufeng"))
    [(shipped_cadre, _w)] = repository.current_versions(
        "liuzhou-2021", unit_id(repository, autumn.id, "yufeng")
    )
    assert (autumn_site.form_id, shipped_cadre.form_id) == ("site_application", "cadre_registration")
    assert autumn_site.id != shipped_cadre.id

    chat.send("新建")
    options = " ".join(chat.options)
    assert f"{AUTUMN_TITLE}示范点申报表（已交1份" in options, options
    assert f"{SHIPPED_TITLE}示范点申报表（已交0份" in options, "the autumn's site is not the shipped one's"
    assert f"{SHIPPED_TITLE}登记表（已交1" in options, options

    listed = chat.send("已交").splitlines()
    shipped_at, autumn_at = listed.index(SHIPPED_TITLE), listed.index(AUTUMN_TITLE)
    cadre_line = next(i for i, line in enumerate(listed) if f"#{shipped_cadre.id}" in line)
    site_line = next(i for i, line in enumerate(listed) if f"#{autumn_site.id}" in line)
    assert shipped_at < cadre_line < autumn_at < site_line, listed
    assert f"查看 #{autumn_site.id}" in chat.options and f"查看 #{shipped_cadre.id}" in chat.options

    chat.send(f"下载 #{autumn_site.id}")
    [word] = [reply.document for reply in chat.replies if reply.document is not None]
    viewer = both.identity(chat.channel, chat.user)
    opened = both.open_document(word, viewer)
    assert opened is not None and opened.file_name.startswith("示范点申报表-"), "the autumn's Word file"
    printed = Document(str(opened.path))
    cells = {cell.text for table in printed.tables for row in table.rows for cell in row.cells}
    assert "鱼峰区螺蛳粉产业园" in "".join(cells), "its answers printed"
    form = both.served[autumn.id].forms["site_application"]
    [photo, *_rest] = stored_media(form, autumn_site_answers(repository, autumn_site.id or 0))
    assert both.open_document(photo, viewer) is not None, "its photos open for the unit's contact"

    chat.send("进度")
    shipped_report, autumn_report = (reply.text for reply in chat.replies)
    assert shipped_report.startswith("《柳妇通〔2021〕29号》报送情况"), shipped_report
    assert autumn_report.startswith("《柳妇通〔2021〕35号》报送情况"), autumn_report
    assert "示范点0/≥1" in shipped_report and "示范点1/≥1✓" in autumn_report, "each notice its own count"

    shown = chat.send(f"查看{autumn_site.id}号")
    assert "鱼峰区螺蛳粉产业园" in shown and "没有" not in chat.replies[0].text

    chat.send(f"修改{autumn_site.id}号")
    assert chat.draft().campaign_id == autumn.id, "a submission reopened is corrected in its own notice"
    assert chat.draft().submission_id == autumn_site.id


def test_drafts_are_listed_under_their_notice_and_resumed_in_it(
    both: DialogEngine, autumn: ServedNotice
) -> None:
    chat = Chat(both)
    chat.send("新建")
    pick(chat, AUTUMN_TITLE, "示范点申报表")
    chat.send("柳东新区汽车城")
    autumn_draft = chat.draft()
    assert autumn_draft.campaign_id == autumn.id
    chat.send("新建")
    pick(chat, SHIPPED_TITLE, "登记表")
    chat.send(CADRE_ANSWERS[0])
    assert chat.draft().campaign_id == "liuzhou-2021"

    chat.send("草稿")
    autumn_entry = [option for option in chat.options if option.startswith(AUTUMN_TITLE)]
    shipped_entry = [option for option in chat.options if option.startswith(SHIPPED_TITLE)]
    assert len(autumn_entry) == 1 and "示范点申报表·柳东新区汽车城" in autumn_entry[0], chat.options
    assert len(shipped_entry) == 1 and "登记表" in shipped_entry[0], chat.options

    resumed = chat.send(autumn_entry[0])
    assert chat.draft().id == autumn_draft.id
    assert "（2/17）申报单位共有多少人" in resumed, "the autumn's 示范点申报表, where it was left"
    chat.send(SITE_ANSWERS[1])
    stored = both.repository.draft(autumn_draft.id or 0)
    assert stored is not None and stored.campaign_id == autumn.id
    assert SITE_ANSWERS[1] in str(stored.answers), "the answer went into the autumn's draft"

    other = Chat(both, user="another")  # a second contact of the unit: her turn starts in no draft
    other.send("草稿")
    assert len(other.options) == 2, other.options


def two_notice_folder(tmp_path: Path) -> Path:
    """A notices' folder: the shipped notice, and an autumn one a month behind it."""
    folder = tmp_path / "campaigns"
    folder.mkdir()
    shipped = DEFAULT_CAMPAIGN.read_text(encoding="utf-8")
    (folder / "liuzhou-2021.toml").write_text(shipped, encoding="utf-8")
    autumn = (
        shipped.replace('id = "liuzhou-2021"', 'id = "liuzhou-2021-autumn"', 1)
        .replace('notice = "柳妇通〔2021〕29号"', 'notice = "柳妇通〔2021〕35号"', 1)
        .replace("deadline = 2021-05-25", "deadline = 2021-06-25")
        .replace("select_deadline = 2021-05-30", "select_deadline = 2021-06-30")
    )
    assert autumn.count("liuzhou-2021-autumn") == 1 and "2021-06-25" in autumn
    (folder / "autumn.toml").write_text(autumn, encoding="utf-8")
    return folder


def test_a_folder_of_two_notices_is_served_by_one_engine(tmp_path: Path, clock: FakeClock) -> None:
    """``INTAKE_CAMPAIGNS_DIR`` with two notice files: both served, the nearest as ``campaign``."""
    loaded = load_declarations(Settings(campaigns_dir=two_notice_folder(tmp_path)), clock)
    assert loaded.campaign.id == "liuzhou-2021"
    assert [notice.id for notice in loaded.others] == ["liuzhou-2021-autumn"]
    assert loaded.others[0].machines.keys() == loaded.machines.keys()


def test_purge_names_its_notice_when_a_folder_holds_several(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = two_notice_folder(tmp_path)
    monkeypatch.setenv("INTAKE_CAMPAIGNS_DIR", str(folder))
    monkeypatch.setenv("INTAKE_DATA_DIR", str(tmp_path / "data"))
    with pytest.raises(SystemExit, match="INTAKE_CAMPAIGN_FILE 指明要删除个人信息的那个通知"):
        cmd_purge(argparse.Namespace(before="2022-07-01", force=True, db=None))


def test_one_campaign_file_is_served_alone(tmp_path: Path) -> None:
    loaded = load_declarations(Settings(campaign_file=DEFAULT_CAMPAIGN))
    assert loaded.campaign.id == "liuzhou-2021" and loaded.others == ()
