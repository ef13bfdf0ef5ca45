"""Forms imported from their Word files: ms to import the notice's two-page 登记表 (cover page and
table, ``docs/forms/blank/cadre_registration.docx``) and ms to print a record into it
(``renderers.word_template.fill_word_form``), answers of the length and kind a person types."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from bench.scenario import percentile
from dialogs.declarations import FieldDecl, FormDecl
from dialogs.validators import TEXT_VALIDATORS, Accepted, ValidationContext
from renderers.records import FormRecord
from renderers.word_import import import_word_form
from renderers.word_template import fill_word_form, read_template

TWO_PAGE_FORM = (
    Path(__file__).resolve().parent.parent / "docs" / "forms" / "blank" / "cadre_registration.docx"
)
_TODAY = date(2021, 5, 20)
_TYPED = {
    "person_name": "韦丽华",
    "birth_year_month": "1985.03",
    "ethnic_group": "壮族",
    "postcode": "545001",
    "phone": "0772-2823290",
    "mobile": "13877212345",
    "integer": "12",
    "amount": "12.5",
    "date": "2019.3.15",
    "period": "2019.03-2021.06",
    "email": "fulian@163.com",
    "id_number": "450203198503120021",
}
_SENTENCE = "她带领村里妇女发展特色种植，组织开展家庭教育讲座。"


@dataclass
class ImportTimes:
    pages: str
    questions: int
    import_ms: list[float]
    fill_ms: list[float]

    @property
    def import_median(self) -> float:
        return percentile(self.import_ms, 0.5)

    @property
    def fill_median(self) -> float:
        return percentile(self.fill_ms, 0.5)

    @property
    def fill_p90(self) -> float:
        return percentile(self.fill_ms, 0.9)


def typed_answer(field: FieldDecl) -> str:
    """What a person would type for a text or choice question, by its check."""
    params = field.params
    if field.validator in ("choice", "choices"):
        return str(params["choices"][0])
    if field.validator == "text":
        wanted = min(max(params.get("min_chars", 0) + 10, 12), params["max_chars"])
        return (_SENTENCE * (wanted // len(_SENTENCE) + 1))[:wanted]
    return _TYPED[field.validator or ""]


def sample_answers(form: FormDecl) -> dict[str, Any]:
    """Answers to every text and choice question, through their validators as the engine stores them."""
    answers: dict[str, Any] = {}
    for field in form.top_fields():
        if field.kind in ("text", "choice") and field.validator:
            context = ValidationContext(field.label, _TODAY, 2021, answers=answers)
            result = TEXT_VALIDATORS[field.validator](typed_answer(field), field.params, context)
            assert isinstance(result, Accepted), (field.key, result)
            answers[field.key] = result.value
    return answers


def time_imported_form(repeats: int) -> ImportTimes:
    """Import the two-page form ``repeats`` times, and fill it ``repeats`` times."""
    data = TWO_PAGE_FORM.read_bytes()
    import_ms = []
    for _ in range(repeats):
        began = time.perf_counter()
        imported = import_word_form(TWO_PAGE_FORM.name, data, "cadre_registration", TWO_PAGE_FORM.name)
        import_ms.append((time.perf_counter() - began) * 1000)
    form = imported.form
    record = FormRecord(
        form.id, sample_answers(form), "柳州市城中区妇联", "城中区", "柳州市", 2021, _TODAY, {}
    )
    template = read_template(TWO_PAGE_FORM.name, data)  # once, as the form's renderer does at start-up
    fill_ms = []
    for _ in range(repeats):
        began = time.perf_counter()
        fill_word_form(form, template, record)
        fill_ms.append((time.perf_counter() - began) * 1000)
    return ImportTimes("cover page and table", len(list(form.all_fields())), import_ms, fill_ms)
