"""The catalogue of notices from a folder: good notices load with their own forms and a state from their
dates; each broken file is left out with a Chinese message naming it, what is wrong and what to do,
and the others load all the same; ``intake notices`` lists both, exiting non-zero when a file is wrong."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.app import load_declarations
from bot.settings import Settings
from dialogs.campaign import DEFAULT_CAMPAIGN
from dialogs.catalogue import Catalogue, Notice, NoticeState, load_catalogue, load_notice_file
from dialogs.declarations import DeclarationError, FormDecl
from renderers.registry import form_renderers
from tests.conftest import SHANGHAI
from tests.fixtures.imported_campaign import imported_campaign

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = DEFAULT_CAMPAIGN.read_text(encoding="utf-8")


def shipped_notice(notice_id: str, number: str, text: str = SHIPPED) -> str:
    """The shipped notice under another id and 文号, its deadlines in 2099 and its data kept until 2100:
    open for as long as these tests will run."""
    text = re.sub(r"(?m)^id = .*$", f'id = "{notice_id}"', text, count=1)
    text = re.sub(r"(?m)^notice = .*$", f'notice = "{number}"', text, count=1)
    return text.replace("2021-", "2099-").replace("2022-", "2100-")


GOOD = shipped_notice("sanba-2099", "柳妇通〔2099〕8号")


@pytest.fixture(name="imported_notice", scope="module")
def imported_notice_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A notice in a folder of its own, ``campaign.toml`` beside ``forms/`` of forms imported from their
    Word files (built once: the import reads four Word files)."""
    folder = tmp_path_factory.mktemp("imported") / "jinguo"
    built = imported_campaign(folder)
    text = built.read_text(encoding="utf-8")
    text = re.sub(r"(?m)^id = .*$", 'id = "jinguo-2021"', text, count=1)
    text = re.sub(r"(?m)^notice = .*$", 'notice = "柳妇通〔2021〕40号"', text, count=1)
    (folder / "campaign.toml").write_text(text, encoding="utf-8")
    built.unlink()
    shutil.rmtree(folder / "blank")
    return folder


def notices_folder(tmp_path: Path, imported_notice: Path, **files: str) -> Path:
    """``campaigns/`` with the good shipped-like notice, the imported one, and ``files`` (name → text)."""
    folder = tmp_path / "campaigns"
    folder.mkdir()
    (folder / "sanba.toml").write_text(GOOD, encoding="utf-8")
    shutil.copytree(imported_notice, folder / "jinguo")
    for name, text in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def printable(forms: Mapping[str, FormDecl]) -> set[str]:
    return set(form_renderers(forms))


def test_two_notices_load_each_with_its_own_forms(tmp_path: Path, imported_notice: Path) -> None:
    catalogue = load_catalogue(notices_folder(tmp_path, imported_notice), printable)
    assert catalogue.problems == ()
    assert [(n.id, n.number, n.source) for n in catalogue.notices] == [
        ("jinguo-2021", "柳妇通〔2021〕40号", "campaigns/jinguo/campaign.toml"),
        ("sanba-2099", "柳妇通〔2099〕8号", "campaigns/sanba.toml"),
    ]
    imported, shipped = catalogue.notices
    assert {t.form for t in imported.campaign.tasks} == {
        "imported_cadre",
        "imported_course",
        "imported_site",
        "imported_team",
    }
    template = Path(imported.forms["imported_team"].template)
    assert template.is_file() and template.parent == tmp_path / "campaigns" / "jinguo" / "forms"
    assert "imported_team" not in shipped.forms  # the forms beside one notice are not another's
    assert shipped.forms["site_application"].template == ""
    assert len(shipped.campaign.units) == 14
    now = datetime(2026, 12, 8, 10, 0, tzinfo=SHANGHAI)
    assert (imported.state(now), shipped.state(now)) == (NoticeState.CLOSED, NoticeState.OPEN)
    assert (imported.next_deadline(now), shipped.next_deadline(now)) == (None, date(2099, 5, 25))


@pytest.fixture(name="shipped", scope="module")
def shipped_fixture() -> Notice:
    (notice,) = load_notice_file(DEFAULT_CAMPAIGN).notices
    return notice


