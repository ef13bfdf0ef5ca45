"""A campaign names a form imported from its Word file by id: the form is found in ``forms/`` beside
the campaign file, the dialog asks its questions with no code for it, and the submitted record is
printed into that very Word file."""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from docx import Document
from openpyxl import load_workbook

from bench.imported_forms import sample_answers
from bot.app import Declarations, assemble_engine, load_declarations
from bot.cli import main
from bot.settings import Settings
from dialogs.declarations import DeclarationError
from dialogs.engine import DialogEngine
from dialogs.exchange import Inbound
from renderers.records import FormRecord
from renderers.registry import form_renderers
from renderers.word_grid import find_cell
from tests.conftest import Chat, FakeClock, current_campaign_file, document_path, exported, sqlite_repository
from tests.fixtures import notice_forms, word_forms
from tests.fixtures.imported_campaign import campaign_with_form
from tests.test_supervision import supervisor

FAMILY_TASK = """
[[tasks]]
id = "zuimei_jiating"
name = "最美家庭推荐"
form = "family_form"
unit_kinds = ["county"]
counts = "records"
quota_min = 1
deadline = 2021-06-30
"""


def campaign_with_imported_form(folder: Path, task: str = FAMILY_TASK) -> Path:
    return campaign_with_form(
        folder, task, word_forms.members_table(), "最美家庭推荐登记表.docx", "family_form"
    )


@pytest.fixture(name="family_engine")
def family_engine_fixture(sqlite_template: Path, tmp_path: Path, clock: FakeClock) -> Iterator[DialogEngine]:
    campaign = campaign_with_imported_form(tmp_path / "campaign")
    declarations = load_declarations(Settings(campaign_file=campaign))
    repository = sqlite_repository(sqlite_template, tmp_path, declarations)
    yield assemble_engine(declarations, repository, clock)
    repository.engine.dispose()


