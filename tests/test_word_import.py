"""``intake form import``: a Word form becomes a declaration that ``dialogs/declarations.py`` loads
unchanged and the machines build from, with a Chinese report of what will be asked; files that are
not Word forms are refused with a message that says what to do."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from docx import Document

from bot.cli import main
from dialogs.declarations import DeclarationError, FieldDecl, GroupDecl, load_form
from renderers.word_form_reader import LineBlank, Question, RowGroup, read_form
from renderers.word_grid import read_grids, read_lines
from renderers.word_import import import_word_form
from state_machines.form_machine import build_machines
from tests.fixtures import word_forms


def imported(tmp_path: Path, name: str, data: bytes, form_id: str = "imported_form") -> tuple[int, Path]:
    source = tmp_path / name
    source.write_bytes(data)
    output = tmp_path / "forms" / f"{form_id}.toml"
    return main(["form", "import", str(source), "-o", str(output)]), output


@pytest.mark.parametrize("stem", sorted(word_forms.FORMS))
def test_every_form_imports_into_a_declaration_the_loader_and_machines_accept(
    tmp_path: Path, stem: str
) -> None:
    data = word_forms.FORMS[stem][0]()
    code, output = imported(tmp_path, f"{stem}.docx", data)
    assert code == 0
    form = load_form(output)
    assert form.id == "imported_form" and form.template == str(output.with_suffix(".docx").resolve())
    assert 'template = "imported_form.docx"' in output.read_text(encoding="utf-8")  # beside, moved with it
    assert Path(form.template).read_bytes() == data
    build_machines({form.id: form})
    document = Document(io.BytesIO(data))
    items = read_form(read_grids(document), read_lines(document)).items
    asked = [i.address for i in items if isinstance(i, Question | RowGroup)]
    asked += [i.address for i in items if isinstance(i, LineBlank) and i.known is None]
    cells = [step.cell for step in form.steps]
    assert sorted(filter(None, cells)) == sorted(
        asked + [s.cell for s in form.groups() if s.item == "张照片"]
    )
    for field in form.all_fields():
        assert field.cell or field.kind == "photo" or field.key.startswith("caption"), field.key


def test_the_report_lists_questions_groups_stamps_and_fallbacks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, output = imported(tmp_path, "最美家庭登记表.docx", word_forms.members_table(), "family_form")
    assert code == 0
    report = capsys.readouterr().out
    assert report.splitlines() == [
        "《最美家庭推荐登记表》（1 个表格）将依次询问：",
        " 1. 户主姓名（姓名，必填）",
        " 2. 家庭人口（整数（0-10000000），必填）",
        " 3. 家庭住址（文字，80字以内，必填）",
        " 4. 家庭主要成员（表格，1-10行）：姓名（姓名，必填）；与户主关系（文字，100字以内，必填）；"
        "出生年月（年月，必填）；工作单位及职务（文字，60字以内，必填）",
        " 5. 家庭事迹简介（文字，300字以内，必填）",
        "重复表格：",
        "  家庭主要成员：表中印有 4 行空行，每行填 姓名、与户主关系、出生年月、工作单位及职务；"
        "行数不够时按原行格式增加",
        "以下项目没有对应的格式检查，按普通文字处理（最多100字），请确认：与户主关系",
        "以下问题没有现成的示例（填表人会看到“例如：……”），建议在声明中补上 example："
        "与户主关系、家庭事迹简介",
        f"已写出：{output}、{output.with_suffix('.docx')}",
    ]


def test_the_report_names_stamps_lines_filled_without_asking_and_unplaced_text() -> None:
    from renderers.word_import import import_report

    stamp = import_report(import_word_form("a.docx", word_forms.grid_with_photo(), "a", "a.docx"))
    assert "留待盖章、签字（保持原样，不询问）：推荐单位意见" in stamp
    assert " 7. 身份证号码（身份证号码（18位，核对校验位），必填）" in stamp
    lines = import_report(import_word_form("b.docx", word_forms.lines_outside(), "b", "b.docx"))
    assert "自动填写（不询问）：推荐单位（盖章） ← 报送单位名称；填表日期 ← 提交日期" in lines
    assert " 5. 联系人（姓名，必填）" in lines


def test_an_id_number_is_cross_checked_with_the_birth_month_and_gender_of_the_form() -> None:
    form = import_word_form("a.docx", word_forms.grid_with_photo(), "a", "a.docx").form
    assert form.top_field("id_number").params == {"birth_field": "birth", "gender_field": "gender"}
    nested = import_word_form("c.docx", word_forms.nested_table(), "c", "c.docx").form
    assert nested.top_field("id_number").params == {}  # this form asks neither


def test_groups_and_choices_of_imported_forms() -> None:
    family = import_word_form("f.docx", word_forms.members_table(), "f", "f.docx").form
    group = next(family.groups())
    assert (group.label, group.item, group.min_rows, group.max_rows, group.cell) == (
        "家庭主要成员",
        "行",
        1,
        10,
        "T1R4C2",
    )
    volunteers = import_word_form("v.docx", word_forms.check_boxes(), "v", "v.docx").form
    several = volunteers.top_field("choices")
    assert (several.kind, several.validator, several.params["choices"][0]) == ("text", "choices", "关爱儿童")
    photos = import_word_form("h.docx", word_forms.labels_above(), "h", "h.docx").form.group("photos")
    assert (photos.min_rows, photos.max_rows, [f.kind for f in photos.fields]) == (3, 9, ["photo", "text"])


_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def _encrypted_like() -> bytes:
    """What Word writes for a .docx with an open password: a compound file holding EncryptedPackage."""
    return _OLE + bytes(504) + "EncryptedPackage".encode("utf-16-le") + bytes(64)


def _doc_like() -> bytes:
    """An old .doc: a compound file holding a WordDocument stream."""
    return _OLE + bytes(504) + "WordDocument".encode("utf-16-le") + bytes(64)


def _docx_without_table() -> bytes:
    document = Document()
    document.add_paragraph("关于开展评选活动的通知")
    stream = io.BytesIO()
    document.save(stream)
    return stream.getvalue()


def _zip_without_document() -> bytes:
    stream = io.BytesIO()
    with zipfile.ZipFile(stream, "w") as package:
        package.writestr("hello.txt", "hi")
    return stream.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "says"),
    [
        ("推荐表.doc", _doc_like(), "旧版 Word/WPS 格式（.doc）"),
        ("推荐表.doc", _doc_like(), "另存为”→“Word 文档（*.docx）"),
        ("推荐表.docx", _doc_like(), "其实是旧版 Word 格式（.doc），只是扩展名写成了 .docx"),
        ("推荐表.wps", b"anything", "旧版 Word/WPS 格式（.wps）"),
        ("推荐表.docx", _encrypted_like(), "设置了打开密码（已加密）"),
        ("推荐表.docx", b"PK\x03\x04 broken", "已损坏或不完整"),
        ("推荐表.docx", _zip_without_document(), "不是有效的 Word 文档"),
        ("通知.docx", _docx_without_table(), "中没有表格"),
        ("推荐表.pdf", b"%PDF-1.4", "不是 Word 文档"),
    ],
)
def test_files_that_are_not_word_forms_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, data: bytes, says: str
) -> None:
    code, output = imported(tmp_path, name, data)
    assert code == 2
    error = capsys.readouterr().err
    assert says in error
    assert not output.exists()


def test_the_form_id_comes_from_the_output_name_or_id(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "推荐表.docx"
    source.write_bytes(word_forms.grid_with_photo())
    assert main(["form", "import", str(source), "-o", str(tmp_path / "推荐表.toml")]) == 2
    assert "只能用小写英文字母" in capsys.readouterr().err
    assert main(["form", "import", str(source), "-o", str(tmp_path / "推荐表.toml"), "--id", "talent"]) == 0
    assert load_form(tmp_path / "推荐表.toml").id == "talent"
    assert (tmp_path / "talent.docx").exists()


def test_the_loader_refuses_a_cross_check_against_an_unknown_field(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text(
        'id = "x"\ntitle = "表"\nshort_title = "表"\nrecord_noun = "份"\nsummary_field = "id"\n'
        'intro = "开始"\n[[steps]]\nkey = "id"\nlabel = "身份证号码"\nprompt = "请填写"\nexample = "1"\n'
        'validator = "id_number"\nparams = { birth_field = "birth" }\nprinted = "表1"\n',
        encoding="utf-8",
    )
    with pytest.raises(DeclarationError, match="unknown field 'birth'"):
        load_form(path)


def test_imported_steps_are_plain_declarations() -> None:
    form = import_word_form("a.docx", word_forms.two_tables(), "a", "a.docx").form
    assert all(isinstance(step, FieldDecl | GroupDecl) for step in form.steps)
    assert [step.cell for step in form.steps][-2:] == ["T2R1C2", "T2R2C2"]
    assert form.top_field("amount").params == {"unit": "万元"}


@pytest.mark.parametrize(
    ("builder", "title", "short_title"),
    [
        ("lines_outside", "柳州市“巾帼建功标兵”推荐表", "推荐表"),
        ("check_boxes", "巾帼志愿服务队登记表", "巾帼志愿服务队登记表"),
        ("two_tables", "妇女发展项目申报表", "妇女发展项目申报表"),
    ],
)
def test_titles_come_from_the_line_above_the_table(builder: str, title: str, short_title: str) -> None:
    form = import_word_form("x.docx", getattr(word_forms, builder)(), "x", "x.docx").form
    assert (form.title, form.short_title) == (title, short_title)
