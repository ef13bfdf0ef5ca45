"""Form declarations: what a form asks, in what order, how each answer is checked and where it is printed.

A form is data (a TOML file in ``dialogs/forms/``). It is loaded and checked once at start-up:
an unknown validator, a bad parameter, a missing prompt, a duplicate key or an empty group is a
``DeclarationError`` at load, never a surprise in a chat.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from dialogs.validators import TEXT_VALIDATORS, check_params

FORMS_DIR = Path(__file__).parent / "forms"

FieldKind = Literal["text", "choice", "photo", "video"]


class DeclarationError(ValueError):
    """A form or campaign declaration is inconsistent; raised at load time."""


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class FieldDecl(_Frozen):
    """One question of a form."""

    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(min_length=1)
    prompt: str = Field(min_length=1)
    example: str = ""
    help: str = ""
    kind: FieldKind = "text"
    validator: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    required: bool = True
    options: list[str] = Field(default_factory=list)
    printed: str = Field(min_length=1)
    # In a form imported from its Word file: the cell the answer goes in ("T1R2C3"; "P3:申报单位" in a
    # line outside the tables), see renderers/word_grid.py.
    cell: str = ""
    # Options printed in cells of their own (政治面貌 | □党员 | □团员, or 是 | 否 columns): the cell
    # each option is marked in.
    option_cells: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> FieldDecl:
        if self.kind in ("text", "choice"):
            if self.validator is None:
                raise ValueError(f"field {self.key!r}: a {self.kind} field needs a validator")
            check_params(self.validator, self.params)
        elif self.validator is not None:
            raise ValueError(f"field {self.key!r}: a {self.kind} field has a built-in check, no validator")
        if self.kind == "choice" and not self.choice_buttons:
            raise ValueError(f"field {self.key!r}: a choice field needs options or params.choices")
        if self.kind == "text" and not self.example:
            raise ValueError(f"field {self.key!r}: a text field needs an example")
        unknown = set(self.option_cells) - set(self.params.get("choices", []))
        if unknown:
            raise ValueError(f"field {self.key!r}: option_cells names options it has not: {sorted(unknown)}")
        return self

    @property
    def choice_buttons(self) -> list[str]:
        """The options offered as buttons (all choices unless the declaration names a shorter list)."""
        return self.options or list(self.params.get("choices", []))


class GroupDecl(_Frozen):
    """A repeating group of fields: one row per course, one row per photo."""

    group: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label: str = Field(min_length=1)
    item: str = Field(min_length=1)
    min_rows: int = Field(ge=0)
    max_rows: int = Field(ge=1)
    title_field: str
    # How a row's title is quoted in lists: （活动现场） by default, 《课程名》 for a title of a work.
    title_quotes: str = Field(default="（）", min_length=2, max_length=2)
    prompt: str = Field(min_length=1)
    printed: str = Field(min_length=1)
    fields: list[FieldDecl] = Field(min_length=1)
    cell: str = ""  # imported form: the first blank row's first cell, or where photos are announced

    @model_validator(mode="after")
    def _check(self) -> GroupDecl:
        if self.min_rows > self.max_rows:
            raise ValueError(f"group {self.group!r}: min_rows {self.min_rows} > max_rows {self.max_rows}")
        if self.title_field not in {f.key for f in self.fields}:
            raise ValueError(
                f"group {self.group!r}: title_field {self.title_field!r} is not one of its fields"
            )
        return self

    @property
    def key(self) -> str:
        return self.group

    def field(self, key: str) -> FieldDecl:
        for candidate in self.fields:
            if candidate.key == key:
                return candidate
        raise KeyError(key)


Step = FieldDecl | GroupDecl


class FormDecl(_Frozen):
    """A whole form: its title, what one record is, and its steps in order."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str = Field(min_length=1)
    short_title: str = Field(min_length=1)
    record_noun: str = Field(min_length=1)
    # What names a record (``dialogs.form_records.record_name``): a top-level field (the candidate's
    # name), or a group, named by its rows' titles (a unit's courses).
    summary_field: str
    intro: str = Field(min_length=1)
    steps: list[FieldDecl | GroupDecl] = Field(min_length=1)
    # A form imported from its Word file: that file (beside the declaration), filled in place, and
    # the blanks filled without asking (cell → "unit_name", "submitted_on", or "answer:<key>" for a
    # blank that repeats a question asked elsewhere on the form, as a cover page's 姓名).
    template: str = ""
    filled_from: dict[str, str] = Field(default_factory=dict)
    # The 统计表 this form's records feed (an id of ``renderers.registry.STATISTICS``), said here and
    # never guessed from the form's id: a form imported under a shipped form's id feeds none.
    statistics: str = ""

    @model_validator(mode="after")
    def _check(self) -> FormDecl:
        seen: set[str] = set()
        for step in self.steps:
            keys = [step.key] if isinstance(step, FieldDecl) else [step.key, *(f.key for f in step.fields)]
            for key in keys:
                if key in seen:
                    raise ValueError(f"form {self.id!r}: duplicate key {key!r}")
                seen.add(key)
        if self.summary_field not in {step.key for step in self.steps}:
            raise ValueError(
                f"form {self.id!r}: summary_field {self.summary_field!r} is neither a top-level field "
                "nor a group"
            )
        top = {step.key for step in self.steps if isinstance(step, FieldDecl)}
        for address, source in self.filled_from.items():
            if source not in ("unit_name", "submitted_on") and source.removeprefix("answer:") not in top:
                raise ValueError(
                    f"form {self.id!r}: filled_from {address!r} = {source!r} is neither unit_name, "
                    "submitted_on nor answer:<a top-level field>"
                )
        for field in self.all_fields():
            for ref in _field_references(field):
                if ref not in seen:
                    raise ValueError(f"form {self.id!r}: field {field.key!r} refers to unknown field {ref!r}")
        return self

    def top_fields(self) -> Iterator[FieldDecl]:
        return (step for step in self.steps if isinstance(step, FieldDecl))

    def groups(self) -> Iterator[GroupDecl]:
        return (step for step in self.steps if isinstance(step, GroupDecl))

    def all_fields(self) -> Iterator[FieldDecl]:
        for step in self.steps:
            if isinstance(step, FieldDecl):
                yield step
            else:
                yield from step.fields

    def group(self, key: str) -> GroupDecl:
        for group in self.groups():
            if group.key == key:
                return group
        raise KeyError(key)

    def top_field(self, key: str) -> FieldDecl:
        for field in self.top_fields():
            if field.key == key:
                return field
        raise KeyError(key)