def test_an_imported_form_is_found_beside_the_campaign_and_printed_into_its_word_file(
    family_engine: DialogEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    chat = Chat(family_engine, unit_code="yufeng")
    chat.send("/new")
    chat.send(next(option for option in chat.options if option.startswith("最美家庭推荐登记表")))
    assert "（1/5）请填写户主姓名。" in chat.text
    chat.send("韦丽华")
    assert "家庭人口请只填写阿拉伯数字" in chat.send(
        "四口人"
    )  # the vocabulary's check: 人口 is a whole number
    chat.send("4")
    chat.send("柳州市鱼峰区箭盘路8号")
    rows = [
        ("韦丽华", "户主", "1985.03", "柳州市鱼峰区妇联干部"),
        ("覃小燕", "女儿", "2010.09", "柳州市鱼峰区小学学生"),
    ]
    for index, row in enumerate(rows):
        if index:
            chat.send("添加一行")
        for answer in row:
            chat.send(answer)
    assert {"添加一行", "修改第2行", "删除第2行", "填写完毕，下一步"} <= set(chat.options)
    chat.send("填写完毕，下一步")
    chat.send("一家人热心公益，常年照顾村里的孤寡老人。")
    assert "确认提交" in chat.options
    chat.send("确认提交")
    assert "已提交《最美家庭推荐登记表》" in chat.text
    sent = next(reply for reply in chat.replies if reply.document is not None)
    document = Document(io.BytesIO(document_path(family_engine, sent).read_bytes()))
    table = document.tables[0]
    assert [c.text for c in table.rows[0].cells] == ["户主姓名", "韦丽华", "家庭人口", "4", "4"]
    assert [c.text for c in table.rows[3].cells] == [
        "家庭主要成员",
        "韦丽华",
        "户主",
        "1985年3月",
        "柳州市鱼峰区妇联干部",
    ]
    assert [c.text for c in table.rows[4].cells] == [
        "家庭主要成员",
        "覃小燕",
        "女儿",
        "2010年9月",
        "柳州市鱼峰区小学学生",
    ]
    assert [c.text for c in table.rows[5].cells][1:] == ["", "", "", ""]  # the blank rows left blank
    assert find_cell(document, "T1R8C2").text == "一家人热心公益，常年照顾村里的孤寡老人。"
    # `intake render` prints a stored submission of an imported form the same way
    monkeypatch.setenv("INTAKE_CAMPAIGN_FILE", str(tmp_path / "campaign" / "campaign-current.toml"))
    monkeypatch.setenv("INTAKE_DATA_DIR", str(tmp_path / "data"))
    rendered = tmp_path / "rendered.docx"
    assert main(["render", "1", "-o", str(rendered), "--db", f"sqlite:///{tmp_path / 'intake.db'}"]) == 0
    again = Document(io.BytesIO(rendered.read_bytes())).tables[0]
    assert [c.text for c in again.rows[4].cells] == [c.text for c in table.rows[4].cells]
    # 组联部's /export holds it too, under the unit and the task
    boss = supervisor(family_engine, clock)
    _promised, [export] = exported(family_engine, boss, "导出")
    with zipfile.ZipFile(document_path(family_engine, export)) as archive:
        [name] = [n for n in archive.namelist() if n.startswith("鱼峰区妇联/最美家庭推荐/")]
        printed = Document(io.BytesIO(archive.read(name))).tables[0]
    assert [c.text for c in printed.rows[4].cells] == [c.text for c in table.rows[4].cells]


def test_the_export_prints_the_selected_rows_of_an_imported_form_into_its_word_file(
    sqlite_template: Path, tmp_path: Path, clock: FakeClock
) -> None:
    """A task counting the members one by one: 组联部 recommend the second; 导出's 推荐上报 holds that
    row alone, printed into the imported Word file (not by a shipped renderer, which has none)."""
    by_rows = FAMILY_TASK.replace('counts = "records"', 'counts = "rows:rows"')
    campaign = campaign_with_imported_form(tmp_path / "campaign", by_rows)
    declarations = load_declarations(Settings(campaign_file=campaign))
    repository = sqlite_repository(sqlite_template, tmp_path, declarations)
    try:
        engine = assemble_engine(declarations, repository, clock)
        chat = Chat(engine, unit_code="yufeng")
        chat.send("/new")
        chat.send(next(option for option in chat.options if option.startswith("最美家庭推荐登记表")))
        for answer in ["韦丽华", "4", "柳州市鱼峰区箭盘路8号"]:
            chat.send(answer)
        for index, row in enumerate(
            [
                ("韦丽华", "户主", "1985.03", "柳州市鱼峰区妇联干部"),
                ("覃小燕", "女儿", "2010.09", "鱼峰区小学学生"),
            ]
        ):
            if index:
                chat.send("添加一行")
            for answer in row:
                chat.send(answer)
        chat.send("填写完毕，下一步")
        chat.send("一家人热心公益，常年照顾村里的孤寡老人。")
        assert "已提交《最美家庭推荐登记表》" in chat.send("确认提交")
        boss = supervisor(engine, clock)
        for decision in ["接收1号", "推荐1号 第2行"]:
            [said] = engine.handle(Inbound("telegram", boss, decision))
        assert "已推荐" in said.text, said.text
        promised, files = exported(engine, boss, "导出")
        assert "正在生成全部表格" in promised[0].text and len(files) == 1, [r.text for r in promised]
        with zipfile.ZipFile(document_path(engine, files[0])) as archive:
            [name] = [n for n in archive.namelist() if n.startswith("推荐上报/最美家庭推荐/")]
            assert "第2行" in name, name
            table = Document(io.BytesIO(archive.read(name))).tables[0]
        assert [c.text for c in table.rows[3].cells][1:] == ["覃小燕", "女儿", "2010年9月", "鱼峰区小学学生"]
        assert [c.text for c in table.rows[4].cells][1:] == ["", "", "", ""], "the first row is not selected"
    finally:
        repository.engine.dispose()


def test_a_form_beside_the_campaign_must_have_its_word_file(tmp_path: Path) -> None:
    campaign = campaign_with_imported_form(tmp_path / "campaign")
    (tmp_path / "campaign" / "forms" / "family_form.docx").unlink()
    with pytest.raises(DeclarationError, match=r"template 'family_form\.docx' not found"):
        load_declarations(Settings(campaign_file=campaign))


def test_a_cell_the_word_file_does_not_have_is_an_error_at_start_up(tmp_path: Path) -> None:
    campaign = campaign_with_imported_form(tmp_path / "campaign")
    declaration = tmp_path / "campaign" / "forms" / "family_form.toml"
    declaration.write_text(
        declaration.read_text(encoding="utf-8").replace("T1R8C2", "T1R30C2"), encoding="utf-8"
    )
    with pytest.raises(DeclarationError, match=r"family_form\.docx has no T1R30C2"):
        load_declarations(Settings(campaign_file=campaign))


def test_the_shipped_forms_keep_their_python_renderers(declarations: Declarations, tmp_path: Path) -> None:
    campaign = campaign_with_imported_form(tmp_path / "campaign")
    loaded = load_declarations(Settings(campaign_file=campaign))
    assert set(loaded.forms) == set(declarations.forms) | {"family_form"}
    assert loaded.forms["family_form"].template.endswith("family_form.docx")


def test_a_damaged_word_file_beside_the_campaign_is_an_error_at_start_up(tmp_path: Path) -> None:
    campaign = campaign_with_imported_form(tmp_path / "campaign")
    template = tmp_path / "campaign" / "forms" / "family_form.docx"
    template.write_bytes(template.read_bytes()[:2000])  # cut short, as by an interrupted copy
    with pytest.raises(DeclarationError, match="已损坏或不完整"):
        load_declarations(Settings(campaign_file=campaign))


def test_a_form_imported_under_a_shipped_forms_id_is_printed_into_its_own_word_file(tmp_path: Path) -> None:
    """The campaign's 登记表 imported from the notice's Word file replaces the shipped declaration: its
    answers are printed into that file, not by the shipped renderer (which reads other answers)."""
    folder = tmp_path / "campaign"
    folder.mkdir()
    campaign = current_campaign_file(folder)
    source = folder / "登记表.docx"
    source.write_bytes(notice_forms.cadre_registration())
    assert main(["form", "import", str(source), "-o", str(folder / "forms" / "cadre_registration.toml")]) == 0
    text = campaign.read_text(encoding="utf-8")
    campaign.write_text(re.sub(r"(?s)\[city_targets.share\].*?(?=# Reminders)", "", text), encoding="utf-8")
    declarations = load_declarations(Settings(campaign_file=campaign))
    form = declarations.forms["cadre_registration"]
    record = FormRecord(
        form.id, sample_answers(form), "鱼峰区妇联", "鱼峰区", "柳州市", 2021, date(2021, 5, 20), {}
    )
    printed = Document(io.BytesIO(form_renderers(declarations.forms)["cadre_registration"](record)))
    assert find_cell(printed, "T1R1C2").text == "韦丽华"
    cover = "\n".join(p.text for p in printed.paragraphs)
    assert "填表时间：2021年5月20日" in cover
    assert "姓    名：韦丽华" in cover, "the cover's 姓名 is the table's answer, asked once"
    assert [f.label for f in form.top_fields()].count("姓名") == 1


def test_a_form_imported_under_the_id_of_a_form_with_a_statistics_table_exports_without_it(
    sqlite_template: Path, tmp_path: Path, clock: FakeClock
) -> None:
    """组联部 import another notice's 登记表 and save it as ``site_application``, the shipped 申报表's
    id, whose records the 统计表 lists: 导出 gives that form's own filled Word files and no 统计表
    (the table reads the shipped declaration's answers, and this declaration does not say it feeds
    one), rather than failing on records of another shape."""
    folder = tmp_path / "campaign"
    folder.mkdir()
    campaign = current_campaign_file(folder)
    source = folder / "最美家庭推荐登记表.docx"
    source.write_bytes(word_forms.members_table())
    assert main(["form", "import", str(source), "-o", str(folder / "forms" / "site_application.toml")]) == 0
    declarations = load_declarations(Settings(campaign_file=campaign))
    assert declarations.forms["site_application"].template.endswith("site_application.docx")
    assert declarations.forms["site_application"].statistics == ""
    repository = sqlite_repository(sqlite_template, tmp_path, declarations)
    try:
        engine = assemble_engine(declarations, repository, clock)
        chat = Chat(engine, unit_code="yufeng")
        chat.send("/new")
        chat.send(next(option for option in chat.options if option.startswith("最美家庭推荐登记表")))
        for answer in ["韦丽华", "4", "柳州市鱼峰区箭盘路8号", "韦丽华", "户主", "1985.03", "鱼峰区妇联干部"]:
            chat.send(answer)
        chat.send("填写完毕，下一步")
        chat.send("一家人热心公益，常年照顾村里的孤寡老人。")
        assert "已提交《最美家庭推荐登记表》" in chat.send("确认提交")
        promised, files = exported(engine, supervisor(engine, clock), "导出")
        assert "正在生成全部表格" in promised[0].text and len(files) == 1, [r.text for r in promised]
        with zipfile.ZipFile(document_path(engine, files[0])) as archive:
            names = archive.namelist()
            [name] = [n for n in names if n.startswith("鱼峰区妇联/新领域建妇联示范点/")]
            table = Document(io.BytesIO(archive.read(name))).tables[0]
            sheets = load_workbook(io.BytesIO(archive.read("汇总.xlsx"))).sheetnames
        assert not [n for n in names if "统计表" in n], names
        assert name.endswith("-韦丽华.docx"), name
        assert [c.text for c in table.rows[3].cells][1:] == ["韦丽华", "户主", "1985年3月", "鱼峰区妇联干部"]
        assert "最美家庭推荐登记表" in sheets or any("最美家庭" in sheet for sheet in sheets), sheets
    finally:
        repository.engine.dispose()


@pytest.mark.parametrize(
    ("statistics", "refused"),
    [
        ("site_statistics", r'site_application 写了 statistics = "site_statistics".*但不问.*federation_name'),
        (
            "family_statistics",
            r'写了 statistics = "family_statistics"，没有这张统计表：只能写 site_statistics',
        ),
    ],
)
def test_a_form_saying_it_feeds_a_statistics_table_it_cannot_fill_is_an_error_at_start_up(
    tmp_path: Path, statistics: str, refused: str
) -> None:
    folder = tmp_path / "campaign"
    folder.mkdir()
    campaign = current_campaign_file(folder)
    source = folder / "最美家庭推荐登记表.docx"
    source.write_bytes(word_forms.members_table())
    declaration = folder / "forms" / "site_application.toml"
    assert main(["form", "import", str(source), "-o", str(declaration)]) == 0
    text = declaration.read_text(encoding="utf-8")
    declaration.write_text(
        re.sub(r"(?m)^id = .*$", lambda m: f'{m[0]}\nstatistics = "{statistics}"', text, count=1),
        encoding="utf-8",
    )
    with pytest.raises(DeclarationError, match=refused):
        load_declarations(Settings(campaign_file=campaign))
