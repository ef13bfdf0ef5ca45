"""``intake form import``: a Word form in, its declaration and template out, and a report in Chinese of
what will be asked.

A file that is not a Word form — a .doc, a .wps, an encrypted or broken file, a .docx without a
table — is refused with ``WordFormError``, whose message says what to do.
"""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from docx import Document
from docx.document import Document as DocxDocument

from dialogs.declarations import FieldDecl, FormDecl, GroupDecl
from renderers.word_declaration import Declared, declaration_data, declaration_toml, where_printed
from renderers.word_form_items import CrossGrid, FormLayout, PhotoGroup, Question, RowGroup, Stamp, Unplaced
from renderers.word_form_reader import read_form
from renderers.word_grid import Grid, read_grids, read_lines
from renderers.word_vocabulary import COMPOUND_TEXT, DEFAULT_SHORT_TEXT, PLACEHOLDER_EXAMPLE

__all__ = [
    "ImportedForm",
    "WordFormError",
    "import_report",
    "import_word_form",
    "open_word_form",
    "write_import",
]

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .doc, .wps, and an encrypted .docx
# The stream an encrypted .docx keeps its package in, named in UTF-16 in the compound file's directory.
_ENCRYPTED_PACKAGE = "EncryptedPackage".encode("utf-16-le")
_SAVE_AS = "请在 Word 或 WPS 中打开，选择“另存为”→“Word 文档（*.docx）”后再导入"


class WordFormError(ValueError):
    """The file is not a Word form this import can read; the message says why and what to do."""


@dataclass(frozen=True)
class ImportedForm:
    """An imported form: what was read, its declaration (checked by ``FormDecl``) and its TOML."""

    layout: FormLayout
    declared: Declared
    form: FormDecl
    toml: str


def _convert_hint() -> str:
    if shutil.which("soffice"):
        return f"{_SAVE_AS}；也可以用本机的 LibreOffice 转换：soffice --headless --convert-to docx 文件名。"
    return f"{_SAVE_AS}（安装 LibreOffice 后也可用 soffice --headless --convert-to docx 转换）。"


def open_word_form(name: str, data: bytes) -> DocxDocument:
    """The document of a .docx file's bytes, or a ``WordFormError`` saying what to do."""
    suffix = Path(name).suffix.lower()
    if suffix in (".doc", ".wps", ".wpt", ".dot") or (data.startswith(_OLE_MAGIC) and suffix != ".docx"):
        return _refuse(f"“{name}”是旧版 Word/WPS 格式（{suffix or '.doc'}），无法直接读取。{_convert_hint()}")
    if data.startswith(_OLE_MAGIC) and _ENCRYPTED_PACKAGE not in data:
        return _refuse(f"“{name}”其实是旧版 Word 格式（.doc），只是扩展名写成了 .docx。{_convert_hint()}")
    if data.startswith(_OLE_MAGIC):
        return _refuse(
            f"“{name}”设置了打开密码（已加密），无法读取。"
            "请在 Word 或 WPS 中打开，取消文档密码后保存为 .docx，再导入。"
        )
    if suffix != ".docx":
        return _refuse(f"“{name}”不是 Word 文档，请导入通知附件中的 Word 表格（.docx 文件）。")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            has_body = "word/document.xml" in package.namelist()
        if not has_body:
            return _refuse(
                f"“{name}”不是有效的 Word 文档（缺少正文），请确认文件是否完整，或重新另存为 .docx。"
            )
        return Document(io.BytesIO(data))
    except WordFormError:
        raise
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as error:
        raise WordFormError(
            f"“{name}”已损坏或不完整，无法打开。"
            "请重新下载通知附件，或在 Word/WPS 中打开后另存为 .docx 再导入。"
        ) from error
    except Exception as error:  # lxml and python-docx raise many types on a damaged package
        raise WordFormError(
            f"“{name}”内容有损坏，无法读取。请在 Word/WPS 中打开后另存为 .docx 再导入。"
        ) from error


def _refuse(message: str) -> DocxDocument:
    raise WordFormError(message)


