"""``intake form``: forms from their Word files (``intake form import 表.docx -o forms/ID.toml``)."""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from renderers.word_import import WordFormError, import_report, write_import

__all__ = ["add_form_commands", "cmd_form_import"]

_FORM_ID = re.compile(r"[a-z][a-z0-9_]*")


def cmd_form_import(args: argparse.Namespace) -> int:
    source, output = Path(args.file), Path(args.output)
    form_id = args.id or output.stem
    if output.suffix != ".toml":
        print(f"输出文件应以 .toml 结尾，例如 forms/{form_id}.toml。", file=sys.stderr)
        return 2
    if not _FORM_ID.fullmatch(form_id):
        print(
            f"表单编号“{form_id}”只能用小写英文字母、数字和下划线，并以字母开头，"
            "例如 -o forms/family_form.toml，或用 --id family_form 指定。",
            file=sys.stderr,
        )
        return 2
    if not source.is_file():
        print(f"找不到文件“{source}”，请检查路径。", file=sys.stderr)
        return 2
    try:
        imported, template = write_import(source, output, form_id)
    except WordFormError as error:
        print(str(error), file=sys.stderr)
        return 2
    print(import_report(imported, (output, template)))
    return 0


def add_form_commands(commands: Any) -> None:
    """The ``form`` sub-commands, added to ``intake``'s parser."""
    form = commands.add_parser("form", help="表单：从通知附件的 Word 表格导入")
    form_commands = form.add_subparsers(dest="form_command", required=True)
    importer = form_commands.add_parser(
        "import", help="读取 Word 表格（.docx），生成表单声明和模板，并列出将要询问的问题"
    )
    importer.add_argument("file", help="通知附件中的空白表格（.docx）")
    importer.add_argument(
        "-o", "--output", required=True, help="表单声明文件，例如 campaigns/forms/family_form.toml"
    )
    importer.add_argument("--id", help="表单编号（默认取输出文件名，如 family_form）")
    importer.set_defaults(handler=cmd_form_import)
