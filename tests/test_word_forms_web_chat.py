"""Each Word form written for the tests (``tests/fixtures/word_forms``), imported by ``intake form
import``, filled by a contact over the web chat's HTTP API as she would type it (photos sent through
``/api/upload``, two rows in each repeating table), submitted; the Word file behind the link the chat
gives is read back cell by cell against what the chat stored."""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.app import assemble_engine, load_declarations
from bot.settings import Settings
from bot.web import CSRF_HEADER, build_app
from dialogs.declarations import load_form
from dialogs.engine import DialogEngine
from dialogs.form_records import submission_record
from tests.conftest import FakeClock, photo_bytes, sqlite_repository
from tests.fixtures import word_forms
from tests.fixtures.imported_pages import campaign_of, typed_lines
from tests.test_web_api import browser, post, say, serving, sign_in, texts, web_settings
from tests.test_word_template import assert_each_answer_in_its_cell

#: form id → (builder of its blank Word file, its file name), in the campaign's (the menu's) order
FORMS: dict[str, tuple[Callable[[], bytes], str]] = {
    builder.__name__: (builder, f"{name}.docx") for name, (builder, _) in word_forms.FORMS.items()
}


@pytest.fixture(name="campaign_folder", scope="module")
def campaign_folder_fixture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The campaign file, the forms imported into ``forms/`` beside it, their blanks in ``blank/``."""
    return campaign_of(tmp_path_factory.mktemp("word-forms") / "campaign", FORMS).parent


@pytest.fixture(name="forms_engine")
def forms_engine_fixture(
    campaign_folder: Path, sqlite_template: Path, tmp_path: Path, clock: FakeClock
) -> Iterator[DialogEngine]:
    declarations = load_declarations(Settings(campaign_file=next(campaign_folder.glob("*.toml"))))
    repository = sqlite_repository(sqlite_template, tmp_path, declarations)
    yield assemble_engine(declarations, repository, clock)
    repository.engine.dispose()


@pytest.mark.parametrize("form_id", list(FORMS))
def test_each_written_word_form_filled_over_the_web_chat_is_read_back_cell_by_cell(
    forms_engine: DialogEngine, campaign_folder: Path, tmp_path: Path, form_id: str
) -> None:
    engine = forms_engine
    form = load_form(campaign_folder / "forms" / f"{form_id}.toml")
    photos = []
    for number, colour in enumerate([(200, 60, 60), (60, 160, 80), (60, 90, 200)]):
        photos.append(tmp_path / f"photo-{number}.jpg")
        photos[-1].write_bytes(photo_bytes(480, 640, colour))
    with serving(build_app(engine, web_settings())) as server, browser(server) as client:
        csrf = sign_in(client, engine)
        assert post(client, csrf, "/api/start", {}).status_code == 200
        menu = [reply for reply in say(client, csrf, "/new") if reply["options"]][-1]
        number = list(FORMS).index(form_id) + 1
        replies = say(client, csrf, str(number), str(menu["menu"]))
        assert f"（1/{len(form.steps)}）" in texts(replies), texts(replies)
        for line in typed_lines(form, photos):
            if line.startswith("/attach "):
                [photo] = shlex.split(line.removeprefix("/attach "))
                sent = client.post(
                    "/api/upload",
                    content=Path(photo).read_bytes(),
                    headers={CSRF_HEADER: csrf, "Content-Type": "image/jpeg", "X-File-Name": "a.jpg"},
                )
                assert sent.status_code == 200, sent.text
                replies = list(sent.json()["replies"])
            else:
                replies = say(client, csrf, line)
            assert "请重新" not in texts(replies) and "不符合" not in texts(replies), (line, texts(replies))
        assert "已填内容" in texts(replies), texts(replies)
        submitted = say(client, csrf, "确认提交")
        assert "已提交" in texts(submitted), texts(submitted)
        [document] = [reply["document"] for reply in submitted if reply.get("document")]
        filled = client.get(str(document["url"]))  # type: ignore[index]
        assert filled.status_code == 200, filled.text
    repository = engine.repository
    unit = repository.unit_by_code(engine.campaign.id, "yufeng")
    assert unit is not None and unit.id is not None
    [submission] = repository.submissions(unit.id)
    assert submission.id is not None
    version = repository.versions(submission.id)[-1]
    record = submission_record(engine.campaign, form, "yufeng", version, repository.file_path)
    assert all(record.answers.get(step.key) for step in form.steps), "every question answered"
    blank = (campaign_folder / "blank" / FORMS[form_id][1]).read_bytes()
    assert_each_answer_in_its_cell(blank, filled.content, form, record)