def _title(document: DocxDocument, grids: Sequence[Grid], fallback: str) -> str:
    """The form's title: the first line before the first table that is not 附件N, with the lines
    under it when the title is printed over two (…公开招聘辅助人员报名 / 登记表), up to a line with a
    colon (填报单位：) or 40 characters; else the
    first table's first row when it is one cell of text ending in 表 (a title printed in the table)."""
    parts: list[str] = []
    for line in read_lines(document):
        text = re.sub(r"\s+", "", line.text)
        if line.after_tables > 0:
            break
        if re.fullmatch(r"附件[-－.、\d一二三四五六七八九十]*[：:]?", text) and not parts:
            continue
        if not text:
            continue
        if re.search(r"[：:]", text) or len("".join(parts) + text) > 40:
            if parts:
                break
            continue
        parts.append(text)
    if parts:
        return "".join(parts)
    first = grids[0].row_cells(0) if grids else []
    heading = re.sub(r"\s+", "", first[0].text) if len(first) == 1 else ""
    return heading if heading.endswith("表") and len(heading) <= 40 else fallback


def import_word_form(name: str, data: bytes, form_id: str, template: str) -> ImportedForm:
    """Read a Word form and derive its declaration; ``template`` names the copy beside it."""
    document = open_word_form(name, data)
    grids = read_grids(document)
    if not grids:
        raise WordFormError(f"“{name}”中没有表格。导入需要通知附件中的表格（登记表、推荐表等），请确认文件。")
    layout = read_form(grids, read_lines(document))
    title = _title(document, grids, Path(name).stem)
    declared = declaration_data(layout, form_id, title, template)
    if not declared.data["steps"]:
        raise WordFormError(f"“{name}”的表格中没有找到需要填写的空格，请确认这是待填写的空白表格。")
    try:
        form = FormDecl.model_validate(declared.data)
    except ValueError as error:
        raise WordFormError(f"“{name}”读出的表单不完整，无法生成问题：{error}") from error
    return ImportedForm(layout, declared, form, declaration_toml(declared, Path(name).name))


def write_import(source: Path, output: Path, form_id: str) -> tuple[ImportedForm, Path]:
    """Import ``source`` into ``output`` (the .toml) and copy it beside as ``<id>.docx``."""
    template = output.with_name(f"{form_id}.docx")
    imported = import_word_form(source.name, source.read_bytes(), form_id, template.name)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(imported.toml, encoding="utf-8")
    template.write_bytes(source.read_bytes())
    return imported, template


# --- the report ---------------------------------------------------------------------------------

_KINDS = {
    "person_name": "姓名",
    "birth_year_month": "年月",
    "ethnic_group": "民族",
    "id_number": "身份证号码（18位，核对校验位）",
    "mobile": "手机号码",
    "phone": "电话",
    "postcode": "邮编（6位数字）",
    "email": "电子邮箱",
    "date": "日期",
    "period": "起止年月",
}


def _kind(field: FieldDecl) -> str:
    if field.kind == "photo":
        return "照片一张"
    params = field.params
    if field.validator == "choice":
        return "单选：" + "/".join(field.choice_buttons if field.options else params["choices"])
    if field.validator == "choices":
        return "多选：" + "/".join(params["choices"])
    if field.validator == "integer":
        return f"整数（{params['min']}-{params['max']}{params.get('unit', '')}）"
    if field.validator == "amount":
        return f"金额（{params.get('unit', '元')}）"
    if field.validator == "text":
        low, high = params.get("min_chars"), params["max_chars"]
        return f"文字，{low}-{high}字" if low else f"文字，{high}字以内"
    return _KINDS.get(field.validator or "", field.validator or "")


def _field_line(field: FieldDecl) -> str:
    needed = "必填" if field.required else "选填"
    return f"{field.label}（{_kind(field)}，{needed}）"


def _known(form: FormDecl, source: str) -> str:
    if source.startswith("answer:"):
        return f"同表“{form.top_field(source.removeprefix('answer:')).label}”的答案"
    return {"unit_name": "报送单位名称", "submitted_on": "提交日期"}[source]


