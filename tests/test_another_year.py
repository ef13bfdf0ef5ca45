"""A year is one campaign file: another city's notice with other task ids, other quotas, other city
targets and one more unit runs the whole dialog, /status, /pending, /export and `intake render
--statistics` with no code change — and no code names a task, an answer or a group of a campaign."""

from __future__ import annotations

import io
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from docx import Document

from bot.app import Declarations, assemble_engine
from dialogs.campaign import load_campaign
from dialogs.engine import DialogEngine
from dialogs.sample_answers import CADRE_ANSWERS, chinese_text
from tests.conftest import Chat, FakeClock, document_path, exported, sqlite_repository
from tests.test_dialog_commands import SITE_ANSWERS
from tests.test_supervision import ask, supervisor

ROOT = Path(__file__).resolve().parent.parent
ANOTHER_YEAR = ROOT / "tests" / "campaigns" / "another-year.toml"


@pytest.fixture(name="other")
def other_fixture(
    declarations: Declarations, sqlite_template: Path, tmp_path: Path, clock: FakeClock
) -> Iterator[DialogEngine]:
    campaign = load_campaign(ANOTHER_YEAR, declarations.forms)
    other = Declarations(campaign=campaign, forms=declarations.forms, machines=declarations.machines)
    repository = sqlite_repository(sqlite_template, tmp_path, other)
    yield assemble_engine(other, repository, clock)
    repository.engine.dispose()


def new(chat: Chat, form_title: str) -> None:
    chat.send("/new")
    chat.send(next(option for option in chat.options if option.startswith(form_title)))


def submit_candidate(chat: Chat, level: str) -> str:
    new(chat, "登记表")
    answers = list(CADRE_ANSWERS)
    answers[10] = level
    for answer in answers:
        chat.send(answer)
    chat.photo(color=(1, 2, 3))
    chat.photo(color=(3, 2, 1))
    return chat.send("确认提交")


def submit_site(chat: Chat, name: str) -> str:
    new(chat, "示范点申报表")
    for answer in [name, *SITE_ANSWERS[1:]]:
        chat.send(answer)
    for index in range(3):
        if index:
            chat.send("添加一张照片")
        chat.photo(caption=f"活动现场{index + 1}", color=(len(name) * 9 % 256, 40, index * 70))
    chat.send("填写完毕，下一步")
    return chat.send("确认提交")


def test_the_whole_campaign_runs_from_its_file(other: DialogEngine, clock: FakeClock, tmp_path: Path) -> None:
    new_area = Chat(other, unit_code="gaoxinqu", user="gaoxin")
    new_area.send("/new")
    menu = new_area.options
    assert any(o.startswith("登记表（已交0份，需1份") for o in menu), "this year's quota: one candidate"
    assert any(o.startswith("示范点申报表（已交0份，需至少2份") for o in menu)
    assert not any(o.startswith("课程推荐表") for o in menu), "courses are the counties' task this year"
    assert "已提交《登记表》" in submit_candidate(new_area, "乡镇（街道）妇联执委")
    assert "已提交《示范点申报表》" in submit_site(new_area, "高新区数字产业园")

    county = Chat(other, unit_code="dongqu", user="dongqu")
    new(county, "课程推荐表")
    for number, title in enumerate(["巧用妇女议事会化解邻里矛盾", "直播带货助农增收", "家风家教大讲堂"]):
        if number:
            county.send("添加一节课程")
        for answer in [title, "讲授", chinese_text(50), "覃美玲", "1982.07", "东区妇联主席", "跳过"]:
            county.send(answer)
    county.send("填写完毕")
    county.send("陆晓红 东区妇联组织部部长")
    county.send("13977211234")
    assert "已提交《课程推荐表》" in county.send("确认提交")
    assert "已提交《登记表》" in submit_candidate(county, "村（社区）妇联执委")

    boss = supervisor(other, clock)
    status = ask(other, boss, "/status")
    assert "《鱼妇通〔2021〕7号》报送情况" in status
    assert "全市新领域示范点 1/3 个" in status, "the count target counts its own task"
    assert "全市候选人 2/4 名" in status
    assert "候选人 2 名，其中乡镇执委 1 名，占 50%（要求≥50%）" in status, "the share reads its own field"
    assert "高新区  登记表1/1✓  示范点1/≥2" in status, "the extra unit, with this year's quotas"
    assert "东区  登记表1/1✓  课程3/≥3✓" in status
    pending = ask(other, boss, "/pending")
    assert "高新区妇联（联系人1名）：示范点申报表还差1份" in pending and "东区妇联" not in pending
    assert "西区妇联（尚无联系人绑定）" in pending

    _answer, [export] = exported(other, boss)
    names = zipfile.ZipFile(document_path(other, export)).namelist()
    assert "市妇联-新领域建妇联示范点统计表.docx" in names
    assert any(name.startswith("高新区妇联/新领域妇联示范点/") for name in names), names
    assert any(name.startswith("东区妇联/妇联微课堂/") for name in names), names


