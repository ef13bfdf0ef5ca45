"""Property-based tests: arbitrary Unicode, huge messages, control and RTL characters, SQL- and
path-looking text never raise, never store anything a validator would not accept, and the forms they
end up in still render."""

from __future__ import annotations

import io
import unicodedata
from dataclasses import replace
from datetime import date

from docx import Document
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialogs.chinese_text import clean_text, word_count
from dialogs.engine import DialogEngine
from dialogs.exchange import Inbound, IncomingFile
from dialogs.validators import TEXT_VALIDATORS, Accepted, Rejected, ValidationContext, validate_photo
from tests.conftest import Chat, document_path
from tests.test_dialog_forms import start

CONTEXT = ValidationContext(
    label="测试", today=date(2021, 5, 10), campaign_year=2021, deadline=date(2021, 5, 25)
)
PARAMS = {
    "text": {"max_chars": 60, "min_chars": 2},
    "person_name": {},
    "choice": {"choices": ["女", "男"]},
    "ethnic_group": {},
    "birth_year_month": {"min_age": 18, "max_age": 80},
    "service_start": {"min_years": 1},
    "postcode": {},
    "phone": {},
    "mobile": {},
    "integer": {"min": 0, "max": 1000},
    "campaign_date": {},
    "id_number": {"birth_field": "birth", "gender_field": "gender"},
    "amount": {"unit": "万元"},
    "email": {},
    "date": {},
    "period": {},
    "choices": {"choices": ["理论宣讲", "文化服务", "关爱帮扶"]},
}
NASTY = st.sampled_from(
    [
        "'; DROP TABLE draft; --",
        "../../etc/passwd",
        "\u202e\u200b\u200f",
        "\x00\x07\x1b[31m",
        "\ud800",
        "\ufffe",
        "😀" * 30,
        "１３８７７２１２３４５",
        "<script>alert(1)</script>",
        " " * 50,
        "\r\n\r\n",
        "%s%n{0}",
    ]
)
TEXT = st.one_of(st.text(max_size=300), NASTY, st.text(alphabet="0123456789０１２３-年月日. ", max_size=20))


def test_every_text_validator_is_covered() -> None:
    assert set(PARAMS) == set(TEXT_VALIDATORS)


@settings(max_examples=300, deadline=None)
@given(name=st.sampled_from(sorted(PARAMS)), raw=TEXT)
def test_validators_never_raise_and_accepted_values_are_stable(name: str, raw: str) -> None:
    cleaned = clean_text(raw).text
    result = TEXT_VALIDATORS[name](cleaned, PARAMS[name], CONTEXT)
    assert isinstance(result, Accepted | Rejected)
    if isinstance(result, Rejected):
        assert result.message and "Traceback" not in result.message
        return
    again = TEXT_VALIDATORS[name](str(result.value), PARAMS[name], CONTEXT)
    assert isinstance(again, Accepted) and again.value == result.value, (
        "a stored value re-validates as itself"
    )


@settings(max_examples=200, deadline=None)
@given(raw=st.text(max_size=2000))
def test_cleaned_text_is_valid_for_a_word_file_and_counts_are_sane(raw: str) -> None:
    cleaned = clean_text(raw).text
    for ch in cleaned:
        code = ord(ch)
        assert code in (0x9, 0xA) or code >= 0x20, repr(ch)
        assert not 0xD800 <= code <= 0xDFFF and code not in (0xFFFE, 0xFFFF)
    assert 0 <= word_count(cleaned) <= len(cleaned)


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=4096))
def test_random_bytes_are_never_a_photo(data: bytes) -> None:
    assert isinstance(validate_photo(data), Rejected)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(messages=st.lists(TEXT, min_size=1, max_size=8))
def test_the_engine_answers_anything_and_stores_only_valid_answers(
    engine: DialogEngine, messages: list[str]
) -> None:
    chat = Chat(engine, user="hostile")
    start(chat, "登记表")
    for message in messages:
        reply = chat.send(message)
        assert reply and "系统刚才出了点问题" not in reply
    contact = chat.contact()
    if contact.current_draft_id is None:
        return
    draft = engine.repository.draft(contact.current_draft_id)
    form = engine.forms[draft.form_id]
    for field in form.top_fields():
        if field.key in draft.answers and field.validator and draft.answers[field.key] is not None:
            stored = str(draft.answers[field.key])
            result = TEXT_VALIDATORS[field.validator](stored, field.params, CONTEXT)
            assert isinstance(result, Accepted), (field.key, stored)