def _field_references(field: FieldDecl) -> list[str]:
    """Other fields a field's validator compares against (cross-field rules)."""
    refs: list[str] = []
    for key in ("at_most_field", "birth_field", "gender_field"):
        if key in field.params:
            refs.append(field.params[key])
    refs.extend(field.params.get("more_than_sum_of", []))
    return refs


def load_form(path: Path) -> FormDecl:
    """Read and check one form declaration file; an imported form's ``template`` is resolved beside it."""
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
        form = FormDecl.model_validate(data)
    except (tomllib.TOMLDecodeError, ValidationError, ValueError) as error:
        raise DeclarationError(f"{path.name}: {error}") from error
    if not form.template:
        return form
    template = path.parent / form.template
    if not template.is_file():
        raise DeclarationError(f"{path.name}: template {form.template!r} not found beside it ({template})")
    return form.model_copy(update={"template": str(template.resolve())})


def load_forms(directory: Path = FORMS_DIR) -> dict[str, FormDecl]:
    """Load every ``*.toml`` form in a directory, keyed by form id."""
    forms: dict[str, FormDecl] = {}
    for path in sorted(directory.glob("*.toml")):
        form = load_form(path)
        if form.id in forms:
            raise DeclarationError(f"{path.name}: form id {form.id!r} declared twice")
        forms[form.id] = form
    if not forms:
        raise DeclarationError(f"no form declarations found in {directory}")
    return forms


__all__ = [
    "FORMS_DIR",
    "TEXT_VALIDATORS",
    "DeclarationError",
    "FieldDecl",
    "FormDecl",
    "GroupDecl",
    "Step",
    "load_form",
    "load_forms",
]
