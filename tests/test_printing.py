"""A submission's DOCX is printed after the commit that submits it: when it is first opened, sent or
exported, then kept and reused. A form that cannot be printed never undoes its submission."""

from __future__ import annotations

import logging

import pytest
from docx import Document

from dialogs.engine import DialogEngine
from dialogs.exchange import DocumentRef
from dialogs.form_records import FormRecord, RenderError
from tests.conftest import Chat, FakeClock
from tests.test_dialog_forms import fill_cadre
from tests.test_supervision import supervisor


def kept_docx(engine: DialogEngine, number: int = 1) -> bool:
    version = engine.repository.versions(number)[-1]
    return (engine.repository.data_dir / (version.document_path or "missing")).is_file()


def test_submitting_commits_the_record_and_the_first_open_prints_and_keeps_the_form(
    engine: DialogEngine, chat: Chat
) -> None:
    fill_cadre(chat)
    version = engine.repository.versions(1)[-1]
    assert (engine.repository.data_dir / version.record_path).is_file(), "the record is written with it"
    assert version.document_path is not None and not kept_docx(engine), "not printed inside the commit"
    first = engine.open_document(DocumentRef("submission", "1"))
    assert first is not None and first.file_name == "登记表-1-第1版.docx"
    cells = [c.text for t in Document(str(first.path)).tables for r in t.rows for c in r.cells]
    assert any("韦丽华" in cell for cell in cells)
    printed = first.path.read_bytes()
    again = engine.open_document(DocumentRef("submission", "1", 1))
    assert again is not None and again.path == first.path
    assert again.path.read_bytes() == printed, "kept: the same file, not printed twice"


def test_the_export_prints_a_form_nobody_opened_and_keeps_it(
    engine: DialogEngine, chat: Chat, clock: FakeClock
) -> None:
    import zipfile

    from tests.conftest import document_path, exported

    fill_cadre(chat)
    assert not kept_docx(engine)
    boss = supervisor(engine, clock)
    _answer, [reply] = exported(engine, boss)
    with zipfile.ZipFile(document_path(engine, reply)) as archive:
        entry = next(n for n in archive.namelist() if n.startswith("鱼峰区妇联/") and n.endswith(".docx"))
        exported = archive.read(entry)
    assert kept_docx(engine), "printed on the way and kept"
    opened = engine.open_document(DocumentRef("submission", "1"))
    assert opened is not None and opened.path.read_bytes() == exported, "one document, exported and sent"


def test_a_form_that_cannot_be_printed_keeps_its_submission_and_logs_no_answers(
    engine: DialogEngine, chat: Chat, caplog: pytest.LogCaptureFixture
) -> None:
    fill_cadre(chat)

    def broken_renderer(record: FormRecord) -> bytes:  # a renderer's error may quote an answer
        raise RenderError(f"cannot lay out {record.text('name')}")

    engine.render = broken_renderer
    with caplog.at_level(logging.ERROR):
        assert engine.open_document(DocumentRef("submission", "1")) is None
    assert "submission 1 cannot be printed: RenderError" in caplog.text
    assert "韦丽华" not in caplog.text, "no answer in the log"
    assert engine.repository.submission(1) is not None and not kept_docx(engine)
    chat.send("/status")
    assert "登记表" in chat.text and "1" in chat.text, "the submission still counts"