def import_report(imported: ImportedForm, written: Sequence[Path] = ()) -> str:
    """What the import read, in Chinese: the questions in order, the repeating tables, the photos,
    what is filled without asking, what is left for the stamp, and what it could not place."""
    form, layout = imported.form, imported.layout
    lines = [f"《{form.title}》（{layout.tables} 个表格）将依次询问："]
    for number, step in enumerate(form.steps, start=1):
        if isinstance(step, GroupDecl):
            kind = "照片" if step.item == "张照片" else "表格"
            lines.append(
                f"{number:2d}. {step.label}（{kind}，{step.min_rows}-{step.max_rows}{step.item}）："
                + "；".join(_field_line(field) for field in step.fields)
            )
        else:
            lines.append(f"{number:2d}. {_field_line(step)}")
    groups = [item for item in layout.items if isinstance(item, RowGroup)]
    if groups:
        lines.append("重复表格：")
        lines += [
            f"  {g.label}：表中印有 {g.blank_rows} 行空行，每行填 "
            + "、".join(c.label for c in g.columns)
            + "；行数不够时按原行格式增加"
            for g in groups
        ]
    across = {
        True: "数字表格（行与列交叉的每个空格问一个数，填在该格）：",
        False: "按行列填写的表格（每个空格按所在行和列提问，填在该格）：",
    }
    for figures, heading in across.items():
        grids = [item for item in layout.items if isinstance(item, CrossGrid) and item.figures is figures]
        lines += [heading] if grids else []
        lines += [
            f"  {where_printed(g.address, g.label)}起：行 {'、'.join(g.rows)} × 列 {'、'.join(g.columns)}，"
            f"共 {len(g.rows) * len(g.columns)} 格"
            for g in grids
        ]
    photos = [item for item in layout.items if isinstance(item, PhotoGroup)]
    lines += [
        f"照片：{p.label}，{p.min_rows}-{p.max_rows} 张，附在表格后" + ("，每张配说明" if p.captions else "")
        for p in photos
    ]
    unlabelled = [item for item in layout.items if isinstance(item, Question) and item.unlabelled]
    if unlabelled:
        lines.append(
            "以下空白格没有文字，按位置（表格右侧跨几行的空格）当作照片栏，请确认："
            + "、".join(where_printed(item.address, item.raw_label) for item in unlabelled)
        )
    if form.filled_from:
        lines.append(
            "自动填写（不询问）："
            + "；".join(f"{a.split(':', 1)[-1]} ← {_known(form, v)}" for a, v in form.filled_from.items())
        )
    stamps = [item.label for item in layout.items if isinstance(item, Stamp)]
    if stamps:
        lines.append("留待盖章、签字（保持原样，不询问）：" + "、".join(stamps))
    if imported.declared.fallbacks:
        lines.append(
            f"以下项目没有对应的格式检查，按普通文字处理（最多{DEFAULT_SHORT_TEXT}字），请确认："
            + "、".join(imported.declared.fallbacks)
        )
    if imported.declared.compounds:
        lines.append(
            f"以下项目一格问几件事，按文字处理（未写字数的最多{COMPOUND_TEXT}字），"
            "不单独检查其中的日期、电话等格式，请确认：" + "、".join(imported.declared.compounds)
        )
    no_example = [f.label for f in form.all_fields() if f.kind == "text" and f.example == PLACEHOLDER_EXAMPLE]
    if no_example:
        lines.append(
            f"以下问题没有现成的示例（填表人会看到“例如：{PLACEHOLDER_EXAMPLE}”），"
            "建议在声明中补上 example：" + "、".join(no_example)
        )
    title = re.sub(r"\s+", "", form.title)
    unplaced = [item.text for item in layout.items if isinstance(item, Unplaced) and item.text != title]
    if unplaced:
        lines.append(
            "以下文字没有找到对应的填写位置，未作为问题（如需询问请手工补充到声明中）：" + "、".join(unplaced)
        )
    if written:
        lines.append("已写出：" + "、".join(str(path) for path in written))
    return "\n".join(lines)