@pytest.mark.parametrize(
    ("said", "moment", "state", "next_deadline"),
    [
        ({}, datetime(2021, 5, 1, 12, 0), NoticeState.OPEN, date(2021, 5, 25)),
        ({}, datetime(2021, 5, 25, 23, 30), NoticeState.OPEN, date(2021, 5, 25)),  # its deadline day
        ({}, datetime(2021, 5, 26, 0, 10), NoticeState.OPEN, date(2021, 8, 30)),
        ({}, datetime(2021, 8, 30, 23, 59), NoticeState.OPEN, date(2021, 8, 30)),
        ({}, datetime(2021, 8, 31, 0, 0), NoticeState.CLOSED, None),
        ({}, datetime(2022, 6, 30, 23, 0), NoticeState.CLOSED, None),
        ({}, datetime(2022, 7, 1, 0, 0), NoticeState.ARCHIVED, None),  # its data past keeping
        ({"opens_on": date(2021, 5, 10)}, datetime(2021, 5, 9, 23, 0), NoticeState.DRAFT, date(2021, 5, 25)),
        ({"opens_on": date(2021, 5, 10)}, datetime(2021, 5, 10, 0, 0), NoticeState.OPEN, date(2021, 5, 25)),
        ({"status": "draft"}, datetime(2021, 6, 1, 9, 0), NoticeState.DRAFT, date(2021, 8, 30)),
        ({"status": "archived"}, datetime(2021, 5, 1, 9, 0), NoticeState.ARCHIVED, date(2021, 5, 25)),
        (
            {"status": "archived", "opens_on": date(2021, 6, 1)},
            datetime(2021, 5, 1),
            NoticeState.ARCHIVED,
            date(2021, 5, 25),
        ),
    ],
)
def test_a_notices_state_follows_its_dates_in_its_own_time_zone_unless_it_says_otherwise(
    shipped: Notice, said: dict[str, object], moment: datetime, state: NoticeState, next_deadline: date | None
) -> None:
    notice = Notice(shipped.campaign.model_copy(update=said), shipped.forms, shipped.source)
    now = moment.replace(tzinfo=SHANGHAI)
    assert (notice.state(now), notice.next_deadline(now)) == (state, next_deadline)
    in_utc = now.astimezone(UTC)  # the same moment, another day in UTC around midnight in Shanghai
    assert (notice.state(in_utc), notice.next_deadline(in_utc)) == (state, next_deadline)


def test_the_shipped_campaign_reads_as_before_and_is_archived_today() -> None:
    notice = load_catalogue(DEFAULT_CAMPAIGN.parent, printable).notices[0]
    assert (notice.id, notice.campaign.status, notice.campaign.opens_on) == ("liuzhou-2021", "auto", None)
    assert notice.state(datetime.now(SHANGHAI)) == NoticeState.ARCHIVED