def test_intake_render_statistics_lists_this_years_sites(other: DialogEngine, tmp_path: Path) -> None:
    submit_site(Chat(other, unit_code="gaoxinqu", user="gaoxin"), "高新区数字产业园")
    output = tmp_path / "统计表.docx"
    url = str(other.repository.engine.url)
    env = {
        "PATH": "/usr/bin:/bin",
        "INTAKE_CAMPAIGN_FILE": str(ANOTHER_YEAR),
        "INTAKE_DATA_DIR": str(other.repository.data_dir),
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.cli",
            "render",
            "--statistics",
            "city",
            "-o",
            str(output),
            "--db",
            url,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    document = Document(io.BytesIO(output.read_bytes()))
    cells = " ".join(cell.text for table in document.tables for row in table.rows for cell in row.cells)
    assert SITE_ANSWERS[9] in cells and "2021年4月18日" in cells, cells


#: Names a campaign file gives, that code must never spell out (they are the shipped year's).
CAMPAIGN_NAMES = ['"sites"', '"cadres"', '"courses"', '"cadre_level"', "'sites'", "'cadres'", "'courses'"]
#: Code that serves every form and every year. A form's own renderer (and its sample record) knows
#: that form's field keys by design: it is the form's layout.
SHARED = [
    *sorted((ROOT / "bot").rglob("*.py")),
    *sorted((ROOT / "dialogs").glob("*.py")),
    *(ROOT / "renderers" / name for name in ("__init__.py", "export.py", "records.py", "registry.py")),
    *(ROOT / "renderers" / name for name in ("docx_layout.py", "docx_package.py", "photos.py", "preview.py")),
]


def test_no_code_names_a_campaigns_tasks_answers_or_groups() -> None:
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in SHARED
        if path.name != "sample_answers.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if any(name in line for name in CAMPAIGN_NAMES) and not re.match(r"\s*#", line)
    ]
    assert found == [], "\n".join(found)


def test_the_status_labels_are_written_once() -> None:
    spelled = [
        str(path.relative_to(ROOT))
        for path in [*SHARED, *sorted((ROOT / "renderers").glob("*.py"))]
        if "已退回修改" in path.read_text(encoding="utf-8") or "待审核" in path.read_text(encoding="utf-8")
    ]
    assert spelled == ["dialogs/presentation.py"]


def test_two_notices_over_one_roster_keep_their_drafts_and_submissions_apart(
    declarations: Declarations, sqlite_template: Path, tmp_path: Path, clock: FakeClock
) -> None:
    """Two notices pick 鱼峰区妇联 from one roster: what its contacts left in one notice is never listed,
    resumed or shown in the other (issue 24)."""
    campaign = declarations.campaign.model_copy(update={"id": "liuzhou-2022", "notice": "柳妇通〔2022〕3号"})
    other = Declarations(campaign=campaign, forms=declarations.forms, machines=declarations.machines)
    repository = sqlite_repository(sqlite_template, tmp_path, declarations)
    repository.sync_units(campaign.id, [(u.code, u.name, u.area, u.kind) for u in campaign.units])
    try:
        this_year = assemble_engine(declarations, repository, clock)
        next_year = assemble_engine(other, repository, clock)
        assert this_year.repository.unit_by_code(declarations.campaign.id, "yufeng") == (
            next_year.repository.unit_by_code(campaign.id, "yufeng")
        ), "one roster unit in both notices"
        elsewhere = Chat(next_year, unit_code="yufeng", user="next")
        assert "已提交《示范点申报表》" in submit_site(elsewhere, "鱼峰区螺蛳粉产业园")
        new(elsewhere, "登记表")
        elsewhere.send(CADRE_ANSWERS[0])
        unit = repository.unit_by_code(campaign.id, "yufeng")
        assert unit is not None and unit.id is not None
        [(submission, _version)] = repository.current_versions(campaign.id, unit.id)
        [left] = repository.drafts(unit.id, ("open",), campaign_id=campaign.id)

        here = Chat(this_year, unit_code="yufeng", user="here")
        drafts = here.send("草稿")
        assert "没有" in drafts and "登记表" not in " ".join(here.options), drafts
        assert "没有" in here.send("已交") or f"#{submission.id}" not in here.text
        shown = here.send(f"查看{submission.id}号")
        assert f"贵单位没有#{submission.id}这份提交" in shown
        status = here.send("/new")
        assert "示范点申报表（已交0份" in " ".join(here.options), status
        assert repository.draft(left.id or 0) is not None  # untouched, still the other notice's
    finally:
        repository.engine.dispose()