def test_a_huge_message_and_spoofed_files_are_refused_politely(chat: Chat) -> None:
    start(chat, "登记表")
    reply = chat.send("字" * 100_000)
    assert "姓名" in reply and "（1/16）请输入候选人的姓名" in reply and len(reply) < 500
    assert chat.draft().answers == {}
    for _ in range(15):
        chat.send("韦丽华")
        chat.send("女")
    spoofed = IncomingFile(
        kind="photo", data=b"GIF89a" + b"\x00" * 100, file_name="photo.jpg", mime="image/jpeg"
    )
    reply = chat.send("", spoofed)
    assert "这一步需要输入文字" in reply or "无法识别为照片" in reply


def test_names_with_sql_and_paths_render_into_a_valid_docx(chat: Chat) -> None:
    from tests.test_dialog_forms import CADRE_ANSWERS

    start(chat, "登记表")
    answers = list(CADRE_ANSWERS)
    answers[6] = "柳州市妇联 '; DROP TABLE submission; -- ../../etc/passwd 😀"
    answers[7] = '<w:p>柳州市</w:p> & "引号" \u202e反向'
    for answer in answers:
        chat.send(answer)
    chat.photo(color=(1, 2, 3))
    chat.photo(color=(3, 2, 1))
    assert "已提交" in chat.send("确认提交")
    document = document_path(chat.engine, chat.replies[-1])
    text = "".join(
        c.text for t in Document(io.BytesIO(document.read_bytes())).tables for r in t.rows for c in r.cells
    )
    assert "DROP TABLE submission" in text and "<w:p>柳州市</w:p>" in text


def test_a_flood_of_photos_keeps_the_first_twelve_and_refuses_the_rest(chat: Chat) -> None:
    from tests.test_dialog_commands import SITE_ANSWERS

    start(chat, "示范点申报表")
    for answer in SITE_ANSWERS:
        chat.send(answer)
    refused = 0
    reply = chat.photo(color=(0, 0, 0))
    assert "这张照片已经上传过了" in chat.photo(color=(0, 0, 0)), "the same photo twice is refused"
    for number in range(1, 60):
        reply = chat.photo(color=(number * 4, 255 - number * 4, (number * 37) % 256))
        refused += "最多 12 张照片，这张没有保存" in reply
    assert refused == 60 - 12
    photos = chat.draft().answers["photos"]
    assert len(photos) == 12 and len({p["photo"]["sha256"] for p in photos}) == 12
    for number in range(12):
        chat.send(f"说明{number}")
    assert "已收到的照片如下" in chat.text
    chat.send("填写完毕")
    assert "已提交" in chat.send("确认提交")
    assert len(Document(str(document_path(chat.engine, chat.replies[-1]))).inline_shapes) == 12


# Issue 22 items 1 and 10: one cleaning, where every channel's message is made ----------------------

HIDDEN = "\u061c\u034f\U000e0041\U000e0042\u00ad\u2066\u115f\ud800"  # Arabic mark, CGJ, tags, soft hyphen …
FLAG = "\U0001f3f4\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f"  # Scotland's flag


def test_invisible_characters_are_cleaned_and_emoji_survive() -> None:
    assert clean_text(f"韦{HIDDEN}丽华").text == "韦丽华"
    family = "👩\u200d👧"
    assert clean_text(f"家乡{FLAG} {family}").text == f"家乡{FLAG} {family}", "a flag and a ZWJ family stay"
    assert clean_text("\U000e0041家\U000e007f").text == "家", "tags outside a flag go, the cancel tag too"


@settings(max_examples=200, deadline=None)
@given(raw=st.one_of(st.text(max_size=200), NASTY), name=st.one_of(st.text(max_size=100), NASTY))
def test_a_message_and_a_file_name_are_clean_as_soon_as_they_are_made(raw: str, name: str) -> None:
    """``Inbound`` and ``IncomingFile`` clean what they are given: no channel can store raw text."""
    message = Inbound("web", "someone", text=raw, file=IncomingFile(kind="video", file_name=name))
    assert message.text == clean_text(raw).text
    message.text.encode()  # a lone surrogate would fail here, and in a backup
    assert message.file is not None
    shown = message.file.file_name
    assert shown is None or (shown.encode() and shown == shown.strip() and " ".join(shown.split()) == shown)
    for char in message.text + (shown or ""):
        assert unicodedata.category(char) not in ("Cc", "Cf", "Cs") or char in "\n\t\u200c\u200d", repr(char)
    again = replace(message.file, size=1)
    assert again.file_name == shown, "cleaning twice changes nothing"


def test_typed_text_with_hidden_characters_is_stored_clean(chat: Chat) -> None:
    start(chat, "登记表")
    reply = chat.send(f"韦{HIDDEN}丽华")
    assert "（2/16）" in reply, reply
    assert chat.draft().answers["name"] == "韦丽华"