BROKEN: dict[str, tuple[str, str, list[str]]] = {
    "bad TOML": (
        "broken.toml",
        shipped_notice("x1", "x〔1〕1号").replace('name = "2021年', "name = 2021年"),
        ["campaigns/broken.toml 第 5 行", "值的后面还有多余的字：文字要整个写在英文双引号里"],
    ),
    "an unterminated string": (
        "broken.toml",
        shipped_notice("x1", "x〔1〕1号").replace('city = "柳州市"', 'city = "柳州市'),
        ["campaigns/broken.toml 第 8 行", "引号没有配对"],
    ),
    "a form that does not exist": (
        "broken.toml",
        shipped_notice("x2", "x〔1〕2号").replace('form = "site_application"', 'form = "site_aplication"'),
        [
            'campaigns/broken.toml 第 3 个 [[tasks]]（id = "sites"）的 form 写的是 "site_aplication"，'
            "没有这个表单",
            "请改成已有的表单编号",
            "intake form import",
        ],
    ),
    "a date that is not a date": (
        "broken.toml",
        shipped_notice("x3", "x〔1〕3号").replace("deadline = 2099-08-30", 'deadline = "八月底"'),
        [
            "campaigns/broken.toml 有误",
            "第 3 个 [[tasks]]（id = \"sites\"） 的 deadline 写的是 '八月底'，应是日期",
        ],
    ),
    "a misspelt key": (
        "broken.toml",
        shipped_notice("x4", "x〔1〕4号").replace("quota_min = 2\nquota_max", "quota_mni = 2\nquota_max"),
        [
            '缺少 第 1 个 [[tasks]]（id = "cadres"） 的 quota_min：请补上这一项',
            '不认识 第 1 个 [[tasks]]（id = "cadres"） 的 quota_mni 这一项（名称写错了？）',
        ],
    ),
    "a kind of unit that is not one": (
        "broken.toml",
        shipped_notice("x5", "x〔1〕5号").replace('kind = "new_area"', 'kind = "xinqu"', 1),
        [
            "第 11 个 [[units]]（code = \"liudong\"） 的 kind 写的是 'xinqu'，"
            '只能是 "county"、"new_area"、"city_org" 之一'
        ],
    ),
    "a time zone nobody knows": (
        "broken.toml",
        shipped_notice("x6", "x〔1〕6号").replace('timezone = "Asia/Shanghai"', 'timezone = "Asia/Liuzhou"'),
        ["timezone 'Asia/Liuzhou' 不是已知的时区", "Asia/Shanghai"],
    ),
    "a unit listed twice": (
        "broken.toml",
        shipped_notice("x7", "x〔1〕7号").replace('code = "liunan"', 'code = "yufeng"'),
        ["units 的 code 有重复：yufeng"],
    ),
    "a broken form beside the notice": (
        "xinnian/campaign.toml",
        shipped_notice("x8", "x〔1〕8号"),
        [
            "campaigns/xinnian/campaign.toml 没有载入",
            "表单 campaigns/xinnian/forms/family.toml 有误",
            "缺少 title",
        ],
    ),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_a_broken_notice_is_left_out_with_a_chinese_message_and_the_others_load(
    tmp_path: Path, imported_notice: Path, case: str
) -> None:
    name, text, fragments = BROKEN[case]
    files = {name: text}
    if case == "a broken form beside the notice":
        files["xinnian/forms/family.toml"] = 'id = "family"\nshort_title = "家庭"\n'
    catalogue = load_catalogue(notices_folder(tmp_path, imported_notice, **files), printable)
    assert [n.id for n in catalogue.notices] == ["jinguo-2021", "sanba-2099"]
    (problem,) = catalogue.problems
    assert problem.source == f"campaigns/{name}"
    for fragment in fragments:
        assert fragment in problem.message
    assert not re.search(r"[A-Z][a-z]+ [a-z]+ [a-z]+", problem.message), problem.message  # no English prose


def test_two_files_of_one_id_or_one_文号_are_both_left_out(tmp_path: Path, imported_notice: Path) -> None:
    """Taking either would put two notices' answers under one; the third loads."""
    same_id = shipped_notice("sanba-2099", "柳妇通〔2099〕9号")
    same_number = shipped_notice("other-2099", "柳妇通〔2099〕 40 号")  # 文号 of jinguo, spaced
    folder = notices_folder(tmp_path, imported_notice, **{"copy.toml": same_id, "other.toml": same_number})
    folder.joinpath("jinguo", "campaign.toml").write_text(
        folder.joinpath("jinguo", "campaign.toml")
        .read_text(encoding="utf-8")
        .replace("〔2021〕40号", "〔2099〕40号"),
        encoding="utf-8",
    )
    (folder / "fine.toml").write_text(shipped_notice("fine-2099", "柳妇通〔2099〕1号"), encoding="utf-8")
    catalogue = load_catalogue(folder, printable)
    assert [n.id for n in catalogue.notices] == ["fine-2099"]
    messages = {p.source: p.message for p in catalogue.problems}
    assert set(messages) == {
        "campaigns/copy.toml",
        "campaigns/sanba.toml",
        "campaigns/other.toml",
        "campaigns/jinguo/campaign.toml",
    }
    assert "id“sanba-2099”与 campaigns/sanba.toml 相同" in messages["campaigns/copy.toml"]
    assert "id“sanba-2099”与 campaigns/copy.toml 相同" in messages["campaigns/sanba.toml"]
    assert (
        "文号“柳妇通〔2099〕 40 号”与 campaigns/jinguo/campaign.toml 相同" in messages["campaigns/other.toml"]
    )
    assert "请删去一个" in messages["campaigns/other.toml"]


def test_a_form_that_cannot_print_leaves_its_notice_out(tmp_path: Path, imported_notice: Path) -> None:
    folder = notices_folder(tmp_path, imported_notice)
    catalogue = load_catalogue(folder, lambda forms: {f for f in printable(forms) if f != "site_application"})
    assert [n.id for n in catalogue.notices] == ["jinguo-2021"]
    (problem,) = catalogue.problems
    assert problem.message.startswith(
        'campaigns/sanba.toml 第 3 个 [[tasks]]（id = "sites"）的表单 site_application'
    )
    assert "intake form import" in problem.message
    damaged = folder / "jinguo" / "forms" / "imported_team.docx"
    damaged.write_bytes(b"PK\x03\x04 not a Word file")
    catalogue = load_catalogue(folder, printable)
    assert [n.id for n in catalogue.notices] == ["sanba-2099"]
    assert catalogue.problems[0].message.startswith("campaigns/jinguo/campaign.toml 的表单没法打印")


def test_an_unexpected_failure_leaves_one_notice_out_not_the_catalogue(
    tmp_path: Path, imported_notice: Path
) -> None:
    def fails_on_imported(forms: Mapping[str, FormDecl]) -> set[str]:
        if "imported_team" in forms:
            raise RuntimeError("a bug")
        return printable(forms)

    catalogue = load_catalogue(notices_folder(tmp_path, imported_notice), fails_on_imported)
    assert [n.id for n in catalogue.notices] == ["sanba-2099"]
    assert catalogue.problems[0].message == (
        "campaigns/jinguo/campaign.toml 读取时出了意外的错误（RuntimeError）：请把这个文件交给维护人员检查。"
    )


def test_a_missing_or_empty_folder_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    missing = load_catalogue(tmp_path / "nowhere")
    assert missing.notices == () and "找不到通知目录" in missing.problems[0].message
    (tmp_path / "empty").mkdir()
    empty = load_catalogue(tmp_path / "empty")
    assert empty.notices == () and "里没有通知" in empty.problems[0].message


ROSTER = "\n".join(line for line in SHIPPED.split("\n[[tasks]]")[0].splitlines() if not line.startswith("#"))
ROSTER = "[[units]]" + ROSTER.split("[[units]]", 1)[1]


def picking(units: str, notice_id: str = "pick-2099") -> str:
    """The good notice with its inline units replaced by ``units = …``."""
    head, tail = GOOD.split("[[units]]", 1)
    tasks = "[[tasks]]" + tail.split("[[tasks]]", 1)[1]
    head = re.sub(r"(?m)^id = .*$", f'id = "{notice_id}"', head, count=1)
    head = re.sub(r"(?m)^notice = .*$", f'notice = "{notice_id}号"', head, count=1)
    head = head.replace("\n[contact]", f"units = {units}\n\n[contact]", 1)
    return head + tasks


@pytest.mark.parametrize(
    ("units", "codes"),
    [
        ('"all"', None),
        ('{ kinds = ["new_area", "city_org"] }', ["liudong", "beibu", "jiguan", "zonggonghui"]),
        ('{ codes = ["yufeng", "liunan"] }', ["yufeng", "liunan"]),  # in the roster's order
        ('{ kinds = ["new_area"], codes = ["liunan"] }', ["liunan", "liudong", "beibu"]),
    ],
)
def test_a_notice_picks_its_units_from_the_roster(
    tmp_path: Path, units: str, codes: list[str] | None
) -> None:
    folder = tmp_path / "campaigns"
    folder.mkdir()
    (folder / "roster.toml").write_text(ROSTER, encoding="utf-8")
    (folder / "pick.toml").write_text(picking(units), encoding="utf-8")
    catalogue = load_catalogue(folder, printable)
    assert catalogue.problems == ()
    (notice,) = catalogue.notices  # roster.toml is not a notice
    shipped_codes = [u.code for u in load_notice_file(DEFAULT_CAMPAIGN).notices[0].campaign.units]
    assert [u.code for u in notice.campaign.units] == (codes if codes is not None else shipped_codes)


@pytest.mark.parametrize(
    ("units", "roster", "fragments"),
    [
        ('"all"', None, ["没有名册 roster.toml", "直接列出 [[units]]"]),
        ('{ codes = ["yufeng", "nanning"] }', ROSTER, ["units.codes 中 nanning 不在名册 roster.toml 里"]),
        ("{ kinds = [] }", ROSTER, ["[units]：请写上 kinds（单位类别）或 codes（单位代码）"]),
        ('{ kind = ["county"] }', ROSTER, ["不认识 [units] 的 kind 这一项（名称写错了？）"]),
        ('"some"', ROSTER, ["units 写的是 'some'：请写 \"all\""]),
        (
            '"all"',
            ROSTER.replace('code = "liunan"', 'code = "yufeng"'),
            ["它的单位来自名册 roster.toml，而名册有误"],
        ),
    ],
)
def test_a_pick_that_cannot_be_made_leaves_its_notice_out(
    tmp_path: Path, units: str, roster: str | None, fragments: list[str]
) -> None:
    folder = tmp_path / "campaigns"
    folder.mkdir()
    if roster is not None:
        (folder / "roster.toml").write_text(roster, encoding="utf-8")
    (folder / "pick.toml").write_text(picking(units), encoding="utf-8")
    (folder / "inline.toml").write_text(GOOD, encoding="utf-8")
    catalogue = load_catalogue(folder, printable)
    assert [n.id for n in catalogue.notices] == ["sanba-2099"]  # its units inline: no roster needed
    message = next(p.message for p in catalogue.problems if p.source == "campaigns/pick.toml")
    for fragment in fragments:
        assert fragment in message
    if "名册有误" in fragments[0]:
        roster_problem = next(p.message for p in catalogue.problems if p.source == "campaigns/roster.toml")
        assert "units 的 code 有重复：yufeng" in roster_problem


def intake_notices(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("INTAKE_")} | env
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "notices"],
        env=environment,
        cwd=tmp_path,  # no .env of the developer's
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_intake_notices_lists_the_notices_and_says_which_file_is_wrong(
    tmp_path: Path, imported_notice: Path
) -> None:
    broken = shipped_notice("x2", "x〔1〕2号").replace(
        'form = "site_application"', 'form = "site_aplication"'
    )
    folder = notices_folder(tmp_path, imported_notice, **{"broken.toml": broken})
    result = intake_notices(tmp_path, INTAKE_CAMPAIGNS_DIR=str(folder))
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"通知目录 {folder} 中有 2 个通知："
    assert lines[1].split("  ")[1:] == [
        "jinguo-2021",
        "柳妇通〔2021〕40号",
        "《2021年全区“破难行动”示范点建设》",
        "已截止",
        "14 个单位",
        "截止 2021-08-30（已过）",
        "campaigns/jinguo/campaign.toml",
    ]
    days = (date(2099, 5, 25) - datetime.now(SHANGHAI).date()).days
    assert lines[2].split("  ")[1:] == [
        "sanba-2099",
        "柳妇通〔2099〕8号",
        "《2021年全区“破难行动”示范点建设》",
        "进行中",
        "14 个单位",
        f"最近截止 2099-05-25（还有 {days} 天）",
        "campaigns/sanba.toml",
    ]
    assert "有 1 处问题，相关通知没有载入（其余照常）" in result.stderr
    assert (
        'campaigns/broken.toml 第 3 个 [[tasks]]（id = "sites"）的 form 写的是 "site_aplication"'
        in result.stderr
    )
    assert "Traceback" not in result.stderr

    (folder / "broken.toml").unlink()
    fine = intake_notices(tmp_path, INTAKE_CAMPAIGNS_DIR=str(folder))
    assert (fine.returncode, fine.stderr) == (0, "")
    assert fine.stdout.splitlines()[0] == f"通知目录 {folder} 中有 2 个通知："


def test_intake_campaign_file_wins_over_the_folder(tmp_path: Path, imported_notice: Path) -> None:
    folder = notices_folder(tmp_path, imported_notice, **{"broken.toml": "id = "})
    single = folder / "jinguo" / "campaign.toml"
    result = intake_notices(tmp_path, INTAKE_CAMPAIGNS_DIR=str(folder), INTAKE_CAMPAIGN_FILE=str(single))
    assert (result.returncode, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    assert lines[0] == f"INTAKE_CAMPAIGN_FILE（{single}）中有 1 个通知："
    assert [line.split("  ")[1] for line in lines[1:]] == ["jinguo-2021"]
    assert "imported_team" in _only(load_notice_file(single)).forms  # its forms/ beside it
    by_default = intake_notices(tmp_path)  # neither set: the shipped folder
    assert by_default.returncode == 0 and by_default.stdout.splitlines()[1].split("  ")[1] == "liuzhou-2021"


def _only(catalogue: Catalogue) -> Notice:
    assert catalogue.problems == ()
    (notice,) = catalogue.notices
    return notice


def test_a_single_notice_file_picks_from_the_roster_beside_it(tmp_path: Path) -> None:
    (tmp_path / "roster.toml").write_text(ROSTER, encoding="utf-8")
    single = tmp_path / "pick.toml"
    single.write_text(picking('{ kinds = ["city_org"] }'), encoding="utf-8")
    notice = _only(load_notice_file(single, printable))
    assert (notice.source, [u.code for u in notice.campaign.units]) == (
        str(single),
        ["jiguan", "zonggonghui"],
    )


def test_the_service_reads_its_notice_file_as_the_catalogue_does(tmp_path: Path) -> None:
    """`intake run` takes what `intake notices` lists: units picked from the roster beside the file,
    and a broken file refused with the catalogue's Chinese message."""
    (tmp_path / "roster.toml").write_text(ROSTER, encoding="utf-8")
    single = tmp_path / "pick.toml"
    single.write_text(picking('{ kinds = ["city_org"] }'), encoding="utf-8")
    declarations = load_declarations(Settings(campaign_file=single))
    assert [u.code for u in declarations.campaign.units] == ["jiguan", "zonggonghui"]
    single.write_text(picking('{ codes = ["nanning"] }'), encoding="utf-8")
    with pytest.raises(DeclarationError, match=r"nanning 不在名册 roster\.toml 里"):
        load_declarations(Settings(campaign_file=single))
